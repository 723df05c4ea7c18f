import { systemClock } from './clock.js';
import { CodecError, ConfigurationError, PushRelayError } from './errors.js';
import { EventHub } from './events.js';
import { FINAL_DEVICE_STATUSES, isCallType } from './model.js';
import { mayPushAs } from './provider-rules.js';
import type {
  CallNotification,
  DeliveryAttempt,
  DeliveryOutcome,
  DeliveryReport,
  DeviceBinding,
  DeviceDelivery,
  DeviceDeliveryStatus,
  Provider,
  PushRequest,
} from './model.js';
import type {
  BindingStore,
  Clock,
  Codec,
  DeliveryJob,
  DeviceUpdate,
  Presence,
  Queue,
  RandomSource,
  ReportStore,
  Transport,
} from './ports.js';
import { DEFAULT_RETRY_POLICY, nextAttemptAt, type RetryPolicy } from './retry.js';
import { AdmissionControl, DEFAULT_ADMISSION_POLICY, type AdmissionOptions } from './admission.js';
import { RateLimitedError, type RateLimit, type RateLimiter } from './rate-limit.js';
import { SpanKind } from '@opentelemetry/api';
import { activeTracer, carrierOf, contextFrom, setActiveSpanAttribute, withSpan } from './tracing.js';

export interface RelayOptions {
  bindings: BindingStore;
  reports: ReportStore;
  queue: Queue;
  /** Codecs by id; a binding's `format` names the one that encodes for it. */
  codecs: readonly Codec[];
  /** One transport per provider; each serves every app of its provider. */
  transports: Partial<Record<Provider, Transport>>;
  presence?: Presence;
  clock?: Clock;
  random?: RandomSource;
  retry?: Partial<RetryPolicy>;
  /**
   * True in a process that only accepts notifications and leaves sending them to other processes
   * sharing its queue: `notify` then works without `start`. By default `notify` before `start`
   * throws ConfigurationError, since nothing in this process would ever send what it queued.
   */
  acceptOnly?: boolean;
  /**
   * Bounds on accepted but unsent work, each field DEFAULT_ADMISSION_POLICY's unless given; none
   * without it. Past one, `notify` and `forward` throw OverloadedError before they write anything.
   */
  admission?: AdmissionOptions;
  /**
   * Notifications per second per tenant: each `notify` or `forward` takes a token from its
   * tenant's bucket first and throws RateLimitedError, before anything is written, when none is left.
   */
  rateLimit?: {
    limiter: RateLimiter;
    /** The tenant's bucket; undefined for a tenant without a limit. */
    limitFor(tenant: string): RateLimit | undefined;
  };
}

export interface NotifyResult {
  report: DeliveryReport;
  /** True when a notification with this id was accepted before: nothing was sent again. */
  duplicate: boolean;
}

/** What every per-device event of the relay carries: the notification, the device and which attempt this is. */
export interface DeviceEvent {
  notification: CallNotification;
  binding: DeviceBinding;
  attempt: number;
}

export interface RelayEvents {
  accepted: { notification: CallNotification; report: DeliveryReport };
  duplicate: { notification: CallNotification };
  suppressed: { notification: CallNotification; reason: 'online' | 'no-devices' };
  attempt: DeviceEvent & { request: PushRequest; outcome: DeliveryOutcome; latencyMs: number };
  delivered: DeviceEvent & { outcome: Extract<DeliveryOutcome, { kind: 'delivered' }> };
  'retry-scheduled': DeviceEvent & { delayMs: number; reason: string };
  'binding-removed': DeviceEvent & { reason: string };
  /**
   * `codec` and `field` are set when the binding's codec refused to encode the notification
   * (CodecError), not when the provider refused the push.
   */
  rejected: DeviceEvent & { reason: string; codec?: string; field?: string };
  'auth-failed': DeviceEvent & { reason: string };
  expired: { notification: CallNotification; bindingId: string; attempt: number; detail: string };
  /**
   * A device that got no push: `no-codec` / `no-transport` (the relay lacks what its binding
   * names: a configuration mistake), `device-removed` before the send, `not-pushed` (its format
   * does not push this type to it), `not-voip` (a push that reports no call never goes out as VoIP).
   */
  skipped: { notification: CallNotification; bindingId: string; detail: string; reason: SkipReason };
  completed: { report: DeliveryReport };
  error: { error: unknown; job?: DeliveryJob };
}

