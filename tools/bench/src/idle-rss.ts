/**
 * Idle RSS of a gateway, started and left to settle, nothing sent: what a build holds at rest.
 *
 *   npm run idle-rss -w @pushrelay/bench -- [<demo entry, default apps/http-gateway/demo/pushrelay-demo.mjs>]
 *   npm run idle-rss -w @pushrelay/bench -- --serve <config file> [--runs 5] [--settle-ms 3000] [--modules]
 *
 * A demo entry is started with its simulators and one device registered. `--serve` runs the built
 * `pushrelay serve` (apps/http-gateway/bin/pushrelay.mjs, after `tsc --build`) with that
 * configuration instead, as an operator would: it must have a tenant whose key is
 * `idle-key-0123456789abcdef` (for its sha256, see below), and it gets one health request.
 * Each run waits `--settle-ms` (3 s; V8's memory reducer shrinks an idle heap some 10 s after
 * start-up, so 15 s reads the process at rest), then reads VmRSS from /proc and the V8 heap
 * through idle-probe.mjs. With
 * `--modules` one more run lists the npm packages the process loaded (kept apart: the resolve
 * hook that sees ES modules has a thread whose memory would count in the RSS).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const probe = resolve(root, 'tools/bench/src/idle-probe.mjs');
const key = 'idle-key-0123456789abcdef';
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    serve: { type: 'string' },
    runs: { type: 'string', default: '1' },
    'settle-ms': { type: 'string', default: '3000' },
    modules: { type: 'boolean', default: false },
  },
});
const entry = values.serve
  ? resolve(root, 'apps/http-gateway/bin/pushrelay.mjs')
  : resolve(positionals[0] ?? resolve(root, 'apps/http-gateway/demo/pushrelay-demo.mjs'));
const args = values.serve
  ? [entry, 'serve', '--config', resolve(values.serve), '--port', '0']
  : [entry, '--port', '0', '--api-key', key];
const settleMs = Number(values['settle-ms']);
if (!Number.isInteger(settleMs) || settleMs < 0) throw new RangeError('--settle-ms must be a whole number of ms');
const dir = mkdtempSync(join(tmpdir(), 'pushrelay-idle-'));

interface Sample {
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  packages: string[];
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function sample(run: number, modules: boolean): Promise<Sample> {
  const out = join(dir, `probe-${run}.json`);
  const child = spawn(process.execPath, ['--import', probe, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      PUSHRELAY_LOG_LEVEL: 'silent',
      PUSHRELAY_PROBE_OUT: out,
      PUSHRELAY_PROBE_MODULES: modules ? '1' : '0',
    },
  });
  try {
    const url = await new Promise<string>((ok, fail) => {
      let seen = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const m = /(?:gateway\s+|listening on )(http:\S+)/.exec(seen);
        if (m) ok(m[1]!);
      });
      child.once('exit', (code) => fail(new Error(`gateway exited with ${code}`)));
    });
    if (values.serve) {
      const res = await fetch(`${url}/healthz`);
      if (!res.ok) throw new Error(`health failed: ${res.status}`);
    } else {
      const res = await fetch(`${url}/v1/devices`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          userId: 'idle',
          provider: 'fcm',
          token: 'idle-token-1',
          app: 'demo-project',
          pushKind: 'data',
          format: 'wazo',
        }),
      });
      if (!res.ok) throw new Error(`register failed: ${res.status}`);
    }
    await new Promise((r) => setTimeout(r, settleMs));
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    child.kill('SIGUSR2');
    const probed = await readProbe(out);
    return {
      rssMb: mb(rss),
      heapUsedMb: mb(probed.memory.heapUsed),
      heapTotalMb: mb(probed.memory.heapTotal),
      externalMb: mb(probed.memory.external),
      packages: probed.packages,
    };
  } finally {
    child.kill('SIGTERM');
  }
}

async function readProbe(file: string): Promise<{ memory: NodeJS.MemoryUsage; packages: string[] }> {
  for (let i = 0; i < 50; i++) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as { memory: NodeJS.MemoryUsage; packages: string[] };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('the probe wrote nothing');
}

try {
  const samples: Sample[] = [];
  for (let run = 0; run < Number(values.runs); run++) samples.push(await sample(run, false));
  const rss = samples.map((s) => s.rssMb);
  const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10;
  const loaded = values.modules ? (await sample(samples.length, true)).packages : undefined;
  console.log(
    JSON.stringify({
      entry: values.serve ? `pushrelay serve --config ${values.serve}` : entry,
      node: process.version,
      idleRssMb: mean(rss),
      ...(rss.length > 1 ? { idleRssRangeMb: [Math.min(...rss), Math.max(...rss)] } : {}),
      heapUsedMb: mean(samples.map((s) => s.heapUsedMb)),
      heapTotalMb: mean(samples.map((s) => s.heapTotalMb)),
      externalMb: mean(samples.map((s) => s.externalMb)),
      ...(loaded ? { packages: loaded } : {}),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
