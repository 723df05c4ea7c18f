import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSignalWirePush } from '@pushrelay/codec-signalwire/client';
import { createGateway, parseConfig, sha256Hex } from '../src/index.js';
import { main } from '../src/cli.js';
import { startStack, type Stack } from './helpers.js';
import { vertoInvite } from './fixtures/verto-invite.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

const register = (body: Record<string, unknown>) =>
  stack.call('POST', '/v1/devices', {
    body: { userId: 'carol', provider: 'webpush', app: 'web.example.com', format: 'signalwire', ...body },
  });

describe('web devices through the device API', () => {
  it('gives pages the VAPID public key to subscribe with', async () => {
    const answer = await stack.call('GET', '/v1/webpush/keys');
    expect(answer).toMatchObject({
      status: 200,
      body: { keys: [{ app: 'web.example.com', publicKey: stack.sims.vapidPublicKey }] },
    });
  });

  it('refuses a registration without a valid subscription, naming each field', async () => {
    const { subscription } = stack.sims.webpush.subscribe();
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{}, 'subscription', 'is required for webpush'],
      [{ token: 'abc', subscription }, 'token', 'is not used for webpush: send the subscription'],
      [
        { subscription: { endpoint: subscription.endpoint } },
        'subscription.keys',
        'is required: an object with p256dh and auth',
      ],
      [
        { subscription: { ...subscription, keys: { ...subscription.keys, auth: 'short' } } },
        'subscription.keys.auth',
        'must be base64url of the 16-byte auth secret',
      ],
      [{ subscription, app: 'other' }, 'app', 'must be one of the VAPID key sets: web.example.com'],
      [{ provider: 'fcm', token: 't', subscription }, 'subscription', 'is only for provider webpush'],
      [{ provider: 'fcm' }, 'token', 'is required'],
    ];
    for (const [body, path, message] of cases) {
      const answer = await register(body);
      expect(answer.status).toBe(400);
      expect(answer.body.details).toContainEqual({ path, message });
    }
  });
});

const invite = vertoInvite('Carol');

describe('a SignalWire call to a browser, through the gateway and Web Push', () => {
  it('reaches the subscription encrypted, and the SignalWire client decodes the invite after RFC 8291 decryption', async () => {
    const sub = stack.sims.webpush.subscribe({ applicationServerKey: stack.sims.vapidPublicKey });
    const registered = await register({ userId: 'dave', pushKind: 'alert', subscription: sub.subscription });
    expect(registered.status).toBe(201);
    expect(registered.body.token).toBe(sub.token);
    const pushKey: string = registered.body.pushKey;

    const sent = await stack.call('POST', '/v1/notifications?wait=true', {
      body: {
        id: '982cf533-7b1b-4cf6-a6e0-004aab68c503',
        type: 'incoming_call',
        recipient: 'dave',
        call: { id: invite.params.params.callID, from: { number: '0123456789', displayName: 'Tester' } },
        vendor: { invite },
      },
    });
    expect(sent.status).toBe(200);
    expect(sent.body.report.devices.map((d: { provider: string; status: string }) => [d.provider, d.status])).toEqual([
      ['webpush', 'delivered'],
    ]);

    // What the browser would hand its service worker: the simulator decrypted it with the
    // subscription's private key and auth secret (RFC 8291), and verified the VAPID JWT.
    const [received] = stack.sims.webpush.received(sub.token);
    expect(received).toMatchObject({
      urgency: 'high',
      vapid: { aud: stack.sims.webpush.url, sub: 'mailto:demo@example.com', publicKey: stack.sims.vapidPublicKey },
    });
    expect(received!.ttl).toBeGreaterThan(0);
    expect(received!.ttl).toBeLessThanOrEqual(30);
    const { payload, invite: decoded } = await decodeSignalWirePush(received!.json, pushKey);
    expect(decoded).toEqual(invite);
    expect(payload).toEqual({
      version: '1',
      type: 'call_invite',
      title: 'Incoming Call',
      notification_uuid: '982cf533-7b1b-4cf6-a6e0-004aab68c503',
      incoming_caller_id: '0123456789',
      incoming_caller_name: 'Tester',
      with_video: 'false',
      encryption_type: 'aes_256_gcm',
      iv: expect.stringMatching(/^[A-Za-z0-9+/]{16}$/),
      tag: expect.stringMatching(/^[A-Za-z0-9+/]{22}==$/),
      invite: expect.any(String),
    });
    expect(received!.json).toEqual({ notification: { body: JSON.stringify(payload) }, data: {} });
  });

  it('removes a web device whose subscription the browser dropped (410)', async () => {
    const sub = stack.sims.webpush.subscribe();
    const registered = await register({
      userId: 'erin',
      format: 'wazo',
      pushKind: 'alert',
      subscription: sub.subscription,
    });
    expect(registered.status).toBe(201);
    stack.sims.webpush.unregister(sub.token);
    const sent = await stack.call('POST', '/v1/notifications?wait=true', {
      body: { type: 'incoming_call', recipient: 'erin', call: { id: 'c-410', from: { number: '8001' } } },
    });
    expect(sent.body.report.devices.map((d: { status: string }) => d.status)).toEqual(['invalid-token']);
    expect((await stack.call('GET', '/v1/devices?userId=erin')).body.devices).toEqual([]);
  });
});

