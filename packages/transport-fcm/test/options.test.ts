import { ValidationError } from '@pushrelay/core';
import { describe, expect, it } from 'vitest';
import { parseFcmTransportOptions } from '../src/index.js';

const issuesOf = (input: unknown) => {
  try {
    parseFcmTransportOptions(input, 'providers.fcm');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
};

describe('parseFcmTransportOptions', () => {
  it('returns a good section as typed options', () => {
    const section = {
      credentials: [{ serviceAccount: '{"project_id":"p"}' }, { serviceAccount: { project_id: 'q' }, projectId: 'q' }],
      baseUrl: 'https://127.0.0.1:9000',
      tokenUrl: 'https://127.0.0.1:9000/token',
      ca: 'CA',
      requestTimeoutMs: 2000,
      connections: 2,
      maxConcurrentStreams: 50,
      refreshMarginMs: 0,
    };
    expect(parseFcmTransportOptions(section)).toEqual(section);
    expect(Object.keys(parseFcmTransportOptions({ credentials: section.credentials }))).toEqual(['credentials']);
  });

  it('lists every problem of a bad section with its path', () => {
    expect(
      issuesOf({
        credentials: [{ projectId: 'p' }, { serviceAccount: 7 }, 'key.json'],
        baseUrl: 'not a url',
        connections: 0,
        requestTimeoutMs: -1,
      }),
    ).toEqual([
      { path: 'providers.fcm.credentials[0].serviceAccount', message: expect.stringContaining('is required') },
      { path: 'providers.fcm.credentials[1].serviceAccount', message: expect.stringContaining('key file JSON') },
      { path: 'providers.fcm.credentials[2]', message: 'must be an object' },
      { path: 'providers.fcm.requestTimeoutMs', message: 'must be a number > 0' },
      { path: 'providers.fcm.connections', message: 'must be an integer >= 1' },
      { path: 'providers.fcm.baseUrl', message: 'must be a URL' },
    ]);
  });

  it('refuses a section without credentials', () => {
    expect(issuesOf({})).toEqual([{ path: 'providers.fcm.credentials', message: 'must be a non-empty list' }]);
  });
});
