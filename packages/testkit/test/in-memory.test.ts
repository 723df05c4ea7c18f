import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryBindingStore, InMemoryMissedCallStore, InMemoryQueue, InMemoryReportStore } from '@pushrelay/core';
import {
  describeBindingStoreConformance,
  describeMissedCallStoreConformance,
  describeQueueConformance,
  describeReportStoreConformance,
} from '../src/index.js';

const t = { describe, it, expect, beforeAll, afterAll };

describeBindingStoreConformance(t, {
  name: 'in-memory',
  create: ({ clock }) => new InMemoryBindingStore({ clock }),
});
describeReportStoreConformance(t, { name: 'in-memory', create: () => new InMemoryReportStore() });
describeMissedCallStoreConformance(t, {
  name: 'in-memory',
  create: ({ clock }) => new InMemoryMissedCallStore({ clock }),
});
describeQueueConformance(t, {
  name: 'in-memory',
  create: ({ clock, concurrency, failureRetryMs }) => new InMemoryQueue({ clock, concurrency, failureRetryMs }),
});
describeQueueConformance(t, {
  name: 'in-memory on the system clock',
  usesInjectedClock: false,
  create: ({ concurrency, failureRetryMs }) => new InMemoryQueue({ concurrency, failureRetryMs }),
});
