import { describe, expect, it } from 'vitest';
import { redisOptionsFromUrl, redisUrlProblem } from '../src/index.js';

describe('redisOptionsFromUrl', () => {
  it('reads host, port and database, and names the connection', () => {
    expect(redisOptionsFromUrl('redis://10.0.0.5:6380/3', 'pushrelay:gateway')).toEqual({
      host: '10.0.0.5',
      port: 6380,
      db: 3,
      connectionName: 'pushrelay:gateway',
    });
  });

  it('defaults to port 6379 and database 0', () => {
    expect(redisOptionsFromUrl('redis://cache.internal', 'x')).toEqual({
      host: 'cache.internal',
      port: 6379,
      db: 0,
      connectionName: 'x',
    });
  });

  it('decodes user and password, takes TLS from rediss:, and strips IPv6 brackets', () => {
    expect(redisOptionsFromUrl('rediss://relay:p%40ss%2Fword@[::1]:6390/1', 'x')).toEqual({
      host: '::1',
      port: 6390,
      db: 1,
      username: 'relay',
      password: 'p@ss/word',
      tls: {},
      connectionName: 'x',
    });
  });

  it('throws on what is not a URL, another scheme, a database that is not a number, or a broken %-escape', () => {
    expect(() => redisOptionsFromUrl('not a url', 'x')).toThrow(TypeError);
    expect(() => redisOptionsFromUrl('http://127.0.0.1:6379/0', 'x')).toThrow('must be a redis:// or rediss:// URL');
    expect(() => redisOptionsFromUrl('redis://127.0.0.1:6379/abc', 'x')).toThrow(
      'the database must be a number, not "abc"',
    );
    expect(() => redisOptionsFromUrl('redis://:pa%zzss@127.0.0.1:6379/0', 'x')).toThrow(
      'the password is not validly %-encoded',
    );
  });

  it('says what is wrong with a configured URL, or nothing', () => {
    expect(redisUrlProblem('redis://127.0.0.1:6379/0')).toBeUndefined();
    expect(redisUrlProblem('http://127.0.0.1:6379')).toBe('must be a redis:// or rediss:// URL');
    expect(redisUrlProblem('redis://127.0.0.1 :6379')).toBe('must be a redis:// or rediss:// URL');
    expect(redisUrlProblem('redis://127.0.0.1:6379/x')).toBe('the database must be a number, not "x"');
  });
});
