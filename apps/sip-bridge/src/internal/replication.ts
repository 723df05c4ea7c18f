import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { BINDING_ORIGINS, PROVIDERS, type BindingOrigin, type Clock, type Provider } from '@pushrelay/core';
import { parseNameAddr, parseUri, type Endpoint, type TransportProtocol } from '@pushrelay/sip';
import { Redis, type RedisOptions } from 'ioredis';
import type { Device, LocationService } from './locations.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export type LocationEventKind = 'register' | 'unregister';

/** What one bridge process tells the others after a REGISTER it accepted. */
export interface LocationEvent {
  v: 1;
  /** The publishing process; a process ignores what it published itself. */
  from: string;
  /** The deployment the device belongs to; a process drops an event for another one. */
  tenant: string;
  domain: string;
  kind: LocationEventKind;
  device: Device;
}

/** Called for a device another process registered, after it is in the local LocationService. */
export type PeerDeviceListener = (device: Device) => void;

const KINDS: readonly LocationEventKind[] = ['register', 'unregister'];
const TRANSPORTS: readonly TransportProtocol[] = ['udp', 'tcp', 'tls'];
// A Device is a few hundred bytes; anything far larger is not from a bridge.
const MAX_MESSAGE_BYTES = 16 * 1024;
const MAX_TEXT = 2048;
const CLOSE_GRACE_MS = 1000;

/** Which bridges share registrations: those on the same Redis prefix, tenant and SIP domain. */
export interface ReplicationScope {
  prefix: string;
  tenant: string;
  domain: string;
}

/**
 * One channel per tenant and domain: deployments for different tenants or domains may share a
 * Redis and prefix, and must not learn (and ring) each other's phones. Encoded so that a ':' in a
 * part cannot make two different scopes name the same channel.
 */
export function locationsChannel(scope: ReplicationScope): string {
  return `${scope.prefix}:sip-bridge:${encodeURIComponent(scope.tenant)}:${encodeURIComponent(scope.domain)}:locations`;
}

/**
 * Replicates this process's registrations to the other bridge processes on the same Redis and
 * prefix, and theirs into this process's LocationService, so that whichever process holds a call
 * can ring a phone that re-registered elsewhere. Pub/sub is fire-and-forget: a process that is
 * down or disconnected misses events and learns the device at its next REGISTER refresh.
 */
export class LocationReplicator {
  /** Random per instance: two bridges in one OS process must still tell each other apart. */
  readonly id = randomUUID();
  private readonly channel: string;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly listeners: PeerDeviceListener[] = [];
  private closing: Promise<void> | undefined;
  private started = false;
  private subscribed = false;
  private subscribing = false;

