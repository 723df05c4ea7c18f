import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeCodecConformance } from '@pushrelay/testkit';
import { ecssCodec } from '../src/index.js';

describeCodecConformance(
  { describe, it, expect },
  {
    codec: ecssCodec,
    fixturesDir: fileURLToPath(new URL('../fixtures', import.meta.url)),
  },
);
