/**
 * The provider simulators of the fault run (FCM and APNs), in a process of their own so that the
 * run can stop them and start them again on the same ports, as a provider's front end restarts.
 * Started by fault-scenario.ts with IPC; not a command of its own.
 *
 * The first process makes the identity (the CA, one FCM service account per project, the APNs
 * signing key) and hands it back; a successor is given it, so the gateway's transports keep
 * trusting the server certificates and their credentials stay valid. A successor loads its
 * modules first and only listens when told to: the time the ports are closed is the run's choice,
 * not the start-up time of a process.
 */
import { createPublicKey } from 'node:crypto';
import {
  certificateAuthorityFrom,
  createCertificateAuthority,
  startApnsSimulator,
  startFcmSimulator,
  type FaultSpec,
  type ServiceAccountJson,
  type SimulatorHandle,
} from '@pushrelay/simulators';

/** What a successor needs to be the same provider to its clients. */
export interface SimIdentity {
  ca: { cert: string; key: string };
  serviceAccounts: ServiceAccountJson[];
  apnsKey: { keyId: string; teamId: string; key: string };
}

export interface SimPorts {
  fcm: number;
  apnsProduction: number;
  apnsSandbox: number;
}

/** Shares of the provider requests each fault takes (0 turns it off). */
export interface FaultPlan {
  serverErrorShare: number;
  tooManyRequestsShare: number;
  retryAfterSeconds: number;
  /** One GOAWAY every this many requests. */
  goawayEvery: number;
  streamResetShare: number;
}

export interface SimStart {
  projects: string[];
  bundleId: string;
  faults: FaultPlan;
  identity?: SimIdentity;
  ports?: SimPorts;
  /** Notification ids match this (the payloads carry them as the call id). */
  idPattern: string;
}

/** One push a device received. */
export interface ReceivedPush {
  provider: string;
  token: string;
  /** The notification id found in the payload, or '' when none is. */
  id: string;
  receivedAt: number;
}

export interface SimLog {
  deliveries: ReceivedPush[];
  requests: number;
  /** Requests a scripted fault took, by fault (`status 503`, `goaway`, `stream-reset`...). */
  faults: Record<string, number>;
}

export type SimMessage = { type: 'ready'; identity: SimIdentity; ports: SimPorts } | { type: 'log'; log: SimLog };
export type SimCommand = { type: 'listen' } | { type: 'stop' } | { type: 'collect' };

function faultSpecs(plan: FaultPlan, provider: 'fcm' | 'apns'): FaultSpec[] {
  const apns = provider === 'apns';
  // Each fault's share is of all requests: a fault only sees what the ones before it left.
  const wanted: [FaultSpec, number][] = [
    [{ kind: 'goaway' }, plan.goawayEvery > 0 ? 1 / plan.goawayEvery : 0],
    [{ kind: 'stream-reset' }, plan.streamResetShare],
    [
      {
        kind: 'status',
        status: 429,
        // APNs: too many pushes to one device; FCM: the project's quota.
        reason: apns ? 'TooManyRequests' : 'QUOTA_EXCEEDED',
        retryAfter: plan.retryAfterSeconds,
      },
      plan.tooManyRequestsShare,
    ],
    // Half answered 500, half 503, as both providers do under trouble.
    [{ kind: 'status', status: 500, reason: apns ? 'InternalServerError' : 'INTERNAL' }, plan.serverErrorShare / 2],
    [{ kind: 'status', status: 503, reason: apns ? 'ServiceUnavailable' : 'UNAVAILABLE' }, plan.serverErrorShare / 2],
  ];
  const specs: FaultSpec[] = [];
  let left = 1;
  for (const [spec, share] of wanted) {
    if (share <= 0) continue;
    specs.push({ ...spec, share: Math.min(1, share / left), count: Infinity });
    left -= share;
  }
  return specs;
}

function logOf(sims: SimulatorHandle[], idPattern: RegExp): SimLog {
  const deliveries: ReceivedPush[] = [];
  const faults: Record<string, number> = {};
  let requests = 0;
  for (const sim of sims) {
    for (const d of sim.deliveries())
      deliveries.push({
        provider: sim.provider,
        token: d.token,
        id: idPattern.exec(JSON.stringify(d.payload))?.[0] ?? '',
        receivedAt: d.receivedAt,
      });
    for (const r of sim.requests()) {
      requests++;
      if (!r.fault) continue;
      const name = r.fault === 'status' ? `status ${r.status}` : r.fault;
      faults[name] = (faults[name] ?? 0) + 1;
    }
  }
  return { deliveries, requests, faults };
}

const start = JSON.parse(process.argv[2] ?? '{}') as SimStart;
const send = (message: SimMessage) => new Promise<void>((resolve) => process.send!(message, () => resolve()));
const commands: SimCommand[] = [];
let wake: (() => void) | undefined;
process.on('message', (m: SimCommand) => {
  commands.push(m);
  wake?.();
});
// The run ended without stopping us (it failed): do not outlive it.
process.on('disconnect', () => process.exit(0));
const next = async (): Promise<SimCommand> => {
  while (commands.length === 0) await new Promise<void>((resolve) => (wake = resolve));
  return commands.shift()!;
};

if (start.identity) {
  // A successor: ready to listen as soon as it is told to.
  while ((await next()).type !== 'listen');
}
const authority = start.identity ? certificateAuthorityFrom(start.identity.ca) : createCertificateAuthority();
const fcm = await startFcmSimulator({
  authority,
  ...(start.ports ? { port: start.ports.fcm } : {}),
  ...(start.identity ? { serviceAccounts: start.identity.serviceAccounts } : {}),
});
const apns = await startApnsSimulator({
  authority,
  apps: [{ bundleId: start.bundleId }],
  ...(start.ports ? { productionPort: start.ports.apnsProduction, sandboxPort: start.ports.apnsSandbox } : {}),
  ...(start.identity
    ? {
        keys: [
          {
            keyId: start.identity.apnsKey.keyId,
            teamId: start.identity.apnsKey.teamId,
            publicKey: createPublicKey(start.identity.apnsKey.key).export({ type: 'spki', format: 'pem' }).toString(),
          },
        ],
      }
    : {}),
});
for (const spec of faultSpecs(start.faults, 'fcm')) fcm.fault(spec);
for (const spec of faultSpecs(start.faults, 'apns')) apns.fault(spec);
const identity: SimIdentity = start.identity ?? {
  ca: { cert: authority.cert, key: authority.key },
  serviceAccounts: start.projects.map((p) => fcm.createServiceAccount(p)),
  apnsKey: apns.signingKey,
};
await send({
  type: 'ready',
  identity,
  ports: { fcm: fcm.port, apnsProduction: apns.productionPort, apnsSandbox: apns.sandboxPort },
});
const idPattern = new RegExp(start.idPattern);
for (;;) {
  const command = await next();
  if (command.type === 'collect') await send({ type: 'log', log: logOf([fcm, apns], idPattern) });
  if (command.type === 'stop') {
    await Promise.all([fcm.close(), apns.close()]);
    await send({ type: 'log', log: logOf([fcm, apns], idPattern) });
    process.exit(0);
  }
}
