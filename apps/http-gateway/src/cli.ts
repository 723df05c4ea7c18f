import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  PROVIDERS,
  parseCallNotification,
  type Codec,
  type DeviceBinding,
  type Provider,
  type Transport,
} from '@pushrelay/core';
import { onShutdownSignals, startTracing } from '@pushrelay/app-kit';
import { ConfigError, loadConfigFile, redactedConfig, type GatewayConfig } from './internal/config.js';
import { asConfigError, buildContainer, openStores } from './internal/container.js';
import { createGateway } from './internal/gateway.js';
import { loadBackends, loadCodecs } from './internal/registry.js';
import { TOKENS } from './internal/tokens.js';

type Out = (line: string) => void;
type Values = Record<string, string | boolean | undefined>;

interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in the help, e.g. `<file>`. */
  value?: string;
  description: string;
}

interface CommandSpec {
  synopsis: string;
  summary: string;
  options: Record<string, OptionSpec>;
  /** Environment variables the command reads, with what they set. */
  env: Array<[string, string]>;
  run(values: Values, io: Io): Promise<number>;
}

interface Io {
  /** The command being run, for its usage hint. */
  command: string;
  out: Out;
  err: Out;
  env: NodeJS.ProcessEnv;
}

/** A mistake in the command line: printed as one line and a usage hint, exit 2. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

const CONFIG_OPTION: OptionSpec = {
  type: 'string',
  short: 'c',
  value: '<file>',
  description: 'the configuration file (JSON or YAML); required',
};

const CONFIG_ENV: Array<[string, string]> = [
  [
    'PUSHRELAY_<SETTING>[__<OPTION>]',
    'overrides a setting of the file, e.g. PUSHRELAY_LISTEN__PORT, PUSHRELAY_LOG_LEVEL',
  ],
  ['PUSHRELAY_STORE', '`memory`, a postgres:// URL or a SQLite path'],
  ['PUSHRELAY_QUEUE, PUSHRELAY_EPHEMERAL', '`memory` or a redis:// URL'],
  ['PUSHRELAY_HOST, PUSHRELAY_PORT', 'listen.host and listen.port'],
  ['PORT', 'listen.port when neither PUSHRELAY_PORT nor PUSHRELAY_LISTEN__PORT is set'],
  ['PUSHRELAY_RETENTION_DAYS', 'retention.reportsDays'],
  ['(any)', 'secrets named by { env: NAME } in the file'],
];

const COMMANDS: Record<string, CommandSpec> = {
  serve: {
    synopsis: 'pushrelay serve --config <file> [--host <host>] [--port <port>]',
    summary: 'run the gateway; SIGTERM/SIGINT drain and stop within shutdownTimeoutMs',
    options: {
      config: CONFIG_OPTION,
      host: { type: 'string', value: '<host>', description: 'address to listen on (over listen.host)' },
      port: {
        type: 'string',
        value: '<port>',
        description: 'port to listen on, 0 for any free one (over listen.port, PORT)',
      },
    },
    env: CONFIG_ENV,
    async run(values, io) {
      const config = withListen(configFrom(values, io), values);
      // Before the gateway is built: its request spans are set up only when tracing is on.
      const tracing = await startTracing({ serviceName: 'pushrelay-http-gateway' });
      const gateway = await createGateway(config);
      const url = await gateway.listen();
      io.out(`pushrelay listening on ${url}`);
      onSignals(() => gateway.close().finally(() => tracing?.shutdown()), gateway.config.shutdownTimeoutMs);
      return await new Promise<number>(() => {});
    },
  },
  'check-config': {
    synopsis: 'pushrelay check-config --config <file>',
    summary: 'validate the configuration, build the transports, print the redacted configuration',
    options: { config: CONFIG_OPTION },
    env: CONFIG_ENV,
    run: async (values, io) => checkConfig(configFrom(values, io), io.out),
  },
  send: {
    synopsis:
      'pushrelay send --config <file> --provider <p> --token <t> --app <id> --format <codec> [--file <n.json> | --type <t> --from <n> --name <s> --call-id <id>]',
    summary: 'encode and send one notification to one device, print the outcome',
    options: {
      config: CONFIG_OPTION,
      provider: { type: 'string', value: '<provider>', description: `one of ${PROVIDERS.join(', ')}; required` },
      token: { type: 'string', value: '<token>', description: "the device's push token; required" },
      app: { type: 'string', value: '<id>', description: 'bundle id, FCM project, HMS app id or VAPID app; required' },
      format: { type: 'string', value: '<codec>', description: 'the codec that encodes the push; required' },
      environment: { type: 'string', value: '<env>', description: 'production (default) or sandbox' },
      'push-kind': { type: 'string', value: '<kind>', description: 'voip (default), alert or data' },
      file: { type: 'string', value: '<file>', description: 'a CallNotification as JSON, instead of the fields below' },
      type: { type: 'string', value: '<type>', description: 'notification type (default incoming_call)' },
      from: { type: 'string', value: '<number>', description: "the caller's number" },
      name: { type: 'string', value: '<name>', description: "the caller's display name" },
      'call-id': { type: 'string', value: '<id>', description: 'the call id' },
    },
    env: CONFIG_ENV,
    run: async (values, io) => send(configFrom(values, io), values, io.out),
  },
  devices: {
    synopsis: 'pushrelay devices --config <file> --tenant <id> --user <id>',
    summary: "list a user's devices in the configured store",
    options: {
      config: CONFIG_OPTION,
      tenant: { type: 'string', value: '<id>', description: 'the tenant; required' },
      user: { type: 'string', value: '<id>', description: 'the user; required' },
    },
    env: CONFIG_ENV,
    run: async (values, io) => devices(configFrom(values, io), values, io.out),
  },
  'vapid-keys': {
    synopsis: 'pushrelay vapid-keys [--app <name>] [--subject <mailto:|https:>]',
    summary: 'generate a VAPID key pair (Web Push) and print it as a providers.webpush.vapid entry',
    options: {
      app: { type: 'string', value: '<name>', description: 'the VAPID app name (default web)' },
      subject: {
        type: 'string',
        value: '<url>',
        description: 'mailto: or https: contact (default mailto:ops@example.com)',
      },
    },
    env: [],
    run: async (values, io) => await vapidKeys(values, io.out, io.err),
  },
  demo: {
    synopsis: 'pushrelay demo',
    summary: 'the offline demo, from a checkout of the repository (npm start)',
    options: {},
    env: [],
    async run(_values, io) {
      // The demo needs the simulators, which a production install does not have.
      io.err('the demo runs from a checkout of the repository: npm start');
      return 2;
    },
  },
};

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'print this help' };

function globalUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 2;
  return [
    'Usage: pushrelay <command> [options]',
    '       pushrelay --help | --version',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
    '',
    'Options:',
    '  -h, --help     print this help; `pushrelay <command> --help` for a command',
    '  -V, --version  print the version',
  ].join('\n');
}

function commandHelp(spec: CommandSpec): string {
  const options = { ...spec.options, help: HELP_OPTION };
  const flags = Object.entries(options).map(
    ([long, o]) =>
      [`${o.short ? `-${o.short}, ` : '    '}--${long}${o.value ? ` ${o.value}` : ''}`, o.description] as const,
  );
  const width = Math.max(...flags.map(([f]) => f.length)) + 2;
  const lines = [`Usage: ${spec.synopsis}`, '', spec.summary, '', 'Options:'];
  for (const [flag, description] of flags) lines.push(`  ${flag.padEnd(width)}${description}`);
  if (spec.env.length) {
    const envWidth = Math.max(...spec.env.map(([e]) => e.length)) + 2;
    lines.push('', 'Environment:');
    for (const [variable, description] of spec.env) lines.push(`  ${variable.padEnd(envWidth)}${description}`);
  }
  return lines.join('\n');
}

/** What parseArgs threw, as a sentence of this CLI (its own messages carry advice for scripts). */
function usageMessage(error: unknown): string | undefined {
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e?.code !== 'string' || !e.code.startsWith('ERR_PARSE_ARGS_')) return undefined;
  const message = String(e.message);
  const quoted = /'([^']+)'/.exec(message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? message}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${quoted ?? message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      // "Option '-c, --config <value>' argument missing": name the long form.
      if (/argument missing/.test(message))
        return `option ${/--[\w-]+/.exec(quoted ?? '')?.[0] ?? message} needs a value`;
      if (/does not take an argument/.test(message)) return `option ${quoted ?? message} takes no value`;
      return message.split('. ')[0]!;
    default:
      return message.split('. ')[0]!;
  }
}

