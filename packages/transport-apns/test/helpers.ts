import type { PushRequest } from '@pushrelay/core';
import type { ApnsSimulatorHandle } from '@pushrelay/simulators';
import { ApnsTransport, type ApnsTransportOptions } from '../src/index.js';

export function deviceToken(index: number): string {
  return index.toString(16).padStart(64, '0');
}

export function voipRequest(index: number, overrides: Partial<PushRequest> = {}): PushRequest {
  return {
    provider: 'apns',
    token: deviceToken(index),
    app: 'com.example.app',
    environment: 'production',
    pushType: 'voip',
    priority: 'high',
    expiresAt: null,
    payload: { aps: { alert: { title: 'Alice' } }, callId: `call-${index}` },
    ...overrides,
  };
}

/** A transport using the simulator's generated .p8 key for com.example.app in both environments. */
export function simTransport(sim: ApnsSimulatorHandle, options: Partial<ApnsTransportOptions> = {}): ApnsTransport {
  return new ApnsTransport({
    apps: [{ bundleId: 'com.example.app', credential: { type: 'token', ...sim.signingKey } }],
    address: sim.host,
    port: { production: sim.productionPort, sandbox: sim.sandboxPort },
    ca: sim.ca,
    ...options,
  });
}
