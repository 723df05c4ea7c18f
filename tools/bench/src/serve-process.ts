import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const runTs = join(root, 'tools/bench/run-ts.mjs');
const serveEntry = join(root, 'apps/http-gateway/test/fixtures/serve.ts');

/** A `pushrelay serve` process from the sources, once it listens. */
export interface ServeProcess {
  url: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

/**
 * Starts `pushrelay serve --config <configFile>` from the sources and resolves once it listens.
 * `quiet`: logs at error only, its stderr kept for the start-up failure and shown afterwards only
 * with BENCH_DEBUG; otherwise its stderr is the bench's.
 */
export async function startServe(configFile: string, { quiet = false } = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [runTs, serveEntry, 'serve', '--config', configFile], {
    cwd: root,
    stdio: ['ignore', 'pipe', quiet ? 'pipe' : 'inherit'],
    ...(quiet ? { env: { ...process.env, PUSHRELAY_LOG_LEVEL: 'error' } } : {}),
  });
  const exited = new Promise((ok) => child.once('exit', ok));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const url = await new Promise<string>((ok, fail) => {
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /pushrelay listening on (\S+)/.exec(seen);
      if (m) ok(m[1]!);
    });
    void exited.then((code) => fail(new Error(`gateway exited${stderr ? `: ${stderr}` : ` with ${code}`}`)));
  });
  // Errors after the start are the run's to report, not to crash the bench.
  child.stderr?.on('data', (chunk: Buffer) => process.env['BENCH_DEBUG'] && process.stderr.write(chunk));
  return { url, child, exited };
}
