/** Waits for `work` at most `ms`; resolves whether it finished in time, never rejects. */
export async function withinBound(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, ms));
      timer.unref?.();
    }),
  ]);
  clearTimeout(timer);
  return finished;
}

export interface ShutdownSignalsOptions {
  /** The graceful stop; the process exits 0 when it resolves, 1 when it rejects. */
  stop: () => Promise<void>;
  /** After this the process exits 1 even if `stop` hangs. */
  timeoutMs: number;
  /** Told which signal arrived, and why the stop failed. */
  onSignal?: (signal: NodeJS.Signals) => void;
  onError?: (error: unknown) => void;
  exit?: (code: number) => void;
}

/** SIGTERM and SIGINT stop the process gracefully, within a bound that holds whatever hangs. */
export function onShutdownSignals(options: ShutdownSignalsOptions): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    options.onSignal?.(signal);
    setTimeout(() => exit(1), options.timeoutMs + 1000).unref();
    options.stop().then(
      () => exit(0),
      (error: unknown) => {
        options.onError?.(error);
        exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
