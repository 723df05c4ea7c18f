export type { TestApi } from './runner.js';
export {
  describeCodecConformance,
  loadCodecFixtures,
  payloadLimit,
  pushRequestSize,
  PROVIDER_PAYLOAD_LIMITS,
} from './conformance/codec.js';
export type { CodecConformanceOptions, CodecFixture } from './conformance/codec.js';
