import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempWorkspace, workspaceRoot } from './support/workspace.js';

const SKIPPED = new Set(['node_modules', 'dist', 'out-tsc', '.nx', 'coverage']);

/** Every file of the copy with the hash of its content, node_modules and build output aside. */
function snapshot(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (SKIPPED.has(entry.name)) continue;
      const path = `${prefix}${entry.name}`;
      if (entry.isDirectory()) walk(join(dir, entry.name), `${path}/`);
      else
        files.set(
          path,
          createHash('sha256')
            .update(readFileSync(join(dir, entry.name)))
            .digest('hex'),
        );
    }
  };
  walk(root, '');
  return files;
}

function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((p) => before.get(p) !== after.get(p)).sort();
}

// What the gateway's own test run does in the copy once the codec is generated: through the demo
// stack (the simulators, the public API) and the bridge's composition, nothing of the new codec's
// is named but its format.
const PROBE = `import { get } from '@pushrelay/app-kit';
import { parseCallNotification } from '@pushrelay/core';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { composeBridge, TOKENS as BRIDGE } from '@pushrelay/sip-bridge';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TOKENS } from '../src/index.js';
import { ANDROID_TOKEN, startStack, type Stack } from './helpers.js';

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.close();
});

it('the gateway registers a device in the generated format and pushes a call to it', async () => {
  const reg = await s.call('POST', '/v1/devices', {
    body: { userId: 'erin', provider: 'fcm', token: ANDROID_TOKEN, app: 'demo-project', pushKind: 'data', format: 'acme-voice' },
  });
  expect(reg.status, JSON.stringify(reg.body)).toBe(201);
  expect(reg.body.format).toBe('acme-voice');
  const sent = await s.call('POST', '/v1/notifications?wait=true', {
    body: { type: 'incoming_call', recipient: 'erin', call: { id: 'call-acme-1', from: { number: '+15550100' } } },
  });
  expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  expect(sent.body.report.devices.map((d: { status: string }) => d.status)).toEqual(['delivered']);
  const deliveries = s.sims.fcm.deliveries({ token: ANDROID_TOKEN });
  expect(deliveries.map((d) => (d.payload as { data: unknown }).data)).toEqual([
    { type: 'incoming_call', call_id: 'call-acme-1', caller_number: '+15550100', video: 'false' },
  ]);
});

it('the bridge offers the generated codec and pushes through it to a device the gateway stored', async () => {
  const bridge = await composeBridge({
    config: { domain: 'sip.example.com', tenant: 'demo', users: [{ username: 'erin', password: 'pw' }] },
    bindings: get(s.gateway.container, TOKENS.bindings),
    transports: get(s.gateway.container, TOKENS.transports),
  });
  expect(get(bridge, BRIDGE.Codecs).map((c) => c.id)).toContain('acme-voice');
  const relay = get(bridge, BRIDGE.Relay);
  relay.start();
  try {
    const now = Date.now();
    const notification = parseCallNotification(
      {
        id: 'sip-acme-2',
        type: 'incoming_call',
        tenant: 'demo',
        recipient: 'erin',
        call: { id: 'call-acme-2', from: { number: '+15550101' }, video: false, startedAt: new Date(now).toISOString() },
        createdAt: new Date(now).toISOString(),
        deadline: new Date(now + 30_000).toISOString(),
        priority: 'high',
      },
      { now },
    );
    await relay.notify(notification);
    const report = await relay.waitForCompletion('demo', 'sip-acme-2', { timeoutMs: 20_000, pollMs: 50 });
    expect(report?.devices.map((d) => d.status)).toEqual(['delivered']);
    expect(s.sims.fcm.deliveries({ token: ANDROID_TOKEN }).map((d) => (d.payload as { data: { call_id: string } }).data.call_id)).toEqual(['call-acme-1', 'call-acme-2']);
  } finally {
    await relay.close();
  }
});
`;

// The acceptance of codec discovery: a codec made by the generator is offered by the gateway and
// the bridge with no edit outside its package but the generator's own, in a throwaway copy of the
// whole workspace.
describe('a generated codec, in both apps', () => {
  let ws: TempWorkspace;

  beforeAll(() => {
    ws = new TempWorkspace('pushrelay-ws-apps-', { whole: true });
  });

  afterAll(() => {
    ws?.remove();
  });

  it('is usable in the gateway and the bridge with no edit outside its package', () => {
    const before = snapshot(ws.root);
    const codec = ws.nx('g', '@pushrelay/tools:codec', 'acme-voice', '--skipInstall', '--no-interactive');
    expect(codec.status, codec.output).toBe(0);
    // What the skipped `npm install` would have done: link the new workspace package.
    ws.link('packages/codec-acme-voice');

    // Outside the new package, only what the generator writes: the references and the apps' dependency.
    const outside = changedFiles(before, snapshot(ws.root)).filter((p) => !p.startsWith('packages/codec-acme-voice/'));
    expect(outside).toEqual([
      'apps/http-gateway/package.json',
      'apps/http-gateway/tsconfig.app.json',
      'apps/sip-bridge/package.json',
      'apps/sip-bridge/tsconfig.app.json',
      'tsconfig.json',
    ]);
    for (const app of ['http-gateway', 'sip-bridge']) {
      expect(JSON.parse(ws.read(`apps/${app}/package.json`)).dependencies['@pushrelay/codec-acme-voice']).toBe('0.1.0');
    }

    const sync = ws.nx('sync:check');
    expect(sync.status, sync.output).toBe(0);
    const checks = ws.node(`${workspaceRoot}/tools/scripts/check-adapters.mjs`, ws.root);
    expect(checks.status, checks.output).toBe(0);
    expect(checks.output).toContain('check-adapters: 10 adapter package(s) complete');

    // The observer, written after the snapshot: it is the gateway's test run, not part of the codec.
    ws.write('apps/http-gateway/test/generated-codec.probe.test.ts', PROBE);
    const run = ws.node(
      join(ws.root, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--project',
      '@pushrelay/http-gateway',
      '--reporter=verbose',
      'apps/http-gateway/test/generated-codec.probe.test.ts',
    );
    expect(run.status, run.output).toBe(0);
    // eslint-disable-next-line no-control-regex
    const plain = run.output.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).toMatch(/Tests\s+2 passed \(2\)/);
    expect(plain).toContain('the bridge offers the generated codec and pushes through it');
  });
});
