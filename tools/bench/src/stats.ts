export interface RunResult {
  mode: string;
  pushes: number;
  failed: number;
  seconds: number;
  pushesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  peakRssMb: number;
  /** CPU time (user + system) this process spent per push while measured, in µs. */
  cpuUsPerPush?: number;
  retries?: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * `cpuAtStart` (process.cpuUsage() when the measured part began) adds the CPU cost per push,
 * which says more than pushes/s when the client and the simulator share the machine's cores.
 */
export function summarize(
  mode: string,
  latencies: number[],
  failed: number,
  startedAt: number,
  endedAt: number,
  cpuAtStart?: NodeJS.CpuUsage,
): RunResult {
  const sorted = latencies.slice().sort((a, b) => a - b);
  const seconds = (endedAt - startedAt) / 1000;
  return {
    mode,
    pushes: latencies.length,
    failed,
    seconds: round(seconds),
    pushesPerSecond: Math.round(latencies.length / seconds),
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    // maxRSS is in KiB and covers the whole life of this process (one mode per process).
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(cpuAtStart && latencies.length > 0 ? { cpuUsPerPush: cpuPerPush(cpuAtStart, latencies.length) } : {}),
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function cpuPerPush(since: NodeJS.CpuUsage, pushes: number): number {
  const used = process.cpuUsage(since);
  return Math.round((used.user + used.system) / pushes);
}
