import {
  PushRelayError,
  TransportError,
  type DeliveryOutcome,
  type DeliveryOutcomeKind,
  type PushRequest,
  type Transport,
} from '@pushrelay/core';
import type { TestApi } from '../runner.js';
import type { FaultAction, FaultSpec, SimDelivery, SimulatedProvider } from './simulated-provider.js';

export interface TransportFaultCase {
  name: string;
  /** Scripted on the simulator for the next request to the case's token. */
  fault: FaultAction & { count?: number | null; share?: number };
  expect: DeliveryOutcomeKind;
  /** When set, the outcome must carry exactly this retryAfterMs. */
  retryAfterMs?: number;
}

export interface TransportConformanceOptions<S extends SimulatedProvider = SimulatedProvider> {
  /** Names the suite, e.g. `transport-apns`. */
  name: string;
  createSimulator(): Promise<S>;
  /**
   * A transport pointed at the simulator. `requestTimeoutMs` must bound a request the provider
   * never answers (the hang case), and `poolSize` is how many connections it may open.
   */
  createTransport(simulator: S, options: { requestTimeoutMs: number }): Transport | Promise<Transport>;
  /** A valid request the simulator accepts; `index` must give a distinct device token. */
  validRequest(simulator: S, index: number): PushRequest;
  /** The token as the simulator logs it; default `request.token`. */
  simulatorToken?(request: PushRequest): string;
  /**
   * Checks what the provider received for a request (headers, payload, auth already checked by
   * the simulator). Throws (with the runner's expect) on a mismatch.
   */
  checkDelivery?(delivery: SimDelivery, request: PushRequest, expect: TestApi['expect']): void;
  /** Provider answers and the outcome kind each maps to (status, reason, Retry-After...). */
  faults: TransportFaultCase[];
  /** A request over the provider's size limit: must be `rejected` without reaching the provider. */
  oversizedRequest?(simulator: S, index: number): PushRequest;
  /** Requests that can never be sent, each with the field the error must name. */
  badRequests?(simulator: S): { request: PushRequest; field: string }[];
  /** Request timeout given to the transport; the hang case waits about this long. Default 500 ms. */
  requestTimeoutMs?: number;
  /** Concurrent sends in the GOAWAY case. Default 40. */
  burst?: number;
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

/** What the parts of the transport suite share: the options, device tokens, a fresh transport per test. */
interface Suite<S extends SimulatedProvider> {
  t: TestApi;
  options: TransportConformanceOptions<S>;
  requestTimeoutMs: number;
  tokenOf(request: PushRequest): string;
  /** A valid request for a device token no other test used. */
  fresh(sim: S): PushRequest;
  /** The next unused device index. */
  nextIndex(): number;
  /** Runs `body` with a new simulator and a transport pointed at it, and closes both. */
  withTransport(body: (sim: S, transport: Transport) => Promise<void>, timeoutMs?: number): Promise<void>;
}

function suiteOf<S extends SimulatedProvider>(t: TestApi, options: TransportConformanceOptions<S>): Suite<S> {
  const requestTimeoutMs = options.requestTimeoutMs ?? 500;
  let next = 1000;
  return {
    t,
    options,
    requestTimeoutMs,
    tokenOf: (r) => options.simulatorToken?.(r) ?? r.token,
    fresh: (sim) => options.validRequest(sim, next++),
    nextIndex: () => next++,
    async withTransport(body, timeoutMs = requestTimeoutMs) {
      const sim = await options.createSimulator();
      let transport: Transport | undefined;
      try {
        transport = await options.createTransport(sim, { requestTimeoutMs: timeoutMs });
        await body(sim, transport);
      } finally {
        await transport?.close();
        await sim.close();
      }
    },
  };
}

/**
 * The behaviour every transport shares, checked against a provider simulator: request shape and
 * auth as the provider sees them, provider answers mapped to DeliveryOutcomes, Retry-After
 * surfaced, recovery from GOAWAY and resets without losing or doubling a push, timeouts, and
 * close() freeing its connections.
 */
export function describeTransportConformance<S extends SimulatedProvider>(
  t: TestApi,
  options: TransportConformanceOptions<S>,
): void {
  const suite = suiteOf(t, options);
  t.describe(`${options.name}: transport conformance`, () => {
    describeDelivery(suite);
    describeProviderAnswers(suite);
    describeTimeouts(suite);
    describeConnectionFailures(suite);
    describeImpossibleRequests(suite);
    describeClose(suite);
  });
}

/** Delivers a valid request in the provider's shape, reusing its connections. */
function describeDelivery<S extends SimulatedProvider>(suite: Suite<S>): void {
  const {
    t: { it, expect },
    options,
    tokenOf,
    fresh,
    withTransport,
  } = suite;
  it(
    'delivers a valid request once, in the shape the provider expects',
    () =>
      withTransport(async (sim, transport) => {
        const request = fresh(sim);
        const outcome = await transport.send(request);
        expect(outcome.kind).toBe('delivered');
        const deliveries = sim.deliveries({ token: tokenOf(request) });
        expect(deliveries).toHaveLength(1);
        options.checkDelivery?.(deliveries[0]!, request, expect);
      }),
    20_000,
  );

  it(
    'reuses its connections across sends',
    () =>
      withTransport(async (sim, transport) => {
        await transport.send(fresh(sim));
        const opened = sim.connections().opened;
        const outcomes = await Promise.all(Array.from({ length: 10 }, () => transport.send(fresh(sim))));
        expect(outcomes.map((o) => o.kind)).toEqual(Array(10).fill('delivered'));
        expect(sim.connections().opened).toBe(opened);
      }),
    20_000,
  );
}

/** Maps each scripted provider answer, and a dead token, to its outcome. */
function describeProviderAnswers<S extends SimulatedProvider>(suite: Suite<S>): void {
  const {
    t: { it, expect },
    options,
    tokenOf,
    fresh,
    withTransport,
  } = suite;
  for (const c of options.faults) {
    it(
      `maps ${c.name} to ${c.expect}`,
      () =>
        withTransport(async (sim, transport) => {
          const request = fresh(sim);
          sim.fault({ ...c.fault, token: tokenOf(request) } as FaultSpec);
          const outcome = await transport.send(request);
          expect(outcome.kind).toBe(c.expect);
          if (c.retryAfterMs !== undefined) {
            expect((outcome as Extract<DeliveryOutcome, { kind: 'retry' }>).retryAfterMs).toBe(c.retryAfterMs);
          }
          expect(sim.deliveries({ token: tokenOf(request) })).toHaveLength(0);
          // The connection is still good for the next push.
          expect((await transport.send(fresh(sim))).kind).toBe('delivered');
        }),
      20_000,
    );
  }

  it(
    'maps a token the provider unregistered to invalid-token',
    () =>
      withTransport(async (sim, transport) => {
        const request = fresh(sim);
        sim.unregister(tokenOf(request));
        const outcome = await transport.send(request);
        expect(outcome.kind).toBe('invalid-token');
      }),
    20_000,
  );
}

/** Gives up with retry on a silent provider, at the deadline and on abort; never sends a late request. */
function describeTimeouts<S extends SimulatedProvider>(suite: Suite<S>): void {
  const {
    t: { it, expect },
    tokenOf,
    fresh,
    withTransport,
  } = suite;
  it(
    'gives up on a request the provider never answers, with retry',
    () =>
      withTransport(async (sim, transport) => {
        const request = fresh(sim);
        sim.fault({ kind: 'hang', token: tokenOf(request) });
        const outcome = await transport.send(request);
        expect(outcome.kind).toBe('retry');
        expect((await transport.send(fresh(sim))).kind).toBe('delivered');
      }),
    20_000,
  );

  // The request timeout is far longer than the test may take: only the deadline or the signal
  // can end these waits.
  const LONG_TIMEOUT_MS = 120_000;

  it(
    "stops waiting at the send's deadline, with retry",
    () =>
      withTransport(async (sim, transport) => {
        const request = fresh(sim);
        sim.fault({ kind: 'hang', token: tokenOf(request) });
        const outcome = await transport.send(request, { deadline: Date.now() + 300 });
        expect(outcome.kind).toBe('retry');
        expect((await transport.send(fresh(sim), { deadline: Date.now() + 60_000 })).kind).toBe('delivered');
      }, LONG_TIMEOUT_MS),
    20_000,
  );

  it(
    'does not send a request already past its deadline',
    () =>
      withTransport(async (sim, transport) => {
        await transport.send(fresh(sim));
        const request = fresh(sim);
        const outcome = await transport.send(request, { deadline: Date.now() - 1 });
        expect(outcome.kind).toBe('retry');
        expect(sim.deliveries({ token: tokenOf(request) })).toHaveLength(0);
      }),
    20_000,
  );

  it(
    'stops waiting when the signal aborts, with retry',
    () =>
      withTransport(async (sim, transport) => {
        const request = fresh(sim);
        sim.fault({ kind: 'hang', token: tokenOf(request) });
        const controller = new AbortController();
        const pending = transport.send(request, { signal: controller.signal });
        setTimeout(() => controller.abort(new Error('caller gave up')), 300);
        expect((await pending).kind).toBe('retry');
        expect((await transport.send(fresh(sim))).kind).toBe('delivered');
      }, LONG_TIMEOUT_MS),
    20_000,
  );
}

/** Recovers from a reset and a GOAWAY without losing or doubling a push. */
function describeConnectionFailures<S extends SimulatedProvider>(suite: Suite<S>): void {
  const {
    t: { it, expect },
    options,
    tokenOf,
    fresh,
    withTransport,
  } = suite;
  it(
    'answers retry for a connection reset and recovers on a new connection',
    () =>
      withTransport(async (sim, transport) => {
        await transport.send(fresh(sim));
        const request = fresh(sim);
        sim.fault({ kind: 'reset', token: tokenOf(request) });
        const outcome = await transport.send(request);
        expect(outcome.kind).toBe('retry');
        expect(sim.deliveries({ token: tokenOf(request) })).toHaveLength(0);
        expect((await transport.send(fresh(sim))).kind).toBe('delivered');
      }),
    20_000,
  );

  it(
    'delivers every push of a burst exactly once across a GOAWAY',
    () =>
      withTransport(async (sim, transport) => {
        await transport.send(fresh(sim));
        const opened = sim.connections().opened;
        sim.fault({ kind: 'goaway', afterStreams: 5 });
        const requests = Array.from({ length: options.burst ?? 40 }, () => fresh(sim));
        const outcomes = await Promise.all(requests.map((r) => transport.send(r)));
        expect(outcomes.filter((o) => o.kind !== 'delivered')).toEqual([]);
        for (const r of requests) expect(sim.deliveries({ token: tokenOf(r) })).toHaveLength(1);
        // The GOAWAY did happen: the rest of the burst went on a new connection.
        expect(sim.connections().opened).toBeGreaterThan(opened);
      }),
    30_000,
  );
}

/** Rejects what it can never send (oversized, bad fields) before it reaches the provider. */
function describeImpossibleRequests<S extends SimulatedProvider>(suite: Suite<S>): void {
  const {
    t: { it, expect },
    options,
    tokenOf,
    withTransport,
  } = suite;
  if (options.oversizedRequest) {
    const oversized = options.oversizedRequest;
    it(
      'rejects a payload over the provider limit before sending it',
      () =>
        withTransport(async (sim, transport) => {
          const request = oversized(sim, suite.nextIndex());
          const outcome = await transport.send(request);
          expect(outcome.kind).toBe('rejected');
          expect(sim.requests({ token: tokenOf(request) })).toHaveLength(0);
        }),
      20_000,
    );
  }

  if (options.badRequests) {
    const bad = options.badRequests;
    it(
      'answers a request it can never send with an error or outcome naming the field',
      () =>
        withTransport(async (sim, transport) => {
          for (const { request, field } of bad(sim)) {
            let named: string;
            try {
              const outcome = await transport.send(request);
              expect(outcome.kind).toBe('rejected');
              named = (outcome as { reason: string }).reason;
            } catch (error) {
              expect(error).toBeInstanceOf(PushRelayError);
              if (error instanceof TransportError) expect(error.field).toBe(field);
              named = (error as Error).message;
            }
            expect(named).toContain(field);
          }
        }),
      20_000,
    );
  }
}

/** close() drains in-flight sends and frees the connections. */
function describeClose<S extends SimulatedProvider>(suite: Suite<S>): void {
  const {
    t: { it, expect },
    tokenOf,
    fresh,
    withTransport,
  } = suite;
  it(
    'close() waits for in-flight sends and frees its connections',
    () =>
      withTransport(async (sim, transport) => {
        const request = fresh(sim);
        sim.fault({ kind: 'slow', delayMs: 200, token: tokenOf(request) });
        const pending = transport.send(request);
        await waitFor(() => sim.requests().length > 0 || sim.connections().open > 0, 2000);
        await transport.close();
        expect((await pending).kind).toBe('delivered');
        expect(await waitFor(() => sim.connections().open === 0, 2000)).toBe(true);
      }),
    20_000,
  );
}
