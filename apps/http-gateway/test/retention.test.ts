import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@pushrelay/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createGateway, parseConfig, sha256Hex } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pushrelay-retention-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const HOUR = 3600_000;
const DAY = 24 * HOUR;

describe('retention in the gateway', () => {
  it('deletes reports after retention.reportsDays on its own, and keeps fresh ones', async () => {
    const clock = new ManualClock('2024-03-01T00:00:00.000Z');
    const config = parseConfig(
      {
        tenants: [{ id: 't', apiKeySha256: [sha256Hex('k')] }],
        store: { engine: 'sqlite', path: join(dir, 'r.db') },
        retention: { reportsDays: 2, sweepIntervalMs: HOUR },
        logLevel: 'silent',
      },
      { env: {} },
    );
    const gateway = await createGateway(config, { clock, logger: false });
    const post = (id: string) =>
      gateway.app.inject({
        method: 'POST',
        url: '/v1/notifications',
        headers: { authorization: 'Bearer k', 'idempotency-key': id },
        payload: { type: 'message', recipient: 'nobody', message: { title: 'hi' } },
      });
    const status = async (id: string) =>
      (await gateway.app.inject({ url: `/v1/notifications/${id}`, headers: { authorization: 'Bearer k' } })).statusCode;
    try {
      expect((await post('old')).statusCode).toBe(202);
      await clock.advance(1.5 * DAY);
      expect((await post('fresh')).statusCode).toBe(202);
      expect([await status('old'), await status('fresh')]).toEqual([200, 200]);
      await clock.advance(1 * DAY);
      expect([await status('old'), await status('fresh')]).toEqual([404, 200]);
      const metrics = (await gateway.app.inject({ url: '/metrics' })).body;
      expect(metrics).toContain('pushrelay_retention_purged_total{what="reports"} 1');
      await clock.advance(1 * DAY + HOUR);
      expect(await status('fresh')).toBe(404);
    } finally {
      await gateway.close();
    }
  });
});
