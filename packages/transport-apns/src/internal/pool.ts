import apn from '@parse/node-apn';
import type { ClientHttp2Session } from 'node:http2';
import type { ExchangeLog } from './instrument.js';

/** The parts of node-apn's client the transport reaches into (see README, "Why node-apn is wrapped"). */
interface NodeApnClient {
  session?: ClientHttp2Session;
  connect(): Promise<void>;
  config: { token?: unknown };
}

export interface PoolSlot {
  provider: apn.Provider;
  inFlight: number;
}

/** node-apn providers (one HTTP/2 connection each) behind one credential and environment. */
export class ProviderPool {
  readonly slots: PoolSlot[] = [];
  /** Sends waiting for a free stream, oldest first from `waitingHead`. */
  private waiting: Array<(slot: PoolSlot) => void> = [];
  private waitingHead = 0;

  constructor(
    size: number,
    /** Streams in flight per connection; more wait here, so their timeout has not started. */
    private readonly maxStreams: number,
    options: apn.ProviderOptions,
    log: ExchangeLog,
    /** JWT state shared by every connection of one key, so they present one token. */
    sharedToken: { value?: unknown },
  ) {
    for (let i = 0; i < size; i++) {
      const provider = new apn.Provider(options);
      const client = (provider as unknown as { client: NodeApnClient }).client;
      if (options.token) {
        if (sharedToken.value === undefined) sharedToken.value = client.config.token;
        else client.config.token = sharedToken.value;
      }
      const connect = client.connect.bind(client);
      client.connect = async () => {
        await connect();
        if (client.session) log.watch(client.session);
      };
      this.slots.push({ provider, inFlight: 0 });
    }
  }

  /** The connection with the fewest requests in flight, once it has a free stream. */
  acquire(): PoolSlot | Promise<PoolSlot> {
    let best = this.slots[0]!;
    for (const slot of this.slots) if (slot.inFlight < best.inFlight) best = slot;
    if (best.inFlight < this.maxStreams) {
      best.inFlight++;
      return best;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(slot: PoolSlot): void {
    if (this.waitingHead < this.waiting.length) {
      const next = this.waiting[this.waitingHead]!;
      this.waiting[this.waitingHead++] = undefined as never;
      // Drop the consumed front once it outweighs the rest, so a long burst costs O(1) per send
      // (Array.shift moves every waiting entry).
      if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.waitingHead);
        this.waitingHead = 0;
      }
      next(slot);
    } else {
      slot.inFlight--;
    }
  }

  /** Connections close once their streams finish. */
  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.provider.shutdown()));
  }
}
