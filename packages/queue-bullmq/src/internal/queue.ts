import { randomUUID } from 'node:crypto';
import { DelayedError, Queue as BullQueue, Worker, type Job, type JobsOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { QueueUnavailableError, type DeliveryJob, type JobHandler, type Queue } from '@pushrelay/core';
import { defineFairCommands, markStarted, startTag, type LaneKeys } from './fair-order.js';
import { bullJobId } from './ids.js';
import { Slots, type Lane } from './slots.js';

export interface BullMQQueueOptions {
  /** Redis URL (`redis://127.0.0.1:6379/0`) or ioredis options. Default: 127.0.0.1:6379. */
  connection?: string | RedisOptions;
  /** Key prefix of every key this queue writes, so several deployments share one Redis. Default `pushrelay`. */
  prefix?: string;
  /** Base name: the lanes are the BullMQ queues `<name>-call` and `<name>-default`. Default `deliveries`. */
  name?: string;
  /** Jobs this process runs at once, both lanes together. Default 64. */
  concurrency?: number;
  /** A handler that throws gets its job run again after this delay. Default 1000 ms. */
  failureRetryMs?: number;
  /** Runs of one job (the first included) before it is left failed. Default 3. */
  maxFailures?: number;
  /** How long a job left failed stays inspectable in Redis. Default 1 hour. */
  keepFailedMs?: number;
  /** BullMQ lock duration: a job whose worker died runs again after about this long. Default 30 000 ms. */
  lockDurationMs?: number;
  /** How often workers look for jobs whose process died (lock expired) and run them again. Default 30 000 ms. */
  stalledIntervalMs?: number;
  /** While call jobs wait for a worker, default-lane jobs look again after this long. Default 25 ms. */
  yieldToCallsMs?: number;
  /**
   * How long `schedule` and `size` wait for Redis before they reject with QueueUnavailableError.
   * While the connection is known to be down they reject at once. Default 5000 ms.
   */
  scheduleTimeoutMs?: number;
  /**
   * On close, once no handler is running, how long BullMQ may take to record the last finished
   * jobs and stop its workers before their connections are cut. Default 5000 ms.
   */
  closeGraceMs?: number;
  /**
   * Fair order between tenants within a lane: while several tenants have jobs waiting, each
   * runs at most this many in a row before the others get a turn, in every process sharing the
   * queue. 0 turns it off: due jobs start in `runAt` order, whoever scheduled them. Default 8.
   */
  jobsPerTenantTurn?: number;
  /** Called with what a handler threw; the job is then retried or left failed. */
  onError?: (error: unknown, job: DeliveryJob) => void;
}

interface JobData {
  job: DeliveryJob;
  /** Tells this scheduler whether the job stored under the id is the one it just added. */
  nonce: string;
}

/**
 * Core's Queue on BullMQ and Redis. Each lane is its own BullMQ queue with its own worker; the
 * call lane goes first in two ways: a freed run slot goes to a waiting call job, and a default
 * job does not start while call jobs wait in Redis for a worker (of any process).
 */
export class BullMQQueue implements Queue {
  /** The workers' connection: their commands wait through reconnects. */
  private readonly client: Redis;
  /** schedule's and size's connection: refuses commands while Redis is unreachable. */
  private readonly producer: Redis;
  private readonly queues: Record<Lane, BullQueue<JobData>>;
  private readonly workers: Worker<JobData>[] = [];
  private readonly slots: Slots;
  private readonly prefix: string;
  private readonly name: string;
  private readonly concurrency: number;
  private readonly jobOptions: JobsOptions;
  private readonly lockDurationMs: number;
  private readonly stalledIntervalMs: number;
  private readonly yieldToCallsMs: number;
  private readonly scheduleTimeoutMs: number;
  private readonly closeGraceMs: number;
  private readonly jobsPerTenantTurn: number;
  private readonly laneKeys: Record<Lane, LaneKeys>;
  /** Handlers running now; close waits for them. */
  private running = 0;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly onError: (error: unknown, job: DeliveryJob) => void;
  private readonly held = new Map<string, NodeJS.Timeout>();
  /** Whether the producer connection was ready once: before that, a call waits for it (bounded). */
  private producerWasReady = false;
  /** Times the producer connection closed: a call that saw one failed for want of Redis. */
  private producerDrops = 0;
  private closing = false;
  private closed: Promise<void> | undefined;

  constructor(options: BullMQQueueOptions = {}) {
    this.prefix = options.prefix ?? 'pushrelay';
    this.name = options.name ?? 'deliveries';
    this.concurrency = positive('concurrency', options.concurrency ?? 64);
    this.slots = new Slots(this.concurrency);
    this.lockDurationMs = positive('lockDurationMs', options.lockDurationMs ?? 30_000);
    this.stalledIntervalMs = positive('stalledIntervalMs', options.stalledIntervalMs ?? 30_000);
    this.yieldToCallsMs = positive('yieldToCallsMs', options.yieldToCallsMs ?? 25);
    this.scheduleTimeoutMs = positive('scheduleTimeoutMs', options.scheduleTimeoutMs ?? 5000);
    this.closeGraceMs = positive('closeGraceMs', options.closeGraceMs ?? 5000);
    this.onError = options.onError ?? (() => {});
    this.jobsPerTenantTurn = options.jobsPerTenantTurn ?? 8;
    if (this.jobsPerTenantTurn !== 0) positive('jobsPerTenantTurn', this.jobsPerTenantTurn);
    this.jobOptions = {
      attempts: positive('maxFailures', options.maxFailures ?? 3),
      backoff: { type: 'fixed', delay: positive('failureRetryMs', options.failureRetryMs ?? 1000) },
      removeOnComplete: true,
      removeOnFail: { age: Math.ceil(positive('keepFailedMs', options.keepFailedMs ?? 3_600_000) / 1000) },
    };
    // BullMQ's blocking commands must wait through reconnects instead of failing after n retries.
    this.client = connect(options.connection, { maxRetriesPerRequest: null });
    // Without an offline queue, a caller of schedule (an HTTP request) learns at once that Redis
    // is away instead of waiting for it to come back. Commands already sent when the connection
    // drops are still sent again after the reconnect: an add runs again harmlessly (BullMQ
    // ignores an id it holds), and the nonce check still tells whose job is stored.
    this.producer = connect(options.connection, { maxRetriesPerRequest: null, enableOfflineQueue: false });
    // Errors surface through the commands that fail; an unhandled 'error' event would crash the process.
    this.client.on('error', () => {});
    this.producer.on('error', () => {});
    this.producer.on('ready', () => (this.producerWasReady = true));
    this.producer.on('close', () => this.producerDrops++);
    const queue = (lane: Lane) => {
      const q = new BullQueue<JobData>(`${this.name}-${lane}`, { connection: this.producer, prefix: this.prefix });
      q.on('error', () => {});
      return q;
    };
    this.queues = { call: queue('call'), default: queue('default') };
    const laneKeys = (lane: Lane): LaneKeys => {
      const keys = this.queues[lane].keys;
      return {
        fair: `${keys['']}fair`,
        prioritized: keys.prioritized!,
        delayed: keys.delayed!,
        active: keys.active!,
        epoch: `${keys['']}fair-epoch`,
        jobPrefix: keys['']!,
      };
    };
    this.laneKeys = { call: laneKeys('call'), default: laneKeys('default') };
    defineFairCommands(this.producer);
    defineFairCommands(this.client);
  }

  async schedule(job: DeliveryJob): Promise<boolean> {
    if (this.closing) return false;
    return this.bounded('schedule', () => this.add(job));
  }

  private async add(job: DeliveryJob): Promise<boolean> {
    const lane: Lane = job.lane === 'call' ? 'call' : 'default';
    const queue = this.queues[lane];
    const id = bullJobId(job.id);
    const tag = this.jobsPerTenantTurn === 0 ? undefined : await this.startTag(queue, lane, job.notification.tenant);
    const priority = tag?.priority;
    // Add first, look second: a fresh id (the usual case) costs two round trips. BullMQ ignores
    // an add whose id exists, so the nonce tells whose job is stored under the id.
    for (let round = 0; round < 2; round++) {
      const nonce = randomUUID();
      // Every job goes through the delayed set, scored by runAt, so due jobs start in runAt
      // order rather than in the order they were scheduled.
      const delay = Math.max(1, job.runAt - Date.now());
      await queue.add(
        'delivery',
        { job, nonce },
        { ...this.jobOptions, jobId: id, delay, timestamp: job.runAt - delay, priority },
      );
      const [[, stored], [, epoch]] = (await this.producer
        .multi()
        .hget(`${queue.keys['']}${id}`, 'data')
        .get(this.laneKeys[lane].epoch)
        .exec()) as [[unknown, string | null], [unknown, string | null]];
      // Gone already: it ran and was removed, and only ours could have run.
      if (stored === null) return true;
      if ((JSON.parse(stored) as JobData).nonce === nonce) {
        // The clock started again between the tag and the add: the tag is from before, so the
        // job goes to the top, as the ones waiting at the restart did.
        if (tag && Number(epoch ?? 0) !== tag.epoch) await (await queue.getJob(id))?.changePriority({ priority: 1 });
        return true;
      }
      const existing = await queue.getJob(id);
      if (existing) {
        const state = await existing.getState();
        if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return false;
        // A finished job keeps its id until removed; a retry of it is a new job.
        await existing.remove().catch(() => {});
      }
    }
    return false;
  }

  /** Waits for the first connection, as BullMQ's own add does: the producer has no offline queue. */
  private async startTag(
    queue: BullQueue<JobData>,
    lane: Lane,
    tenant: string,
  ): Promise<{ priority: number; epoch: number }> {
    await queue.waitUntilReady();
    return startTag(this.producer, this.laneKeys[lane], tenant, this.jobsPerTenantTurn);
  }

  process(handler: JobHandler): void {
    if (this.workers.length > 0 || this.closing) return;
    for (const lane of ['call', 'default'] as const) {
      const worker = new Worker<JobData>(`${this.name}-${lane}`, (job, token) => this.run(lane, job, token, handler), {
        connection: this.client,
        prefix: this.prefix,
        concurrency: this.concurrency,
        lockDuration: this.lockDurationMs,
        stalledInterval: this.stalledIntervalMs,
      });
      worker.on('error', () => {});
      if (lane === 'call') {
        // setImmediate: the next job BullMQ fetched with this completion reaches its slot request first.
        worker.on('completed', (job) => setImmediate(() => this.releaseHeld(job.id)));
        worker.on('failed', (job) => setImmediate(() => this.releaseHeld(job?.id)));
      }
      this.workers.push(worker);
    }
  }

  /**
   * Stored as a Redis key the workers read before running a job of that credential; a job that
   * finds its credential paused goes back to the delayed set until the pause ends, without
   * counting as a failed run. Every process sharing the prefix sees the pause.
   */
  async pauseCredential(credential: string, untilMs: number): Promise<void> {
    const ttl = Math.ceil(untilMs - Date.now());
    if (ttl <= 0) return;
    // Lua keeps the later of two pauses set at once by different processes.
    await this.client.eval(
      `local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
       if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
       return 1`,
      1,
      this.pauseKey(credential),
      String(untilMs),
      String(ttl),
    );
  }

  async size(): Promise<number> {
    const counts = await this.bounded('size', () =>
      Promise.all(
        Object.values(this.queues).map((q) =>
          q.getJobCountByTypes('wait', 'delayed', 'active', 'prioritized', 'paused', 'waiting-children'),
        ),
      ),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * Runs producer commands within scheduleTimeoutMs. The bound covers what the missing offline
   * queue does not: the first connection not made yet (BullMQ waits for it), and commands in
   * flight when the connection dropped (sent again only once Redis is back). Such a command may
   * still run after the rejection, which is why QueueUnavailableError says "may have been queued".
   */
  private async bounded<T>(what: string, work: () => Promise<T>): Promise<T> {
    // Decided before any command: an error raised while the connection is away may reach the
    // catch below only after it is ready again, and would look like Redis's own.
    if (this.producerWasReady && !this.producerUp()) {
      throw new QueueUnavailableError(`BullMQQueue ${what}: Redis is unreachable (connection ${this.producer.status})`);
    }
    const drops = this.producerDrops;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new QueueUnavailableError(`BullMQQueue ${what}: Redis did not answer within ${this.scheduleTimeoutMs} ms`),
          ),
        this.scheduleTimeoutMs,
      );
    });
    try {
      return await Promise.race([work(), timeout]);
    } catch (error) {
      // Only a connection that dropped or is down makes an error "unavailable"; Redis's own
      // errors (OOM, a script error) are passed on as they are.
      if (!(error instanceof QueueUnavailableError) && (this.producerDrops !== drops || !this.producerUp())) {
        throw new QueueUnavailableError(`BullMQQueue ${what}: Redis is unreachable (${(error as Error).message})`, {
          cause: error,
        });
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Ready and writable: when Redis closes the socket, ioredis refuses commands at once while its
   * status still says ready until the close event comes.
   */
  private producerUp(): boolean {
    return this.producer.status === 'ready' && this.producer.stream?.writable === true;
  }

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  /** Deletes every key under this queue's prefix and name: for tests and teardown scripts. */
  async destroy(): Promise<void> {
    const client = new Redis({ ...this.client.options, lazyConnect: false });
    try {
      for (const pattern of [`${this.prefix}:${this.name}-*`]) {
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) await client.del(...keys);
        } while (cursor !== '0');
      }
    } finally {
      client.disconnect();
    }
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    this.slots.close();
    // Worker.close waits for running handlers; jobs fetched but not started go back to Redis.
    // A worker whose connection dropped can wait in it forever (its loop never ends), so once
    // our handlers are done it gets a grace period, then its connections are cut: a job it had
    // not yet recorded as finished runs again elsewhere, marked redelivered.
    const closing = Promise.all(this.workers.map((w) => w.close()));
    closing.catch(() => {});
    const cut = this.idle().then(() => sleep(this.closeGraceMs, 'cut' as const));
    const cutOff = (await Promise.race([closing, cut])) === 'cut';
    for (const id of [...this.held.keys()]) this.releaseHeld(id);
    if (cutOff) {
      // BullMQ's own disconnect waits for an 'end' event that a client retrying a Redis that
      // is down never emits: every connection is dropped here without waiting for anything.
      for (const worker of this.workers) dropBlockingConnection(worker);
      this.client.disconnect();
      this.producer.disconnect();
      return;
    }
    await within(Promise.all(Object.values(this.queues).map((q) => q.close())), this.closeGraceMs);
    await Promise.all(
      [this.client, this.producer].map(async (c) => {
        // QUIT to a Redis that went away waits for a reconnect: bounded, then dropped.
        await within(
          c.quit().catch(() => undefined),
          this.closeGraceMs,
        );
        c.disconnect();
      }),
    );
  }

  private idle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pauseKey(credential: string): string {
    return `${this.prefix}:${this.name}-pause:${credential}`;
  }

  private async run(lane: Lane, bullJob: Job<JobData>, token: string | undefined, handler: JobHandler): Promise<void> {
    // A job that failed before or was taken back from a dead worker may already have been sent.
    const job =
      bullJob.attemptsMade > 0 || bullJob.stalledCounter > 0
        ? { ...bullJob.data.job, redelivered: true }
        : bullJob.data.job;
    for (;;) {
      if (!(await this.slots.acquire(lane))) await putBack(bullJob, token, Date.now());
      // When Redis cannot say, run rather than hold a slot: the call lane's own order still holds.
      if (lane === 'call' || (await this.callsWaiting().catch(() => 0)) === 0) break;
      this.slots.release();
      await new Promise((r) => setTimeout(r, this.yieldToCallsMs));
    }
    if (job.credential) {
      const until = Number((await this.client.get(this.pauseKey(job.credential)).catch(() => null)) ?? 0);
      if (until > Date.now()) {
        this.slots.release();
        await putBack(bullJob, token, until);
      }
    }
    // The hash's priority, not opts': a restart of the clock rewrites only the former.
    if (bullJob.priority) markStarted(this.client, this.laneKeys[lane], bullJob.priority);
    this.running++;
    try {
      await handler(job);
    } catch (error) {
      this.onError(error, job);
      throw error;
    } finally {
      if (lane === 'call') this.holdUntilFinished(bullJob.id!);
      else this.slots.release();
      if (--this.running === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /**
   * A call job's slot is freed only once BullMQ has recorded the job as finished, which is also
   * when it hands the worker the next call job: freed earlier, a default job could take the slot
   * in between, when that next call job is neither waiting in Redis nor asking for a slot here.
   */
  private holdUntilFinished(id: string): void {
    const fallback = setTimeout(() => this.releaseHeld(id), this.lockDurationMs);
    fallback.unref();
    this.held.set(id, fallback);
  }

  private releaseHeld(id: string | undefined): void {
    const timer = id === undefined ? undefined : this.held.get(id);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.held.delete(id!);
    this.slots.release();
  }

  /** Call jobs that are due and not yet taken by any worker. */
  private async callsWaiting(): Promise<number> {
    const keys = this.queues.call.keys;
    const dueScore = (Date.now() + 1) * 0x1000 - 1;
    const result = await this.client
      .multi()
      .llen(keys.wait!)
      .zcard(keys.prioritized!)
      .zcount(keys.delayed!, 0, dueScore)
      .exec();
    return (result ?? []).reduce((sum, [, n]) => sum + Number(n ?? 0), 0);
  }
}

function connect(connection: string | RedisOptions | undefined, forced: RedisOptions): Redis {
  return typeof connection === 'string'
    ? new Redis(connection, forced)
    : new Redis({ host: '127.0.0.1', port: 6379, ...connection, ...forced });
}

function sleep<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms).unref());
}

/** Waits for `work` at most `ms`; what it comes to after that is left alone. */
async function within(work: Promise<unknown>, ms: number): Promise<void> {
  await Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    sleep(ms, undefined),
  ]);
}

/**
 * Drops a worker's blocking connection (the duplicate BullMQ makes for its blocking pops), which
 * Worker.disconnect leaves alone. BullMQ keeps it in a non-public field: if a release renames
 * it, nothing is dropped here and the test of a close after Redis went down fails.
 */
function dropBlockingConnection(worker: Worker<JobData>): void {
  const blocking = (worker as unknown as { blockingConnection?: { client?: Promise<Redis> } }).blockingConnection;
  blocking?.client?.then((c) => c.disconnect()).catch(() => {});
}

/** Returns the job to the delayed set until `at`, without counting a failed run. */
async function putBack(job: Job<JobData>, token: string | undefined, at: number): Promise<never> {
  await job.moveToDelayed(at, token);
  throw new DelayedError();
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`BullMQQueue option ${name} must be a positive number, got ${value}`);
  return value;
}
