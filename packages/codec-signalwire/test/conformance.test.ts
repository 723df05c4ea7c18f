import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeCodecConformance } from '@pushrelay/testkit';
import { createSignalWireCodec } from '../src/index.js';

// The IV of SignalWire's own example push, so the golden ciphertexts are fixed.
const randomBytes = () => Buffer.from('+ojw3NtIgHkHAoD5', 'base64');
const fixturesDir = fileURLToPath(new URL('../fixtures', import.meta.url));

describeCodecConformance({ describe, it, expect }, { codec: createSignalWireCodec({ randomBytes }), fixturesDir });
describeCodecConformance(
  { describe, it, expect },
  {
    codec: createSignalWireCodec({ randomBytes, fcmNotification: 'title-and-body' }),
    fixturesDir: `${fixturesDir}/title-and-body`,
  },
);
