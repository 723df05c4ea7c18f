import type { FaultSpec } from '@pushrelay/testkit';

export type { FaultAction, FaultSpec } from '@pushrelay/testkit';

export interface ActiveFault {
  id: number;
  spec: FaultSpec;
  seen: number;
  hits: number;
}

export interface FaultRequestInfo {
  path: string;
  token?: string;
  /** Streams this request's connection has carried, this one included. */
  sessionStreams: number;
}

const KINDS = new Set(['status', 'goaway', 'reset', 'stream-reset', 'hang', 'slow']);

/** Checks a fault spec from untrusted input (HTTP); returns the problems found. */
export function faultSpecProblems(spec: unknown): string[] {
  if (typeof spec !== 'object' || spec === null) return ['fault must be an object'];
  const s = spec as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof s.kind !== 'string' || !KINDS.has(s.kind)) problems.push(`kind: must be one of ${[...KINDS].join(', ')}`);
  if (s.kind === 'status' && (typeof s.status !== 'number' || s.status < 100 || s.status > 599)) {
    problems.push('status: must be an HTTP status number');
  }
  if (s.kind === 'slow' && (typeof s.delayMs !== 'number' || s.delayMs < 0))
    problems.push('delayMs: must be a number >= 0');
  if (
    s.kind === 'stream-reset' &&
    s.code !== undefined &&
    (typeof s.code !== 'number' || !Number.isInteger(s.code) || s.code < 0 || s.code > 0xd)
  ) {
    problems.push('code: must be an HTTP/2 error code (0-13)');
  }
  if (s.count !== undefined && s.count !== null && (typeof s.count !== 'number' || s.count < 1)) {
    problems.push('count: must be a number >= 1 or null');
  }
  if (s.share !== undefined && (typeof s.share !== 'number' || s.share <= 0 || s.share > 1)) {
    problems.push('share: must be a number in (0, 1]');
  }
  if (s.afterStreams !== undefined && (typeof s.afterStreams !== 'number' || s.afterStreams < 1)) {
    problems.push('afterStreams: must be a number >= 1');
  }
  return problems;
}

export class FaultScript {
  private faults: ActiveFault[] = [];
  private nextId = 1;

  add(spec: FaultSpec): number {
    const id = this.nextId++;
    const count = spec.count === null ? Infinity : spec.count;
    this.faults.push({ id, spec: { ...spec, count: count ?? 1 }, seen: 0, hits: 0 });
    return id;
  }

  remove(id: number): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length !== before;
  }

  clear(): void {
    this.faults = [];
  }

  list(): ActiveFault[] {
    return this.faults.map((f) => ({ ...f, spec: { ...f.spec } }));
  }

  /** The fault that takes this request, if any; counts it. First added wins. */
  take(request: FaultRequestInfo): FaultSpec | undefined {
    for (const fault of this.faults) {
      const { spec } = fault;
      if (spec.token !== undefined && spec.token !== request.token) continue;
      if (spec.pathPrefix !== undefined && !request.path.startsWith(spec.pathPrefix)) continue;
      if (spec.kind === 'goaway' && request.sessionStreams < (spec.afterStreams ?? 1)) continue;
      const n = fault.seen++;
      if (spec.share !== undefined && Math.floor((n + 1) * spec.share) === Math.floor(n * spec.share)) continue;
      fault.hits++;
      if (fault.hits >= (spec.count ?? 1)) this.remove(fault.id);
      return spec;
    }
    return undefined;
  }
}
