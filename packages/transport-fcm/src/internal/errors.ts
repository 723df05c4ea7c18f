import type { DeliveryOutcome } from '@pushrelay/core';
import { isRecord } from '@pushrelay/provider-http';

const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';
/** FCM asks rate-limited senders to wait at least a minute when it gives no Retry-After. */
export const DEFAULT_QUOTA_BACKOFF_MS = 60_000;

export interface FcmErrorInfo {
  /** FcmError.errorCode when present, else error.status, else the HTTP status. */
  code: string;
  message: string;
  /** A BadRequest field violation names the target token. */
  tokenField: boolean;
}

/** Reads the FCM error body the way firebase-admin does: FcmError code first, then status. */
export function readFcmError(statusCode: number, body: unknown): FcmErrorInfo {
  const error = isRecord(body) && isRecord(body['error']) ? body['error'] : undefined;
  const details = Array.isArray(error?.['details']) ? (error['details'] as unknown[]) : [];
  let code: string | undefined;
  let tokenField = false;
  for (const detail of details) {
    if (!isRecord(detail)) continue;
    if (detail['@type'] === FCM_ERROR_TYPE && typeof detail['errorCode'] === 'string') code = detail['errorCode'];
    if (detail['@type'] === BAD_REQUEST_TYPE && Array.isArray(detail['fieldViolations'])) {
      tokenField ||= detail['fieldViolations'].some((v) => isRecord(v) && v['field'] === 'message.token');
    }
  }
  code ??= typeof error?.['status'] === 'string' ? error['status'] : `HTTP_${statusCode}`;
  const message = typeof error?.['message'] === 'string' ? error['message'] : '';
  return { code, message, tokenField };
}

/** One FCM error answer as exactly one outcome (the table in the README, section Errors). */
export function mapFcmError(statusCode: number, info: FcmErrorInfo, retryAfterMs: number | undefined): DeliveryOutcome {
  const reason = info.message ? `${info.code}: ${info.message}` : info.code;
  const retry = (after?: number, scope?: 'credential'): DeliveryOutcome => ({
    kind: 'retry',
    reason,
    ...(after !== undefined ? { retryAfterMs: after } : {}),
    ...(scope ? { scope } : {}),
  });
  switch (info.code) {
    case 'UNREGISTERED':
    case 'SENDER_ID_MISMATCH':
      return { kind: 'invalid-token', reason };
    case 'INVALID_ARGUMENT':
      return info.tokenField ? { kind: 'invalid-token', reason } : { kind: 'rejected', reason };
    case 'QUOTA_EXCEEDED':
    case 'RESOURCE_EXHAUSTED':
      // The quota is the project's: every send with this credential waits, not just this one.
      return retry(retryAfterMs ?? DEFAULT_QUOTA_BACKOFF_MS, 'credential');
    case 'UNAVAILABLE':
    case 'INTERNAL':
    case 'UNSPECIFIED_ERROR':
      return retry(retryAfterMs);
    case 'THIRD_PARTY_AUTH_ERROR':
    case 'UNAUTHENTICATED':
    case 'PERMISSION_DENIED':
      return { kind: 'auth-failed', reason };
    default:
      if (statusCode === 429 || statusCode >= 500) return retry(retryAfterMs);
      if (statusCode === 401 || statusCode === 403) return { kind: 'auth-failed', reason };
      return { kind: 'rejected', reason };
  }
}
