import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sampleNotification } from '@pushrelay/testkit';
import { BullMQQueue } from '../src/index.js';
import { redis, REDIS_PORT, runPrefix } from './helpers.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe.skipIf(!redis.available)('BullMQQueue when a worker process dies mid-job', () => {
  const prefix = runPrefix('crash');
  const name = 'crash';
  const survivor = new BullMQQueue({
    connection: { port: REDIS_PORT },
    prefix,
    name,
    lockDurationMs: 1000,
    stalledIntervalMs: 300,
  });
  afterAll(async () => {
    await survivor.close();
    await survivor.destroy();
  });

  it('runs the job once more in another process after SIGKILL, and only once', async () => {
    const job = {
      id: 'tenant-a/n-1/b-1/1',
      notification: sampleNotification(),
      bindingId: 'b-1',
      attempt: 1,
      runAt: Date.now(),
      lane: 'call' as const,
    };
    expect(await survivor.schedule(job)).toBe(true);

    const child = spawn(
      process.execPath,
      [fixture('run-ts.mjs'), fixture('stuck-worker.ts'), String(REDIS_PORT), prefix, name],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise((r) => child.once('exit', r));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes(`running ${job.id}`)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`worker exited (${code}) before taking the job: ${out}`)));
    });
    child.kill('SIGKILL');
    await exited;

    const seen: string[] = [];
    survivor.process(async (j) => void seen.push(j.id));
    const started = Date.now();
    while (seen.length === 0 && Date.now() - started < 15_000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    expect(seen).toEqual([job.id]);
    expect(await survivor.size()).toBe(0);
  }, 30_000);
});
