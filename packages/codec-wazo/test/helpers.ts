import { readFileSync } from 'node:fs';
import type { CallNotification, DeviceBinding } from '@pushrelay/core';
import type { CodecFixture } from '@pushrelay/testkit';

export function fixture(name: string): CodecFixture {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as CodecFixture;
}

export function callNotification(): CallNotification {
  return structuredClone(fixture('incoming-call-fcm-reference.json').encode!.notification);
}

export function binding(
  provider: 'apns' | 'fcm' | 'hms',
  pushKind: 'voip' | 'alert' | 'data',
  params?: Record<string, string>,
): DeviceBinding {
  const b: DeviceBinding = {
    id: `${provider}-${pushKind}`,
    tenant: 'tenant-1',
    userId: 'u-1',
    provider,
    token: 'TOKEN',
    app: 'org.wazo-platform',
    environment: 'production',
    pushKind,
    format: 'wazo',
    origin: 'api',
    createdAt: '2024-08-01T00:00:00.000Z',
    updatedAt: '2024-08-01T00:00:00.000Z',
  };
  if (params) b.params = params;
  return b;
}
