import type { DeliveryOutcome } from '@pushrelay/core';
import { isRecord, safeJson } from '@pushrelay/provider-http';

export const HMS_SUCCESS = '80000000';
export const HMS_PARTIAL = '80100000';
export const HMS_TOKEN_EXPIRED = '80200003';
export const HMS_ALL_TOKENS_INVALID = '80300007';

export interface HmsAnswer {
  code: string;
  msg: string;
  requestId?: string;
}

export function readHmsAnswer(body: unknown): HmsAnswer | undefined {
  if (!isRecord(body) || (typeof body['code'] !== 'string' && typeof body['code'] !== 'number')) return undefined;
  const answer: HmsAnswer = { code: String(body['code']), msg: typeof body['msg'] === 'string' ? body['msg'] : '' };
  if (typeof body['requestId'] === 'string') answer.requestId = body['requestId'];
  return answer;
}

/** The tokens Huawei names as illegal in a message (a JSON string in `msg`). */
export function illegalTokens(msg: string): Set<string> {
  const parsed = safeJson(msg);
  const list = isRecord(parsed) ? parsed['illegal_tokens'] : undefined;
  return new Set(Array.isArray(list) ? list.filter((t): t is string => typeof t === 'string') : []);
}

export interface MapContext {
  /**
   * Whether an 80300007 may be read as "these tokens are dead": true once the app id has had a
   * push accepted, and for the first few answers of an app that has not yet.
   */
  trustAllInvalid: boolean;
  retryAfterMs: number | undefined;
}

/**
 * One HMS answer as one outcome per token (the table in the README, section Errors). The code
 * in the body decides on any HTTP status; without one the HTTP status does.
 */
export function mapHmsAnswer(
  status: number,
  answer: HmsAnswer | undefined,
  tokens: readonly string[],
  context: MapContext,
): DeliveryOutcome[] {
  const all = (outcome: DeliveryOutcome): DeliveryOutcome[] => tokens.map(() => outcome);
  const retry = (reason: string, scope?: 'credential'): DeliveryOutcome => ({
    kind: 'retry',
    reason,
    ...(context.retryAfterMs !== undefined ? { retryAfterMs: context.retryAfterMs } : {}),
    ...(scope ? { scope } : {}),
  });
  // Flow control is the app's QPS quota: every send of this app waits.
  if (status === 503) {
    return all(retry(`flow control (HTTP 503)${answer ? `: ${answer.code} ${answer.msg}` : ''}`, 'credential'));
  }
  if (!answer) {
    // Huawei answers 200 only when it accepted the message; the body was lost on the way
    // (a GOAWAY cut it off), and which tokens were illegal, if any, is unknown.
    if (status === 200) return all({ kind: 'delivered' });
    if (status === 429 || status >= 500) return all(retry(`HTTP ${status}`));
    if (status === 401 || status === 403) return all({ kind: 'auth-failed', reason: `HTTP ${status}` });
    return all({ kind: 'rejected', reason: `HTTP ${status} without an HMS code` });
  }
  const reason = `${answer.code}: ${answer.msg}`;
  const named = illegalTokens(answer.msg);
  switch (answer.code) {
    case HMS_SUCCESS:
      return all(answer.requestId ? { kind: 'delivered', providerId: answer.requestId } : { kind: 'delivered' });
    case HMS_PARTIAL:
      return tokens.map((t) =>
        named.has(t)
          ? { kind: 'invalid-token', reason: `${HMS_PARTIAL}: named in illegal_tokens` }
          : answer.requestId
            ? { kind: 'delivered', providerId: answer.requestId }
            : { kind: 'delivered' },
      );
    case HMS_ALL_TOKENS_INVALID:
      // Huawei gives the same code for dead tokens and for an app id that owns none of them;
      // an app id that never delivered and keeps hearing it is suspected instead of its tokens.
      return tokens.map((t) =>
        named.has(t) || context.trustAllInvalid
          ? { kind: 'invalid-token', reason }
          : { kind: 'rejected', reason: `${reason} (tokens invalid or wrong app id; binding kept)` },
      );
    case '80300002':
      return tokens.map((t) => (named.has(t) ? { kind: 'invalid-token', reason } : { kind: 'auth-failed', reason }));
    case '80200001':
    case HMS_TOKEN_EXPIRED:
    case '80200005':
    case '80600003':
      return all({ kind: 'auth-failed', reason });
    case '81000001':
      return all(retry(reason));
    default:
      if (status === 429 || status >= 500) return all(retry(reason));
      if (status === 401 || status === 403) return all({ kind: 'auth-failed', reason });
      return all({ kind: 'rejected', reason });
  }
}