/**
 * A push a vendor platform built itself (a push proxy's request) for the relay to send as it is,
 * under the relay's policy: the notification's deadline, retries and a delivery report.
 */
export interface ForwardedPush {
  /** What the push stands for: its tenant, id, type and deadline govern the report and the retries. */
  notification: CallNotification;
  request: PushRequest;
  /** The codec whose translation built the request, recorded in the report. */
  format: string;
}

/** The `bindingId` of a forwarded push's one device in its report: no stored binding stands behind it. */
export const FORWARDED_DEVICE_ID = 'forwarded';

export type SkipReason = 'no-codec' | 'no-transport' | 'device-removed' | 'not-pushed' | 'not-voip';

/**
 * The delivery pipeline: bindings for the recipient, skip online users, encode per binding
 * format, send, act on the outcome. Owns policy (deadlines, retries, dedupe, token invalidation);
 * knows no vendor and no provider.
 */
export class Relay {
  readonly events = new EventHub<RelayEvents>();
  private readonly codecs: Map<string, Codec>;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly retry: RetryPolicy;
  private readonly admission: AdmissionControl | undefined;
  private started = false;
  private closed = false;
  private lastIsoMs = NaN;
  private lastIso = '';
  private lastDeadline = '';
  private lastDeadlineMs = NaN;

  /** Throws ConfigurationError for codecs or transports that cannot be right (same id twice, wrong provider). */
  constructor(private readonly options: RelayOptions) {
    this.codecs = new Map(options.codecs.map((c) => [c.id, c]));
    if (this.codecs.size !== options.codecs.length) {
      const ids = options.codecs.map((c) => c.id);
      const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
      throw new ConfigurationError(`codec id "${twice[0]}" is given twice: a binding's format must name one codec`);
    }
    for (const [provider, transport] of Object.entries(options.transports)) {
      if (transport && transport.provider !== provider) {
        throw new ConfigurationError(
          `transports.${provider} is a ${transport.provider} transport: each provider needs its own`,
        );
      }
    }
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    if (options.admission) {
      const { residentMemory, ...given } = options.admission;
      const policy = { ...DEFAULT_ADMISSION_POLICY, ...given };
      this.admission = new AdmissionControl(policy, options.queue, this.clock, residentMemory);
    }
    this.events.onListenerError = (error) => this.events.emit('error', { error });
  }

