import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCallNotification, ValidationError, type Issue } from '../src/index.js';

const NOW = Date.parse('2024-05-01T10:00:00.000Z');

const valid = {
  id: 'call-42',
  type: 'incoming_call',
  tenant: 'acme',
  recipient: 'alice',
  call: { id: 'c-1', from: { number: '+15550100', displayName: 'Bob' } },
};

function issuesOf(input: unknown, options: Partial<Parameters<typeof parseCallNotification>[1]> = {}): Issue[] {
  try {
    parseCallNotification(input, { now: NOW, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
}

describe('parseCallNotification', () => {
  it('fills defaults: times, deadline from the ring timeout, call priority', () => {
    expect(parseCallNotification(valid, { now: NOW, defaultRingTimeoutMs: 45_000 })).toEqual({
      id: 'call-42',
      type: 'incoming_call',
      tenant: 'acme',
      recipient: 'alice',
      call: {
        id: 'c-1',
        from: { number: '+15550100', displayName: 'Bob' },
        video: false,
        startedAt: '2024-05-01T10:00:00.000Z',
      },
      createdAt: '2024-05-01T10:00:00.000Z',
      deadline: '2024-05-01T10:00:45.000Z',
      priority: 'high',
    });
  });

  it('keeps every optional field it knows and normalises times to UTC', () => {
    const n = parseCallNotification(
      {
        ...valid,
        type: 'missed_calls',
        call: undefined,
        missed: [{ callId: 'x', from: { uri: 'sip:bob@example.com' }, at: '2024-05-01T11:00:00+01:00' }],
        createdAt: '2024-05-01T10:00:00Z',
        deadline: '2024-05-01T10:05:00Z',
        priority: 'normal',
        collapseKey: 'missed-alice',
        vendor: { wazo: { ring_timeout: '30' } },
        message: { title: 'Missed Call', body: 'From: Bob' },
      },
      { now: NOW },
    );
    expect(n.missed).toEqual([{ callId: 'x', from: { uri: 'sip:bob@example.com' }, at: '2024-05-01T10:00:00.000Z' }]);
    expect(n.deadline).toBe('2024-05-01T10:05:00.000Z');
    expect(n.vendor).toEqual({ wazo: { ring_timeout: '30' } });
    expect(n.collapseKey).toBe('missed-alice');
    expect(n.priority).toBe('normal');
  });

  it('takes the tenant from the caller and generates an id when asked to', () => {
    const { tenant: _t, id: _i, ...rest } = valid;
    const n = parseCallNotification(rest, { now: NOW, tenant: 'acme', generateId: () => 'gen-1' });
    expect([n.id, n.tenant]).toEqual(['gen-1', 'acme']);
  });

  const cases: Array<[string, unknown, Issue[], Partial<Parameters<typeof parseCallNotification>[1]>?]> = [
    ['not an object', 'hello', [{ path: '', message: 'must be an object' }]],
    ['an array', [valid], [{ path: '', message: 'must be an object' }]],
    ['null', null, [{ path: '', message: 'must be an object' }]],
    ['missing id', { ...valid, id: undefined }, [{ path: 'id', message: 'is required' }]],
    ['id of the wrong type', { ...valid, id: 7 }, [{ path: 'id', message: 'must be a string' }]],
    [
      'id with spaces',
      { ...valid, id: 'a b' },
      [{ path: 'id', message: 'may only hold letters, digits and . _ : @ + -' }],
    ],
    ['empty recipient', { ...valid, recipient: '' }, [{ path: 'recipient', message: 'must not be empty' }]],
    [
      'unknown type',
      { ...valid, type: 'ring' },
      [
        {
          path: 'type',
          message:
            'must be one of incoming_call, call_cancelled, missed_calls, voicemail, message, custom, register_refresh',
        },
      ],
    ],
    ['missing type', { ...valid, type: undefined }, [{ path: 'type', message: 'is required' }]],
    ['missing tenant', { ...valid, tenant: undefined }, [{ path: 'tenant', message: 'is required' }]],
    [
      'another tenant than the caller',
      valid,
      [{ path: 'tenant', message: 'does not match the authenticated tenant' }],
      { tenant: 'other' },
    ],
    [
      'call missing for an incoming call',
      { ...valid, call: undefined },
      [{ path: 'call', message: 'is required for incoming_call' }],
    ],
    ['call without caller', { ...valid, call: { id: 'c' } }, [{ path: 'call.from', message: 'is required' }]],
    [
      'caller with nothing in it',
      { ...valid, call: { id: 'c', from: {} } },
      [{ path: 'call.from', message: 'must have a number, uri or displayName' }],
    ],
    [
      'video not a boolean',
      { ...valid, call: { ...valid.call, video: 'yes' } },
      [{ path: 'call.video', message: 'must be a boolean' }],
    ],
    [
      'start time without a zone',
      { ...valid, call: { ...valid.call, startedAt: '2024-05-01 10:00' } },
      [{ path: 'call.startedAt', message: 'must be an ISO 8601 date-time with a time zone' }],
    ],
    [
      'deadline before creation',
      { ...valid, createdAt: '2024-05-01T10:00:00Z', deadline: '2024-05-01T09:59:00Z' },
      [{ path: 'deadline', message: 'must be later than createdAt' }],
    ],
    [
      'deadline too far ahead',
      { ...valid, createdAt: '2024-05-01T10:00:00Z', deadline: '2024-07-01T10:00:00Z' },
      [{ path: 'deadline', message: 'must be at most 28 days after createdAt' }],
    ],
    [
      'unknown priority',
      { ...valid, priority: 'urgent' },
      [{ path: 'priority', message: 'must be one of high, normal' }],
    ],
    [
      'collapse key over 64 bytes',
      { ...valid, collapseKey: 'é'.repeat(33) },
      [{ path: 'collapseKey', message: 'must be at most 64 bytes' }],
    ],
    ['vendor not an object', { ...valid, vendor: [1] }, [{ path: 'vendor', message: 'must be an object' }]],
    ['unknown field', { ...valid, callee: 'x' }, [{ path: 'callee', message: 'is not a known field' }]],
    [
      'unknown field in the caller',
      { ...valid, call: { ...valid.call, from: { number: '1', name: 'x' } } },
      [{ path: 'call.from.name', message: 'is not a known field' }],
    ],
    [
      'missed calls missing',
      { ...valid, type: 'missed_calls', call: undefined },
      [{ path: 'missed', message: 'is required for missed_calls' }],
    ],
    [
      'missed calls empty',
      { ...valid, type: 'missed_calls', missed: [] },
      [{ path: 'missed', message: 'must not be empty' }],
    ],
    [
      'missed call without time',
      { ...valid, type: 'missed_calls', missed: [{ callId: 'a', from: { number: '1' } }] },
      [{ path: 'missed[0].at', message: 'is required' }],
    ],
    [
      'message without content',
      { ...valid, type: 'message', call: undefined },
      [{ path: 'message', message: 'is required for message' }],
    ],
    [
      'custom without its type',
      { ...valid, type: 'custom' },
      [{ path: 'customType', message: 'is required for custom' }],
    ],
    [
      'title too long',
      { ...valid, message: { title: 'x'.repeat(1025) } },
      [{ path: 'message.title', message: 'must be at most 1024 characters' }],
    ],
  ];

  it.each(cases)('rejects %s with its exact issue', (_name, input, expected, options) => {
    expect(issuesOf(input, options)).toEqual(expected);
  });

  it('takes a list of binding ids to push, and refuses anything else there', () => {
    const n = parseCallNotification(
      { ...valid, type: 'register_refresh', call: undefined, bindingIds: ['b-1'] },
      { now: NOW },
    );
    expect([n.type, n.bindingIds, n.priority]).toEqual(['register_refresh', ['b-1'], 'normal']);
    expect(issuesOf({ ...valid, bindingIds: [] })).toEqual([
      { path: 'bindingIds', message: 'must be a list of 1 to 100 binding ids' },
    ]);
    expect(issuesOf({ ...valid, bindingIds: ['ok', 7] })).toEqual([
      { path: 'bindingIds[1]', message: 'must be a string' },
    ]);
  });

  it('lists every problem at once, each with its path', () => {
    const issues = issuesOf({ type: 'incoming_call', recipient: 5, call: { from: { number: 3 } }, extra: 1 });
    expect(issues).toEqual([
      { path: 'extra', message: 'is not a known field' },
      { path: 'id', message: 'is required' },
      { path: 'tenant', message: 'is required' },
      { path: 'recipient', message: 'must be a string' },
      { path: 'call.id', message: 'is required' },
      { path: 'call.from.number', message: 'must be a string' },
    ]);
  });

  it('puts the issues in the error message', () => {
    expect(() => parseCallNotification({ ...valid, id: 1 }, { now: NOW })).toThrow(
      'invalid notification: id: must be a string',
    );
  });

  it('never throws anything but a ValidationError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseCallNotification(value, { now: NOW });
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
          if (error.issues.length === 0) throw new Error('a ValidationError without issues');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but a ValidationError when fields of a valid notification are replaced', () => {
    const keys = Object.keys(valid).concat(['deadline', 'missed', 'message', 'vendor']);
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.jsonValue(), (key, value) => {
        try {
          parseCallNotification({ ...valid, [key]: value }, { now: NOW });
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
        }
      }),
      { numRuns: 500 },
    );
  });
});
