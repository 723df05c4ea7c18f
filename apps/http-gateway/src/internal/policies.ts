// The gateway's policies from its configuration: admission bounds, tenant rates, retention.
import {
  RetentionSweeper,
  type AdmissionOptions,
  type Clock,
  type MissedCallStore,
  type RateLimiter,
  type RelayOptions,
  type ReportStore,
} from '@pushrelay/core';
import type { FastifyBaseLogger } from 'fastify';
import type { AdmissionConfig, QueueConfig, RetentionConfig, TenantConfig } from './config.js';
import type { GatewayMetrics } from './metrics.js';

const DAY_MS = 24 * 3600 * 1000;

/** A missed call is kept as long as a delivery report. */
export function missedCallTtlMs(config: { retention: RetentionConfig }): number {
  return config.retention.reportsDays * DAY_MS;
}

/**
 * The relay's admission bounds from the gateway's `admission` section. A tenant's share is counted
 * by the process that admitted the sends, so it applies only while that process also runs them
 * (the in-memory queue), not on a queue shared by processes.
 */
export function relayAdmission(admission: AdmissionConfig, queue: QueueConfig): AdmissionOptions {
  return {
    maxPendingJobs: admission.maxPendingJobs,
    callReservePercent: admission.callReservePercent,
    maxTenantPercent: queue.engine === 'memory' ? admission.maxTenantPercent : 100,
    maxRssBytes: admission.maxRssMb * 1048576,
    retryAfterMs: admission.retryAfterSeconds * 1000,
  };
}

/** Each tenant's token bucket (its own `rateLimit` or the top-level one); none at 0 per second. */
export function tenantRates(tenants: readonly TenantConfig[], limiter: RateLimiter): RelayOptions['rateLimit'] {
  const limits = new Map(tenants.map((t) => [t.id, t.rateLimit]));
  return {
    limiter,
    limitFor: (tenant) => {
      const limit = limits.get(tenant);
      if (!limit || limit.notificationsPerSecond === 0) return undefined;
      return { perSecond: limit.notificationsPerSecond, burst: limit.burst };
    },
  };
}

/** The purge of reports and missed calls past `retention.reportsDays`, counted and logged. */
export function retentionSweeper(
  retention: RetentionConfig,
  deps: {
    reports: ReportStore;
    missedCalls: MissedCallStore;
    clock: Clock;
    metrics: GatewayMetrics;
    log: FastifyBaseLogger;
  },
): RetentionSweeper {
  const { metrics, log } = deps;
  return new RetentionSweeper({
    reports: deps.reports,
    missedCalls: deps.missedCalls,
    retentionMs: retention.reportsDays * DAY_MS,
    intervalMs: retention.sweepIntervalMs,
    batchSize: retention.batchSize,
    clock: deps.clock,
    onPurged: (purged) => {
      metrics.purged.inc({ what: 'reports' }, purged.reports);
      metrics.purged.inc({ what: 'missed_calls' }, purged.missedCalls);
      log.info(purged, 'retention: expired reports and missed calls deleted');
    },
    onError: (error, target) => log.warn({ err: error, target }, 'retention sweep failed; it runs again later'),
  });
}