export async function main(
  argv: string[],
  out: Out = (l) => process.stdout.write(`${l}\n`),
  err: Out = (l) => process.stderr.write(`${l}\n`),
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [command, ...rest] = argv;
  const io: Io = { command: command ?? '', out, err, env };
  try {
    if (command === undefined) {
      err(globalUsage());
      return 2;
    }
    if (command === '--help' || command === '-h') {
      out(globalUsage());
      return 0;
    }
    if (command === '--version' || command === '-V') {
      out(VERSION);
      return 0;
    }
    if (command === 'help') {
      const [topic, ...extra] = rest;
      if (extra.length) throw new UsageError(`unexpected argument ${extra[0]}`);
      if (topic === undefined) out(globalUsage());
      else if (Object.hasOwn(COMMANDS, topic)) out(commandHelp(COMMANDS[topic]!));
      else throw new UsageError(`unknown command "${topic}"`);
      return 0;
    }
    if (command.startsWith('-')) throw new UsageError(`unknown option ${command}`);
    if (!Object.hasOwn(COMMANDS, command)) throw new UsageError(`unknown command "${command}"`);
    const spec = COMMANDS[command]!;
    let values: Values;
    try {
      const options = { ...spec.options, help: HELP_OPTION };
      values = parseArgs({
        args: rest,
        strict: true,
        allowPositionals: false,
        options: Object.fromEntries(
          Object.entries(options).map(([long, o]) => [long, { type: o.type, ...(o.short ? { short: o.short } : {}) }]),
        ),
      }).values as Values;
    } catch (error) {
      const message = usageMessage(error);
      if (message === undefined) throw error;
      throw new UsageError(message, command);
    }
    if (values.help) {
      out(commandHelp(spec));
      return 0;
    }
    return await spec.run(values, io);
  } catch (error) {
    if (error instanceof UsageError) {
      const spec = error.command ? COMMANDS[error.command] : undefined;
      err(`pushrelay${error.command ? ` ${error.command}` : ''}: ${error.message}`);
      err(
        spec
          ? `Usage: ${spec.synopsis}\nRun "pushrelay ${error.command} --help" for its options.`
          : 'Run "pushrelay --help" for the commands.',
      );
      return 2;
    }
    if (error instanceof ConfigError) {
      err('configuration problems:');
      for (const issue of error.issues) err(`  ${issue.path || '(root)'}: ${issue.message}`);
      return 1;
    }
    err(error instanceof Error ? error.message : String(error));
    return 1;
  }
}

