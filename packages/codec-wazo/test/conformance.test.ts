import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeCodecConformance } from '@pushrelay/testkit';
import { createWazoCodec, wazoCodec } from '../src/index.js';

const fixturesDir = fileURLToPath(new URL('../fixtures', import.meta.url));
// Wazo's examples carry a microsecond timestamp no millisecond clock can produce; inject it.
const notificationTimestamp = () => '2024-08-06T12:00:00.123456+00:00';

describeCodecConformance({ describe, it, expect }, { codec: createWazoCodec({ notificationTimestamp }), fixturesDir });
describeCodecConformance({ describe, it, expect }, { codec: wazoCodec, fixturesDir: `${fixturesDir}/clock` });
