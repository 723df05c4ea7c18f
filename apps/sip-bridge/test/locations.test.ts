import { describe, expect, it } from 'vitest';
import type { Device } from '../src/index.js';
import { LocationService } from '../src/internal/locations.js';

function device(user: string, key: string, expiresAt: number, push: boolean): Device {
  return {
    key,
    user,
    target: `sip:${user}@127.0.0.1:5070`,
    targetHost: '127.0.0.1',
    targetPort: 5070,
    contact: `<sip:${user}@127.0.0.1:5070>`,
    flow: { transport: 'udp', address: '127.0.0.1', port: 5070 },
    expiresAt,
    updatedAt: 0,
    ...(push
      ? { push: { bindingId: `${user}-${key}`, provider: 'fcm' as const, origin: 'sip-rfc8599' as const } }
      : {}),
  };
}

describe('LocationService', () => {
  it('keeps the push device count through put, replace, remove, removeAll and pruning', () => {
    const locations = new LocationService();
    locations.put(device('alice', 'a', 100, true));
    locations.put(device('alice', 'b', 100, false));
    locations.put(device('bob', 'a', 100, true));
    expect(locations.pushDeviceCount).toBe(2);
    // Replacing a push device by a push device, then by a plain one, then back.
    locations.put(device('alice', 'a', 200, true));
    expect(locations.pushDeviceCount).toBe(2);
    locations.put(device('alice', 'a', 200, false));
    expect(locations.pushDeviceCount).toBe(1);
    locations.put(device('alice', 'b', 200, true));
    expect(locations.pushDeviceCount).toBe(2);
    expect(locations.remove('alice', 'b')?.key).toBe('b');
    expect(locations.remove('alice', 'b')).toBeUndefined();
    expect(locations.pushDeviceCount).toBe(1);
    locations.put(device('carol', 'x', 100, true));
    locations.put(device('carol', 'y', 100, true));
    locations.put(device('carol', 'z', 100, false));
    expect(locations.pushDeviceCount).toBe(3);
    expect(locations.removeAll('carol')).toHaveLength(3);
    expect(locations.pushDeviceCount).toBe(1);
    // Pruning drops lapsed plain devices only; push devices stay pushable.
    locations.put(device('dave', 'p', 100, true));
    locations.put(device('dave', 'q', 100, false));
    expect(locations.devices('dave', 150).map((d) => d.key)).toEqual(['p']);
    expect(locations.pushDeviceCount).toBe(2);
  });

  it('finds a device by its Contact or its flow address, and forgets it once replaced, removed or lapsed', () => {
    const locations = new LocationService();
    const natted = (user: string, key: string, flowPort: number, expiresAt = 100): Device => ({
      ...device(user, key, expiresAt, false),
      targetHost: '192.0.2.1',
      targetPort: 5060,
      flow: { transport: 'udp', address: '127.0.0.1', port: flowPort },
    });
    locations.put(natted('alice', 'a', 40001));
    locations.put(natted('bob', 'b', 40002));
    expect(locations.findByAddress('127.0.0.1', 40002)?.user).toBe('bob');
    // Both share the private Contact: the first registered answers for it.
    expect(locations.findByAddress('192.0.2.1', 5060)?.user).toBe('alice');
    expect(locations.findByAddress('127.0.0.1', 40003)).toBeUndefined();
    // alice comes back from another port: the old flow no longer finds her.
    locations.put(natted('alice', 'a', 40003));
    expect(locations.findByAddress('127.0.0.1', 40001)).toBeUndefined();
    expect(locations.findByAddress('127.0.0.1', 40003)?.user).toBe('alice');
    expect(locations.remove('bob', 'b')?.user).toBe('bob');
    expect(locations.findByAddress('127.0.0.1', 40002)).toBeUndefined();
    expect(locations.removeAll('alice')).toHaveLength(1);
    expect(locations.findByAddress('192.0.2.1', 5060)).toBeUndefined();
    locations.put(natted('carol', 'c', 40004, 100));
    expect(locations.devices('carol', 150)).toEqual([]);
    expect(locations.findByAddress('127.0.0.1', 40004)).toBeUndefined();
  });
});
