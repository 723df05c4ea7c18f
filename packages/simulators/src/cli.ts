#!/usr/bin/env node
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApnsSimulator } from './apns.js';
import { startFcmSimulator } from './fcm.js';
import { startHmsSimulator } from './hms.js';
import { startWebPushSimulator } from './webpush.js';
import type { SimulatorHandle } from './base.js';

/** What a started simulator tells its user: the handle and the lines to print. */
interface Started {
  handle: SimulatorHandle;
  details: Record<string, string | number>;
}

type Starter = (args: {
  port?: number;
  dir: string;
  values: Record<string, string | boolean | undefined>;
}) => Promise<Started>;

/** One entry per provider: `pushrelay-sim <provider> [options]`. */
const simulators: Record<string, { usage: string; start: Starter }> = {
  apns: {
    usage: 'apns [--port <production port>] [--sandbox-port <port>] [--bundle-id <id>]',
    async start({ port, dir, values }) {
      const bundleId = typeof values['bundle-id'] === 'string' ? values['bundle-id'] : 'com.example.app';
      const sandboxPort = typeof values['sandbox-port'] === 'string' ? Number(values['sandbox-port']) : undefined;
      const sim = await startApnsSimulator({
        apps: [{ bundleId }],
        ...(port !== undefined ? { productionPort: port } : {}),
        ...(sandboxPort !== undefined ? { sandboxPort } : {}),
      });
      const keyFile = join(dir, `AuthKey_${sim.signingKey.keyId}.p8`);
      writeFileSync(keyFile, sim.signingKey.key, { mode: 0o600 });
      const cert = sim.issueClientCertificate(bundleId);
      writeFileSync(join(dir, 'client-cert.pem'), cert.cert);
      writeFileSync(join(dir, 'client-key.pem'), cert.key, { mode: 0o600 });
      return {
        handle: sim,
        details: {
          'production url': sim.productionUrl,
          'sandbox url': sim.sandboxUrl,
          'bundle id': bundleId,
          'team id': sim.teamId,
          'key id': sim.signingKey.keyId,
          'signing key (.p8)': keyFile,
          'client certificate': join(dir, 'client-cert.pem'),
          'client key': join(dir, 'client-key.pem'),
        },
      };
    },
  },
};

simulators['fcm'] = {
  usage: 'fcm [--port <port>] [--project-id <id>]',
  async start({ port, dir, values }) {
    const projectId = typeof values['project-id'] === 'string' ? values['project-id'] : 'pushrelay-sim';
    const sim = await startFcmSimulator(port !== undefined ? { port } : {});
    const file = join(dir, 'service-account.json');
    writeFileSync(file, JSON.stringify(sim.createServiceAccount(projectId), null, 2), { mode: 0o600 });
    return { handle: sim, details: { 'project id': projectId, 'service account': file, 'token url': sim.tokenUrl } };
  },
};
simulators['hms'] = {
  usage: 'hms [--port <port>] [--app-id <id>]',
  async start({ port, values }) {
    const sim = await startHmsSimulator(port !== undefined ? { port } : {});
    const app = sim.registerApp(typeof values['app-id'] === 'string' ? values['app-id'] : undefined);
    return {
      handle: sim,
      details: { 'app id': app.appId, 'client secret': app.clientSecret, 'token url': sim.tokenUrl },
    };
  },
};

simulators['webpush'] = {
  usage: 'webpush [--port <port>] [--application-server-key <VAPID public key>]',
  async start({ port, dir, values }) {
    const sim = await startWebPushSimulator(port !== undefined ? { port } : {});
    const key = values['application-server-key'];
    const made = sim.subscribe(typeof key === 'string' ? { applicationServerKey: key } : {});
    const file = join(dir, 'subscription.json');
    writeFileSync(file, JSON.stringify(made, null, 2), { mode: 0o600 });
    return {
      handle: sim,
      details: {
        subscription: file,
        endpoint: made.subscription.endpoint,
        'received url': `${sim.url}/__sim/received`,
      },
    };
  },
};

function usage(): string {
  return [
    'usage: pushrelay-sim <provider> [options]',
    ...Object.values(simulators).map((s) => `  pushrelay-sim ${s.usage}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [provider, ...rest] = argv;
  const entry = provider ? simulators[provider] : undefined;
  if (!entry) {
    process.stderr.write(`${provider ? `unknown provider "${provider}"\n` : ''}${usage()}\n`);
    return 2;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: rest,
      options: {
        port: { type: 'string' },
        'sandbox-port': { type: 'string' },
        'bundle-id': { type: 'string' },
        'project-id': { type: 'string' },
        'app-id': { type: 'string' },
        'application-server-key': { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage()}\n`);
    return 2;
  }
  const port = typeof values.port === 'string' ? Number(values.port) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) {
    process.stderr.write('--port: must be a port number\n');
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), `pushrelay-sim-${provider}-`));
  const { handle, details } = await entry.start({ ...(port !== undefined ? { port } : {}), dir, values });
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, handle.ca);
  const lines = {
    provider: handle.provider,
    url: handle.url,
    'ca file': caFile,
    ...details,
    inspection: `${handle.url}/__sim/deliveries`,
  };
  const width = Math.max(...Object.keys(lines).map((k) => k.length));
  for (const [k, v] of Object.entries(lines)) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await handle.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`pushrelay-sim: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
