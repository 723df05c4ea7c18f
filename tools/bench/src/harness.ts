import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What one measured run reports. */
export interface RunResult {
  mode: string;
  sends: number;
  failures: number;
  seconds: number;
  pushesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  peakRssMb: number;
  /** CPU time (user + system) of this process per measured push, in microseconds. */
  cpuUsPerPush: number;
}

export interface BenchConfig {
  total: number;
  warmup: number;
  concurrency: number;
}

export function configFromEnv(): BenchConfig {
  return {
    total: Number(process.env['BENCH_TOTAL'] ?? 20_000),
    warmup: Number(process.env['BENCH_WARMUP'] ?? 2_000),
    concurrency: Number(process.env['BENCH_CONCURRENCY'] ?? 200),
  };
}

/**
 * Runs `send(i)` `total` times with `concurrency` in flight after a warm-up, and measures
 * throughput, latency percentiles and the peak resident set size of this process.
 */
export async function measure(
  mode: string,
  config: BenchConfig,
  send: (index: number) => Promise<boolean>,
): Promise<RunResult> {
  let next = 0;
  const drive = async (count: number, latencies: number[] | undefined): Promise<number> => {
    let failures = 0;
    const end = next + count;
    const worker = async () => {
      while (next < end) {
        const i = next++;
        const started = performance.now();
        if (!(await send(i))) failures++;
        latencies?.push(performance.now() - started);
      }
    };
    await Promise.all(Array.from({ length: config.concurrency }, worker));
    return failures;
  };
  await drive(config.warmup, undefined);
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const failures = await drive(config.total, latencies);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!;
  return {
    mode,
    sends: config.total,
    failures,
    seconds: round(seconds),
    pushesPerSecond: Math.round(config.total / seconds),
    p50Ms: round(pct(0.5)),
    p99Ms: round(pct(0.99)),
    peakRssMb: round(peakRss / 1024 / 1024),
    cpuUsPerPush: Math.round((cpu.user + cpu.system) / config.total),
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Starts `script` in a child process with `args`; resolves with its first message. */
export function child<T>(script: string, args: string[]): { process: ChildProcess; first: Promise<T> } {
  const proc = fork(fileURLToPath(new URL(script, import.meta.url)), args, {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  const first = new Promise<T>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as T));
    proc.once('exit', (code) => reject(new Error(`${script} ${args.join(' ')} exited with ${code}`)));
  });
  return { process: proc, first };
}

export function printTable(title: string, runs: RunResult[], command: string): void {
  const best = new Map<string, RunResult>();
  for (const r of runs) if ((best.get(r.mode)?.pushesPerSecond ?? -1) < r.pushesPerSecond) best.set(r.mode, r);
  const results = [...best.values()];
  const raw = results.find((r) => r.mode === 'raw undici');
  console.log(`\n${title}\n`);
  console.log('| client | pushes/s | p50 ms | p99 ms | peak RSS MB | CPU µs/push | failures | of raw |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const share = raw ? `${Math.round((r.pushesPerSecond / raw.pushesPerSecond) * 100)}%` : '';
    console.log(
      `| ${r.mode} | ${r.pushesPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.peakRssMb} | ${r.cpuUsPerPush} | ${r.failures} | ${share} |`,
    );
  }
  console.log(
    `\nCommand: ${command}; Node ${process.version}, ${results[0]?.sends} sends per run after warm-up, best of ${runs.length / results.length} interleaved runs.`,
  );
}
