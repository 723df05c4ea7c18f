import type {
  CallNotification,
  DeliveryAttempt,
  DeliveryOutcome,
  DeliveryReport,
  DeviceBinding,
  DeviceBindingInput,
  DeviceDeliveryStatus,
  MissedCall,
  Provider,
  PushRequest,
} from './model.js';

/** What a codec can do, so callers and the conformance kit know which paths to exercise. */
export interface CodecCapabilities {
  /** Vendor input this codec can turn into notifications. */
  decode: boolean;
  /** Providers this codec encodes for. */
  providers: readonly Provider[];
}

export interface DecodeContext {
  tenant: string;
  /** Current time in epoch ms (deadlines default from it). */
  now: number;
  defaultRingTimeoutMs?: number;
}

export interface EncodeContext {
  /** Current time in epoch ms, for fields that carry a send time. */
  now: number;
}

/**
 * A pure translation between one vendor's format and the canonical model. Never does I/O.
 * `encode` returns null when this notification type is not pushed to that device
 * (e.g. a data-only cancel for a device that only takes VoIP pushes).
 * Both throw CodecError on input they cannot translate.
 */
export interface Codec<VendorInput = unknown> {
  readonly id: string;
  readonly capabilities: CodecCapabilities;
  decode?(input: VendorInput, context: DecodeContext): CallNotification[];
  encode(notification: CallNotification, binding: DeviceBinding, context: EncodeContext): PushRequest | null;
}

export interface SendOptions {
  /** Aborts the request (shutdown, a caller giving up); the outcome is then `retry`. */
  signal?: AbortSignal;
  /**
   * Epoch ms after which an answer is of no use (the call has stopped ringing): the transport
   * stops waiting then, as it does at its own request timeout, and answers `retry`. A number
   * rather than a signal because every send has one, and a signal per send is costly on the hot
   * path; a request already past it is not sent.
   */
  deadline?: number;
}

/**
 * Speaks to one provider. Provider answers become exactly one DeliveryOutcome; `send` only
 * throws for a request it can never send (TransportError naming the field).
 */
export interface Transport {
  readonly provider: Provider;
  send(request: PushRequest, options?: SendOptions): Promise<DeliveryOutcome>;
  /** Stops taking sends, waits for in-flight ones, frees sockets. */
  close(): Promise<void>;
}

export interface BindingStore {
  /** Inserts, or updates the binding with the same (tenant, provider, token) and keeps its id. */
  upsert(input: DeviceBindingInput): Promise<DeviceBinding>;
  get(tenant: string, id: string): Promise<DeviceBinding | undefined>;
  /** A user's bindings, oldest first. */
  forUser(tenant: string, userId: string): Promise<DeviceBinding[]>;
  findByToken(tenant: string, provider: Provider, token: string): Promise<DeviceBinding | undefined>;
  /** Returns whether a binding was removed. */
  remove(tenant: string, id: string): Promise<boolean>;
  /** How many bindings the tenant has, so a bound on a tenant's devices can be checked before an insert. */
  countForTenant(tenant: string): Promise<number>;
}

export interface ReportStore {
  /** Stores a new report; false (and nothing changed) when one with that id exists in the tenant. */
  create(report: DeliveryReport): Promise<boolean>;
  get(tenant: string, notificationId: string): Promise<DeliveryReport | undefined>;
  /**
   * Appends an attempt and sets the device status, atomically. The report is completed when
   * every device is final; `completedNow` is true only for the update that completed it.
   * Undefined when there is no such report or device.
   */
  recordAttempt(
    tenant: string,
    notificationId: string,
    bindingId: string,
    update: DeviceUpdate,
  ): Promise<{ report: DeliveryReport; completedNow: boolean } | undefined>;
  /**
   * Deletes at most `limit` reports accepted before `acceptedBefore` (epoch ms), oldest first,
   * and returns how many; fewer than `limit` means none is left to delete. A report still in
   * progress is kept until it is older than MAX_DEADLINE_MS as well, since its sends may still run.
   * Each call is one short transaction: RetentionSweeper calls it in a loop.
   */
  purgeAcceptedBefore?(acceptedBefore: number, limit: number): Promise<number>;
}

