import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * The one list of what no log line of any app shows: credentials, push tokens, per-device
 * secrets, phone numbers and SIP addresses (logs name calls and devices by call id and binding id
 * instead). Censored wherever these paths appear.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-auth-token"]',
  'req.headers["x-pushrelay-signature"]',
  'token',
  '*.token',
  'binding.token',
  'request.token',
  '*.apiKey',
  '*.secrets',
  '*.pushKey',
  'number',
  '*.number',
  '*.from.number',
  '*.to.number',
  'caller',
  'callee',
  'uri',
  '*.uri',
  'contact',
  '*.contact',
  'from',
  'to',
  'user',
  'password',
  '*.password',
  'authorization',
];

/** pino options of every app: level, the service name on each line, the redaction list. */
export function loggerOptions(level: string, service: string): LoggerOptions {
  return { level, base: { service }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
}

/** A pino logger with the apps' options; `overrides` (tests, a custom format) go on top. */
export function createLogger(
  level: string,
  service: string,
  destination?: NodeJS.WritableStream,
  overrides: LoggerOptions = {},
): Logger {
  const options = { ...loggerOptions(level, service), ...overrides };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
