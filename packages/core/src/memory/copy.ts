import type { DeliveryReport, DeviceBinding } from '../model.js';

// Hand-written copies of the two documents the in-memory stores hand out. They follow the
// model's shape (flat records, string maps, arrays of flat records), which lets them skip
// structuredClone's generic serialisation on the hot path of every notify and every send.

export function copyBinding(b: DeviceBinding): DeviceBinding {
  const copy = { ...b };
  if (b.secrets) copy.secrets = { ...b.secrets };
  if (b.params) copy.params = { ...b.params };
  return copy;
}

export function copyReport(r: DeliveryReport): DeliveryReport {
  const copy = { ...r, devices: new Array<DeliveryReport['devices'][number]>(r.devices.length) };
  for (let i = 0; i < r.devices.length; i++) {
    const d = r.devices[i]!;
    const attempts = new Array<(typeof d.attempts)[number]>(d.attempts.length);
    for (let j = 0; j < d.attempts.length; j++) {
      const a = d.attempts[j]!;
      attempts[j] = { ...a, outcome: { ...a.outcome } };
    }
    copy.devices[i] = { ...d, attempts };
  }
  return copy;
}
