import type { TransactionLayer } from '@pushrelay/sip';
import type { LocalAddress } from './proxy.js';

/**
 * The SIP layer and the address it listens on. The handlers the layer calls send through it, so
 * the graph is built first and the port bound once, when the sockets are; using it before then
 * is a programming error.
 */
export class SipPort {
  private bound: { layer: TransactionLayer; local: LocalAddress } | undefined;

  bind(layer: TransactionLayer, local: LocalAddress): void {
    if (this.bound) throw new Error('the SIP port is bound already');
    this.bound = { layer, local };
  }

  get layer(): TransactionLayer {
    return this.use().layer;
  }

  get local(): LocalAddress {
    return this.use().local;
  }

  private use(): { layer: TransactionLayer; local: LocalAddress } {
    if (!this.bound) throw new Error('the SIP port is not bound yet: the bridge has not started listening');
    return this.bound;
  }
}
