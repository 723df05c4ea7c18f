import { InMemoryQueue, type DeliveryJob, type JobHandler, type Queue } from '@pushrelay/core';

/** An in-memory queue that a test changes by overriding `schedule` or `process`. */
export class QueueDouble implements Queue {
  readonly inner = new InMemoryQueue();
  schedule(job: DeliveryJob): Promise<boolean> {
    return this.inner.schedule(job);
  }
  process(handler: JobHandler): void {
    this.inner.process(handler);
  }
  size(): Promise<number> {
    return this.inner.size();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
