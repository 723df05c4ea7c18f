#!/usr/bin/env node
import { onShutdownSignals, type ConfigWarning } from '@pushrelay/app-kit';
import { ValidationError } from '@pushrelay/core';
import { startBridge } from './internal/bridge.js';
import { loadConfig } from './internal/config.js';
import { createLogger } from './internal/logger.js';

/** `pushrelay-sip-bridge [config.json|config.yaml]`; the path may also come from PUSHRELAY_SIP_BRIDGE_CONFIG. */
async function main(): Promise<void> {
  const file = process.argv[2] ?? process.env['PUSHRELAY_SIP_BRIDGE_CONFIG'];
  const warnings: ConfigWarning[] = [];
  let config;
  let bridge;
  let logger;
  try {
    config = await loadConfig(file, process.env, (w) => warnings.push(w));
    logger = createLogger(config.log.level);
    for (const w of warnings) logger.warn({ option: w.path }, `config: ${w.path} ${w.message}`);
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
  const log = logger;
  onShutdownSignals({
    stop: () => bridge.stop(),
    timeoutMs: config.shutdownTimeoutMs,
    onSignal: (signal) => log.info({ signal }, 'shutdown requested'),
    onError: (error) => log.error({ err: error }, 'shutdown failed'),
  });
  // SIGHUP: new TLS certificate and key from the same files; calls and connections carry on.
  if (config.tls)
    process.on('SIGHUP', () => {
      bridge.reloadTls().catch(() => {
        // Logged by the bridge; the previous certificate stays in use.
      });
    });
}

main().catch((error: unknown) => {
  process.stderr.write(`sip-bridge: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
