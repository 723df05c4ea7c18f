// Relays one incoming call through core to an in-memory transport and prints the report.
import {
  InMemoryBindingStore,
  InMemoryQueue,
  InMemoryReportStore,
  Relay,
  parseCallNotification,
} from '@pushrelay/core';

const phone = {
  provider: 'apns',
  sent: [],
  async send(request) {
    this.sent.push(request);
    return { kind: 'delivered', providerId: `sim-${this.sent.length}` };
  },
  async close() {},
};

const codec = {
  id: 'example',
  capabilities: { decode: false, providers: ['apns'] },
  encode: (n, b) => ({
    provider: b.provider,
    token: b.token,
    app: b.app,
    environment: b.environment,
    pushType: 'voip',
    priority: 'high',
    expiresAt: Date.parse(n.deadline),
    collapseId: n.call?.id,
    payload: { aps: { alert: { title: 'Incoming call', body: n.call?.from.displayName ?? 'Unknown' } } },
  }),
};

const bindings = new InMemoryBindingStore();
const relay = new Relay({
  bindings,
  reports: new InMemoryReportStore(),
  queue: new InMemoryQueue(),
  codecs: [codec],
  transports: { apns: phone },
});
relay.start();

await bindings.upsert({
  tenant: 'demo',
  userId: 'alice',
  provider: 'apns',
  token: 'ab'.repeat(32),
  app: 'com.example.phone',
  environment: 'sandbox',
  pushKind: 'voip',
  format: 'example',
  origin: 'api',
});
const notification = parseCallNotification(
  {
    id: 'call-1',
    type: 'incoming_call',
    tenant: 'demo',
    recipient: 'alice',
    call: { id: 'c-1', from: { number: '+15550100', displayName: 'Bob' } },
  },
  { now: Date.now() },
);
await relay.notify(notification);
const report = await relay.waitForCompletion('demo', 'call-1', { timeoutMs: 5000, pollMs: 20 });
console.log('the phone received:', JSON.stringify(phone.sent, null, 2));
console.log('delivery report:', JSON.stringify(report, null, 2));
await relay.close();
