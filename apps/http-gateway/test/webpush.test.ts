import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, parseConfig, sha256Hex } from '../src/index.js';
import { main } from '../src/cli.js';
import { startStack, type Stack } from './helpers.js';

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
