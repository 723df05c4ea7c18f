import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProviderAgent, postJson } from '../src/index.js';

// A server that takes the TCP connection and then says nothing: the TLS handshake never ends.
describe('postJson against a provider that never finishes the handshake', () => {
  const sockets: Socket[] = [];
  const server = createServer((socket) => void sockets.push(socket));
  let origin = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    origin = `https://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('stops waiting at the deadline, connection set-up included', async () => {
    const agent = createProviderAgent({ requestTimeoutMs: 120_000 });
    try {
      const answer = await postJson(agent, {
        origin,
        path: '/send',
        accessToken: 'token',
        body: '{}',
        deadline: Date.now() + 300,
        timeoutMs: 120_000,
      });
      expect(answer).toEqual({ kind: 'outcome', outcome: { kind: 'retry', reason: 'no answer before the deadline' } });
    } finally {
      await agent.destroy();
    }
  }, 8_000);

  it('does not start a request already past its deadline', async () => {
    const agent = createProviderAgent({});
    const before = sockets.length;
    try {
      const answer = await postJson(agent, {
        origin,
        path: '/send',
        accessToken: 't',
        body: '{}',
        deadline: Date.now() - 1,
        timeoutMs: 10_000,
      });
      expect(answer).toEqual({ kind: 'outcome', outcome: { kind: 'retry', reason: 'deadline passed before sending' } });
      expect(sockets).toHaveLength(before);
    } finally {
      await agent.destroy();
    }
  });
});
