import type { RedisOptions } from 'ioredis';

/**
 * ioredis options from a `redis://` or `rediss://` URL, the connection named `connectionName` so
 * an operator can tell a deployment's clients apart in CLIENT LIST (by `<prefix>:<role>`).
 * Throws a TypeError saying what is wrong with a URL that would connect somewhere unintended.
 */
export function redisOptionsFromUrl(url: string, connectionName: string): RedisOptions {
  const u = new URL(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new TypeError('must be a redis:// or rediss:// URL');
  const path = u.pathname.replace(/^\//, '');
  if (!/^\d*$/.test(path)) throw new TypeError(`the database must be a number, not ${JSON.stringify(path)}`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || 6379),
    db: Number(path || 0),
    ...(u.username ? { username: decoded(u.username, 'user name') } : {}),
    ...(u.password ? { password: decoded(u.password, 'password') } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    connectionName,
  };
}

function decoded(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new TypeError(`the ${what} is not validly %-encoded`);
  }
}

/** What is wrong with a Redis URL given in a configuration, or undefined when it can be used. */
export function redisUrlProblem(url: string): string | undefined {
  if (!/^rediss?:\/\/\S+$/.test(url)) return 'must be a redis:// or rediss:// URL';
  try {
    redisOptionsFromUrl(url, 'check');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
