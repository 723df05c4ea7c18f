/**
 * Idle RSS of a gateway demo entry: started, one device registered, 3 s to settle, VmRSS read,
 * stopped. Run it in turn on two builds to compare what a change adds when nothing is sent.
 *
 *   npm run idle-rss -w @pushrelay/bench -- [<demo entry, default apps/http-gateway/demo/pushrelay-demo.mjs>]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const entry = resolve(process.argv[2] ?? resolve(root, 'apps/http-gateway/demo/pushrelay-demo.mjs'));
const key = 'idle-key-0123456789abcdef';
const child = spawn(process.execPath, [entry, '--port', '0', '--api-key', key], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, PUSHRELAY_LOG_LEVEL: 'silent' },
});
const url = await new Promise<string>((ok, fail) => {
  let seen = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    seen += chunk.toString();
    const m = /gateway\s+(http:\S+)/.exec(seen);
    if (m) ok(m[1]!);
  });
  child.once('exit', (code) => fail(new Error(`gateway exited with ${code}`)));
});
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
await new Promise((r) => setTimeout(r, 3000));
const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
child.kill('SIGTERM');
console.log(JSON.stringify({ entry, node: process.version, idleRssMb: Math.round(rss * 10) / 10 }));
