import type { Queue, Relay } from '@pushrelay/core';
import { createProcessRegistry } from '@pushrelay/app-kit';
import { Counter, Gauge, Histogram } from 'prom-client';

/** The gateway's Prometheus metrics, fed from the relay's events. One registry per gateway. */
export class GatewayMetrics {
  // Standard names (process_cpu_seconds_total, nodejs_eventloop_lag_seconds...), so stock Node.js
  // dashboards and alerts find them.
  readonly registry = createProcessRegistry({ processPrefix: '' });
  readonly notifications: Counter<'provider' | 'push_type' | 'result'>;
  readonly deviceOutcomes: Counter<'provider' | 'result'>;
  readonly accepted: Counter<'type'>;
  readonly suppressed: Counter<'reason'>;
  readonly providerLatency: Histogram<'provider'>;
  readonly endToEnd: Histogram<'provider'>;
  readonly invalidations: Counter<'provider'>;
  readonly retries: Counter<'provider'>;
  readonly webhookFailures: Counter<'vendor'>;
  readonly purged: Counter<'what'>;
  readonly skipped: Counter<'reason'>;
  readonly codecRejections: Counter<'codec' | 'stage'>;
  readonly overloadRejections: Counter<'reason'>;
  readonly rateLimited: Counter<'tenant'>;
  readonly presenceFailures: Counter<'operation'>;
  readonly sockets: Gauge;

  constructor(queue: Queue, socketCount: () => number) {
    const registers = [this.registry];
    this.notifications = new Counter({
      name: 'pushrelay_notifications_total',
      help: 'Push attempts (each send to a provider, retries included) by provider, push type and outcome',
      labelNames: ['provider', 'push_type', 'result'],
      registers,
    });
    this.deviceOutcomes = new Counter({
      name: 'pushrelay_device_outcomes_total',
      help: 'Final outcome of each device of a notification (delivered, invalid-token, rejected, auth-failed, expired, skipped), once per device',
      labelNames: ['provider', 'result'],
      registers,
    });
    this.accepted = new Counter({
      name: 'pushrelay_accepted_total',
      help: 'Notifications accepted',
      labelNames: ['type'],
      registers,
    });
    this.suppressed = new Counter({
      name: 'pushrelay_suppressed_total',
      help: 'Notifications not pushed (user online, no devices)',
      labelNames: ['reason'],
      registers,
    });
    const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    this.providerLatency = new Histogram({
      name: 'pushrelay_provider_request_duration_seconds',
      help: 'Time from send to the provider answer',
      labelNames: ['provider'],
      buckets,
      registers,
    });
    this.endToEnd = new Histogram({
      name: 'pushrelay_end_to_end_latency_seconds',
      help: 'Time from notification creation to the provider accepting the push',
      labelNames: ['provider'],
      buckets,
      registers,
    });
    this.invalidations = new Counter({
      name: 'pushrelay_token_invalidations_total',
      help: 'Bindings removed because the provider said the token is dead',
      labelNames: ['provider'],
      registers,
    });
    this.retries = new Counter({
      name: 'pushrelay_retries_total',
      help: 'Retries scheduled',
      labelNames: ['provider'],
      registers,
    });
    this.webhookFailures = new Counter({
      name: 'pushrelay_webhook_verify_failures_total',
      help: 'Webhooks refused: bad signature, stale or replayed',
      labelNames: ['vendor'],
      registers,
    });
    this.skipped = new Counter({
      name: 'pushrelay_devices_skipped_total',
      help: 'Devices that got no push: no-codec / no-transport (a configuration mistake), device-removed, not-pushed',
      labelNames: ['reason'],
      registers,
    });
    this.codecRejections = new Counter({
      name: 'pushrelay_codec_rejections_total',
      help: 'Vendor input a codec refused to decode, and notifications it refused to encode for a device',
      labelNames: ['codec', 'stage'],
      registers,
    });
    this.overloadRejections = new Counter({
      name: 'pushrelay_overload_rejections_total',
      help: 'Notifications refused with 503 overloaded, by the bound reached (pending-jobs, memory)',
      labelNames: ['reason'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'pushrelay_rate_limited_total',
      help: 'Notifications refused with 429 rate_limited, by tenant',
      labelNames: ['tenant'],
      registers,
    });
    this.presenceFailures = new Counter({
      name: 'pushrelay_presence_failures_total',
      help: 'Redis failures of the presence shared by the processes, by operation (lookup, announce, refresh, publish, subscribe)',
      labelNames: ['operation'],
      registers,
    });
    this.purged = new Counter({
      name: 'pushrelay_retention_purged_total',
      help: 'Delivery reports and missed calls deleted after their retention',
      labelNames: ['what'],
      registers,
    });
    new Gauge({
      name: 'pushrelay_queue_depth',
      help: 'Jobs waiting, delayed or running',
      registers,
      async collect() {
        // While the queue cannot be reached the gauge keeps its last value rather than failing
        // the whole scrape, whose other metrics matter most then.
        const size = await queue.size().catch(() => undefined);
        if (size !== undefined) this.set(size);
      },
    });
    this.sockets = new Gauge({
      name: 'pushrelay_websocket_connections',
      help: 'Open app connections',
      registers,
      collect() {
        this.set(socketCount());
      },
    });
  }

  observe(relay: Relay): void {
    relay.events.on('accepted', ({ notification }) => this.accepted.inc({ type: notification.type }));
    relay.events.on('suppressed', ({ reason }) => this.suppressed.inc({ reason }));
    relay.events.on('attempt', ({ request, outcome, latencyMs, notification }) => {
      this.notifications.inc({ provider: request.provider, push_type: request.pushType, result: outcome.kind });
      this.providerLatency.observe({ provider: request.provider }, latencyMs / 1000);
      if (outcome.kind === 'delivered') {
        const e2e = Date.now() - Date.parse(notification.createdAt);
        if (e2e >= 0) this.endToEnd.observe({ provider: request.provider }, e2e / 1000);
      }
    });
    relay.events.on('binding-removed', ({ binding }) => this.invalidations.inc({ provider: binding.provider }));
    relay.events.on('retry-scheduled', ({ binding }) => this.retries.inc({ provider: binding.provider }));
    relay.events.on('skipped', ({ reason }) => this.skipped.inc({ reason }));
    // A report completes once, when its last device reaches a final status: each device counts once,
    // however many attempts it took.
    relay.events.on('completed', ({ report }) => {
      for (const device of report.devices)
        this.deviceOutcomes.inc({ provider: device.provider, result: device.status });
    });
    relay.events.on('rejected', ({ codec }) => {
      if (codec) this.codecRejections.inc({ codec, stage: 'encode' });
    });
  }
}
