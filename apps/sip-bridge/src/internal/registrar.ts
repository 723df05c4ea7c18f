import type { BindingStore, Clock, DeviceBindingInput } from '@pushrelay/core';
import { parseRfc8599Params, Rfc8599ParamsError, type Rfc8599Binding } from '@pushrelay/codec-ecss';
import { MizuPushHeaderError, parseMizuPushHeader, type MizuPushBinding } from '@pushrelay/codec-mizutech';
import {
  DigestServer,
  formatUri,
  getContacts,
  getHeader,
  getTo,
  type Endpoint,
  type NameAddr,
  type ServerTransaction,
  type SipHeader,
  type SipRequest,
} from '@pushrelay/sip';
import type { BridgeConfig, PushProvider } from './config.js';
import type { Device, LocationService } from './locations.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { portOf } from './routing.js';

/** Told about every successful, authenticated (re-)registration of a device. */
export type DeviceListener = (device: Device) => void;

export type PushParams = (MizuPushBinding | Rfc8599Binding) & { params?: Record<string, string> };

/** A REGISTER answered with this status (400, 423, 555...) instead of being applied. */
export class RegisterRefusal extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * REGISTER handling: digest authentication, push parameters from X-MPUSH or RFC 8599 Contact
 * parameters, device records keyed by instance / label / push identity (never by host:port),
 * core DeviceBindings for push devices.
 */
export class Registrar {
  private readonly listeners: DeviceListener[] = [];
  private readonly removalListeners: DeviceListener[] = [];
  private readonly pnProviders: Record<string, PushProvider>;

  constructor(
    private readonly config: BridgeConfig,
    private readonly digest: DigestServer,
    private readonly locations: LocationService,
    private readonly bindings: BindingStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    // Only the names of served providers are accepted; the others get 555 like unknown ones.
    this.pnProviders = Object.fromEntries(this.servedPnProviders().map((n) => [n, config.push.pnProviders[n]!]));
  }

  onDeviceRegistered(listener: DeviceListener): void {
    this.listeners.push(listener);
  }

  /** Told about every device an authenticated REGISTER removed (Expires: 0 or `Contact: *`). */
  onDeviceUnregistered(listener: DeviceListener): void {
    this.removalListeners.push(listener);
  }

  /**
   * `Feature-Caps` of a REGISTER 2xx or 555 (RFC 8599 §5.2): the push services served here, and
   * with Web Push the VAPID public key browsers subscribe with (`+sip.vapid`).
   */
  get featureCaps(): SipHeader {
    const served = this.servedPnProviders();
    const vapid = served.some((n) => this.config.push.pnProviders[n] === 'webpush') ? this.vapidKey() : undefined;
    return {
      name: 'Feature-Caps',
      value: `*;+sip.pns="${served.join(',')}"${vapid ? `;+sip.vapid="${vapid}"` : ''}`,
    };
  }

  /** The public key of the VAPID key set web bindings use. */
  private vapidKey(): string | undefined {
    const sets = this.config.webpush?.['vapid'];
    if (!Array.isArray(sets)) return undefined;
    const set = (sets as Array<Record<string, unknown>>).find((v) => v['app'] === this.config.push.webpushApp);
    return typeof set?.['publicKey'] === 'string' ? set['publicKey'] : undefined;
  }

  /** The pn-provider names whose provider is served, as Feature-Caps lists them. */
  private servedPnProviders(): string[] {
    const { providers, pnProviders } = this.config.push;
    return Object.entries(pnProviders)
      .filter(([, provider]) => providers.includes(provider))
      .map(([name]) => name);
  }