  /** Starts taking jobs from the queue. Only a relay built with `acceptOnly` may skip it. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.options.queue.process((job) => this.runJob(job));
  }

  /**
   * Accepts a validated notification: records its report and queues one send per device.
   * Resolves once it is durable in the queue, not when it is delivered.
   */
  async notify(notification: CallNotification): Promise<NotifyResult> {
    this.assertAccepting('notify');
    const { tenant, recipient, id } = notification;
    if (this.options.rateLimit) await this.takeToken(tenant);
    // No read before the write: the store's atomic create decides what is a duplicate.
    const now = this.clock.now();
    const nowIso = this.iso(now);
    const report: DeliveryReport = {
      notificationId: id,
      tenant,
      recipient,
      type: notification.type,
      acceptedAt: nowIso,
      deadline: notification.deadline,
      status: 'in-progress',
      devices: [],
    };

    if (this.options.presence && (await this.isOnline(tenant, recipient))) {
      report.status = 'suppressed';
      report.suppressedReason = 'online';
      report.completedAt = nowIso;
      if (!(await this.options.reports.create(report))) return this.duplicateOf(notification);
      this.events.emit('suppressed', { notification, reason: 'online' });
      this.events.emit('completed', { report });
      return { report, duplicate: false };
    }

    const all = await this.options.bindings.forUser(tenant, recipient);
    const only = notification.bindingIds ? new Set(notification.bindingIds) : undefined;
    const bindings = only ? all.filter((b) => only.has(b.id)) : all;
    const due: DeviceBinding[] = [];
    let skipped: Array<{ bindingId: string; detail: string; reason: SkipReason }> | undefined;
    for (const binding of bindings) {
      const missing = this.missing(binding);
      const skip = missing?.detail;
      if (missing) (skipped ??= []).push({ bindingId: binding.id, ...missing });
      const device: DeviceDelivery = {
        bindingId: binding.id,
        provider: binding.provider,
        app: binding.app,
        format: binding.format,
        status: skip ? 'skipped' : 'pending',
        attempts: [],
        updatedAt: nowIso,
      };
      if (skip) device.detail = skip;
      else due.push(binding);
      report.devices.push(device);
    }
    if (due.length === 0) {
      report.status = 'completed';
      report.completedAt = nowIso;
      if (bindings.length === 0) report.suppressedReason = 'no-devices';
    }
    if (!(await this.admitAndCreate(notification, report, due.length))) return this.duplicateOf(notification);

    const lane = isCallType(notification.type) ? 'call' : 'default';
    const job = (binding: DeviceBinding): DeliveryJob => ({
      id: jobId(notification, binding.id, 1),
      notification,
      bindingId: binding.id,
      attempt: 1,
      runAt: now,
      lane,
      credential: credentialKey(binding),
    });
    if (due.length > 0) {
      // One device is the common case: no array of promises for it.
      const queued =
        due.length === 1 ? this.schedule(job(due[0]!)) : Promise.all(due.map((binding) => this.schedule(job(binding))));
      await this.queueAdmitted(tenant, due.length, queued);
    }
    if (this.events.has('accepted')) this.events.emit('accepted', { notification, report });
    for (const s of skipped ?? []) this.events.emit('skipped', { notification, ...s });
    if (bindings.length === 0) this.events.emit('suppressed', { notification, reason: 'no-devices' });
    if (report.status === 'completed') this.events.emit('completed', { report });
    return { report, duplicate: false };
  }

  /**
   * Accepts a push the vendor built (see ForwardedPush): records a report with one device and
   * queues the send. A token the provider declares dead is reported, not removed: the vendor
   * platform that sent it owns it. Resolves once it is durable in the queue.
   */
  async forward(push: ForwardedPush): Promise<NotifyResult> {
    this.assertAccepting('forward');
    const { notification, request, format } = push;
    if (this.options.rateLimit) await this.takeToken(notification.tenant);
    const now = this.clock.now();
    const nowIso = this.iso(now);
    const device: DeviceDelivery = {
      bindingId: FORWARDED_DEVICE_ID,
      provider: request.provider,
      app: request.app,
      format,
      status: 'pending',
      attempts: [],
      updatedAt: nowIso,
    };
    const noTransport = !this.options.transports[request.provider];
    const detail = `no transport for provider "${request.provider}" is configured`;
    if (noTransport) Object.assign(device, { status: 'skipped', detail });
    const report: DeliveryReport = {
      notificationId: notification.id,
      tenant: notification.tenant,
      recipient: notification.recipient,
      type: notification.type,
      acceptedAt: nowIso,
      deadline: notification.deadline,
      status: noTransport ? 'completed' : 'in-progress',
      devices: [device],
    };
    if (noTransport) report.completedAt = nowIso;
    if (!(await this.admitAndCreate(notification, report, noTransport ? 0 : 1))) {
      this.events.emit('duplicate', { notification });
      const existing = await this.options.reports.get(notification.tenant, notification.id);
      if (!existing) throw new PushRelayError('report_missing', `report ${notification.id} vanished`);
      return { report: existing, duplicate: true };
    }
    if (!noTransport) {
      await this.queueAdmitted(
        notification.tenant,
        1,
        this.schedule({
          id: jobId(notification, FORWARDED_DEVICE_ID, 1),
          notification,
          bindingId: FORWARDED_DEVICE_ID,
          attempt: 1,
          runAt: now,
          lane: isCallType(notification.type) ? 'call' : 'default',
          credential: credentialKey(request),
          forward: { request, format },
        }),
      );
    }
    if (this.events.has('accepted')) this.events.emit('accepted', { notification, report });
    if (noTransport) {
      this.events.emit('skipped', { notification, bindingId: FORWARDED_DEVICE_ID, detail, reason: 'no-transport' });
      this.events.emit('completed', { report });
    }
    return { report, duplicate: false };
  }

