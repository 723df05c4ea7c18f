import http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createCertificateAuthority,
  simulatorHandle,
  SimulatorState,
  startSimulatorServer,
  type ProviderHandler,
  type SimulatorHandle,
} from '../src/index.js';

const echo: ProviderHandler = {
  tokenOf: (r) => r.path.split('/')[2],
  faultResponse: (status, reason) => ({ status, body: { reason: reason ?? 'fault' }, ...(reason ? { reason } : {}) }),
  handle: (r) => {
    const token = r.path.split('/')[2] ?? '';
    return {
      status: 200,
      body: { ok: true },
      delivery: { token, payload: JSON.parse(r.body.toString() || '{}'), id: `id-${token}` },
    };
  },
};

async function start(): Promise<SimulatorHandle> {
  const state = new SimulatorState('echo');
  const ca = createCertificateAuthority();
  const server = await startSimulatorServer({ state, handler: echo, ca });
  return simulatorHandle(state, [server], ca);
}

interface Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

function request(session: http2.ClientHttp2Session, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': method, ':path': path, 'content-type': 'application/json' });
    let data = '';
    let headers: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => (headers = h));
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (data += c));
    stream.on('end', () =>
      headers[':status']
        ? resolve({ status: Number(headers[':status']), headers, body: data })
        : reject(new Error('no answer')),
    );
    stream.on('close', () => {
      if (!headers[':status']) reject(new Error(`stream closed without answer (code ${stream.rstCode})`));
    });
    stream.on('error', reject);
    stream.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

let sim: SimulatorHandle | undefined;
const sessions: http2.ClientHttp2Session[] = [];
function connect(): http2.ClientHttp2Session {
  const s = http2.connect(sim!.url, { ca: sim!.ca });
  s.on('error', () => {});
  sessions.push(s);
  return s;
}
afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  await sim?.close();
  sim = undefined;
});

