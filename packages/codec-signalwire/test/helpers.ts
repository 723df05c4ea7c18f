import { readFileSync } from 'node:fs';
import type { CallNotification, DeviceBinding } from '@pushrelay/core';
import type { CodecFixture } from '@pushrelay/testkit';

export const KEY = 'AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=';

export function fixture(name: string): CodecFixture {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as CodecFixture;
}

const seed = fixture('apns-voip-seed-example.json').encode!;

export function sampleNotification(): CallNotification {
  return structuredClone(seed.notification);
}

export function sampleBinding(overrides: Partial<DeviceBinding> = {}): DeviceBinding {
  return { ...structuredClone(seed.binding), ...overrides };
}
