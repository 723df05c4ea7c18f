// The README walkthrough through a client generated from the gateway's OpenAPI document:
//   npx openapi-typescript http://127.0.0.1:8080/openapi.json -o api.d.ts && npm install openapi-fetch
// Every path, body and answer below is checked against that document by tsc.
import createClient from 'openapi-fetch';
import type { paths } from './api.js';

export async function walkthrough(baseUrl: string, apiKey: string): Promise<string[]> {
  const api = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${apiKey}` } });

  const ios = await api.POST('/v1/devices', {
    body: {
      userId: 'alice',
      provider: 'apns',
      token: 'ab'.repeat(32),
      app: 'com.example.phone',
      environment: 'sandbox',
      pushKind: 'voip',
      format: 'wazo',
      params: { apns_call_topic: 'com.example.phone.voip' },
    },
  });
  if (!ios.data) throw new Error(`registration refused: ${ios.error?.error} ${ios.error?.message}`);
  await api.POST('/v1/devices', {
    body: {
      userId: 'alice',
      provider: 'fcm',
      token: 'android-token-1',
      app: 'demo-project',
      pushKind: 'data',
      format: 'wazo',
    },
  });

  const sent = await api.POST('/v1/notifications', {
    params: { header: { 'idempotency-key': 'call-0001' } },
    body: {
      type: 'incoming_call',
      recipient: 'alice',
      call: { id: '1560784195.313', from: { number: '8001', displayName: 'Bob' } },
    },
  });
  if (sent.error) throw new Error(`notification refused: ${sent.error.details.map((d) => d.path).join(', ')}`);

  const waited = await api.POST('/v1/notifications', {
    params: { query: { wait: 'true' } },
    body: { type: 'message', recipient: 'alice', message: { title: 'Voicemail', body: 'from Bob' } },
  });
  const report = await api.GET('/v1/notifications/{id}', { params: { path: { id: sent.data.id } } });
  const devices = await api.GET('/v1/devices', { params: { query: { userId: 'alice' } } });
  await api.DELETE('/v1/devices/{id}', { params: { path: { id: ios.data.id } } });

  return [
    sent.data.id,
    report.data?.status ?? 'no report',
    ...(waited.data && 'report' in waited.data ? waited.data.report.devices.map((d) => d.status) : []),
    `${devices.data?.devices.length ?? 0} devices`,
  ];
}
