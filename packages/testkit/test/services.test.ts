import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServer, type AddressInfo } from 'node:net';
import { probeTcp, requireService } from '../src/index.js';

describe('requireService', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('reports a server that answers as available', async () => {
    const server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      expect(await requireService('fake', () => probeTcp(port))).toEqual({ available: true });
    } finally {
      server.close();
    }
  });

  it('skips with a printed reason when the server is absent', async () => {
    vi.stubEnv('PUSHRELAY_REQUIRE_SERVICES', '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const status = await requireService('redis', () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')));
    expect(status).toEqual({ available: false, reason: 'not reachable: connect ECONNREFUSED 127.0.0.1:1' });
    expect(warn).toHaveBeenCalledWith(
      'skipping the tests that need redis: not reachable: connect ECONNREFUSED 127.0.0.1:1',
    );
  });

  it('fails instead when PUSHRELAY_REQUIRE_SERVICES=1', async () => {
    vi.stubEnv('PUSHRELAY_REQUIRE_SERVICES', '1');
    await expect(requireService('redis', () => Promise.reject(new Error('down')))).rejects.toThrow(
      'not reachable: down (PUSHRELAY_REQUIRE_SERVICES=1 makes this a failure)',
    );
  });

  it('gives up on a TCP probe of a closed port', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise((r) => server.close(r));
    await expect(probeTcp(port)).rejects.toThrow(/ECONNREFUSED/);
  });
});
