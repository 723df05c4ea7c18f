import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeCodecConformance } from '@pushrelay/testkit';
import { kaleyraCodec } from '../src/index.js';

describeCodecConformance(
  { describe, it, expect },
  {
    codec: kaleyraCodec,
    fixturesDir: fileURLToPath(new URL('../fixtures', import.meta.url)),
  },
);
