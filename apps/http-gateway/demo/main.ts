import { parseArgs } from 'node:util';
import { onShutdownSignals, startTracing } from '@pushrelay/app-kit';
import { startDemo } from './demo.js';

type Out = (line: string) => void;

const USAGE =
  'usage: pushrelay-demo [--port 8080] [--host 127.0.0.1] [--data <dir>] [--api-key <key>] [--tenant <id>:<key> ...]';

/**
 * `npm start` without arguments: the gateway on the APNs, FCM, HMS and Web Push simulators with a
 * demo tenant, until SIGINT or SIGTERM.
 *
 *   node apps/http-gateway/demo/pushrelay-demo.mjs [--port 8080] [--host 127.0.0.1] [--data <dir>] [--api-key <key>]
 *     [--tenant <id>:<key> ...]
 */
export async function main(
  argv: string[],
  out: Out = (l) => process.stdout.write(`${l}\n`),
  err: Out = (l) => process.stderr.write(`${l}\n`),
): Promise<number> {
  let values: { port?: string; host?: string; data?: string; 'api-key'?: string; tenant?: string[] };
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        'api-key': { type: 'string' },
        tenant: { type: 'string', multiple: true },
      },
    }));
  } catch (error) {
    err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const extraTenants: { id: string; apiKey: string }[] = [];
  for (const t of values.tenant ?? []) {
    const m = /^([A-Za-z0-9._-]{1,100}):(\S{16,})$/.exec(t);
    if (!m) {
      err(`--tenant ${t}: must be <id>:<key> (a key of 16 characters or more)\n\n${USAGE}`);
      return 2;
    }
    extraTenants.push({ id: m[1]!, apiKey: m[2]! });
  }
  const tracing = await startTracing({ serviceName: 'pushrelay-http-gateway' });
  const demo = await startDemo({
    port: values.port ? Number(values.port) : 8080,
    host: values.host ?? '127.0.0.1',
    ...(values.data ? { sqlitePath: `${values.data}/pushrelay.db` } : {}),
    ...(values['api-key'] ? { apiKey: values['api-key'] } : {}),
    ...(extraTenants.length > 0 ? { extraTenants } : {}),
    ...(process.env.PUSHRELAY_LOG_LEVEL === 'silent' ? { logger: false } : {}),
  });
  printDemo(demo.url, demo.apiKey, demo.sims, out);
  // SIGTERM/SIGINT drain and stop; the process exits within the shutdown bound whatever hangs.
  onShutdownSignals({
    stop: () => demo.close().finally(() => tracing?.shutdown()),
    timeoutMs: demo.gateway.config.shutdownTimeoutMs,
    onSignal: (signal) => err(`${signal}: draining and shutting down`),
  });
  return await new Promise<number>(() => {});
}

function printDemo(
  url: string,
  apiKey: string,
  sims: {
    apns: { url: string; sandboxUrl: string };
    fcm: { url: string };
    hms: { url: string };
    webpush: { url: string };
    vapidPublicKey: string;
  },
  out: Out,
): void {
  out(`
pushrelay demo is running (simulated providers, nothing leaves this machine)

  gateway        ${url}
  console        ${url}/console   (sign in with the API key below; the demo phones ring there)
  API docs       ${url}/docs   (OpenAPI: ${url}/openapi.json)
  metrics        ${url}/metrics
  tenant         demo
  API key        ${apiKey}

  APNs simulator ${sims.apns.sandboxUrl}/__sim/deliveries (sandbox)  ${sims.apns.url}/__sim/deliveries (production)
  FCM simulator  ${sims.fcm.url}/__sim/deliveries
  HMS simulator  ${sims.hms.url}/__sim/deliveries
  Web Push sim   ${sims.webpush.url}/__sim/received   (POST ${sims.webpush.url}/__sim/subscriptions makes a subscription)
  VAPID key      ${sims.vapidPublicKey}   (app web.example.com)
  (the simulators use a private CA: curl -k)

  export PUSHRELAY_URL=${url} PUSHRELAY_KEY=${apiKey}
  See apps/http-gateway/README.md for the curl walkthrough. Ctrl-C stops everything.
`);
}
