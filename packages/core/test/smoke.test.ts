import { describe, expect, it } from 'vitest';
import { parseCallNotification } from '../src/index.js';

describe('smoke', () => {
  it('parses', () => {
    expect(parseCallNotification({ id: 'a', type: 'message', tenant: 't', recipient: 'u', message: { body: 'x' } }, { now: 0 }).priority).toBe('normal');
  });
});
