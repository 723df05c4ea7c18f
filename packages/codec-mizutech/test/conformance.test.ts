import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeCodecConformance } from '@pushrelay/testkit';
import { createMizutechCodec, mizutechCodec } from '../src/index.js';

describeCodecConformance(
  { describe, it, expect },
  {
    codec: mizutechCodec,
    fixturesDir: fileURLToPath(new URL('../fixtures', import.meta.url)),
  },
);

// The illustrative FCM message of the vendor notes carries nmsg alone.
describeCodecConformance(
  { describe, it, expect },
  {
    codec: createMizutechCodec({ fcmDataKeys: ['nmsg'], texts: { title: () => 'incoming call' } }),
    fixturesDir: fileURLToPath(new URL('../fixtures/fcm-nmsg-only', import.meta.url)),
  },
);