/** The configuration named by --config, after the environment (PORT as the platform's port). */
function configFrom(values: Values, io: Io): GatewayConfig {
  if (typeof values.config !== 'string') throw new UsageError('--config <file> is required', io.command);
  const env = { ...io.env };
  // PORT is what container platforms set; a PUSHRELAY_ variable is more specific and wins.
  if (env.PORT !== undefined && env.PUSHRELAY_PORT === undefined && env.PUSHRELAY_LISTEN__PORT === undefined)
    env.PUSHRELAY_PORT = env.PORT;
  return loadConfigFile(values.config, env);
}

/** --host and --port, over the file and the environment. */
function withListen(config: GatewayConfig, values: Values): GatewayConfig {
  const listen = { ...config.listen };
  if (typeof values.host === 'string') {
    if (values.host === '') throw new UsageError('--host needs a value', 'serve');
    listen.host = values.host;
  }
  if (typeof values.port === 'string') {
    if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535)
      throw new UsageError(`--port must be a port number (0-65535), not "${values.port}"`, 'serve');
    listen.port = Number(values.port);
  }
  return { ...config, listen };
}

async function checkConfig(config: GatewayConfig, out: Out): Promise<number> {
  const container = buildContainer(config, { catalog: await loadCodecs(), backends: await loadBackends(config) });
  try {
    const transports = container.resolve<Record<string, Transport>>(TOKENS.transports);
    container.resolve(TOKENS.codecs);
    out(JSON.stringify(redactedConfig(config), null, 2));
    out(
      `configuration is valid: ${config.tenants.length} tenant(s), codecs ${config.codecs.join(', ')}, providers ${Object.keys(transports).join(', ') || 'none'}`,
    );
    await Promise.allSettled(Object.values(transports).map((t) => t.close()));
  } catch (error) {
    throw asConfigError(error);
  }
  return 0;
}

async function devices(config: GatewayConfig, values: Values, out: Out): Promise<number> {
  if (typeof values.tenant !== 'string' || typeof values.user !== 'string')
    throw new UsageError('--tenant <id> and --user <id> are both required', 'devices');
  const stores = await openStores(config);
  try {
    const list = await stores.bindings.forUser(values.tenant, values.user);
    for (const b of list) out(JSON.stringify({ ...b, secrets: b.secrets ? '[redacted]' : undefined }));
    if (list.length === 0) out(`no devices for ${values.user} in tenant ${values.tenant}`);
  } finally {
    await stores.close();
  }
  return 0;
}

