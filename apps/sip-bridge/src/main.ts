#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { onShutdownSignals, startTracing, type ConfigWarning } from '@pushrelay/app-kit';
import { ValidationError } from '@pushrelay/core';
import { startBridge } from './internal/bridge.js';
import { loadConfig } from './internal/config.js';
import { createLogger } from './internal/logger.js';

const USAGE = 'Usage: pushrelay-sip-bridge [--config <file>] [<file>]\n       pushrelay-sip-bridge --help | --version';

const HELP = `${USAGE}

Runs the push-aware SIP registrar and proxy. Without a file every option has its default.

Options:
  -c, --config <file>  the configuration file (JSON, or YAML as .yaml/.yml); also the first argument
  -h, --help           print this help
  -V, --version        print the version

Environment:
  PUSHRELAY_SIP_BRIDGE_CONFIG      the configuration file when none is given on the command line
  PUSHRELAY_<SECTION>__<OPTION>    overrides an option, e.g. PUSHRELAY_CALLS__RING_TIMEOUT_MS=20000,
                                   PUSHRELAY_METRICS=null (values read as JSON when they parse)
  PUSHRELAY_STORE                  \`memory\`, a postgres:// URL or a SQLite path
  PUSHRELAY_QUEUE, PUSHRELAY_EPHEMERAL
                                   \`memory\` or a redis:// URL
  PUSHRELAY_SIP_BRIDGE__<SECTION>__<OPTION>
                                   the former names, read with a warning
  (any)                            passwords named by { "env": "NAME" } in the file

Signals: SIGTERM/SIGINT stop within shutdownTimeoutMs; SIGHUP reloads the TLS certificate and key.`;

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

/** A mistake in the command line: one line and the usage, exit 2. */
function usageError(message: string): never {
  process.stderr.write(`pushrelay-sip-bridge: ${message}\n${USAGE}\nRun "pushrelay-sip-bridge --help" for more.\n`);
  process.exit(2);
}

/** The config file named on the command line (or by PUSHRELAY_SIP_BRIDGE_CONFIG); exits on --help/--version. */
function configPath(argv: string[]): string | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    });
  } catch (error) {
    const e = error as { code?: string; message?: string };
    const quoted = /'([^']+)'/.exec(e.message ?? '')?.[1];
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') usageError(`unknown option ${quoted ?? e.message}`);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /argument missing/.test(e.message ?? ''))
      usageError(`option ${/--[\w-]+/.exec(quoted ?? '')?.[0] ?? quoted} needs a value`);
    usageError(String(e.message ?? error).split('. ')[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    process.exit(0);
  }
  if (positionals.length > 1) usageError(`unexpected argument ${positionals[1]}`);
  if (positionals.length === 1 && values.config !== undefined)
    usageError('give the configuration file once: as --config or as the argument');
  return values.config ?? positionals[0] ?? process.env['PUSHRELAY_SIP_BRIDGE_CONFIG'];
}

async function main(): Promise<void> {
  const file = configPath(process.argv.slice(2));
  const warnings: ConfigWarning[] = [];
  let config;
  let bridge;
  let logger;
  let tracing;
  try {
    config = await loadConfig(file, process.env, (w) => warnings.push(w));
    logger = createLogger(config.log.level);
    for (const w of warnings) logger.warn({ option: w.path }, `config: ${w.path} ${w.message}`);
    tracing = await startTracing({ serviceName: 'pushrelay-sip-bridge' });
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
    stop: () => bridge.stop().finally(() => tracing?.shutdown()),
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

// Awaited, so that the module's evaluation lasts until the bridge runs: a runner of the sources
// (tools/bench/run-ts.mjs) stays open for the imports the start-up makes by computed name.
await main().catch((error: unknown) => {
  // What stops the start (a port in use, a file that cannot be read) is one line; the stack only
  // helps a developer, who sets NODE_DEBUG=sip-bridge.
  const debug = /\bsip-bridge\b/.test(process.env['NODE_DEBUG'] ?? '');
  process.stderr.write(
    `sip-bridge: ${error instanceof Error ? (debug ? error.stack : error.message) : String(error)}\n`,
  );
  process.exit(1);
});
