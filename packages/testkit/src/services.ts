import { connect } from 'node:net';

export interface ServiceStatus {
  /** True when the server answered the probe. */
  available: boolean;
  /** Why it is unavailable, for the skip message. */
  reason?: string;
}

/**
 * Probes a server a test file needs. When it does not answer, the file's tests are skipped with
 * a printed reason, unless PUSHRELAY_REQUIRE_SERVICES=1, where this throws so the file fails.
 *
 *   const redis = await requireService('redis', () => probeTcp(6379));
 *   describe.skipIf(!redis.available)('...', () => { ... });
 */
export async function requireService(name: string, probe: () => Promise<unknown>): Promise<ServiceStatus> {
  try {
    await probe();
    return { available: true };
  } catch (error) {
    const reason = `not reachable: ${error instanceof Error ? error.message : String(error)}`;
    if (process.env['PUSHRELAY_REQUIRE_SERVICES'] === '1') {
      throw new Error(`${reason} (PUSHRELAY_REQUIRE_SERVICES=1 makes this a failure)`);
    }
    console.warn(`skipping the tests that need ${name}: ${reason}`);
    return { available: false, reason };
  }
}

/** Resolves when a TCP connection to host:port opens within timeoutMs. */
export function probeTcp(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
