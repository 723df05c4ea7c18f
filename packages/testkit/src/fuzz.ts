import fc from 'fast-check';

/** One thing that reads untrusted input, and what it may throw. */
export interface FuzzTarget {
  name: string;
  /** Share of the inputs, against the other targets of the run. */
  weight: number;
  inputs: fc.Arbitrary<unknown>;
  /** Returns (or resolves) normally, or throws what `typed` accepts; anything else is a finding. */
  run(input: unknown): unknown;
  typed(error: unknown): boolean;
}

export interface FuzzOptions {
  /** Inputs over all targets, split by weight. */
  inputs: number;
  seed?: number;
  /** An input slower than this (again on a second look) is a finding. Default 100 ms. */
  slowMs?: number;
  /** Findings kept with their input for the report. Default 20. */
  keepFindings?: number;
}

export interface FuzzTargetResult {
  inputs: number;
  typedErrors: number;
  findings: number;
  overSlowMs: number;
  inputsPerSecond: number;
  p99Ms: number;
  maxMs: number;
}

export interface FuzzResult {
  inputs: number;
  seconds: number;
  findings: number;
  overSlowMs: number;
  targets: Record<string, FuzzTargetResult>;
  /** The first findings, each with its target, error and input. */
  examples: string[];
}

/**
 * Runs each target over its share of generated inputs and times every input. A thrown error the
 * target does not type, or an input that stays over `slowMs` when timed again (a GC pause or a
 * busy CPU is no hang), is a finding. Inputs come from `fc.sample` with a fixed seed, so a run
 * is repeatable.
 */
export async function runFuzzTargets(targets: readonly FuzzTarget[], options: FuzzOptions): Promise<FuzzResult> {
  const seed = options.seed ?? 1;
  const slowMs = options.slowMs ?? 100;
  const keep = options.keepFindings ?? 20;
  const totalWeight = targets.reduce((s, t) => s + t.weight, 0);
  const examples: string[] = [];
  const results: Record<string, FuzzTargetResult> = {};
  const started = performance.now();
  for (const [index, target] of targets.entries()) {
    const share = Math.max(1, Math.round((options.inputs * target.weight) / totalWeight));
    let typedErrors = 0;
    let findings = 0;
    let slow = 0;
    let maxMs = 0;
    let totalMs = 0;
    const samples: number[] = [];
    const BATCH = 2000;
    for (let done = 0; done < share; done += BATCH) {
      const batch = fc.sample(target.inputs, {
        numRuns: Math.min(BATCH, share - done),
        seed: seed * 1_000_003 + index * 100_003 + done,
      });
      for (const input of batch) {
        const t0 = performance.now();
        const error = await attempt(target, input);
        const ms = performance.now() - t0;
        if (error !== undefined) {
          if (target.typed(error.value)) typedErrors++;
          else {
            findings++;
            if (examples.length < keep)
              examples.push(`${target.name}: ${describe(error.value)} input=${preview(input)}`);
          }
        }
        totalMs += ms;
        maxMs = Math.max(maxMs, ms);
        if (samples.length < 100_000) samples.push(ms);
        if (ms > slowMs && (await retime(target, input)) > slowMs) {
          slow++;
          if (examples.length < keep) examples.push(`${target.name}: ${ms.toFixed(1)} ms input=${preview(input)}`);
        }
      }
    }
    samples.sort((a, b) => a - b);
    results[target.name] = {
      inputs: share,
      typedErrors,
      findings,
      overSlowMs: slow,
      inputsPerSecond: Math.round(share / (totalMs / 1000)),
      p99Ms: Math.round((samples[Math.min(samples.length - 1, Math.floor(0.99 * samples.length))] ?? 0) * 1000) / 1000,
      maxMs: Math.round(maxMs * 100) / 100,
    };
  }
  const all = Object.values(results);
  return {
    inputs: all.reduce((s, r) => s + r.inputs, 0),
    seconds: Math.round((performance.now() - started) / 100) / 10,
    findings: all.reduce((s, r) => s + r.findings, 0),
    overSlowMs: all.reduce((s, r) => s + r.overSlowMs, 0),
    targets: results,
    examples,
  };
}

async function attempt(target: FuzzTarget, input: unknown): Promise<{ value: unknown } | undefined> {
  try {
    const result = target.run(input);
    if (result instanceof Promise) await result;
    return undefined;
  } catch (error) {
    return { value: error };
  }
}

/** The fastest of three more runs of `input`, in ms. */
async function retime(target: FuzzTarget, input: unknown): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await attempt(target, input);
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

function describe(error: unknown): string {
  if (error instanceof Error) return (error.stack ?? error.message).split('\n').slice(0, 4).join(' | ');
  return String(error);
}

function preview(input: unknown): string {
  try {
    const text = Buffer.isBuffer(input) ? JSON.stringify(input.toString('latin1')) : JSON.stringify(input);
    return (text ?? String(input)).slice(0, 300);
  } catch {
    return String(input).slice(0, 300);
  }
}
