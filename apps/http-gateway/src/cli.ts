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
import { onShutdownSignals } from '@pushrelay/app-kit';
import { generateVapidKeys } from '@pushrelay/transport-webpush';
import { ConfigError, loadConfigFile, redactedConfig, type GatewayConfig } from './internal/config.js';
import { asConfigError, buildContainer, openStores } from './internal/container.js';
import { loadCodecs } from './internal/registry.js';
import { createGateway } from './internal/gateway.js';
import { TOKENS } from './internal/tokens.js';

const USAGE = `pushrelay <command> [options]

Commands:
  serve --config <file>        run the gateway (JSON or YAML config, PUSHRELAY_* env overrides)
  send --config <file> --provider apns|fcm|hms|webpush --token <t> --app <id> --format <codec>
       [--environment production|sandbox] [--push-kind voip|alert|data]
       [--file notification.json | --type incoming_call --from <number> --name <display name> --call-id <id>]
                               encode and send one notification to one device, print the outcome
  devices --config <file> --tenant <id> --user <id>
                               list a user's devices in the configured store
  check-config --config <file> validate the configuration and build the transports
  vapid-keys [--app <name>] [--subject mailto:ops@example.com]
                               generate a VAPID key pair (Web Push) and print it as a providers.webpush.vapid entry
`;

type Out = (line: string) => void;

export async function main(
  argv: string[],
  out: Out = (l) => process.stdout.write(`${l}\n`),
  err: Out = (l) => process.stderr.write(`${l}\n`),
): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      provider: { type: 'string' },
      token: { type: 'string' },
      app: { type: 'string' },
      format: { type: 'string' },
      environment: { type: 'string' },
      'push-kind': { type: 'string' },
      file: { type: 'string' },
      type: { type: 'string' },
      from: { type: 'string' },
      name: { type: 'string' },
      'call-id': { type: 'string' },
      tenant: { type: 'string' },
      user: { type: 'string' },
      'api-key': { type: 'string' },
      subject: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (!command || values.help || command === 'help') {
    out(USAGE);
    return command ? 0 : 2;
  }
  const needConfig = (): GatewayConfig => {
    if (!values.config) throw new ConfigError([{ path: '--config', message: 'is required' }]);
    return loadConfigFile(values.config);
  };
  try {
    switch (command) {
      case 'serve': {
        const gateway = await createGateway(needConfig());
        const url = await gateway.listen();
        out(`pushrelay listening on ${url}`);
        onSignals(() => gateway.close(), gateway.config.shutdownTimeoutMs);
        return await new Promise<number>(() => {});
      }
      case 'demo':
        // The demo needs the simulators, which a production install does not have.
        err('the demo runs from a checkout of the repository: npm start');
        return 2;
      case 'check-config': {
        const config = needConfig();
        const container = buildContainer(config, { catalog: await loadCodecs() });
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
      case 'devices': {
        const config = needConfig();
        if (!values.tenant || !values.user)
          throw new ConfigError([{ path: '--tenant/--user', message: 'both are required' }]);
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
      case 'send':
        return await send(needConfig(), values, out);
      case 'vapid-keys':
        return vapidKeys(values, out, err);
      default:
        err(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      err('configuration problems:');
      for (const issue of error.issues) err(`  ${issue.path || '(root)'}: ${issue.message}`);
      return 1;
    }
    err(error instanceof Error ? error.message : String(error));
    return 1;
  }
}

async function send(
  config: GatewayConfig,
  values: Record<string, string | boolean | undefined>,
  out: Out,
): Promise<number> {
  const provider = values.provider as Provider | undefined;
  const issues: { path: string; message: string }[] = [];
  if (!provider || !PROVIDERS.includes(provider))
    issues.push({ path: '--provider', message: `must be one of ${PROVIDERS.join(', ')}` });
  for (const f of ['token', 'app', 'format'] as const)
    if (!values[f]) issues.push({ path: `--${f}`, message: 'is required' });
  if (issues.length) throw new ConfigError(issues, 'arguments');
  const container = buildContainer(config, { catalog: await loadCodecs() });
  const codecs = container.resolve<Codec[]>(TOKENS.codecs);
  const codec = codecs.find((c) => c.id === values.format);
  if (!codec)
    throw new ConfigError(
      [{ path: '--format', message: `must be one of ${codecs.map((c) => c.id).join(', ')}` }],
      'arguments',
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

function vapidKeys(values: Record<string, string | boolean | undefined>, out: Out, err: Out): number {
  const subject = typeof values.subject === 'string' ? values.subject : 'mailto:ops@example.com';
  if (!/^(mailto:|https:)/.test(subject)) {
    err('--subject: must be a mailto: or https: URL (the VAPID contact)');
    return 2;
  }
  const app = typeof values.app === 'string' ? values.app : 'web';
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
