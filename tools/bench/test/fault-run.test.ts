import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS, runFaultScenario } from '../src/fault-scenario.js';

describe('the fault run, small', () => {
  it('accounts for every accepted notification through provider faults and a simulator restart', async () => {
    const result = await runFaultScenario({
      ...DEFAULT_OPTIONS,
      mode: 'embedded',
      notifications: 400,
      usersPerTenant: 20,
      parallel: 16,
      // Deadlines long enough for every retry: with the bench's short ones, a push can still
      // reach the provider a few ms after its deadline when it was written on a connection made
      // just before it (the bench counts those; here they would make the test depend on timing).
      shortEvery: 0,
    });
    const c = result.counts;
    // The faults did happen: a run without them would prove nothing.
    expect(Object.keys(result.faultsInjected)).toEqual(
      expect.arrayContaining(['status 500', 'status 503', 'status 429', 'stream-reset']),
    );
    expect(result.events.some((e) => e.includes('listening again on the same ports'))).toBe(true);
    expect(c.accepted).toBeGreaterThan(0);
    expect({
      refused: c.refused,
      lost: c.lost,
      pending: c.pending,
      sentAfterDeadline: c.sentAfterDeadline,
      duplicatedPairs: c.duplicatedPairs,
      unexpected: c.unexpected,
      examples: c.examples.filter((e) => !/answered 400/.test(e)),
    }).toEqual({
      refused: 0,
      lost: 0,
      pending: 0,
      sentAfterDeadline: 0,
      duplicatedPairs: 0,
      unexpected: 0,
      examples: [],
    });
    expect(c.delivered + c.expired).toBe(c.accepted);
    expect(c.delivered).toBe(c.accepted);
  });
});
