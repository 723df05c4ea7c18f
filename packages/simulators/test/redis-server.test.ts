import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeTcp, requireService } from '@pushrelay/testkit';
import { probeRedisServerBinary, startRedisServer, type RedisServer } from '../src/index.js';

const binary = await requireService('a redis-server binary', probeRedisServerBinary);

/** One command over RESP, its reply as the raw text Redis sent (this package has no Redis client). */
function command(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      // Every reply these tests read is one line, or an array of one-line bulk strings.
      const lines = reply.split('\r\n');
      const complete = reply.startsWith('*') ? lines.length > 2 * Number(lines[0]!.slice(1)) + 1 : lines.length > 1;
      if (complete) {
        socket.end();
        resolve(reply);
      }
    });
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

describe.skipIf(!binary.available)('startRedisServer', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  }, 60_000);
  afterAll(async () => server?.close());

  it('runs on a free 127.0.0.1 port with AOF fsynced on every write and no eviction', async () => {
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}/0`);
    expect(server.running).toBe(true);
    for (const [name, value] of [
      ['appendonly', 'yes'],
      ['appendfsync', 'always'],
      ['maxmemory-policy', 'noeviction'],
      ['save', ''],
      ['dir', server.dir],
    ]) {
      expect(await command(server.port, 'CONFIG', 'GET', name!)).toBe(
        `*2\r\n$${name!.length}\r\n${name}\r\n$${Buffer.byteLength(value!)}\r\n${value}\r\n`,
      );
    }
  });

  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'keeps acknowledged writes across a %s and a start on the same port',
    async (signal) => {
      expect(await command(server.port, 'SET', `k-${signal}`, 'v')).toBe('+OK\r\n');
      await server.stop(signal);
      expect(server.running).toBe(false);
      await expect(probeTcp(server.port)).rejects.toThrow();
      await server.start();
      expect(await command(server.port, 'GET', `k-${signal}`)).toBe('$1\r\nv\r\n');
    },
    60_000,
  );

  it('kills the server and removes its directory on close', async () => {
    const other = await startRedisServer({ appendonly: false });
    expect(existsSync(other.dir)).toBe(true);
    expect(await command(other.port, 'CONFIG', 'GET', 'appendonly')).toContain('no');
    await other.close();
    await other.close();
    expect(other.running).toBe(false);
    expect(existsSync(other.dir)).toBe(false);
    await expect(probeTcp(other.port)).rejects.toThrow();
    await expect(other.start()).rejects.toThrow(/closed/);
  }, 60_000);
});

describe('startRedisServer without a binary', () => {
  it('rejects, naming the binary', async () => {
    await expect(startRedisServer({ binary: '/nonexistent/redis-server' })).rejects.toThrow(/could not start.*ENOENT/);
  });
});