  constructor(
    connection: RedisOptions,
    private readonly scope: ReplicationScope,
    private readonly locations: LocationService,
    /** The users served here (only `has` is used): events for anyone else are dropped. */
    private readonly users: Pick<ReadonlySet<string>, 'has'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.channel = locationsChannel(scope);
    const options: RedisOptions = { ...connection, connectionName: `${scope.prefix}:sip-bridge-locations` };
    // lazyConnect: composing the bridge opens nothing; start() does.
    // No offline queue: an event queued while Redis is away would be published on reconnect,
    // seconds later, possibly after newer ones. Dropped instead, like any failed publish.
    this.publisher = new Redis({ ...options, lazyConnect: true, enableOfflineQueue: false });
    // maxRetriesPerRequest null: the SUBSCRIBE waits in the offline queue however long Redis is
    // away, instead of being rejected after a few reconnects. ioredis re-subscribes after a
    // reconnect only the channels that were actually subscribed, so a rejected first SUBSCRIBE
    // would leave this process deaf to its peers for good.
    this.subscriber = new Redis({ ...options, lazyConnect: true, maxRetriesPerRequest: null });
    for (const [role, client] of [
      ['publisher', this.publisher],
      ['subscriber', this.subscriber],
    ] as const) {
      // ioredis reconnects by itself; without a listener an unreachable Redis would be an uncaught 'error'.
      client.on('error', (error: Error) =>
        this.log.warn({ err: error, client: role }, 'location replication: Redis error'),
      );
    }
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.receive(message);
    });
    // Should the SUBSCRIBE still fail (an error reply, a connection option that overrides the
    // above), every new connection tries again until one succeeds.
    this.subscriber.on('ready', () => this.subscribe());
  }

  onPeerDeviceRegistered(listener: PeerDeviceListener): void {
    this.listeners.push(listener);
  }

  /**
   * Subscribes without waiting for Redis: the bridge serves SIP while Redis is away. Once
   * subscribed, ioredis subscribes again after every reconnect.
   */
  start(): void {
    this.started = true;
    // Connected ahead of the first publish, which without an offline queue would otherwise fail.
    this.publisher
      .connect()
      .catch((error: unknown) => this.log.warn({ err: error }, 'location replication: publisher not connected yet'));
    this.subscribe();
  }

  private subscribe(): void {
    if (!this.started || this.subscribed || this.subscribing || this.closing) return;
    this.subscribing = true;
    this.subscriber.subscribe(this.channel).then(
      () => {
        this.subscribing = false;
        this.subscribed = true;
      },
      (error: unknown) => {
        this.subscribing = false;
        this.log.warn({ err: error }, 'location replication: subscribe failed; trying again on the next connection');
      },
    );
  }

  /** Fire-and-forget: a failed publish is logged, never fails the REGISTER that caused it. */
  publish(kind: LocationEventKind, device: Device): void {
    if (this.closing) return;
    const { transport, address, port } = device.flow;
    // Without the connection id: it names a socket of this process, in another it would pick a wrong flow.
    const { tenant, domain } = this.scope;
    const event: LocationEvent = {
      v: 1,
      from: this.id,
      tenant,
      domain,
      kind,
      device: { ...device, flow: { transport, address, port } },
    };
    this.publisher.publish(this.channel, JSON.stringify(event)).then(
      () => this.metrics.inc('sip_bridge_location_events_total', { direction: 'published', kind }),
      (error: unknown) => this.log.warn({ err: error, kind }, 'location replication: publish failed'),
    );
  }

  private receive(message: string): void {
    let event: LocationEvent | undefined;
    try {
      event = message.length <= MAX_MESSAGE_BYTES ? parseLocationEvent(JSON.parse(message) as unknown) : undefined;
    } catch {
      event = undefined;
    }
    if (!event) {
      this.metrics.inc('sip_bridge_location_events_total', { direction: 'received', kind: 'invalid' });
      this.log.warn({ bytes: message.length }, 'location replication: malformed message dropped');
      return;
    }
    if (event.from === this.id) return;
    // The channel already separates deployments; this also catches a publisher that names the
    // wrong one (a misconfigured or older process on a channel it should not use).
    if (event.tenant !== this.scope.tenant || event.domain !== this.scope.domain) {
      this.metrics.inc('sip_bridge_location_events_total', { direction: 'received', kind: 'invalid' });
      this.log.warn({ kind: event.kind }, 'location replication: message for another tenant or domain dropped');
      return;
    }
    if (!this.users.has(event.device.user)) {
      this.metrics.inc('sip_bridge_location_events_total', { direction: 'received', kind: 'invalid' });
      this.log.warn({ kind: event.kind }, 'location replication: message for a user not configured here dropped');
      return;
    }
    if (isStale(event, this.locations.get(event.device.user, event.device.key))) {
      this.metrics.inc('sip_bridge_location_events_total', { direction: 'received', kind: 'stale' });
      this.log.debug({ kind: event.kind }, 'location replication: message older than the record held dropped');
      return;
    }
    this.metrics.inc('sip_bridge_location_events_total', { direction: 'received', kind: event.kind });
    const device = reachableFromHere(event.device);
    if (event.kind === 'unregister') {
      this.locations.remove(device.user, device.key);
    } else {
      this.locations.put(device);
      if (device.unreachableHere) {
        this.log.debug(
          { transport: device.flow.transport },
          'location replication: device behind NAT at another process is not rung from here',
        );
      }
      for (const listener of device.unreachableHere ? [] : this.listeners) {
        try {
          listener(device);
        } catch (error) {
          this.log.error({ err: error }, 'peer device listener failed');
        }
      }
    }
    // The registrar prunes only the users it handles; a user who only ever registers at other
    // processes would otherwise keep every lapsed device here.
    this.locations.devices(device.user, this.clock.now());
    this.metrics.set('sip_bridge_push_bindings', this.locations.pushDeviceCount);
  }

  /** Quits both connections, cutting them if Redis does not answer in time. */
  close(): Promise<void> {
    return (this.closing ??= Promise.all([this.publisher, this.subscriber].map(quitBounded)).then(() => undefined));
  }
}

async function quitBounded(client: Redis): Promise<void> {
  if (client.status === 'wait' || client.status === 'end') {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.quit().catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS))),
  ]);
  clearTimeout(timer);
  client.disconnect();
}

/**
 * Whether `event` is older than the record held for its device. Pub/sub does not order the events
 * of different processes, and a process may publish late; applying every event as it comes would
 * let an old one overwrite (or remove) what a newer REGISTER set. A register no newer than the
 * record is dropped (ties keep what is held); an unregister only when strictly older, since it
 * carries the very record it removes.
 */
export function isStale(event: LocationEvent, held: Device | undefined): boolean {
  if (!held) return false;
  return event.kind === 'register' ? event.device.updatedAt <= held.updatedAt : event.device.updatedAt < held.updatedAt;
}

