/** Time source and timers, injectable so that transaction timers can be driven by a fake clock. */
export interface Clock {
  now(): number;
  setTimer(callback: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (callback, delayMs) => {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    // Transaction timers must never keep a process alive on their own.
    timer.unref?.();
    return timer;
  },
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** RFC 3261 §17 timer base values, in milliseconds. */
export interface TimerValues {
  /** RTT estimate; default 500. */
  t1: number;
  /** Cap on non-INVITE and INVITE-response retransmission intervals; default 4000. */
  t2: number;
  /** How long a message may stay in the network; default 5000. */
  t4: number;
  /** Timer D (wait for response retransmissions after an INVITE failure, UDP); default 32000. */
  timerD: number;
}

export const DEFAULT_TIMERS: TimerValues = { t1: 500, t2: 4000, t4: 5000, timerD: 32000 };
