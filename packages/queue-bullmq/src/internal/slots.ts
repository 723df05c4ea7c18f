export type Lane = 'call' | 'default';

/**
 * Run slots shared by the two lanes of one process. BullMQ runs one worker per queue, each with
 * its own concurrency; this caps their sum and hands a freed slot to a waiting call job first.
 */
export class Slots {
  private used = 0;
  private readonly waiters: Record<Lane, Array<(granted: boolean) => void>> = { call: [], default: [] };
  private closed = false;

  constructor(private readonly capacity: number) {}

  /** Resolves true with a slot held, or false when the slots were closed meanwhile. */
  acquire(lane: Lane): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (
      this.used < this.capacity &&
      this.waiters.call.length === 0 &&
      (lane === 'call' || this.waiters.default.length === 0)
    ) {
      this.used++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters[lane].push(resolve));
  }

  release(): void {
    this.used--;
    const next = this.waiters.call.shift() ?? this.waiters.default.shift();
    if (next) {
      this.used++;
      next(true);
    }
  }

  /** Refuses every waiter and all later requests; held slots stay held until released. */
  close(): void {
    this.closed = true;
    for (const lane of ['call', 'default'] as const) for (const w of this.waiters[lane].splice(0)) w(false);
  }
}
