export interface RunResult {
  mode: string;
  pushes: number;
  failed: number;
  seconds: number;
  pushesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  peakRssMb: number;
  retries?: number;
  notifySeconds?: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function summarize(mode: string, latencies: number[], failed: number, startedAt: number, endedAt: number): RunResult {
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
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