/**
 * The phone's TCP/TLS connection lives in the process that got its REGISTER: here the device can
 * only be reached by opening a new connection, which goes to its Contact address (where a phone
 * that accepts connections listens), not to the source port of a flow this process does not own.
 * That is only worth trying when the Contact host is the address the REGISTER came from: otherwise
 * the phone is behind NAT and its Contact a private address, which a connection from here would
 * not reach (or would reach some other host). Such a device is marked and kept as published.
 * UDP needs no connection: the flow address works from any socket the phone's NAT lets through.
 */
export function reachableFromHere(device: Device): Device {
  if (device.flow.transport === 'udp') return device;
  if (unbracketed(device.targetHost).toLowerCase() !== unbracketed(device.flow.address).toLowerCase())
    return { ...device, unreachableHere: true };
  return { ...device, flow: { transport: device.flow.transport, address: device.targetHost, port: device.targetPort } };
}

/** An IPv6 Contact host is bracketed, a socket's address is not. */
function unbracketed(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The event, if `value` is exactly a well-formed one; anything else is undefined. */
export function parseLocationEvent(value: unknown): LocationEvent | undefined {
  if (!isRecord(value) || !hasOnlyKeys(value, ['v', 'from', 'tenant', 'domain', 'kind', 'device'])) return undefined;
  const { from, tenant, domain } = value;
  if (
    value['v'] !== 1 ||
    !isText(from) ||
    !isText(tenant) ||
    !isText(domain) ||
    !KINDS.includes(value['kind'] as LocationEventKind)
  )
    return undefined;
  const device = parseDevice(value['device']);
  if (!device) return undefined;
  return { v: 1, from, tenant, domain, kind: value['kind'] as LocationEventKind, device };
}

const DEVICE_KEYS = [
  'key',
  'user',
  'target',
  'targetHost',
  'targetPort',
  'contact',
  'flow',
  'expiresAt',
  'push',
  'instance',
  'updatedAt',
];

function parseDevice(value: unknown): Device | undefined {
  if (!isRecord(value) || !hasOnlyKeys(value, DEVICE_KEYS)) return undefined;
  const { key, user, target, targetHost, targetPort, contact, expiresAt, updatedAt, instance } = value;
  if (!isText(key) || !isText(user) || !isSipUri(target) || !isHost(targetHost) || !isContact(contact))
    return undefined;
  if (!isPort(targetPort) || !isTime(expiresAt) || !isTime(updatedAt)) return undefined;
  if (instance !== undefined && !isText(instance)) return undefined;
  const flow = parseFlow(value['flow']);
  if (!flow) return undefined;
  const device: Device = { key, user, target, targetHost, targetPort, contact, flow, expiresAt, updatedAt };
  if (value['push'] !== undefined) {
    const push = value['push'];
    if (!isRecord(push) || !hasOnlyKeys(push, ['bindingId', 'provider', 'origin'])) return undefined;
    if (
      !isText(push['bindingId']) ||
      !PROVIDERS.includes(push['provider'] as Provider) ||
      !BINDING_ORIGINS.includes(push['origin'] as BindingOrigin)
    ) {
      return undefined;
    }
    device.push = {
      bindingId: push['bindingId'],
      provider: push['provider'] as Provider,
      origin: push['origin'] as BindingOrigin,
    };
  }
  if (instance !== undefined) device.instance = instance;
  return device;
}

function parseFlow(value: unknown): Endpoint | undefined {
  if (!isRecord(value) || !hasOnlyKeys(value, ['transport', 'address', 'port'])) return undefined;
  const { transport, address, port } = value;
  if (!TRANSPORTS.includes(transport as TransportProtocol) || !isHost(address) || !isPort(port)) return undefined;
  return { transport: transport as TransportProtocol, address, port };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasOnlyKeys(value: Record<string, unknown>, allowed: readonly string[]): boolean {
  return Object.keys(value).every((k) => allowed.includes(k));
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TEXT;
}

// Checked before parsing too: the parsers reject CR and LF but not every control character.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;

/**
 * `target` becomes the Request-URI of INVITEs sent from here: one that does not parse as a SIP
 * URI, or that carries a CR/LF, would put whatever a peer wrote into the request's header block.
 */
function isSipUri(value: unknown): value is string {
  if (!isText(value) || CONTROL.test(value)) return false;
  try {
    const scheme = parseUri(value).scheme;
    return scheme === 'sip' || scheme === 'sips';
  } catch {
    return false;
  }
}

function isContact(value: unknown): value is string {
  if (!isText(value) || CONTROL.test(value)) return false;
  try {
    const { scheme } = parseNameAddr(value).uri;
    return scheme === 'sip' || scheme === 'sips';
  } catch {
    return false;
  }
}

/** A host name or an IP address (IPv6 with or without brackets), nothing around it. */
function isHost(value: unknown): value is string {
  if (!isText(value)) return false;
  if (isIP(value) !== 0) return true;
  if (value.startsWith('[') && value.endsWith(']')) return isIP(value.slice(1, -1)) === 6;
  return HOSTNAME.test(value);
}

function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0 && (value as number) <= 65535;
}

function isTime(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
