#!/usr/bin/env node
import { ValidationError } from '@pushrelay/core';
import { startBridge } from './internal/bridge.js';
import { loadConfig } from './internal/config.js';
import { createLogger } from './internal/logger.js';

/** `pushrelay-sip-bridge [config.json]`; the path may also come from PUSHRELAY_SIP_BRIDGE_CONFIG. */
async function main(): Promise<void> {
  const file = process.argv[2] ?? process.env['PUSHRELAY_SIP_BRIDGE_CONFIG'];
  let config;
  let bridge;
  let logger;
  try {
    config = await loadConfig(file);
    logger = createLogger(config.log.level);
    bridge = await startBridge({ config, logger });
  } catch (error) {
    if (error instanceof ValidationError) {
      process.stderr.write(
        `sip-bridge: invalid configuration\n${error.issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n')}\n`,
      );
      process.exit(2);
    }
    throw error;
  }
  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'shutdown requested');
    // The bound holds even if something below hangs.
    setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 1000).unref();
    bridge.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // SIGHUP: new TLS certificate and key from the same files; calls and connections carry on.
  if (config.tls)
    process.on('SIGHUP', () => {
      bridge.reloadTls().catch(() => {
        // Logged by the bridge; the previous certificate stays in use.
      });
    });
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`sip-bridge: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
