import { describe, expect, it } from 'vitest';
import { illegalTokens, mapHmsAnswer, readHmsAnswer } from '../src/index.js';

const ctx = { trustAllInvalid: true, retryAfterMs: undefined };
const kinds = (status: number, body: unknown, tokens = ['a'], context = ctx) =>
  mapHmsAnswer(status, readHmsAnswer(body), tokens, context).map((o) => o.kind);

describe('HMS answers', () => {
  it.each([
    [200, '80000000', 'delivered'],
    [400, '80100001', 'rejected'],
    [400, '80100003', 'rejected'],
    [400, '80100004', 'rejected'],
    [401, '80200001', 'auth-failed'],
    [401, '80200003', 'auth-failed'],
    [401, '80200005', 'auth-failed'],
    [403, '80300002', 'auth-failed'],
    [400, '80300007', 'invalid-token'],
    [400, '80300008', 'rejected'],
    [400, '80300010', 'rejected'],
    [400, '80300011', 'rejected'],
    [400, '80600003', 'auth-failed'],
    [500, '81000001', 'retry'],
    [503, '80300020', 'retry'],
    [502, '99999999', 'retry'],
  ])('HTTP %i code %s -> %s', (status, code, kind) => {
    expect(kinds(status, { code, msg: 'm', requestId: 'r' })).toEqual([kind]);
  });

  it('reads the illegal tokens of a partial success from the msg JSON string', () => {
    const body = {
      code: '80100000',
      msg: JSON.stringify({ success: 2, failure: 1, illegal_tokens: ['b'] }),
      requestId: 'r1',
    };
    expect(mapHmsAnswer(200, readHmsAnswer(body), ['a', 'b', 'c'], ctx)).toEqual([
      { kind: 'delivered', providerId: 'r1' },
      { kind: 'invalid-token', reason: '80100000: named in illegal_tokens' },
      { kind: 'delivered', providerId: 'r1' },
    ]);
    expect(illegalTokens('not json')).toEqual(new Set());
  });

  it('keeps bindings on 80300007 when the app id is in doubt', () => {
    expect(
      kinds(400, { code: '80300007', msg: 'All the tokens are invalid.' }, ['a'], {
        trustAllInvalid: false,
        retryAfterMs: undefined,
      }),
    ).toEqual(['rejected']);
  });

  it('judges answers without a code by HTTP status', () => {
    expect(kinds(200, 'cut off')).toEqual(['delivered']);
    expect(kinds(503, undefined)).toEqual(['retry']);
    expect(kinds(401, undefined)).toEqual(['auth-failed']);
    expect(kinds(404, '<html>')).toEqual(['rejected']);
  });

  it('surfaces Retry-After on flow control', () => {
    expect(mapHmsAnswer(503, undefined, ['a'], { trustAllInvalid: true, retryAfterMs: 5000 })).toEqual([
      { kind: 'retry', reason: 'flow control (HTTP 503)', retryAfterMs: 5000, scope: 'credential' },
    ]);
  });
});
