/** One problem found in untrusted input: where it is and what is wrong with it. */
export interface Issue {
  /** JSON path such as `call.from.number` or `missed[2].at`; empty for the value itself. */
  path: string;
  message: string;
}

/** Base class of every error pushrelay throws on purpose; `code` is stable across releases. */
export class PushRelayError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Untrusted input did not match the model; `issues` lists every problem, not just the first. */
export class ValidationError extends PushRelayError {
  readonly issues: Issue[];
  constructor(issues: Issue[], what = 'input') {
    super('validation_failed', `invalid ${what}: ${formatIssues(issues)}`);
    this.issues = issues;
  }
}

/** A codec could not decode vendor input or encode a notification for a device. */
export class CodecError extends PushRelayError {
  readonly codec: string;
  readonly path: string | undefined;
  constructor(codec: string, message: string, options?: { path?: string; cause?: unknown }) {
    super('codec_error', `${codec}: ${options?.path ? `${options.path}: ` : ''}${message}`, options);
    this.codec = codec;
    this.path = options?.path;
  }
}

/** A transport was configured wrongly or asked to send something it cannot (names the field). */
export class TransportError extends PushRelayError {
  readonly transport: string;
  readonly field: string | undefined;
  constructor(transport: string, message: string, options?: { field?: string; cause?: unknown }) {
    super('transport_error', `${transport}: ${options?.field ? `${options.field}: ` : ''}${message}`, options);
    this.transport = transport;
    this.field = options?.field;
  }
}

/** The relay has no codec or transport for what a binding asks for. */
export class ConfigurationError extends PushRelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('configuration_error', message, options);
  }
}

/**
 * The queue's server could not be reached in time to take a job (down, restarting, unreachable).
 * The job may still have been queued: scheduling the same id again is safe, since the queue
 * refuses an id that is already waiting or running.
 */
export class QueueUnavailableError extends PushRelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('queue_unavailable', message, options);
  }
}

export function formatIssues(issues: readonly Issue[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
}
