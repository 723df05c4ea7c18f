import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryBindingStore, webPushToken } from '@pushrelay/core';
import { getHeader, getHeaders, type SipResponse } from '@pushrelay/sip';
import { startWebPushSimulator, type SimWebPushSubscription, type WebPushSimulator } from '@pushrelay/simulators';
import { generateVapidKeys } from '@pushrelay/transport-webpush';
import { startBridge, type RunningBridge } from '../src/index.js';
import { CALLER, TestPhone } from './phone.js';
import { RecordingTransport } from './support.js';

// A browser softphone registers over SIP with RFC 8599 `pn-provider=webpush`: its push
// subscription in `pn-prid`, made with the VAPID key the bridge advertises as `+sip.vapid`.
let sim: WebPushSimulator;
const vapid = generateVapidKeys();
const APP = 'sip.example.com';
let bridge: RunningBridge | undefined;
const phones: TestPhone[] = [];

beforeAll(async () => {
  sim = await startWebPushSimulator();
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  for (const p of phones.splice(0)) await p.close();
  await bridge?.stop();
  bridge = undefined;
  sim.clearDeliveries();
});

async function start(bindings = new InMemoryBindingStore()): Promise<RunningBridge> {
  bridge = await startBridge({
    config: {
      domain: '127.0.0.1',
      listen: { host: '127.0.0.1', port: 0, tcp: false },
      users: [{ username: 'alice', password: 'wonderland' }, CALLER],
      calls: { ringTimeoutMs: 10_000, pushWaitMs: 5000 },
      push: { providers: ['apns', 'fcm', 'webpush'] },
      // The Web Push transport the bridge builds from its config; the simulator is on 127.0.0.1.
      webpush: {
        vapid: [{ app: APP, subject: 'mailto:ops@example.com', ...vapid }],
        ca: sim.ca,
        allowInsecureEndpoints: true,
      },
      metrics: null,
      log: { level: 'silent' },
      shutdownTimeoutMs: 1000,
    },
    transports: { apns: new RecordingTransport('apns'), fcm: new RecordingTransport('fcm') },
    bindings,
  });
  return bridge;
}

async function phone(b: RunningBridge): Promise<TestPhone> {
  const p = await TestPhone.start(b.sip.port);
  phones.push(p);
  return p;
}

const prid = (s: SimWebPushSubscription) => Buffer.from(JSON.stringify(s.subscription)).toString('base64url');

function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (check()) resolve();
      else if (Date.now() - start > timeoutMs) reject(new Error('condition not met in time'));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

describe('SIP bridge and Web Push (RFC 8599 pn-provider=webpush)', () => {
  it('accepts the subscription, advertises webpush and +sip.vapid, and wakes the browser for a call', async () => {
    const bindings = new InMemoryBindingStore();
    const b = await start(bindings);
    const browser = sim.subscribe({ applicationServerKey: vapid.publicKey });
    const contactParams = `;pn-provider=webpush;pn-prid=${prid(browser)}`;
    const tab = await phone(b);
    const registered = await tab.register('alice', 'wonderland', { contactParams });
    expect(registered.status).toBe(200);
    expect(getHeader(registered, 'Feature-Caps')).toBe(`*;+sip.pns="apns,fcm,webpush";+sip.vapid="${vapid.publicKey}"`);
    expect(await bindings.forUser('default', 'alice')).toMatchObject([
      {
        provider: 'webpush',
        token: webPushToken(browser.subscription),
        app: APP,
        pushKind: 'alert',
        format: 'ecss',
        origin: 'sip-rfc8599',
      },
    ]);

    const caller = await phone(b);
    caller.credentials = { ...CALLER };
    const provisional: SipResponse[] = [];
    const answered = caller.send(caller.inviteRequest('alice', 'web-call-1@127.0.0.1'), (r) => provisional.push(r));
    await until(() => sim.received(browser.token).length === 1);
    const [push] = sim.received(browser.token);
    // What the service worker gets: the plaintext the simulator decrypted with the browser's keys.
    expect(push!.json).toEqual({
      pushrelay: 1,
      type: 'incoming_call',
      id: expect.stringMatching(/^sip-invite-[0-9a-f]{32}$/),
      title: 'Incoming call',
      body: 'Bob Caller (+15551234567)',
      tag: expect.stringMatching(/^sip-invite-/),
      deadline: expect.any(String),
      call: {
        id: 'web-call-1@127.0.0.1',
        from: { uri: expect.stringContaining('+15551234567'), number: '+15551234567', displayName: 'Bob Caller' },
        to: expect.any(Object),
        video: false,
        startedAt: expect.any(String),
      },
      vendor: { ecss: { type: 'invite', date: expect.any(Number) } },
    });
    const shown = push!.json as { id: string; tag: string };
    // The tag is the bridge's collapse key for the push, its notification id.
    expect(shown.tag).toBe(shown.id);
    expect(push!.urgency).toBe('high');
    expect(push!.vapid.publicKey).toBe(vapid.publicKey);

    // The woken tab registers again and gets the held INVITE.
    const woken = await phone(b);
    expect((await woken.register('alice', 'wonderland', { contactParams })).status).toBe(200);
    const response = await answered;
    expect(response.status).toBe(200);
    expect(provisional.map((r) => r.status)).toEqual(expect.arrayContaining([100]));
    expect(woken.invites()).toHaveLength(1);
    expect(getHeaders(response, 'Record-Route')).toHaveLength(1);
  });

  it('answers 400 for a pn-prid that is no subscription', async () => {
    const b = await start();
    const refused = await (
      await phone(b)
    ).register('alice', 'wonderland', {
      contactParams: ';pn-provider=webpush;pn-prid=not-a-subscription',
    });
    expect(refused.status).toBe(400);
  });
});

describe('webpush config', () => {
  it('needs the webpush section to serve webpush, and webpushApp to name one of its key sets', async () => {
    const { resolveConfig } = await import('../src/internal/config.js');
    const base = { domain: 'sip.example.com', users: [{ username: 'alice', password: 'pw' }] };
    const issues = (input: Record<string, unknown>) => {
      try {
        resolveConfig({ ...base, ...input });
      } catch (error) {
        return (error as { issues: unknown }).issues;
      }
      return [];
    };
    expect(issues({ push: { providers: ['webpush'] } })).toEqual([
      {
        path: 'webpush',
        message: 'is required when push.providers lists webpush (its VAPID key goes in Feature-Caps)',
      },
    ]);
    const set = { app: APP, subject: 'mailto:ops@example.com', ...vapid };
    expect(issues({ push: { providers: ['webpush'], webpushApp: 'other' }, webpush: { vapid: [set] } })).toEqual([
      { path: 'push.webpushApp', message: 'must be the app of a webpush.vapid key set' },
    ]);
    const config = resolveConfig({ ...base, push: { providers: ['webpush'] }, webpush: { vapid: [set] } });
    expect([config.push.webpushApp, config.webpush]).toEqual([APP, { vapid: [set] }]);
  });
});
