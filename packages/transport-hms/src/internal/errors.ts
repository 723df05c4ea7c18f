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

export const HMS_JWT_EXPIRED = '80200005';

/**
 * The tokens a v3 answer names, with the reason Huawei gives for each: `msg` is a JSON string
 * `{"illegalTokens": {"<reason>": [tokens]}, "success": n, "failure": m}`.
 */
export function illegalTokensV3(msg: string): Map<string, string> {
  const parsed = safeJson(msg);
  const groups = isRecord(parsed) ? parsed['illegalTokens'] : undefined;
  const named = new Map<string, string>();
  if (!isRecord(groups)) return named;
  for (const [reason, list] of Object.entries(groups)) {
    if (!Array.isArray(list)) continue;
    for (const token of list) if (typeof token === 'string') named.set(token, reason);
  }
  return named;
}

/** What one named reason of a v3 partial or all-invalid answer says about that token. */
function v3TokenOutcome(
  reason: string,
  code: string,
  context: MapContext,
  retryAfter: DeliveryOutcome,
): DeliveryOutcome {
  const text = `${code}: ${reason}`;
  switch (reason) {
    case 'tokenFormatError':
    case 'tokenPlatformNotSupport':
      // Huawei's remedy for both is a new token from the device.
      return { kind: 'invalid-token', reason: text };
    case 'noRight':
      // The token's app is not in this project: a stale token (the device moved to HarmonyOS
      // NEXT) or the wrong project id configured, which says the same for every token.
      return context.trustAllInvalid
        ? { kind: 'invalid-token', reason: text }
        : { kind: 'rejected', reason: `${text} (token of another project or wrong project id; binding kept)` };
    case 'appinfoError':
      return retryAfter.kind === 'retry' ? { ...retryAfter, reason: text } : retryAfter;
    case 'noPushTypeRight':
    case 'disableSendHuaweiMsgBecauseOfPenalty':
      return { kind: 'auth-failed', reason: text };
    default:
      // countryNotSupport, atomicUnableSendUnsubscribedMsg, differentImgVerifyPolicy,
      // notSupportPlayVoice, noRightToSendThisLiveNotificationEvent and reasons not known yet:
      // this message cannot go to this token, but the token may be fine.
      return { kind: 'rejected', reason: text };
  }
}

/**
 * One Push Kit v3 answer as one outcome per token (README, section Errors, v3). Same shape as
 * v1/v2 (`{code, msg, requestId}`), but the illegal tokens come grouped by reason.
 */
export function mapHmsV3Answer(
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
  if (status === 503 || !answer) return mapHmsAnswer(status, answer, tokens, context);
  const reason = `${answer.code}: ${answer.msg}`;
  const delivered: DeliveryOutcome = answer.requestId
    ? { kind: 'delivered', providerId: answer.requestId }
    : { kind: 'delivered' };
  switch (answer.code) {
    case HMS_SUCCESS:
      return all(delivered);
    case HMS_PARTIAL:
    case HMS_ALL_TOKENS_INVALID: {
      const named = illegalTokensV3(answer.msg);
      return tokens.map((t) => {
        const why = named.get(t);
        if (why !== undefined) return v3TokenOutcome(why, answer.code, context, retry(''));
        if (answer.code === HMS_PARTIAL) return delivered;
        return context.trustAllInvalid
          ? { kind: 'invalid-token', reason }
          : { kind: 'rejected', reason: `${reason} (tokens invalid or wrong project id; binding kept)` };
      });
    }
    case '80200001':
    case HMS_JWT_EXPIRED:
    case '80300002':
    case '80300036':
    case '80300037':
      return all({ kind: 'auth-failed', reason });
    case '80300029':
      // The project's test-message quota: every test send of the project waits.
      return all(retry(reason, 'credential'));
    case '81000001':
      return all(retry(reason));
    default:
      if (status === 429 || status >= 500) return all(retry(reason));
      if (status === 401 || status === 403) return all({ kind: 'auth-failed', reason });
      return all({ kind: 'rejected', reason });
  }
}