async function send(config: GatewayConfig, values: Values, out: Out): Promise<number> {
  const provider = values.provider as Provider | undefined;
  for (const f of ['provider', 'token', 'app', 'format'] as const)
    if (typeof values[f] !== 'string' || values[f] === '') throw new UsageError(`--${f} is required`, 'send');
  if (!PROVIDERS.includes(provider!))
    throw new UsageError(`--provider must be one of ${PROVIDERS.join(', ')}, not "${provider}"`, 'send');
  const container = buildContainer(config, { catalog: await loadCodecs(), backends: await loadBackends(config) });
  const codecs = container.resolve<Codec[]>(TOKENS.codecs);
  const codec = codecs.find((c) => c.id === values.format);
  if (!codec)
    throw new UsageError(
      `--format must be one of the enabled codecs ${codecs.map((c) => c.id).join(', ')}, not "${values.format}"`,
      'send',
    );
  const transports = container.resolve<Partial<Record<Provider, Transport>>>(TOKENS.transports);
  const transport = transports[provider!];
  if (!transport) throw new ConfigError([{ path: `providers.${provider}`, message: 'is not configured' }]);
  const now = Date.now();
  const raw = values.file
    ? (JSON.parse(readFileSync(String(values.file), 'utf8')) as Record<string, unknown>)
    : {
        type: values.type ?? 'incoming_call',
        recipient: 'cli',
        call: {
          id: values['call-id'] ?? `cli-${now}`,
          from: { number: values.from ?? 'unknown', ...(values.name ? { displayName: values.name } : {}) },
        },
      };
  const tenant = config.tenants[0]!.id;
  const notification = parseCallNotification(
    { ...raw, tenant },
    { now, tenant, generateId: () => `cli-${now}`, defaultRingTimeoutMs: config.ringTimeoutMs },
  );
  const binding: DeviceBinding = {
    id: 'cli',
    tenant,
    userId: notification.recipient,
    provider: provider!,
    token: String(values.token),
    app: String(values.app),
    environment: (values.environment as DeviceBinding['environment']) ?? 'production',
    pushKind: (values['push-kind'] as DeviceBinding['pushKind']) ?? 'voip',
    format: codec.id,
    origin: 'api',
    createdAt: new Date(now).toISOString(),
    updatedAt: new Date(now).toISOString(),
  };
  const request = codec.encode(notification, binding, { now });
  if (!request) {
    out(`format ${codec.id} sends nothing for ${notification.type} to a ${binding.pushKind} device`);
    return 1;
  }
  const started = Date.now();
  const outcome = await transport.send(request);
  out(JSON.stringify({ outcome, latencyMs: Date.now() - started }));
  await Promise.allSettled(Object.values(transports).map((t) => t!.close()));
  return outcome.kind === 'delivered' ? 0 : 1;
}

async function vapidKeys(values: Values, out: Out, err: Out): Promise<number> {
  const subject = typeof values.subject === 'string' ? values.subject : 'mailto:ops@example.com';
  if (!/^(mailto:|https:)/.test(subject)) {
    err('--subject: must be a mailto: or https: URL (the VAPID contact)');
    return 2;
  }
  const app = typeof values.app === 'string' ? values.app : 'web';
  // Imported here, not with the CLI: `serve` without Web Push never loads web-push.
  const { generateVapidKeys } = await import('@pushrelay/transport-webpush');
  const keys = generateVapidKeys();
  // The private key goes to a secret store or file; the config names it with privateKeyEnv/privateKeyFile.
  out(JSON.stringify({ app, subject, ...keys }, null, 2));
  err(
    `providers.webpush.vapid: [{ app: ${app}, subject: ${subject}, publicKey: ${keys.publicKey}, privateKeyEnv: VAPID_PRIVATE_KEY }]`,
  );
  err('the page subscribes with applicationServerKey = publicKey; keep privateKey secret');
  return 0;
}

/** SIGTERM/SIGINT drain and stop; the process exits within the shutdown bound whatever hangs. */
function onSignals(close: () => Promise<void>, timeoutMs: number): void {
  onShutdownSignals({
    stop: close,
    timeoutMs,
    onSignal: (signal) => process.stderr.write(`${signal}: draining and shutting down\n`),
  });
}