export interface DeviceUpdate {
  status: DeviceDeliveryStatus;
  attempt?: DeliveryAttempt;
  detail?: string;
  /** ISO time of the change. */
  at: string;
}

/** One send of one notification to one device, as it waits in a queue. */
export interface DeliveryJob {
  /** `${tenant}/${notificationId}/${bindingId}`: scheduling the same id twice is a no-op. */
  id: string;
  notification: CallNotification;
  bindingId: string;
  attempt: number;
  /** Epoch ms before which it must not run. */
  runAt: number;
  /** Call pushes run ahead of everything else. */
  lane: 'call' | 'default';
  /** Transport credential key, for per-credential rate limiting. */
  credential?: string;
  /**
   * Set by the queue when this job may have run before: its handler threw, or the process
   * running it died. The relay then checks the report before sending, so a push that went out
   * and was recorded is not sent twice.
   */
  redelivered?: boolean;
  /**
   * A push a vendor platform built itself and asked to have sent as it is (see `Relay.forward`):
   * the job sends this request instead of encoding the notification for a stored binding.
   */
  forward?: { request: PushRequest; format: string };
  /**
   * The W3C trace context (`traceparent`, `tracestate`) of the span that scheduled the job, set
   * only while tracing is on: the run of the job continues that trace, in this process or in
   * another one sharing the queue. A queue carries it as it carries the rest of the job.
   */
  trace?: Record<string, string>;
}

export type JobHandler = (job: DeliveryJob) => Promise<void>;

export interface Queue {
  /**
   * Adds a job; false when a job with the same id is already waiting or running.
   * A job completed or failed earlier may be scheduled again with the same id (a retry).
   * Rejects with QueueUnavailableError when the queue's server cannot be reached in time.
   */
  schedule(job: DeliveryJob): Promise<boolean>;
  /** Starts delivering due jobs to the handler; the call lane first, then by runAt. */
  process(handler: JobHandler): void;
  /** Holds back jobs of a credential until the given time (after a provider's 429). */
  pauseCredential?(credential: string, untilMs: number): Promise<void>;
  /** Jobs waiting, delayed or running. */
  size(): Promise<number>;
  /** Stops taking new jobs to run and waits for running ones. */
  close(): Promise<void>;
}

export interface MissedCallEntry extends MissedCall {
  /** The call reference the entry is keyed by (removed when the call is answered). */
  ref: string;
}

export interface MissedCallStore {
  /** Adds (or replaces, by ref) a missed call for a user; entries expire after ttlMs. */
  add(tenant: string, userId: string, entry: MissedCallEntry, ttlMs?: number): Promise<void>;
  /** Removes one call by ref (it was answered after all). */
  remove(tenant: string, userId: string, ref: string): Promise<boolean>;
  /** Reads and empties a user's missed calls, oldest first; two concurrent takes never share an entry. */
  take(tenant: string, userId: string): Promise<MissedCallEntry[]>;
  list(tenant: string, userId: string): Promise<MissedCallEntry[]>;
  /**
   * Deletes at most `limit` entries past their time to live (by the store's clock), of any user,
   * and returns how many; fewer than `limit` means none is left to delete.
   */
  purgeExpired?(limit: number): Promise<number>;
}

/**
 * Whether a user holds a live connection now, so pushes are not needed. A lookup that rejects
 * counts as offline for the relay: a push to a user who was online after all is harmless, a
 * notification suppressed for a user who is not is lost.
 */
export interface Presence {
  isOnline(tenant: string, userId: string): Promise<boolean>;
}

export type TimerHandle = unknown;

/** Time, injected so tests are exact. */
export interface Clock {
  now(): number;
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** A number in [0, 1); injected so jitter is exact in tests. */
export type RandomSource = () => number;

export type { PushRequest, DeliveryOutcome };
