import { describe, expect, it } from 'vitest';
import { webCallPayload, webPushRequest, type CallNotification } from '../src/index.js';

const call: CallNotification = {
  id: 'n-1',
  type: 'incoming_call',
  tenant: 't',
  recipient: 'carol',
  call: { id: 'c-9', from: { number: '8001', displayName: 'Bob' }, video: true, startedAt: '2026-01-01T00:00:00.000Z' },
  createdAt: '2026-01-01T00:00:00.000Z',
  deadline: '2026-01-01T00:00:30.000Z',
  priority: 'high',
};
const binding = {
  token: '{"endpoint":"https://p.example/x"}',
  app: 'web.example.com',
  environment: 'production' as const,
};

describe('the generic web call payload', () => {
  it('says what to show and what happened, with the vendor data beside it', () => {
    expect(webPushRequest(call, binding, { ...webCallPayload(call, { vendor: { acme: { room: 1 } } }) })).toEqual({
      provider: 'webpush',
      token: binding.token,
      app: 'web.example.com',
      environment: 'production',
      pushType: 'alert',
      priority: 'high',
      expiresAt: Date.parse('2026-01-01T00:00:30.000Z'),
      collapseId: 'call:c-9',
      payload: {
        pushrelay: 1,
        type: 'incoming_call',
        id: 'n-1',
        title: 'Incoming video call',
        body: 'Bob (8001)',
        tag: 'call:c-9',
        call: call.call,
        deadline: '2026-01-01T00:00:30.000Z',
        vendor: { acme: { room: 1 } },
      },
    });
  });

  it('a cancel has the tag of the call it ends; missed calls say how many', () => {
    const cancel = webCallPayload({ ...call, id: 'n-2', type: 'call_cancelled' });
    expect([cancel.title, cancel.body, cancel.tag]).toEqual(['Call ended', 'Bob (8001)', 'call:c-9']);
    const { call: _call, ...rest } = call;
    const missed = webCallPayload({
      ...rest,
      id: 'n-3',
      type: 'missed_calls',
      priority: 'normal',
      missed: [
        { callId: 'a', from: { uri: 'sip:x@example.com' }, at: '2026-01-01T00:00:00.000Z' },
        { callId: 'b', from: { displayName: 'Eve' }, at: '2026-01-01T00:01:00.000Z' },
      ],
    });
    expect([missed.title, missed.body, missed.tag]).toEqual([
      'Missed call',
      '2 missed calls, the last from Eve',
      'call:b',
    ]);
    const message = webCallPayload({ ...rest, id: 'n-4', type: 'message', message: { title: 'Hi', body: 'there' } });
    expect([message.title, message.body, message.tag]).toEqual(['Hi', 'there', 'notification:n-4']);
    expect(webPushRequest({ ...rest, id: 'n-4', type: 'message', priority: 'normal' }, binding, {}).priority).toBe(
      'normal',
    );
  });
});