  async report(tenant: string, notificationId: string): Promise<DeliveryReport | undefined> {
    return this.options.reports.get(tenant, notificationId);
  }

  /**
   * Resolves with the report once every device reached a final status (or `timeoutMs` passed,
   * then with the report as it stands). Also sees completions made by other processes.
   */
  async waitForCompletion(
    tenant: string,
    notificationId: string,
    options: { timeoutMs?: number; pollMs?: number } = {},
  ): Promise<DeliveryReport | undefined> {
    const { timeoutMs = 60_000, pollMs = 250 } = options;
    const isDone = (r: DeliveryReport | undefined) => !r || r.status !== 'in-progress';
    const current = await this.options.reports.get(tenant, notificationId);
    if (isDone(current)) return current;
    return new Promise((resolve) => {
      const timers: unknown[] = [];
      let finished = false;
      const finish = (r: DeliveryReport | undefined) => {
        if (finished) return;
        finished = true;
        off();
        for (const t of timers) this.clock.clearTimer(t);
        resolve(r);
      };
      const off = this.events.on('completed', ({ report }) => {
        if (report.tenant === tenant && report.notificationId === notificationId) finish(report);
      });
      const poll = () => {
        void this.options.reports.get(tenant, notificationId).then((r) => {
          if (isDone(r)) finish(r);
          else if (!finished) timers.push(this.clock.setTimer(poll, pollMs));
        });
      };
      timers.push(this.clock.setTimer(poll, pollMs));
      timers.push(
        this.clock.setTimer(() => {
          void this.options.reports.get(tenant, notificationId).then(finish);
        }, timeoutMs),
      );
    });
  }

  /**
   * Throws ConfigurationError when this relay could not deliver to such a binding (no codec for
   * its format, no transport for its provider). Call it where bindings are registered, so the
   * mistake shows then rather than as skipped devices later.
   */
  checkBinding(binding: Pick<DeviceBinding, 'provider' | 'format'>): void {
    const missing = this.missing(binding);
    if (missing) throw new ConfigurationError(missing.detail);
  }

  /** Stops the queue; in-flight sends finish first. Transports are closed by their owner. */
  async close(): Promise<void> {
    this.closed = true;
    await this.options.queue.close();
  }

  private assertAccepting(method: string): void {
    if (this.closed)
      throw new PushRelayError('relay_closed', `Relay.${method} after close(): the queue takes no more jobs`);
    if (!this.started && !this.options.acceptOnly) {
      throw new ConfigurationError(
        `Relay.${method} before start(): nothing in this process would send it. Call relay.start() first, ` +
          'or build the relay with acceptOnly: true when other processes sharing the queue deliver.',
      );
    }
  }

  private async duplicateOf(notification: CallNotification): Promise<NotifyResult> {
    this.events.emit('duplicate', { notification });
    const report = await this.options.reports.get(notification.tenant, notification.id);
    if (!report) throw new PushRelayError('report_missing', `report ${notification.id} vanished`);
    await this.requeueUnstarted(notification, report);
    return { report, duplicate: true };
  }

