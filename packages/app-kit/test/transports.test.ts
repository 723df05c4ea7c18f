import { describe, expect, it } from 'vitest';
import { ConfigError, createTransports, loadTransports } from '../src/index.js';

describe('createTransports', () => {
  it('turns every problem a transport finds in its section into one ConfigError with the config path', async () => {
    const sections = { fcm: { credentials: [{ projectId: 'p' }], connections: 0 }, webpush: { vapid: [] } };
    const factories = await loadTransports(sections);
    let caught: unknown;
    try {
      createTransports(sections, { path: (provider) => `providers.${provider}`, factories, source: 'test config' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).issues.map((i) => i.path)).toEqual([
      'providers.fcm.credentials[0].serviceAccount',
      'providers.fcm.connections',
    ]);
    expect((caught as ConfigError).message).toContain('test config');
  });

  it('still names the field of what only building the transport can find (a key that does not parse)', async () => {
    const sections = { fcm: { credentials: [{ serviceAccount: '{"project_id":"p"}' }] } };
    const factories = await loadTransports(sections);
    let caught: unknown;
    try {
      createTransports(sections, { path: (provider) => provider, factories });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).issues[0]?.path).toMatch(/^fcm\.credentials\[0\]/);
  });

  it('imports only the transports that have options, and names a section whose transport was not loaded', async () => {
    const factories = await loadTransports({ apns: undefined, hms: { credentials: [] } });
    expect(Object.keys(factories)).toEqual(['hms']);
    expect(() =>
      createTransports({ fcm: { credentials: [] } }, { path: (provider) => `providers.${provider}`, factories }),
    ).toThrow(/providers\.fcm: its transport is imported asynchronously/);
  });
});
