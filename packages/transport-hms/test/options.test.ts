import { ValidationError } from '@pushrelay/core';
import { describe, expect, it } from 'vitest';
import { parseHmsTransportOptions } from '../src/index.js';

const issuesOf = (input: unknown) => {
  try {
    parseHmsTransportOptions(input, 'hms');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
};

describe('parseHmsTransportOptions', () => {
  it('returns a good section as typed options', () => {
    const section = {
      credentials: [
        { appId: '1', clientSecret: 's', projectId: 'p', api: 'v2' },
        { appId: '2', serviceAccount: { key_id: 'k', sub_account: 's', private_key: 'PEM' }, testMessage: true },
        { appId: '3', serviceAccount: '{"key_id":"k"}', clientId: 'c', clientSecret: 's' },
      ],
      baseUrl: 'https://127.0.0.1:1',
      tokenUrl: 'https://127.0.0.1:1/token',
      unprovenInvalidTokenLimit: 0,
      requestTimeoutMs: 100,
    };
    expect(parseHmsTransportOptions(section)).toEqual(section);
  });

  it('lists every problem of a bad section with its path', () => {
    expect(
      issuesOf({
        credentials: [{ appId: 1, clientSecret: 's' }, { appId: '2' }, { appId: '3', clientSecret: 's', api: 'v4' }],
        tokenUrl: 'nowhere',
        unprovenInvalidTokenLimit: 1.5,
      }).map((i) => i.path),
    ).toEqual([
      'hms.credentials[0].appId',
      'hms.credentials[1].clientSecret',
      'hms.credentials[2].api',
      'hms.tokenUrl',
      'hms.unprovenInvalidTokenLimit',
    ]);
  });
});