  /**
   * A process that died between writing the report and queueing its jobs leaves devices that
   * never got a first attempt. A repeat of the notification queues them again; the queue's id
   * dedupe keeps a job that is still waiting or running from being added twice.
   */
  private async requeueUnstarted(notification: CallNotification, report: DeliveryReport): Promise<void> {
    if (report.status !== 'in-progress') return;
    const lane = isCallType(notification.type) ? 'call' : 'default';
    const now = this.clock.now();
    for (const device of report.devices) {
      if (device.status !== 'pending' || device.attempts.length > 0) continue;
      const binding = await this.options.bindings.get(notification.tenant, device.bindingId);
      await this.schedule({
        id: jobId(notification, device.bindingId, 1),
        notification,
        bindingId: device.bindingId,
        attempt: 1,
        runAt: now,
        lane,
        ...(binding ? { credential: credentialKey(binding) } : {}),
        redelivered: true,
      });
    }
  }

  private missing(
    binding: Pick<DeviceBinding, 'provider' | 'format'>,
  ): { reason: 'no-codec' | 'no-transport'; detail: string } | undefined {
    if (!this.codecs.has(binding.format)) {
      return { reason: 'no-codec', detail: `no codec "${binding.format}" is configured` };
    }
    if (!this.options.transports[binding.provider]) {
      return { reason: 'no-transport', detail: `no transport for provider "${binding.provider}" is configured` };
    }
    return undefined;
  }

  /**
   * Admits `jobs` sends of the notification (OverloadedError before anything is written: the
   * sender may send the very same notification again), then creates its report; false for a
   * duplicate. What was admitted but will not be queued is given back.
   */
  private async admitAndCreate(notification: CallNotification, report: DeliveryReport, jobs: number): Promise<boolean> {
    if (!this.admission) return this.options.reports.create(report);
    await this.admission.admit(notification.tenant, notification.type, jobs);
    let created = false;
    try {
      created = await this.options.reports.create(report);
      return created;
    } finally {
      if (!created) this.admission.release(notification.tenant, jobs);
    }
  }

  /** Queues admitted sends; if that fails, what never runs must not hold the tenant's share. */
  private async queueAdmitted(tenant: string, jobs: number, queued: Promise<unknown>): Promise<void> {
    try {
      await queued;
    } catch (error) {
      this.admission?.release(tenant, jobs);
      throw error;
    }
  }

  private async isOnline(tenant: string, recipient: string): Promise<boolean> {
    try {
      return await this.options.presence!.isOnline(tenant, recipient);
    } catch (error) {
      // Pushing to a user who was online after all is harmless; suppressing for one who is not
      // loses the notification.
      this.events.emit('error', { error });
      return false;
    }
  }

  private async takeToken(tenant: string): Promise<void> {
    const { limiter, limitFor } = this.options.rateLimit!;
    const limit = limitFor(tenant);
    if (!limit) return;
    let waitMs: number;
    try {
      waitMs = await limiter.take(`notifications:${tenant}`, limit);
    } catch (error) {
      // A limiter that cannot answer (its Redis is away) lets the notification through: a rate
      // is a fairness rule, not a reason to drop a call.
      this.events.emit('error', { error });
      return;
    }
    if (waitMs > 0) throw new RateLimitedError(tenant, waitMs);
  }

  /**
   * Queues a job. While tracing is on, it is queued inside a producer span whose context the
   * job carries, so that its run continues the trace of whoever scheduled it.
   */
  private schedule(job: DeliveryJob): Promise<boolean> {
    if (!activeTracer()) return this.options.queue.schedule(job);
    return withSpan('send delivery', { kind: SpanKind.PRODUCER, attributes: jobAttributes(job, 'send') }, (span) => {
      const carrier = span && carrierOf(span);
      return this.options.queue.schedule(carrier ? { ...job, trace: carrier } : job);
    });
  }

  /**
   * Runs one queued send. Store failures propagate so the queue can run the job again. While
   * tracing is on, the run is a consumer span, the child of the span that scheduled the job.
   */
  async runJob(job: DeliveryJob): Promise<void> {
    try {
      if (!activeTracer()) await this.deliverJob(job);
      else {
        await withSpan(
          'process delivery',
          { kind: SpanKind.CONSUMER, attributes: jobAttributes(job, 'process'), parent: contextFrom(job.trace) },
          () => this.deliverJob(job),
        );
      }
    } finally {
      this.admission?.release(job.notification.tenant);
    }
  }

