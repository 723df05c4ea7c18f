export type { TestApi } from './runner.js';
export * from './simulators/base.js';
export * from './simulators/faults.js';
export * from './simulators/inspection.js';
export * from './simulators/tls.js';
