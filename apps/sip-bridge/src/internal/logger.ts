import { REDACT_PATHS, createLogger as createAppLogger, type Logger } from '@pushrelay/app-kit';

export type { Logger };

/** What no log line shows: the app kit's one list, shared with the HTTP gateway. */
export const REDACTED_PATHS = REDACT_PATHS;

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return createAppLogger(level, 'sip-bridge', destination);
}