  private async deliverJob(job: DeliveryJob): Promise<void> {
    const { notification, bindingId, attempt } = job;
    const { tenant } = notification;
    // A queue shared by processes runs a job again when the process running it died; if that
    // run already recorded this device's outcome, the push went out and must not go twice.
    // Only a redelivered job pays for the read.
    if (job.redelivered) {
      const current = await this.options.reports.get(tenant, notification.id);
      const device = current?.devices.find((d) => d.bindingId === bindingId);
      if (device && FINAL_DEVICE_STATUSES.has(device.status)) return;
    }
    const now = this.clock.now();
    const deadline = this.deadlineOf(notification);
    if (now >= deadline) {
      const done = await this.finish(job, 'expired', 'deadline passed before the push could be sent');
      this.events.emit('expired', { notification, bindingId, attempt, detail: 'deadline passed' });
      this.announce(done);
      return;
    }
    if (job.forward) return this.runForwarded(job, job.forward, now, deadline);
    const binding = await this.options.bindings.get(tenant, bindingId);
    if (!binding) {
      const done = await this.finish(job, 'skipped', 'device was removed before the push was sent');
      this.events.emit('skipped', { notification, bindingId, detail: 'device removed', reason: 'device-removed' });
      this.announce(done);
      return;
    }
    const codec = this.codecs.get(binding.format);
    const transport = this.options.transports[binding.provider];
    if (!codec || !transport) {
      const missing = this.missing(binding) ?? { reason: 'no-codec' as const, detail: 'not configured' };
      const done = await this.finish(job, 'skipped', missing.detail);
      this.events.emit('skipped', { notification, bindingId, ...missing });
      this.announce(done);
      return;
    }

    let request: PushRequest | null;
    try {
      request = codec.encode(notification, binding, { now });
    } catch (error) {
      const reason = error instanceof CodecError ? error.message : `encode failed: ${String(error)}`;
      const done = await this.record(job, 'rejected', { kind: 'rejected', reason }, now, 0, reason);
      this.events.emit('rejected', {
        notification,
        binding,
        attempt,
        reason,
        codec: codec.id,
        ...(error instanceof CodecError && error.path !== undefined ? { field: error.path } : {}),
      });
      this.announce(done);
      return;
    }
    if (request && !mayPushAs(notification.type, request.pushType)) {
      const detail = `a ${notification.type} push reports no call and is never sent as a VoIP push`;
      const done = await this.finish(job, 'skipped', detail);
      this.events.emit('skipped', { notification, bindingId, detail, reason: 'not-voip' });
      this.announce(done);
      return;
    }
    if (!request) {
      const detail = `format "${binding.format}" does not push ${notification.type} to this device`;
      const done = await this.finish(job, 'skipped', detail);
      this.events.emit('skipped', { notification, bindingId, detail, reason: 'not-pushed' });
      this.announce(done);
      return;
    }
    await this.send(job, binding, transport, request, now, deadline);
  }

  /** Runs one send of a forwarded push: no binding to read and nothing to encode. */
  private async runForwarded(
    job: DeliveryJob,
    forward: NonNullable<DeliveryJob['forward']>,
    now: number,
    deadline: number,
  ): Promise<void> {
    const { notification, bindingId } = job;
    const { request } = forward;
    const transport = this.options.transports[request.provider];
    if (!transport) {
      const detail = `no transport for provider "${request.provider}" is configured`;
      const done = await this.finish(job, 'skipped', detail);
      this.events.emit('skipped', { notification, bindingId, detail, reason: 'no-transport' });
      this.announce(done);
      return;
    }
    if (!mayPushAs(notification.type, request.pushType)) {
      const detail = `a ${notification.type} push reports no call and is never sent as a VoIP push`;
      const done = await this.finish(job, 'skipped', detail);
      this.events.emit('skipped', { notification, bindingId, detail, reason: 'not-voip' });
      this.announce(done);
      return;
    }
    await this.send(job, forwardedBinding(notification, forward), transport, request, now, deadline);
  }

