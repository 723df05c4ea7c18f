export { BullMQQueue } from './internal/queue.js';
export type { BullMQQueueOptions } from './internal/queue.js';
