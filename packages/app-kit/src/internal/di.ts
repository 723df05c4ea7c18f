import 'reflect-metadata';
import {
  Relay,
  type AdmissionOptions,
  type BindingStore,
  type Clock,
  type Codec,
  type MissedCallStore,
  type Presence,
  type Provider,
  type Queue,
  type RelayOptions,
  type ReportStore,
  type Transport,
} from '@pushrelay/core';
import { instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import type { StoreHandle } from './backends.js';

/**
 * A tsyringe injection token that carries the type of what it resolves to: `get(c, token)`
 * infers it, and passing a token where another type is wanted fails to compile. A plain symbol
 * underneath, so `container.resolve(token)` keeps working.
 */
export type Token<T> = symbol & { readonly __resolvesTo?: T };

/** The token named `name`, the same symbol wherever it is made (`Symbol.for`). */
export function token<T>(name: string): Token<T> {
  return Symbol.for(name) as Token<T>;
}

/** Reads a token of the container being composed. */
export type Get = <T>(t: Token<T>) => T;

export function get<T>(container: DependencyContainer, t: Token<T>): T {
  return container.resolve<T>(t);
}

/** Registers one instance per container, made on first use (tsyringe's `instanceCachingFactory`). */
export function singleton<T>(container: DependencyContainer, t: Token<T>, make: (get: Get) => T): void {
  container.register<T>(t, {
    useFactory: instanceCachingFactory<T>((c) => make((other) => c.resolve(other))),
  });
}

export function value<T>(container: DependencyContainer, t: Token<T>, v: T): void {
  container.register<T>(t, { useValue: v });
}

/** Closers of what the app opened itself (pools, Redis clients); what was passed in stays the caller's. */
export class Resources {
  private readonly closers: Array<() => Promise<void> | void> = [];

  add(close: () => Promise<void> | void): void {
    this.closers.push(close);
  }

  async closeAll(): Promise<void> {
    const closers = this.closers.splice(0);
    await Promise.allSettled(closers.map(async (close) => close()));
  }
}

/** The services every app composes a relay from; each app's TOKENS extend these. */
export const RELAY_TOKENS = {
  clock: token<Clock>('pushrelay.clock'),
  resources: token<Resources>('pushrelay.resources'),
  stores: token<StoreHandle>('pushrelay.storeHandle'),
  bindings: token<BindingStore>('pushrelay.bindings'),
  reports: token<ReportStore>('pushrelay.reports'),
  missedCalls: token<MissedCallStore>('pushrelay.missedCalls'),
  queue: token<Queue>('pushrelay.queue'),
  codecs: token<Codec[]>('pushrelay.codecs'),
  transports: token<Partial<Record<Provider, Transport>>>('pushrelay.transports'),
  relay: token<Relay>('pushrelay.relay'),
};

export interface RelayRegistration {
  clock: Clock;
  /** The stores of the configured engine, opened (or opening at once) when first needed. */
  stores: (get: Get) => StoreHandle;
  queue: (get: Get) => Queue;
  codecs: (get: Get) => Codec[];
  transports: (get: Get) => Partial<Record<Provider, Transport>>;
  /** Where missed calls wait when not in the stores (Redis); default the stores'. */
  missedCalls?: (get: Get) => MissedCallStore | undefined;
  /** Stores given by the caller, over those of the engine. */
  bindings?: BindingStore;
  reports?: ReportStore;
  presence?: (get: Get) => Presence;
  /** The relay's admission bounds; none unless given. */
  admission?: AdmissionOptions;
  /** Notifications per second per tenant; none unless given. */
  rateLimit?: (get: Get) => RelayOptions['rateLimit'];
}

/**
 * The one registration module both apps extend: clock, resources, stores, queue, codecs,
 * transports and the relay over them, each built once per container on first use.
 */
export function registerRelay(container: DependencyContainer, r: RelayRegistration): void {
  const T = RELAY_TOKENS;
  value(container, T.clock, r.clock);
  value(container, T.resources, new Resources());
  singleton(container, T.stores, r.stores);
  singleton(container, T.bindings, (get) => r.bindings ?? get(T.stores).bindings);
  singleton(container, T.reports, (get) => r.reports ?? get(T.stores).reports);
  singleton(container, T.missedCalls, (get) => r.missedCalls?.(get) ?? get(T.stores).missedCalls);
  singleton(container, T.queue, r.queue);
  singleton(container, T.codecs, r.codecs);
  singleton(container, T.transports, r.transports);
  singleton(
    container,
    T.relay,
    (get) =>
      new Relay({
        bindings: get(T.bindings),
        reports: get(T.reports),
        queue: get(T.queue),
        codecs: get(T.codecs),
        transports: get(T.transports),
        ...(r.presence ? { presence: r.presence(get) } : {}),
        ...(r.admission !== undefined ? { admission: r.admission } : {}),
        ...(r.rateLimit ? { rateLimit: r.rateLimit(get) } : {}),
        clock: r.clock,
      }),
  );
}
