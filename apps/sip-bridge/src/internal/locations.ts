import type { BindingOrigin, Provider } from '@pushrelay/core';
import type { Endpoint } from '@pushrelay/sip';

/** One registered device of a user (one Contact), keyed so that a woken phone finds its record again. */
export interface Device {
  /** `instance:<urn>`, `label:<label>`, `pn:<provider>:<param>:<prid>`, `mpush:<provider>:<token>` or `uri:<contact>`. */
  key: string;
  user: string;
  /** The Contact URI without pn-* parameters: where INVITEs are addressed. */
  target: string;
  /** Host and port of the Contact URI, so in-dialog requests sent to it take the device's flow. */
  targetHost: string;
  targetPort: number;
  /** Contact value as registered (for the 200 OK). */
  contact: string;
  /** Transport and remote address the last REGISTER came from: where INVITEs are sent. */
  flow: Endpoint;
  /** When the SIP registration lapses (epoch ms). A push device stays pushable after it. */
  expiresAt: number;
  push?: { bindingId: string; provider: Provider; origin: BindingOrigin };
  instance?: string;
  updatedAt: number;
  /**
   * Set here, never replicated: a TCP/TLS device that registered at another bridge process from
   * behind NAT. Its connection belongs to that process and its Contact is a private address, so no
   * connection from this process reaches it; the record is kept for routing in-dialog requests
   * and for its push binding, but this process does not send it INVITEs.
   */
  unreachableHere?: true;
}

/** Devices per user, in memory. Push devices are kept until unregistered or replaced. */
export class LocationService {
  private readonly byUser = new Map<string, Map<string, Device>>();
  // Kept up to date by every change rather than counted on demand: replication reads it after each
  // peer event, and a scan of every user's devices each time would grow with the whole table.
  private pushCount = 0;
  // Devices by `host:port` of their Contact and of their flow, for findByAddress: every in-dialog
  // request asks, and a scan of the whole table would grow with it.
  private readonly byTarget = new Map<string, Set<Device>>();
  private readonly byFlow = new Map<string, Set<Device>>();

  /** The user's devices; first drops those whose registration lapsed (push devices stay). */
  devices(user: string, now: number): Device[] {
    const devices = this.byUser.get(user);
    if (!devices) return [];
    for (const [key, device] of devices)
      if (!device.push && device.expiresAt <= now) {
        devices.delete(key);
        this.unindex(device);
      }
    if (devices.size === 0) this.byUser.delete(user);
    return [...devices.values()];
  }

  get(user: string, key: string): Device | undefined {
    return this.byUser.get(user)?.get(key);
  }

  put(device: Device): void {
    let devices = this.byUser.get(device.user);
    if (!devices) this.byUser.set(device.user, (devices = new Map()));
    const previous = devices.get(device.key);
    if (previous) this.unindex(previous);
    if (previous?.push) this.pushCount--;
    if (device.push) this.pushCount++;
    devices.set(device.key, device);
    this.index(device);
  }

  remove(user: string, key: string): Device | undefined {
    const devices = this.byUser.get(user);
    const device = devices?.get(key);
    if (device) {
      devices!.delete(key);
      this.unindex(device);
      if (device.push) this.pushCount--;
      if (devices!.size === 0) this.byUser.delete(user);
    }
    return device;
  }

  removeAll(user: string): Device[] {
    const devices = [...(this.byUser.get(user)?.values() ?? [])];
    this.byUser.delete(user);
    for (const device of devices) {
      if (device.push) this.pushCount--;
      this.unindex(device);
    }
    return devices;
  }

  /** A device whose Contact URI or flow is this address, for routing in-dialog requests. */
  findByAddress(host: string, port: number): Device | undefined {
    const key = addressKey(host, port);
    return first(this.byTarget.get(key)) ?? first(this.byFlow.get(key));
  }

  private index(device: Device): void {
    add(this.byTarget, addressKey(device.targetHost, device.targetPort), device);
    add(this.byFlow, addressKey(device.flow.address, device.flow.port), device);
  }

  private unindex(device: Device): void {
    drop(this.byTarget, addressKey(device.targetHost, device.targetPort), device);
    drop(this.byFlow, addressKey(device.flow.address, device.flow.port), device);
  }

  get pushDeviceCount(): number {
    return this.pushCount;
  }
}

function addressKey(host: string, port: number): string {
  return `${host}\n${port}`;
}

function add(index: Map<string, Set<Device>>, key: string, device: Device): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(device);
}

function drop(index: Map<string, Set<Device>>, key: string, device: Device): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(device);
  if (set.size === 0) index.delete(key);
}

function first(set: Set<Device> | undefined): Device | undefined {
  if (!set) return undefined;
  for (const device of set) return device;
  return undefined;
}
