/**
 * The parts of a test runner the conformance suites use. Pass vitest's (or jest's, or
 * node:test's through a shim) own functions, so suites run inside the caller's test files.
 */
export interface TestApi {
  describe: (name: string, body: () => void) => void;
  it: (name: string, body: () => unknown | Promise<unknown>, timeoutMs?: number) => void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  expect: (actual: unknown, message?: string) => any;
  beforeAll?: (body: () => unknown | Promise<unknown>, timeoutMs?: number) => void;
  afterAll?: (body: () => unknown | Promise<unknown>, timeoutMs?: number) => void;
  beforeEach?: (body: () => unknown | Promise<unknown>) => void;
  afterEach?: (body: () => unknown | Promise<unknown>) => void;
}
