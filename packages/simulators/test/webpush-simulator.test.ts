import http2 from 'node:http2';
import { createECDH, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decryptWebPush,
  startWebPushSimulator,
  type SimWebPushSubscription,
  type WebPushSimulator,
} from '../src/index.js';

// The encryptor of RFC 8188's author: an implementation independent of the simulator's decryptor.
const ece = createRequire(import.meta.url)('http_ece') as {
  encrypt(plain: Buffer, options: Record<string, unknown>): Buffer;
};

function encrypt(sub: SimWebPushSubscription, plain: Buffer, rs?: number): Buffer {
  const sender = createECDH('prime256v1');
  sender.generateKeys();
  return ece.encrypt(plain, {
    version: 'aes128gcm',
    dh: sub.subscription.keys.p256dh,
    privateKey: sender,
    salt: randomBytes(16).toString('base64url'),
    authSecret: sub.subscription.keys.auth,
    ...(rs !== undefined ? { rs } : {}),
  });
}

const server = createECDH('prime256v1');
server.generateKeys();
const serverKey = server.getPublicKey('base64url');

function vapidHeader(claims: Record<string, unknown>, key = server): string {
  const pub = key.getPublicKey();
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: pub.subarray(1, 33).toString('base64url'),
    y: pub.subarray(33).toString('base64url'),
    d: key.getPrivateKey().toString('base64url'),
  };
  const head = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ES256' })).toString('base64url');
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${head}.${body}`), {
    key: createPrivateKey({ key: jwk, format: 'jwk' }),
    dsaEncoding: 'ieee-p1363',
  });
  return `vapid t=${head}.${body}.${signature.toString('base64url')}, k=${key.getPublicKey('base64url')}`;
}

let sim: WebPushSimulator;
beforeAll(async () => {
  sim = await startWebPushSimulator();
});
afterAll(async () => {
  await sim.close();
});

function post(sub: SimWebPushSubscription, headers: Record<string, string>, body: Buffer) {
  return new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const url = new URL(sub.subscription.endpoint);
    const session = http2.connect(url.origin, { ca: sim.ca });
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': url.pathname, ...headers });
    let data = '';
    let head: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (data += c));
    stream.on('end', () => {
      session.close();
      resolve({ status: Number(head[':status']), headers: head, body: data });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

const goodHeaders = () => ({
  authorization: vapidHeader({ aud: sim.url, exp: Math.floor(Date.now() / 1000) + 3600, sub: 'mailto:a@example.com' }),
  ttl: '60',
  'content-encoding': 'aes128gcm',
});

describe('Web Push simulator', () => {
  it('decrypts what another aes128gcm implementation encrypted, across several records', () => {
    const sub = sim.subscribe();
    const keys = {
      privateKey: sub.privateKey,
      publicKey: sub.subscription.keys.p256dh,
      auth: sub.subscription.keys.auth,
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 18, max: 300 }), (bytes, rs) => {
        const plain = Buffer.from(bytes);
        expect(decryptWebPush(encrypt(sub, plain, rs), keys)).toEqual(plain);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a tampered body, and a body for another subscription, with a clear error', () => {
    const sub = sim.subscribe();
    const other = sim.subscribe();
    const keys = (s: SimWebPushSubscription) => ({
      privateKey: s.privateKey,
      publicKey: s.subscription.keys.p256dh,
      auth: s.subscription.keys.auth,
    });
    const body = encrypt(sub, Buffer.from('{"call":1}'));
    const tampered = Buffer.from(body);
    tampered[tampered.length - 3]! ^= 1;
    expect(() => decryptWebPush(tampered, keys(sub))).toThrow('record 0 does not decrypt');
    expect(() => decryptWebPush(body, keys(other))).toThrow('record 0 does not decrypt');
    expect(() => decryptWebPush(body.subarray(0, 10), keys(sub))).toThrow('shorter than the aes128gcm header');
  });

  it('takes a VAPID-signed encrypted push with 201 and Location, and records what the browser gets', async () => {
    const sub = sim.subscribe({ applicationServerKey: serverKey });
    const answer = await post(
      sub,
      { ...goodHeaders(), urgency: 'high', topic: 'call-1' },
      encrypt(sub, Buffer.from('{"a":1}')),
    );
    expect(answer.status).toBe(201);
    const [got] = sim.received(sub.token);
    expect(answer.headers['location']).toBe(`${sim.url}/message/${got!.id}`);
    expect(got).toMatchObject({ text: '{"a":1}', json: { a: 1 }, ttl: 60, urgency: 'high', topic: 'call-1' });
    expect(sim.deliveries({ token: sub.token }).map((d) => d.payload)).toEqual([{ a: 1 }]);
  });

  it('answers each broken request as a push service does, and records nothing', async () => {
    const sub = sim.subscribe({ applicationServerKey: serverKey });
    const body = encrypt(sub, Buffer.from('{"a":1}'));
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const other = createECDH('prime256v1');
    other.generateKeys();
    const cases: Array<[Record<string, string>, Buffer, number, string]> = [
      [{ ...goodHeaders(), authorization: 'Bearer x' }, body, 401, 'not a vapid scheme'],
      [
        { ...goodHeaders(), authorization: vapidHeader({ aud: 'https://elsewhere', exp, sub: 'mailto:a@b.c' }) },
        body,
        401,
        'aud',
      ],
      [
        { ...goodHeaders(), authorization: vapidHeader({ aud: sim.url, exp: exp - 7200, sub: 'mailto:a@b.c' }) },
        body,
        401,
        'expired',
      ],
      [
        { ...goodHeaders(), authorization: vapidHeader({ aud: sim.url, exp: exp + 86_400, sub: 'mailto:a@b.c' }) },
        body,
        401,
        '24 hours',
      ],
      [{ ...goodHeaders(), authorization: vapidHeader({ aud: sim.url, exp, sub: 'a@b.c' }) }, body, 401, 'sub'],
      [
        { ...goodHeaders(), authorization: vapidHeader({ aud: sim.url, exp, sub: 'mailto:a@b.c' }, other) },
        body,
        403,
        'VAPID key',
      ],
      [{ ...goodHeaders(), ttl: 'soon' }, body, 400, 'TTL'],
      [{ ...goodHeaders(), urgency: 'now' }, body, 400, 'Urgency'],
      [{ ...goodHeaders(), topic: 'x'.repeat(33) }, body, 400, 'Topic'],
      [{ ...goodHeaders(), 'content-encoding': 'aesgcm' }, body, 400, 'aes128gcm'],
      [goodHeaders(), randomBytes(4097), 413, '4096'],
      [goodHeaders(), randomBytes(200), 400, 'could not decrypt'],
    ];
    for (const [headers, payload, status, text] of cases) {
      const answer = await post(sub, headers, payload);
      expect([answer.status, answer.body]).toEqual([status, expect.stringContaining(text)]);
    }
    expect(sim.received(sub.token)).toEqual([]);
  });

  it('makes subscriptions over its inspection API', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const session = http2.connect(sim.url, { ca: sim.ca });
      session.on('error', reject);
      const stream = session.request({ ':method': 'POST', ':path': '/__sim/subscriptions' });
      let data = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (data += c));
      stream.on('end', () => {
        session.close();
        resolve(data);
      });
      stream.end(JSON.stringify({ applicationServerKey: serverKey }));
    });
    const made = JSON.parse(answer) as SimWebPushSubscription;
    expect(made.subscription.endpoint.startsWith(`${sim.url}/push/`)).toBe(true);
    expect(made.applicationServerKey).toBe(serverKey);
  });
});
