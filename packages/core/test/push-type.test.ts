import { describe, expect, expectTypeOf, it } from 'vitest';
import { PUSH_TYPES, type ApnsPushType, type PushType } from '../src/index.js';

describe('PushType', () => {
  it('is one of the three kinds every provider maps', () => {
    expect([...PUSH_TYPES]).toEqual(['voip', 'alert', 'background']);
    expectTypeOf<PushType>().toEqualTypeOf<'voip' | 'alert' | 'background'>();
  });

  it('is still exported under its deprecated former name, ApnsPushType', () => {
    expectTypeOf<ApnsPushType>().toEqualTypeOf<PushType>();
  });
});
