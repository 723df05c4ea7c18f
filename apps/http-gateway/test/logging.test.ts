import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers.js';

const lines: Record<string, unknown>[] = [];
const stream = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
    done();
  },
});
let s: Stack;
beforeAll(async () => {
  s = await startStack({ logger: { level: 'info', stream } });
});
afterAll(async () => {
  await s?.close();
});

it('logs request id, tenant, notification and call ids, and never keys, tokens or phone numbers', async () => {
  const token = 'secret-device-token-0123456789';
  await s.call('POST', '/v1/devices', {
    body: { userId: 'alice', provider: 'fcm', token, app: 'demo-project', pushKind: 'data', format: 'wazo' },
  });
  await s.call('POST', '/v1/notifications?wait=true', {
    headers: { 'x-request-id': 'req-42', 'idempotency-key': 'n-log-1' },
    body: {
      type: 'incoming_call',
      recipient: 'alice',
      call: { id: 'call-log-1', from: { number: '+15550199', displayName: 'Bob' } },
    },
  });
  const accepted = lines.find((l) => l.msg === 'notification accepted');
  expect(accepted).toMatchObject({ reqId: 'req-42', tenant: 'demo', notificationId: 'n-log-1', callId: 'call-log-1' });
  expect(lines.find((l) => l.msg === 'notification completed')).toMatchObject({
    tenant: 'demo',
    notificationId: 'n-log-1',
  });
  const all = JSON.stringify(lines);
  for (const secret of [s.apiKey, token, '+15550199']) expect(all).not.toContain(secret);
});