  private async send(
    job: DeliveryJob,
    binding: DeviceBinding,
    transport: Transport,
    request: PushRequest,
    now: number,
    deadline: number,
  ): Promise<void> {
    const { notification, attempt } = job;
    let outcome: DeliveryOutcome;
    try {
      outcome = await transport.send(request, { deadline });
    } catch (error) {
      outcome =
        error instanceof PushRelayError
          ? { kind: 'rejected', reason: error.message }
          : { kind: 'retry', reason: `transport failed: ${String(error)}` };
    }
    const latencyMs = this.clock.now() - now;
    if (this.events.has('attempt')) {
      this.events.emit('attempt', { notification, binding, attempt, request, outcome, latencyMs });
    }
    await this.act(job, binding, outcome, now, latencyMs);
  }

  private async act(
    job: DeliveryJob,
    binding: DeviceBinding,
    outcome: DeliveryOutcome,
    startedAt: number,
    latencyMs: number,
  ): Promise<void> {
    const { notification, attempt } = job;
    switch (outcome.kind) {
      case 'delivered': {
        const done = await this.record(job, 'delivered', outcome, startedAt, latencyMs);
        if (this.events.has('delivered')) this.events.emit('delivered', { notification, binding, attempt, outcome });
        this.announce(done);
        return;
      }
      case 'invalid-token': {
        // A device that registered again after the provider saw the token die keeps its binding.
        const reRegistered = outcome.since !== undefined && Date.parse(binding.updatedAt) > Date.parse(outcome.since);
        // A forwarded push's token is the vendor's: the report tells it, there is no binding to remove.
        const remove = !reRegistered && !job.forward;
        if (remove) await this.options.bindings.remove(binding.tenant, binding.id);
        const done = await this.record(job, 'invalid-token', outcome, startedAt, latencyMs, outcome.reason);
        if (remove) this.events.emit('binding-removed', { notification, binding, attempt, reason: outcome.reason });
        this.announce(done);
        return;
      }
      case 'rejected': {
        const done = await this.record(job, 'rejected', outcome, startedAt, latencyMs, outcome.reason);
        this.events.emit('rejected', { notification, binding, attempt, reason: outcome.reason });
        this.announce(done);
        return;
      }
      case 'auth-failed': {
        const done = await this.record(job, 'auth-failed', outcome, startedAt, latencyMs, outcome.reason);
        this.events.emit('auth-failed', { notification, binding, attempt, reason: outcome.reason });
        this.announce(done);
        return;
      }
      case 'retry': {
        const now = this.clock.now();
        const deadline = Date.parse(notification.deadline);
        const at = nextAttemptAt(this.retry, attempt, now, deadline, this.random, outcome.retryAfterMs);
        if (at === null) {
          const detail =
            attempt >= this.retry.maxAttempts
              ? `gave up after ${attempt} attempts: ${outcome.reason}`
              : `next retry would land after the deadline: ${outcome.reason}`;
          const done = await this.record(job, 'expired', outcome, startedAt, latencyMs, detail);
          this.events.emit('expired', { notification, bindingId: binding.id, attempt, detail });
          this.announce(done);
          return;
        }
        await this.record(job, 'retrying', outcome, startedAt, latencyMs, outcome.reason);
        if (
          outcome.scope === 'credential' &&
          outcome.retryAfterMs !== undefined &&
          job.credential &&
          this.options.queue.pauseCredential
        ) {
          await this.options.queue.pauseCredential(job.credential, now + outcome.retryAfterMs);
        }
        const { redelivered: _redelivered, ...next } = job;
        await this.schedule({
          ...next,
          id: jobId(notification, binding.id, attempt + 1),
          attempt: attempt + 1,
          runAt: at,
        });
        this.admission?.retried(notification.tenant);
        this.events.emit('retry-scheduled', {
          notification,
          binding,
          attempt,
          delayMs: at - now,
          reason: outcome.reason,
        });
        return;
      }
    }
  }

