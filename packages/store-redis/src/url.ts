// The URL checks alone: they import nothing at run time, so a configuration can be validated
// without loading ioredis.
export { redisOptionsFromUrl, redisUrlProblem } from './internal/url.js';
