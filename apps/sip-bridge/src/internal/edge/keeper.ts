import type { Clock, TimerHandle } from '@pushrelay/core';
import type { Device } from '../locations.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Notifier } from '../notifier.js';
import type { EdgeConfig } from './edge-config.js';

/** A push phone that did not come back before its upstream binding expired. */
export interface MissedRefresh {
  user: string;
  deviceKey: string;
  bindingId: string;
  /** When the re-register push went out (epoch ms); absent when none could be sent. */
  wokenAt?: number;
  expiredAt: number;
  /** `no-refresh`: pushed, never re-registered; `no-silent-push`: a VoIP-only iOS token cannot be woken without a call. */
  reason: 'no-refresh' | 'no-silent-push';
}

interface Tracked {
  device: Device;
  expiresAt: number;
  silent: boolean;
  wokenAt?: number;
  wake?: TimerHandle;
  expiry?: TimerHandle;
}

const MAX_RECORDS = 1000;

/**
 * Keeps sleeping push phones registered upstream (RFC 8599 §5.4, like OpenSIPS' refresh trigger
 * and Flexisip's register-wakeup): a phone that has not refreshed its upstream binding shortly
 * before it expires gets a silent re-register push; one that still does not come back is recorded.
 */
export class RegistrationKeeper {
  private readonly tracked = new Map<string, Tracked>();
  private readonly records: MissedRefresh[] = [];

  constructor(
    private readonly config: EdgeConfig,
    private readonly notifier: Notifier,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** Seconds before expiry the wake push goes out: the configured lead, at most half the lifetime. */
  lead(expiresSeconds: number): number {
    return Math.max(1, Math.min(this.config.wakeBeforeExpirySeconds, Math.floor(expiresSeconds / 2)));
  }

  /**
   * The `+sip.pnsreg` value for the REGISTER 2xx: a phone that can refresh alone does so this many
   * seconds before expiry, ahead of the wake push.
   */
  pnsreg(expiresSeconds: number): number {
    const lead = this.lead(expiresSeconds);
    return Math.max(1, Math.min(expiresSeconds - 1, lead + Math.ceil(lead / 2)));
  }

  /** Phones that did not come back, oldest first (the last 1000). */
  missedRefreshes(): readonly MissedRefresh[] {
    return this.records;
  }

  get trackedCount(): number {
    return this.tracked.size;
  }

  /** Wake and expiry timers armed now. */
  get timerCount(): number {
    let n = 0;
    for (const t of this.tracked.values()) n += (t.wake !== undefined ? 1 : 0) + (t.expiry !== undefined ? 1 : 0);
    return n;
  }

  /**
   * The upstream accepted a REGISTER of this push device for `expiresSeconds`. `silent`: whether
   * its binding takes a silent push (not a VoIP-only iOS token).
   */
  refreshed(device: Device, expiresSeconds: number, silent: boolean): void {
    this.forget(device.user, device.key);
    if (!device.push || expiresSeconds <= 0) return;
    const now = this.clock.now();
    const t: Tracked = { device, expiresAt: now + expiresSeconds * 1000, silent };
    const wakeAt = t.expiresAt - this.lead(expiresSeconds) * 1000;
    if (expiresSeconds > 1) t.wake = this.clock.setTimer(() => this.wake(t), Math.max(0, wakeAt - now));
    t.expiry = this.clock.setTimer(() => this.expired(t), expiresSeconds * 1000);
    this.tracked.set(keyOf(device.user, device.key), t);
  }

  forget(user: string, deviceKey: string): void {
    const t = this.tracked.get(keyOf(user, deviceKey));
    if (!t) return;
    this.stop(t);
    this.tracked.delete(keyOf(user, deviceKey));
  }

  close(): void {
    for (const t of this.tracked.values()) this.stop(t);
    this.tracked.clear();
  }

  private wake(t: Tracked): void {
    t.wake = undefined;
    const push = t.device.push!;
    if (!t.silent) {
      this.metrics.inc('sip_bridge_wake_pushes_total', { outcome: 'no-silent-push' });
      this.log.warn(
        { user: t.device.user, bindingId: push.bindingId },
        'a VoIP-only token cannot be woken to re-register: its upstream binding will lapse',
      );
      return;
    }
    t.wokenAt = this.clock.now();
    this.metrics.inc('sip_bridge_wake_pushes_total', { outcome: 'sent' });
    this.notifier
      .registerRefresh(t.device.user, push.bindingId, t.expiresAt, 'expiry')
      .catch((error: unknown) => this.log.error({ err: error, bindingId: push.bindingId }, 'wake push failed'));
  }

  private expired(t: Tracked): void {
    t.expiry = undefined;
    this.tracked.delete(keyOf(t.device.user, t.device.key));
    const record: MissedRefresh = {
      user: t.device.user,
      deviceKey: t.device.key,
      bindingId: t.device.push!.bindingId,
      expiredAt: this.clock.now(),
      reason: t.silent ? 'no-refresh' : 'no-silent-push',
    };
    if (t.wokenAt !== undefined) record.wokenAt = t.wokenAt;
    this.records.push(record);
    if (this.records.length > MAX_RECORDS) this.records.shift();
    this.metrics.inc('sip_bridge_wake_missed_total');
    this.log.warn(
      { user: record.user, bindingId: record.bindingId, reason: record.reason },
      'push phone did not re-register before its upstream binding expired',
    );
  }

  private stop(t: Tracked): void {
    if (t.wake !== undefined) this.clock.clearTimer(t.wake);
    if (t.expiry !== undefined) this.clock.clearTimer(t.expiry);
    t.wake = t.expiry = undefined;
  }
}

function keyOf(user: string, deviceKey: string): string {
  return `${user}\n${deviceKey}`;
}