  private record(
    job: DeliveryJob,
    status: DeviceDeliveryStatus,
    outcome: DeliveryOutcome,
    startedAt: number,
    latencyMs: number,
    detail?: string,
  ): Promise<DeliveryReport | undefined> {
    const attempt: DeliveryAttempt = {
      attempt: job.attempt,
      at: this.iso(startedAt),
      outcome,
      latencyMs,
    };
    const at = this.iso(this.clock.now());
    return this.update(job, detail !== undefined ? { status, attempt, detail, at } : { status, attempt, at });
  }

  private finish(job: DeliveryJob, status: DeviceDeliveryStatus, detail: string): Promise<DeliveryReport | undefined> {
    return this.update(job, { status, detail, at: this.iso(this.clock.now()) });
  }

  /** Stores a device change; returns the report when this change completed it. */
  private async update(job: DeliveryJob, change: DeviceUpdate): Promise<DeliveryReport | undefined> {
    const { tenant, id } = job.notification;
    setActiveSpanAttribute('pushrelay.device.status', change.status);
    const result = await this.options.reports.recordAttempt(tenant, id, job.bindingId, change);
    return result?.completedNow ? result.report : undefined;
  }

  /**
   * Formats an epoch-ms time as ISO 8601. Under load several notifies and sends land in the same
   * millisecond, so the last result is kept and reused.
   */
  private iso(ms: number): string {
    if (ms !== this.lastIsoMs) {
      this.lastIsoMs = ms;
      this.lastIso = new Date(ms).toISOString();
    }
    return this.lastIso;
  }

  /** The notification's deadline in epoch ms; notifications made together often share one. */
  private deadlineOf(notification: CallNotification): number {
    if (notification.deadline !== this.lastDeadline) {
      this.lastDeadline = notification.deadline;
      this.lastDeadlineMs = Date.parse(notification.deadline);
    }
    return this.lastDeadlineMs;
  }

  /** Announces a completed report after the device event that completed it. */
  private announce(report: DeliveryReport | undefined): void {
    if (report && this.events.has('completed')) this.events.emit('completed', { report });
  }
}

/** What the relay's events say of a forwarded push's device: built from the request, never stored. */
function forwardedBinding(
  notification: CallNotification,
  { request, format }: NonNullable<DeliveryJob['forward']>,
): DeviceBinding {
  return {
    id: FORWARDED_DEVICE_ID,
    tenant: notification.tenant,
    userId: notification.recipient,
    provider: request.provider,
    token: request.token,
    app: request.app,
    environment: request.environment,
    pushKind: request.pushType === 'voip' ? 'voip' : request.pushType === 'alert' ? 'alert' : 'data',
    format,
    origin: 'api',
    createdAt: notification.createdAt,
    updatedAt: notification.createdAt,
  };
}

/** A job on a span: which notification, device and attempt; never the device's token. */
function jobAttributes(job: DeliveryJob, operation: 'send' | 'process'): Record<string, string | number> {
  const { notification } = job;
  const attributes: Record<string, string | number> = {
    'messaging.system': 'pushrelay',
    'messaging.operation.type': operation,
    'messaging.destination.name': job.lane,
    'messaging.message.id': job.id,
    'pushrelay.tenant': notification.tenant,
    'pushrelay.notification.id': notification.id,
    'pushrelay.notification.type': notification.type,
    'pushrelay.binding.id': job.bindingId,
    'pushrelay.attempt': job.attempt,
  };
  if (notification.call?.id !== undefined) attributes['pushrelay.call.id'] = notification.call.id;
  return attributes;
}

export function jobId(notification: CallNotification, bindingId: string, attempt: number): string {
  return `${notification.tenant}/${notification.id}/${bindingId}/${attempt}`;
}

/** The credential a binding is sent with: one rate-limit bucket per provider app and environment. */
export function credentialKey(binding: Pick<DeviceBinding, 'provider' | 'app' | 'environment'>): string {
  return `${binding.provider}:${binding.app}:${binding.environment}`;
}
