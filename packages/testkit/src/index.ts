export type { TestApi } from './runner.js';
