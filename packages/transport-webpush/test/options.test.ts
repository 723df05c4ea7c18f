import { ValidationError } from '@pushrelay/core';
import { describe, expect, it } from 'vitest';
import { parseWebPushTransportOptions } from '../src/index.js';

const issuesOf = (input: unknown) => {
  try {
    parseWebPushTransportOptions(input, 'providers.webpush');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
};

describe('parseWebPushTransportOptions', () => {
  it('returns a good section as typed options', () => {
    const section = {
      vapid: [{ app: 'web', subject: 'mailto:ops@example.com', publicKey: 'PUB', privateKey: 'PRIV' }],
      allowInsecureEndpoints: true,
      vapidLifetimeS: 3600,
      connections: 1,
      requestTimeoutMs: 1000,
    };
    expect(parseWebPushTransportOptions(section)).toEqual(section);
  });

  it('lists every problem of a bad section with its path', () => {
    expect(
      issuesOf({
        vapid: [{ app: 'web', subject: 'ops@example.com', publicKey: 'PUB' }, null],
        allowInsecureEndpoints: 'yes',
        vapidLifetimeS: 0,
      }).map((i) => i.path),
    ).toEqual([
      'providers.webpush.vapid[0].subject',
      'providers.webpush.vapid[0].privateKey',
      'providers.webpush.vapid[1]',
      'providers.webpush.allowInsecureEndpoints',
      'providers.webpush.vapidLifetimeS',
    ]);
  });
});
