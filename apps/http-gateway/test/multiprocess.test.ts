import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '@pushrelay/simulators';
import {
  Cluster,
  FCM_PROJECT,
  inParallel,
  postgresService,
  redisBinary,
  redisService,
  type GatewayProcess,
  type StoredReport,
} from './cluster.js';

const available = redisService.available && postgresService.available;
const USERS = 100;
/** Users below this have two devices, the others one. */
const TWO_DEVICE_USERS = 20;

interface Devices {
  /** bindingId -> token */
  tokens: Map<string, string>;
}

async function registerDevices(cluster: Cluster, via: GatewayProcess, label: string): Promise<Devices> {
  const tokens = new Map<string, string>();
  const wanted: { user: string; token: string }[] = [];
  for (let u = 0; u < USERS; u++) {
    for (let d = 0; d < (u < TWO_DEVICE_USERS ? 2 : 1); d++)
      wanted.push({ user: `u${u}`, token: `${label}-tok-u${u}-d${d}` });
  }
  await inParallel(wanted, 8, async ({ user, token }) => {
    const res = await cluster.call(via.url, 'POST', '/v1/devices', {
      userId: user,
      provider: 'fcm',
      token,
      app: FCM_PROJECT,
      pushKind: 'data',
      format: 'wazo',
    });
    expect(res.status).toBe(201);
    tokens.set(String(res.body?.id), token);
  });
  return { tokens };
}

interface Sent {
  /** Notification id -> its call id, for every notification a gateway answered 202. */
  accepted: Map<string, string>;
  /** Requests that got no 202 (the process died under them, Redis was down); sent again with a new id. */
  refused: number;
  /** Refused requests by answer: the HTTP status, or `no answer` when the connection failed. */
  refusals: Map<string, number>;
  /** 202 answers per gateway URL. */
  perProcess: Map<string, number>;
}

/**
 * Sends `total` incoming calls spread over the live processes, at most `parallel` at once;
 * `onProgress` runs after each 202 (to kill something midway). An aborted `signal` makes it
 * give up instead of sending refused requests again forever.
 */
