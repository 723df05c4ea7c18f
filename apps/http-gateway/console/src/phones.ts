import { decodeSignalWirePush, SignalWirePushError } from '@pushrelay/codec-signalwire/client';
import { keepStreaming, type Api } from './api.js';
import { h } from './dom.js';
import type { Device } from './types.js';

/** What the demo tells about itself (GET /__demo/info, only in `npm start` mode). */
export interface DemoInfo {
  apps: { ios: string; fcmProject: string; hmsApp: string };
}

/** A delivery a simulator accepted for one of the tenant's devices (the demo's SSE feed). */
interface DemoDelivery {
  device: Device;
  provider: string;
  environment?: string;
  id: string;
  receivedAt: number;
  headers: Record<string, string>;
  payload: unknown;
}

export const PHONE_KINDS = {
  ios: { label: 'iPhone: APNs VoIP (Wazo format)', provider: 'apns', format: 'wazo', pushKind: 'voip' },
  android: { label: 'Android: FCM (SignalWire format)', provider: 'fcm', format: 'signalwire', pushKind: 'alert' },
  huawei: { label: 'Huawei: HMS (Kaleyra format)', provider: 'hms', format: 'kaleyra', pushKind: 'data' },
} as const;

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A token of the shape the provider's simulator accepts. */
function demoToken(provider: string): string {
  if (provider === 'apns') return randomHex(32);
  if (provider === 'fcm') return `demo-${randomHex(8)}:APA91b${randomHex(40)}`;
  return `DEMO${randomHex(32)}`;
}

/** What the app reads from what its provider handed over. */
export function appView(provider: string, payload: unknown): unknown {
  const p = payload as Record<string, unknown> | null;
  if (!p || typeof p !== 'object') return payload;
  if (provider === 'apns') return p;
  const message = (p.message ?? p) as Record<string, unknown>;
  if (provider === 'hms' && typeof message.data === 'string') {
    try {
      return JSON.parse(message.data) as unknown;
    } catch {
      return message.data;
    }
  }
  const android = message.android as Record<string, unknown> | undefined;
  return message.data ?? message.notification ?? android?.notification ?? message;
}

const CALLER_KEYS = [
  'caller_id_name',
  'peer_caller_id_name',
  'displayName',
  'caller_name',
  'callerName',
  'caller_id',
  'peer_caller_id_number',
  'caller_id_number',
];