describe('simulator base', () => {
  it('serves TLS + HTTP/2 with its own CA and logs deliveries', async () => {
    sim = await start();
    const session = connect();
    const answer = await request(session, 'POST', '/push/abc', { hello: 1 });
    expect(answer.status).toBe(200);
    expect(sim.deliveries()).toEqual([
      {
        provider: 'echo',
        token: 'abc',
        headers: { 'content-type': 'application/json' },
        payload: { hello: 1 },
        receivedAt: expect.any(Number),
        id: 'id-abc',
      },
    ]);
    const listed = await request(session, 'GET', '/__sim/deliveries');
    expect(JSON.parse(listed.body)).toEqual(sim.deliveries());
    expect((await request(session, 'DELETE', '/__sim/deliveries')).status).toBe(204);
    expect(sim.deliveries()).toEqual([]);
  });

  it('scripts status faults over HTTP, with Retry-After, for the next N requests', async () => {
    sim = await start();
    const session = connect();
    const created = await request(session, 'POST', '/__sim/faults', {
      kind: 'status',
      status: 429,
      reason: 'TooManyRequests',
      retryAfter: 3,
      count: 2,
    });
    expect(created.status).toBe(201);
    const a = await request(session, 'POST', '/push/t1', {});
    const b = await request(session, 'POST', '/push/t1', {});
    const c = await request(session, 'POST', '/push/t1', {});
    expect([a.status, b.status, c.status]).toEqual([429, 429, 200]);
    expect(a.headers['retry-after']).toBe('3');
    expect(JSON.parse(a.body)).toEqual({ reason: 'TooManyRequests' });
    expect(sim.deliveries()).toHaveLength(1);
  });

  it('rejects a malformed fault with the field named', async () => {
    sim = await start();
    const answer = await request(connect(), 'POST', '/__sim/faults', { kind: 'explode' });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).problems[0]).toMatch(/^kind:/);
    expect(() => sim!.fault({ kind: 'status', status: 9000 })).toThrow(/status/);
  });

  it('takes an even share of requests', async () => {
    sim = await start();
    sim.fault({ kind: 'status', status: 500, share: 0.5, count: null });
    const session = connect();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await request(session, 'POST', '/push/x', {})).status);
    expect(statuses).toEqual([200, 500, 200, 500, 200, 500]);
  });

  it('sends GOAWAY after N streams and refuses nothing it answered', async () => {
    sim = await start();
    sim.fault({ kind: 'goaway', afterStreams: 2 });
    const session = connect();
    const goaway = new Promise<number>((resolve) => session.on('goaway', (_code, last) => resolve(last)));
    await request(session, 'POST', '/push/a', {});
    await request(session, 'POST', '/push/b', {});
    expect(await goaway).toBe(3);
    await new Promise((r) => session.on('close', r));
    expect(sim.deliveries().map((d) => d.token)).toEqual(['a', 'b']);
  });

  it('resets the connection, hangs and answers slowly on demand', async () => {
    sim = await start();
    sim.fault({ kind: 'reset', token: 'r' });
    await expect(request(connect(), 'POST', '/push/r', {})).rejects.toThrow();
    sim.fault({ kind: 'slow', delayMs: 50 });
    expect((await request(connect(), 'POST', '/push/s', {})).status).toBe(200);
    sim.fault({ kind: 'hang' });
    const session = connect();
    const hung = request(session, 'POST', '/push/h', {});
    const outcome = await Promise.race([
      hung.then(() => 'answered'),
      new Promise((r) => setTimeout(() => r('waiting'), 200)),
    ]);
    expect(outcome).toBe('waiting');
    expect(sim.requests().map((r) => [r.token, r.status, r.fault])).toEqual([
      ['r', 0, 'reset'],
      ['s', 200, 'slow'],
      ['h', 0, 'hang'],
    ]);
    expect(sim.connections().open).toBeGreaterThan(0);
    await sim.close();
    await expect(hung).rejects.toThrow();
    sim = undefined;
  });

  it('resets one stream before the provider sees it and keeps the connection', async () => {
    sim = await start();
    sim.fault({ kind: 'stream-reset', token: 'x' });
    sim.fault({ kind: 'stream-reset', token: 'y', code: http2.constants.NGHTTP2_REFUSED_STREAM });
    const session = connect();
    const [reset, refused, answered] = await Promise.allSettled([
      request(session, 'POST', '/push/x', {}),
      request(session, 'POST', '/push/y', {}),
      request(session, 'POST', '/push/z', {}),
    ]);
    expect(reset).toMatchObject({
      status: 'rejected',
      reason: expect.objectContaining({
        code: 'ERR_HTTP2_STREAM_ERROR',
        message: expect.stringMatching(/NGHTTP2_INTERNAL_ERROR/),
      }),
    });
    expect(refused).toMatchObject({
      status: 'rejected',
      reason: expect.objectContaining({ message: expect.stringMatching(/NGHTTP2_REFUSED_STREAM/) }),
    });
    expect(answered).toMatchObject({ status: 'fulfilled', value: { status: 200 } });
    expect((await request(session, 'POST', '/push/x', {})).status).toBe(200);
    expect(sim.connections().opened).toBe(1);
    expect(sim.deliveries().map((d) => d.token)).toEqual(['z', 'x']);
    expect(sim.requests().map((r) => [r.token, r.status, r.fault])).toEqual([
      ['x', 0, 'stream-reset'],
      ['y', 0, 'stream-reset'],
      ['z', 200, undefined],
      ['x', 200, undefined],
    ]);
    expect(() => sim!.fault({ kind: 'stream-reset', code: 99 })).toThrow(/code/);
  });

  it('marks tokens unregistered over HTTP', async () => {
    sim = await start();
    const state = new SimulatorState('x');
    expect(state.tokens.unregisteredAt('t')).toBeUndefined();
    const answer = await request(connect(), 'POST', '/__sim/tokens', { token: 'dead', at: 1234 });
    expect(answer.status).toBe(204);
    const bad = await request(connect(), 'POST', '/__sim/tokens', { at: 1 });
    expect(bad.status).toBe(400);
  });
});
