import { Redis, type RedisOptions } from 'ioredis';

export interface RedisConnectionOptions {
  /** Redis URL (`redis://127.0.0.1:6379/0`) or ioredis options. Default 127.0.0.1:6379. */
  connection?: string | RedisOptions;
  /** A client the caller owns (and closes); `connection` is then ignored. */
  client?: Redis;
  /** Prepended to every key, so deployments share one Redis. Default `pushrelay`. */
  prefix?: string;
}

export interface OpenedClient {
  client: Redis;
  owned: boolean;
  prefix: string;
}

export function openClient(options: RedisConnectionOptions): OpenedClient {
  const prefix = options.prefix ?? 'pushrelay';
  if (options.client) return { client: options.client, owned: false, prefix };
  const c = options.connection;
  const client = typeof c === 'string' ? new Redis(c) : new Redis({ host: '127.0.0.1', port: 6379, ...c });
  // Failures reach the caller through the command that failed; the event alone would crash the process.
  client.on('error', () => {});
  return { client, owned: true, prefix };
}

export async function closeClient(opened: OpenedClient): Promise<void> {
  if (opened.owned) await opened.client.quit().catch(() => opened.client.disconnect());
}

/** Keeps separators out of key parts, so ("a:b", "c") and ("a", "b:c") never share a key. */
export function keyPart(value: string): string {
  return encodeURIComponent(value);
}