async function sendCalls(
  cluster: Cluster,
  label: string,
  total: number,
  parallel: number,
  onProgress: (accepted: number, url: string) => void,
  signal?: AbortSignal,
): Promise<Sent> {
  const accepted = new Map<string, string>();
  const perProcess = new Map<string, number>();
  const refusals = new Map<string, number>();
  const refuse = (why: string) => refusals.set(why, (refusals.get(why) ?? 0) + 1);
  let refused = 0;
  let attempt = 0;
  let turn = 0;
  await inParallel(
    Array.from({ length: total }, (_, i) => i),
    parallel,
    async (i) => {
      for (;;) {
        signal?.throwIfAborted();
        const live = cluster.processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
        const target = live[turn++ % live.length]!;
        // A refused request may still have been queued (by a dying process, or once Redis is
        // back): the retry gets its own call id so the simulator's count per (token, call) tells
        // the two apart.
        const id = `${label}-n${i}-a${attempt}`;
        const callId = `${label}-call-${i}-a${attempt++}-x`;
        try {
          const res = await cluster.call(
            target.url,
            'POST',
            '/v1/notifications',
            {
              type: 'incoming_call',
              recipient: `u${i % USERS}`,
              call: { id: callId, from: { number: '+15550100', displayName: 'Load' } },
            },
            { 'idempotency-key': id },
          );
          if (res.status === 202) {
            accepted.set(id, callId);
            perProcess.set(target.url, (perProcess.get(target.url) ?? 0) + 1);
            onProgress(accepted.size, target.url);
            return;
          }
          refuse(String(res.status));
        } catch {
          refuse('no answer');
        }
        refused++;
        // A client backs off a little instead of hammering a gateway that just refused it.
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  );
  return { accepted, refused, refusals, perProcess };
}

/** Polls PostgreSQL until no accepted notification is in progress, or the bound passes. */
async function waitFinal(cluster: Cluster, ids: string[], boundMs: number): Promise<Map<string, StoredReport>> {
  const until = Date.now() + boundMs;
  for (;;) {
    const reports = await cluster.reports(ids);
    const open = ids.filter((id) => reports.get(id)?.status === 'in-progress').length;
    if (open === 0 || Date.now() > until) return reports;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Simulator deliveries per (token, call id). */
function deliveriesByDevice(cluster: Cluster, label: string): Map<string, number> {
  const counts = new Map<string, number>();
  const callId = new RegExp(`${label}-call-\\d+-a\\d+-x`);
  for (const d of cluster.fcm.deliveries()) {
    const m = callId.exec(JSON.stringify(d.payload));
    const key = `${d.token} ${m ? m[0] : '?'}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

interface Verdict {
  missing: string[];
  unfinished: string[];
  /** Devices whose status is neither delivered nor expired past its deadline. */
  wrong: string[];
  /** Delivered devices the simulator never saw. */
  unseen: string[];
  /** (token, call) pairs delivered more than once. */
  duplicates: string[];
  delivered: number;
  expired: number;
}

function verdict(
  cluster: Cluster,
  label: string,
  sent: Sent,
  reports: Map<string, StoredReport>,
  tokens: Map<string, string>,
): Verdict {
  const counts = deliveriesByDevice(cluster, label);
  const v: Verdict = { missing: [], unfinished: [], wrong: [], unseen: [], duplicates: [], delivered: 0, expired: 0 };
  const now = Date.now();
  for (const [id, callId] of sent.accepted) {
    const r = reports.get(id);
    if (!r) {
      v.missing.push(id);
      continue;
    }
    if (r.status === 'in-progress') v.unfinished.push(id);
    for (const device of r.report.devices) {
      const key = `${tokens.get(device.bindingId)} ${callId}`;
      if (device.status === 'delivered') {
        v.delivered++;
        if (!counts.has(key)) v.unseen.push(key);
      } else if (device.status === 'expired' && Date.parse(r.report.deadline) <= now) v.expired++;
      else v.wrong.push(`${id} ${device.bindingId} ${device.status}`);
    }
  }
  for (const [key, n] of counts) if (n > 1) v.duplicates.push(`${key} x${n}`);
  return v;
}

describe.skipIf(!available)('several gateway processes on one Redis and one PostgreSQL', () => {
  describe('a process SIGKILLed in the middle of 10 000 notifications', () => {
    const label = 'kill';
    const concurrency = 16;
    let cluster: Cluster;
    beforeAll(async () => {
      cluster = await Cluster.start({ label, concurrency, recoveryMs: 10_000, ringTimeoutMs: 600_000 }, 2);
    }, 240_000);
    afterAll(async () => cluster?.close(), 60_000);

    it('delivers every accepted notification once per device, or reports it expired', async () => {
      const started = Date.now();
      const { tokens } = await registerDevices(cluster, cluster.processes[0]!, label);
      const victim = cluster.processes[1]!;
      let killedAt = 0;
      const sent = await sendCalls(cluster, label, 10_000, 32, (n) => {
        if (n === 5000 && !killedAt) {
          killedAt = Date.now();
          victim.child.kill('SIGKILL');
        }
      });
      const acceptedAt = Date.now();
      const reports = await waitFinal(cluster, [...sent.accepted.keys()], 300_000);
      const finishedAt = Date.now();
      const v = verdict(cluster, label, sent, reports, tokens);
      console.log(
        `10 000 notifications, 2 processes, one SIGKILLed at 5000: accepted in ${((acceptedAt - started) / 1000).toFixed(1)} s, ` +
          `all final ${((finishedAt - started) / 1000).toFixed(1)} s after start; ${v.delivered} deliveries, ${v.expired} expired, ` +
          `${sent.refused} requests refused by the dying process and sent again, ${v.duplicates.length} sent twice`,
      );
      expect(killedAt).toBeGreaterThan(0);
      expect(sent.perProcess.get(victim.url)).toBeGreaterThan(1000);
      expect(await victim.exited).toBe(null);
      expect(sent.accepted.size).toBe(10_000);
      expect({ missing: v.missing, unfinished: v.unfinished, wrong: v.wrong, unseen: v.unseen }).toEqual({
        missing: [],
        unfinished: [],
        wrong: [],
        unseen: [],
      });
      expect(v.delivered + v.expired).toBe(10_000 + (10_000 / USERS) * TWO_DEVICE_USERS);
      // At least once: a push the dead process had sent but not yet recorded goes again from
      // the other process; only its jobs in flight at the kill can be among them.
      expect(v.duplicates.length).toBeLessThanOrEqual(concurrency);
    }, 480_000);
  });

  describe.skipIf(!redisBinary.available)('their Redis restarted twice in the middle of a run', () => {
    const label = 'restart';
    const downMs = 1500;
    let redis: RedisServer | undefined;
    let cluster: Cluster | undefined;
    beforeAll(async () => {
      redis = await startRedisServer();
      cluster = await Cluster.start(
        { label, concurrency: 16, recoveryMs: 10_000, ringTimeoutMs: 600_000, redisUrl: redis.url },
        2,
      );
    }, 240_000);
    afterAll(async () => {
      try {
        await cluster?.close();
      } finally {
        await redis?.close();
      }
    }, 60_000);

    it('reconnects and delivers every accepted notification exactly once per device', async () => {
      const server = redis!;
      const c = cluster!;
      const started = Date.now();
      const { tokens } = await registerDevices(c, c.processes[0]!, label);
      const restarts: string[] = [];
      const restart = async (signal: 'SIGTERM' | 'SIGKILL') => {
        await server.stop(signal);
        // Long enough for requests and workers to meet a Redis that is gone.
        await new Promise((r) => setTimeout(r, downMs));
        await server.start();
        restarts.push(signal);
      };
      let restarting = Promise.resolve();
      const failed = new AbortController();
      const afterLast = new Map<string, number>();
      const sent = await sendCalls(
        c,
        label,
        2000,
        32,
        (n, url) => {
          if (n === 700) restarting = restarting.then(() => restart('SIGTERM'));
          if (n === 1400) restarting = restarting.then(() => restart('SIGKILL'));
          if (n === 700 || n === 1400) restarting = restarting.catch((error: unknown) => failed.abort(error));
          if (restarts.length === 2) afterLast.set(url, (afterLast.get(url) ?? 0) + 1);
        },
        failed.signal,
      );
      await restarting;
      const reports = await waitFinal(c, [...sent.accepted.keys()], 180_000);
      const v = verdict(c, label, sent, reports, tokens);
      console.log(
        `2000 notifications, 2 processes, their own Redis (AOF, appendfsync always) restarted at 700 (SIGTERM) and 1400 (SIGKILL), ` +
          `down ${downMs / 1000} s each: all final ${((Date.now() - started) / 1000).toFixed(1)} s after start; ${v.delivered} deliveries, ` +
          `${sent.refused} requests refused (${[...sent.refusals].map(([why, n]) => `${n} x ${why}`).join(', ')}) and sent again, ` +
          `${v.duplicates.length} sent twice`,
      );
      expect(failed.signal.reason).toBeUndefined();
      expect(restarts).toEqual(['SIGTERM', 'SIGKILL']);
      // Requests met the dead Redis and were refused with the queue's 503, not a hang or a 500.
      expect(sent.refused).toBeGreaterThan(0);
      expect([...sent.refusals.keys()]).toEqual(['503']);
      expect(c.processes.every((p) => p.child.exitCode === null && p.child.signalCode === null)).toBe(true);
      expect([...sent.perProcess.values()].every((n) => n > 500)).toBe(true);
      // Both processes took notifications again after the last restart: they reconnected.
      expect(c.processes.map((p) => (afterLast.get(p.url) ?? 0) > 0)).toEqual([true, true]);
      expect(sent.accepted.size).toBe(2000);
      expect({
        missing: v.missing,
        unfinished: v.unfinished,
        wrong: v.wrong,
        unseen: v.unseen,
        duplicates: v.duplicates,
      }).toEqual({
        missing: [],
        unfinished: [],
        wrong: [],
        unseen: [],
        duplicates: [],
      });
      expect(v.delivered).toBe(2000 + (2000 / USERS) * TWO_DEVICE_USERS);
    }, 300_000);
  });
});