  async handle(request: SipRequest, tx: ServerTransaction, from: Endpoint): Promise<void> {
    const auth = await this.digest.verify(request);
    if (!auth.ok) {
      if (auth.reason === 'missing' || auth.reason === 'stale_nonce' || auth.reason === 'bad_nonce') {
        tx.respond(this.digest.challenge(request, { stale: auth.stale }));
      } else {
        this.refused(tx, 403, 'Forbidden', auth.reason);
      }
      return;
    }
    const user = getTo(request).uri.user;
    if (user === undefined || decodeURIComponent(user) !== auth.username) {
      this.refused(tx, 403, 'Forbidden', 'To user differs from the authenticated user');
      return;
    }
    try {
      const { registered, removed } = await this.apply(request, auth.username, from);
      const now = this.clock.now();
      const contacts = this.locations
        .devices(auth.username, now)
        .filter((d) => d.expiresAt > now)
        .map((d) => ({ name: 'Contact', value: `${d.contact};expires=${Math.ceil((d.expiresAt - now) / 1000)}` }));
      tx.reply(200, 'OK', { headers: [...contacts, this.featureCaps] });
      this.metrics.set('sip_bridge_push_bindings', this.locations.pushDeviceCount);
      this.tell(this.removalListeners, removed);
      this.tell(this.listeners, registered);
    } catch (error) {
      if (error instanceof RegisterRefusal) {
        const headers =
          error.status === 555
            ? [this.featureCaps]
            : error.status === 423
              ? [{ name: 'Min-Expires', value: String(this.config.registration.minExpires) }]
              : [];
        this.refused(tx, error.status, error.reason, error.reason, headers);
        return;
      }
      throw error;
    }
  }

  private tell(listeners: DeviceListener[], devices: Device[]): void {
    for (const device of devices) {
      for (const listener of listeners) {
        try {
          listener(device);
        } catch (error) {
          this.log.error({ err: error }, 'device listener failed');
        }
      }
    }
  }

  private refused(
    tx: ServerTransaction,
    status: number,
    reason: string,
    detail: string,
    headers: SipHeader[] = [],
  ): void {
    this.metrics.inc('sip_bridge_register_rejections_total', { status: String(status) });
    this.log.info({ status, detail }, 'REGISTER refused');
    tx.reply(status, reason, { headers });
  }

  /** Applies the REGISTER; returns the devices it (re-)registered and those it removed. */
  private async apply(
    request: SipRequest,
    user: string,
    from: Endpoint,
  ): Promise<{ registered: Device[]; removed: Device[] }> {
    const contacts = getContacts(request);
    const headerExpires = parseExpires(getHeader(request, 'Expires'));
    if (contacts === '*') {
      if (headerExpires !== 0) throw new RegisterRefusal(400, 'Bad Request (wildcard Contact needs Expires: 0)');
      const removed = this.locations.removeAll(user);
      for (const device of removed) await this.forget(device);
      this.metrics.inc('sip_bridge_registrations_total', { result: 'unregistered' });
      return { registered: [], removed };
    }
    const mpush = getHeader(request, 'X-MPUSH');
    const planned = contacts.map((contact) => {
      const expires =
        parseExpires(contact.params['expires'] ?? undefined) ??
        headerExpires ??
        this.config.registration.defaultExpires;
      if (expires > 0 && expires < this.config.registration.minExpires)
        throw new RegisterRefusal(423, 'Interval Too Brief');
      return {
        contact,
        expires: Math.min(expires, this.config.registration.maxExpires),
        push: this.pushParams(contact, mpush),
      };
    });
    const now = this.clock.now();
    const registered: Device[] = [];
    const unregistered: Device[] = [];
    for (const { contact, expires, push } of planned) {
      const key = deviceKey(contact, push);
      if (expires === 0) {
        const removed = this.locations.remove(user, key);
        if (removed) {
          await this.forget(removed);
          unregistered.push(removed);
        }
        this.metrics.inc('sip_bridge_registrations_total', { result: 'unregistered' });
        this.log.info({ user, key: removedKey(key), bindingId: removed?.push?.bindingId }, 'device unregistered');
        continue;
      }
      const previous = this.locations.get(user, key);
      const instance = contact.params['+sip.instance'] ?? undefined;
      const device: Device = {
        key,
        user,
        target: formatUri({ ...contact.uri, params: withoutPushParams(contact.uri.params) }),
        targetHost: contact.uri.host,
        targetPort: portOf(contact.uri),
        contact: `<${formatUri(contact.uri)}>`,
        flow: { ...from },
        expiresAt: now + expires * 1000,
        updatedAt: now,
      };
      if (instance) device.instance = instance;
      if (push) {
        const input: DeviceBindingInput = {
          tenant: this.config.tenant,
          userId: user,
          provider: push.provider,
          token: push.token,
          app: push.app,
          environment: push.environment,
          pushKind: push.pushKind,
          format: push.format,
          origin: push.origin,
        };
        if (push.params && Object.keys(push.params).length > 0) input.params = push.params;
        if (instance) input.sipInstance = instance;
        const binding = await this.bindings.upsert(input);
        if (previous?.push && previous.push.bindingId !== binding.id) {
          // Same device (instance or label), new token: the old binding must not be pushed again.
          await this.bindings.remove(this.config.tenant, previous.push.bindingId);
        }
        device.push = { bindingId: binding.id, provider: binding.provider, origin: binding.origin };
      } else if (previous?.push) {
        await this.bindings.remove(this.config.tenant, previous.push.bindingId);
      }
      this.locations.put(device);
      registered.push(device);
      this.metrics.inc('sip_bridge_registrations_total', { result: 'registered' });
      this.log.info(
        { user, key: removedKey(key), bindingId: device.push?.bindingId, transport: from.transport, expires },
        previous ? 'device re-registered' : 'device registered',
      );
    }
    return { registered, removed: unregistered };
  }

