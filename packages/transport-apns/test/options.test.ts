import { ValidationError } from '@pushrelay/core';
import { describe, expect, it } from 'vitest';
import { parseApnsTransportOptions } from '../src/index.js';

const issuesOf = (input: unknown) => {
  try {
    parseApnsTransportOptions(input, 'providers.apns');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
};

describe('parseApnsTransportOptions', () => {
  it('returns a good section as typed options, without keys it does not set', () => {
    const section = {
      apps: [
        { bundleId: 'com.example.a', credential: { type: 'token', key: 'PEM', keyId: 'K', teamId: 'T' } },
        {
          bundleId: 'com.example.b',
          production: { type: 'certificate', cert: 'CERT', key: 'KEY', passphrase: 'p' },
          sandbox: { type: 'pkcs12', pfx: 'PFX' },
        },
      ],
      address: { production: '127.0.0.1', sandbox: '::1' },
      port: 8443,
      ca: ['CA1', 'CA2'],
      poolSize: 2,
      requestTimeoutMs: 500,
      heartBeatMs: 0,
      maxResends: 0,
      maxStreamsPerConnection: 10,
    };
    expect(parseApnsTransportOptions(section, 'providers.apns')).toEqual(section);
    expect(Object.keys(parseApnsTransportOptions({ apps: section.apps }))).toEqual(['apps']);
  });

  it('lists every problem of a bad section with its path', () => {
    expect(
      issuesOf({
        apps: [
          { bundleId: '', credential: { type: 'token', key: 'PEM' } },
          { bundleId: 'com.example.b', production: { type: 'jwt' } },
          { bundleId: 'com.example.c' },
        ],
        port: { production: 70000, staging: 1 },
        poolSize: 0,
        requestTimeoutMs: 'soon',
      }).map((i) => i.path),
    ).toEqual([
      'providers.apns.apps[0].bundleId',
      'providers.apns.apps[0].credential.keyId',
      'providers.apns.apps[0].credential.teamId',
      'providers.apns.apps[1].production.type',
      'providers.apns.apps[2].credential',
      'providers.apns.port.staging',
      'providers.apns.port.production',
      'providers.apns.poolSize',
      'providers.apns.requestTimeoutMs',
    ]);
  });

  it('refuses a section that is not an object or has no apps', () => {
    expect(issuesOf('apns')).toEqual([{ path: 'providers.apns', message: 'must be an object' }]);
    expect(issuesOf({ apps: [] })).toEqual([{ path: 'providers.apns.apps', message: 'must be a non-empty list' }]);
  });
});
