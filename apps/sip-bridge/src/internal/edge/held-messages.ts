import type { Clock, TimerHandle } from '@pushrelay/core';
import { getHeader, prepareForward, type ServerTransaction, type SipRequest } from '@pushrelay/sip';
import type { Device } from '../locations.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Notifier } from '../notifier.js';
import type { LocalAddress } from '../proxy.js';
import type { StatefulForwarder } from './forwarder.js';

interface Held {
  request: SipRequest;
  tx: ServerTransaction;
  device: Device;
  timer: TimerHandle;
}

/**
 * MESSAGEs (and other out-of-dialog non-INVITE requests) for a sleeping push device: answered
 * 100 at once, a silent push wakes the phone, and the request goes to the fresh flow once, after
 * the upstream accepted the phone's re-REGISTER; 480 when it does not come back in time.
 */
export class HeldRequests {
  private readonly held = new Map<string, Held[]>();
  private count = 0;

  constructor(
    private readonly forwarder: StatefulForwarder,
    private readonly notifier: Notifier,
    private readonly local: () => LocalAddress,
    private readonly prepare: (request: SipRequest) => SipRequest,
    /** Bounded below the non-INVITE transaction's 32 s, after which the sender has given up. */
    private readonly waitMs: number,
    private readonly timeoutMs: number,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  get heldCount(): number {
    return this.count;
  }

  hold(request: SipRequest, tx: ServerTransaction, device: Device): void {
    tx.reply(100);
    const key = keyOf(device.user, device.key);
    const held: Held = { request, tx, device, timer: this.clock.setTimer(() => this.expire(key, held), this.waitMs) };
    const list = this.held.get(key) ?? [];
    list.push(held);
    this.held.set(key, list);
    this.count++;
    const push = device.push!;
    const reason = `${request.method}:${getHeader(request, 'Call-ID') ?? ''}:${getHeader(request, 'CSeq') ?? ''}`;
    this.notifier
      .registerRefresh(device.user, push.bindingId, this.clock.now() + this.waitMs, reason)
      .catch((error: unknown) => this.log.error({ err: error, bindingId: push.bindingId }, 'wake push failed'));
    this.log.info({ method: request.method, bindingId: push.bindingId }, 'request held for a push device');
  }

  /** The upstream accepted this device's REGISTER: what waits for it goes to its fresh flow, once. */
  deviceRegistered(device: Device): void {
    const key = keyOf(device.user, device.key);
    const list = this.held.get(key);
    if (!list) return;
    this.held.delete(key);
    const local = this.local();
    for (const held of list) {
      this.clock.clearTimer(held.timer);
      this.count--;
      const forwarded = prepareForward(this.prepare(held.request), {
        via: { transport: device.flow.transport, host: local.host, port: local.port },
        uri: device.target,
      });
      if (!forwarded) {
        held.tx.reply(483, 'Too Many Hops');
        continue;
      }
      this.forwarder.forward(held.tx, forwarded, device.flow, { timeoutMs: this.timeoutMs, direction: 'device' });
    }
  }

  abortAll(): void {
    for (const [key, list] of [...this.held]) for (const held of list) this.expire(key, held);
  }

  private expire(key: string, held: Held): void {
    const list = this.held.get(key);
    const index = list?.indexOf(held) ?? -1;
    if (index < 0) return;
    list!.splice(index, 1);
    if (list!.length === 0) this.held.delete(key);
    this.clock.clearTimer(held.timer);
    this.count--;
    this.metrics.inc('sip_bridge_unavailable_total');
    held.tx.reply(480, 'Temporarily Unavailable');
  }
}

function keyOf(user: string, deviceKey: string): string {
  return `${user}\n${deviceKey}`;
}