  private async forget(device: Device): Promise<void> {
    if (device.push) await this.bindings.remove(this.config.tenant, device.push.bindingId);
  }

  /**
   * The push binding a Contact asks for (RFC 8599 `pn-*`, else X-MPUSH); throws RegisterRefusal
   * (555 for a push service not served here). Edge mode reads REGISTERs with it too.
   */
  pushParams(contact: NameAddr, mpush: string | undefined): PushParams | undefined {
    let rfc: Rfc8599Binding | null = null;
    try {
      const options: Parameters<typeof parseRfc8599Params>[1] = { environment: this.config.push.environment };
      if (this.config.push.apnsApp) options.apnsApp = this.config.push.apnsApp;
      if (this.config.push.fcmProject) options.fcmProject = this.config.push.fcmProject;
      if (this.config.push.hmsApp) options.hmsApp = this.config.push.hmsApp;
      if (this.config.push.webpushApp) options.webpushApp = this.config.push.webpushApp;
      options.providers = this.pnProviders;
      rfc = parseRfc8599Params(contact.uri.params, options);
    } catch (error) {
      if (!(error instanceof Rfc8599ParamsError)) throw error;
      // A valueless pn-provider asks what is supported: the Feature-Caps of the 200 answers it.
      if (error.problem !== 'capability_query') {
        throw new RegisterRefusal(
          error.sipStatus ?? 400,
          error.sipStatus === 555 ? 'Push Notification Service Not Supported' : `Bad Request (${error.message})`,
        );
      }
    }
    if (rfc) {
      this.requireProvider(rfc.provider);
      return rfc;
    }
    if (mpush === undefined) return undefined;
    try {
      const binding = parseMizuPushHeader(mpush, { environment: this.config.push.environment });
      this.requireProvider(binding.provider);
      return binding;
    } catch (error) {
      if (error instanceof MizuPushHeaderError) {
        if (error.problem === 'unknown_provider')
          throw new RegisterRefusal(555, 'Push Notification Service Not Supported');
        throw new RegisterRefusal(400, `Bad Request (${error.message})`);
      }
      throw error;
    }
  }

  private requireProvider(provider: PushProvider): void {
    if (!this.config.push.providers.includes(provider))
      throw new RegisterRefusal(555, 'Push Notification Service Not Supported');
  }
}

/**
 * How a re-REGISTER after a push finds the device again: its IP, port and often Call-ID have
 * changed, so only what identifies the phone or its push token counts.
 */
export function deviceKey(contact: NameAddr, push: PushParams | undefined): string {
  const instance = contact.params['+sip.instance'];
  if (instance) return `instance:${instance}`;
  const label = contact.params['label'] ?? contact.uri.params['label'];
  if (label) return `label:${label}`;
  if (push?.origin === 'sip-rfc8599') return `pn:${push.provider}:${push.params?.['pn-param'] ?? ''}:${push.token}`;
  if (push) return `mpush:${push.provider}:${push.token}`;
  return `uri:${formatUri({ ...contact.uri, headers: {} })}`;
}

/** Keys may hold a token: logs get the kind and a short prefix only. */
function removedKey(key: string): string {
  const kind = key.slice(0, key.indexOf(':'));
  return kind === 'instance' || kind === 'label' ? key : `${kind}:…`;
}

export function withoutPushParams(params: Record<string, string | null>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(params)) if (!name.startsWith('pn-')) out[name] = value;
  return out;
}

export function parseExpires(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (!/^\d{1,10}$/.test(text)) throw new RegisterRefusal(400, 'Bad Request (Expires must be a number of seconds)');
  return Number(text);
}
