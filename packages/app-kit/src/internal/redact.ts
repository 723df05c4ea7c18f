import type { EphemeralConfig, QueueConfig, StoreConfig } from './engines.js';

/** A URL with its password (also one in the query string, as pg reads it) replaced, safe to print. */
export function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = 'redacted';
    for (const name of [...u.searchParams.keys()]) if (/pass/i.test(name)) u.searchParams.set(name, 'redacted');
    return u.toString();
  } catch {
    return '[redacted]';
  }
}

/** The engine sections with the passwords of their URLs replaced. */
export function redactedEngines<S extends StoreConfig | { kind: string; url?: string }>(engines: {
  store: S;
  queue: QueueConfig;
  ephemeral: EphemeralConfig;
}): { store: S; queue: QueueConfig; ephemeral: EphemeralConfig } {
  const { store, queue, ephemeral } = engines;
  return {
    store: 'url' in store && typeof store.url === 'string' ? { ...store, url: withoutPassword(store.url) } : store,
    queue: queue.engine === 'bullmq' ? { ...queue, redis: withoutPassword(queue.redis) } : queue,
    ephemeral: ephemeral.engine === 'redis' ? { ...ephemeral, redis: withoutPassword(ephemeral.redis) } : ephemeral,
  };
}