describe('the gateway refuses endpoints a push service never has', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pushrelay-webpush-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('unless configured for tests: a local or plain-http endpoint is a 400', async () => {
    const { subscription } = stack.sims.webpush.subscribe();
    const config = parseConfig({
      tenants: [{ id: 't', apiKeySha256: [sha256Hex('k')] }],
      providers: { webpush: { ...stack.sims.providers.webpush, allowInsecureEndpoints: false } },
    });
    const gateway = await createGateway(config, { logger: false });
    const url = await gateway.listen();
    try {
      const post = (sub: unknown) =>
        fetch(`${url}/v1/devices`, {
          method: 'POST',
          headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
          body: JSON.stringify({
            userId: 'u',
            provider: 'webpush',
            app: 'web.example.com',
            format: 'signalwire',
            subscription: sub,
          }),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { details: unknown[] } }));
      const answers = await Promise.all([
        post(subscription),
        post({ ...subscription, endpoint: 'http://push.example.net/x' }),
        post({ ...subscription, endpoint: 'https://192.168.1.10/push/x' }),
      ]);
      expect(answers.map((a) => [a.status, a.body.details])).toEqual([
        [400, [{ path: 'subscription.endpoint', message: 'localhost is not a public host name' }]],
        [400, [{ path: 'subscription.endpoint', message: 'must be an https URL' }]],
        [400, [{ path: 'subscription.endpoint', message: '192.168.1.10 is a private or reserved address' }]],
      ]);
    } finally {
      await gateway.close();
    }
  });

  it('vapid-keys prints a key pair the transport accepts, and check-config builds it', async () => {
    const out: string[] = [];
    const err: string[] = [];
    expect(
      await main(
        ['vapid-keys', '--app', 'app.example.com', '--subject', 'mailto:ops@example.com'],
        (l) => out.push(l),
        (l) => err.push(l),
      ),
    ).toBe(0);
    const keys = JSON.parse(out.join('\n')) as { app: string; subject: string; publicKey: string; privateKey: string };
    expect(keys).toEqual({
      app: 'app.example.com',
      subject: 'mailto:ops@example.com',
      publicKey: expect.stringMatching(/^B[A-Za-z0-9_-]{86}$/),
      privateKey: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(err[0]).toContain(`publicKey: ${keys.publicKey}, privateKeyEnv: VAPID_PRIVATE_KEY`);
    expect(
      await main(
        ['vapid-keys', '--subject', 'ops@example.com'],
        () => {},
        () => {},
      ),
    ).toBe(2);

    const file = join(dir, 'webpush.json');
    writeFileSync(
      file,
      JSON.stringify({
        tenants: [{ id: 't', apiKeySha256: [sha256Hex('k')] }],
        providers: {
          webpush: {
            vapid: [
              {
                app: keys.app,
                subject: keys.subject,
                publicKey: keys.publicKey,
                privateKeyEnv: 'TEST_VAPID_PRIVATE_KEY',
              },
            ],
          },
        },
      }),
    );
    process.env['TEST_VAPID_PRIVATE_KEY'] = keys.privateKey;
    const checked: string[] = [];
    try {
      expect(await main(['check-config', '--config', file], (l) => checked.push(l))).toBe(0);
    } finally {
      delete process.env['TEST_VAPID_PRIVATE_KEY'];
    }
    expect(checked.at(-1)).toMatch(/providers webpush$/);
    // The printed configuration shows the public key and hides the private one.
    expect(checked[0]).toContain(keys.publicKey);
    expect(checked[0]).not.toContain(keys.privateKey);
  });
});
