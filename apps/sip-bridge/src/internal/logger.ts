import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Fields that may carry a push token, a phone number or a SIP address. Logs name calls and
 * devices by Call-ID and binding id instead; these paths are censored wherever they appear.
 */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'number',
  '*.number',
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

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { service: 'sip-bridge' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
