import { describe, expect, it } from 'vitest';
import { ConfigError, createTransports } from '../src/index.js';

describe('createTransports', () => {
  it('turns every problem a transport finds in its section into one ConfigError with the config path', () => {
    let caught: unknown;
    try {
      createTransports(
        {
          fcm: { credentials: [{ projectId: 'p' }], connections: 0 },
          webpush: { vapid: [] },
        },
        { path: (provider) => `providers.${provider}`, source: 'test config' },
      );
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

  it('still names the field of what only building the transport can find (a key that does not parse)', () => {
    let caught: unknown;
    try {
      createTransports(
        { fcm: { credentials: [{ serviceAccount: '{"project_id":"p"}' }] } },
        { path: (provider) => provider },
      );
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).issues[0]?.path).toMatch(/^fcm\.credentials\[0\]/);
  });
});