/** The first caller-like field anywhere in the payload, for the ring line. */
function findCaller(value: unknown, depth = 0): string | undefined {
  if (depth > 6 || !value || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  for (const key of CALLER_KEYS) if (typeof record[key] === 'string' && record[key]) return record[key] as string;
  for (const v of Object.values(record)) {
    const text = typeof v === 'string' && v.startsWith('{') ? safeJson(v) : v;
    const found = findCaller(text, depth + 1);
    if (found) return found;
  }
  return undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The demo's simulated phones: one card per device of the tenant, ringing when its simulator takes a push. */
export class Phones {
  private readonly cards = new Map<string, { device: Device; el: HTMLElement }>();
  readonly section: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly status: HTMLElement;

  constructor(
    private readonly api: Api,
    private readonly info: DemoInfo,
    private readonly onRegistered: (device: Device) => void,
  ) {
    this.grid = h('div', { class: 'phones', id: 'phone-grid' });
    this.status = h('p', { class: 'status', role: 'status', id: 'phone-status' });
    const user = h('input', { id: 'phone-user', name: 'userId', required: true, value: 'alice', maxlength: 200 });
    const kind = h(
      'select',
      { id: 'phone-kind', name: 'kind' },
      Object.entries(PHONE_KINDS).map(([k, v]) => h('option', { value: k }, v.label)),
    );
    const form = h(
      'form',
      { id: 'phone-form', class: 'row' },
      h('label', { for: 'phone-user' }, 'User id'),
      user,
      h('label', { for: 'phone-kind' }, 'Phone'),
      kind,
      h('button', { type: 'submit', id: 'phone-add' }, 'Add phone'),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.register(user.value.trim(), kind.value as keyof typeof PHONE_KINDS);
    });
    this.section = h(
      'section',
      { class: 'card', id: 'phones', 'aria-labelledby': 'phones-title' },
      h('h2', { id: 'phones-title' }, 'Demo phones'),
      h(
        'p',
        { class: 'hint' },
        'Simulated devices registered on the demo’s APNs, FCM and HMS simulators. A card rings when its simulator accepts a push.',
      ),
      form,
      this.status,
      this.grid,
    );
  }

  start(signal: AbortSignal): void {
    keepStreaming(
      this.api,
      '/__demo/deliveries',
      (name, data) => {
        if (name === 'delivery') void this.ring(data as DemoDelivery);
      },
      signal,
    );
  }

  /** Adds (or refreshes) the card of a device of the tenant. */
  show(device: Device): void {
    if (!['apns', 'fcm', 'hms'].includes(device.provider)) return;
    const existing = this.cards.get(device.id);
    if (existing) {
      existing.device = device;
      return;
    }
    const el = h(
      'article',
      {
        class: 'phone',
        'data-binding-id': device.id,
        'data-state': 'idle',
        'aria-label': `phone of ${device.userId} (${device.provider})`,
        tabindex: -1,
      },
      h(
        'header',
        {},
        h('strong', {}, device.provider === 'apns' ? 'iPhone' : device.provider === 'fcm' ? 'Android' : 'Huawei'),
        ` · ${device.userId}`,
      ),
      h(
        'p',
        { class: 'meta' },
        `${device.provider} · ${device.format} · ${device.pushKind} · ${device.id.slice(0, 8)}`,
      ),
      h('p', { class: 'ring-line', 'aria-live': 'assertive' }, 'Idle'),
      h('div', { class: 'invite' }),
      h('details', {}, h('summary', {}, 'Payload as the app reads it'), h('pre', { class: 'payload' }, '—')),
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'button', class: 'answer', onclick: () => this.stop(device.id, 'Answered') }, 'Answer'),
        h('button', { type: 'button', class: 'decline', onclick: () => this.stop(device.id, 'Declined') }, 'Decline'),
      ),
    );
    this.cards.set(device.id, { device, el });
    this.grid.append(el);
  }

  forget(bindingId: string): void {
    this.cards.get(bindingId)?.el.remove();
    this.cards.delete(bindingId);
  }

  private stop(bindingId: string, what: string): void {
    const card = this.cards.get(bindingId);
    if (!card) return;
    card.el.dataset.state = 'idle';
    card.el.querySelector('.ring-line')!.textContent = what;
  }

  private async register(userId: string, kind: keyof typeof PHONE_KINDS): Promise<void> {
    const k = PHONE_KINDS[kind];
    const app =
      k.provider === 'apns'
        ? this.info.apps.ios
        : k.provider === 'fcm'
          ? this.info.apps.fcmProject
          : this.info.apps.hmsApp;
    try {
      const device = await this.api.call<Device>('POST', '/v1/devices', {
        userId,
        provider: k.provider,
        token: demoToken(k.provider),
        app,
        environment: 'production',
        pushKind: k.pushKind,
        format: k.format,
      });
      this.show(device);
      this.status.textContent = `Registered ${k.label} for ${userId}`;
      this.onRegistered(device);
    } catch (error) {
      this.status.textContent = `Could not register: ${(error as Error).message}`;
    }
  }

  private async ring(delivery: DemoDelivery): Promise<void> {
    this.show(delivery.device);
    const card = this.cards.get(delivery.device.id)!;
    card.device = { ...card.device, ...delivery.device };
    const view = appView(delivery.provider, delivery.payload);
    const el = card.el;
    el.querySelector('.payload')!.textContent = JSON.stringify(view, null, 2);
    const line = el.querySelector('.ring-line')!;
    const inviteBox = el.querySelector('.invite')!;
    inviteBox.replaceChildren();
    let caller = findCaller(view);
    if (card.device.format === 'signalwire') {
      try {
        // Real WebCrypto in the browser, with the key the device got at registration.
        const { invite } = await decodeSignalWirePush(delivery.payload, card.device.pushKey ?? '');
        const p = invite.params.params;
        caller = `${p.caller_id_name ?? ''} ${p.caller_id_number ? `(${p.caller_id_number})` : ''}`.trim();
        inviteBox.append(
          h('p', { class: 'decrypted' }, 'Decrypted invite: ', h('span', { class: 'invite-caller' }, caller)),
          h('p', { class: 'meta' }, `callID ${p.callID} · ${p.display_direction ?? ''}`),
        );
      } catch (error) {
        const reason =
          error instanceof SignalWirePushError ? `${error.code}: ${error.message}` : (error as Error).message;
        inviteBox.append(h('p', { class: 'error' }, `Could not decrypt the invite (${reason})`));
      }
    }
    el.dataset.state = 'ringing';
    el.dataset.pushId = delivery.id;
    line.textContent = `Ringing${caller ? `: ${caller}` : ''} · ${delivery.provider} id ${delivery.id}`;
  }
}
