// Queued network and API faults for the simulator: tests say "the next runliveresponse resets the connection"
// or "the next 3 GETs of machine actions answer 500" and the simulator misbehaves exactly that way.

export type FaultEffect =
  /** Answer with this status instead of the real response (body defaults to a Defender error body). */
  | {
      kind: 'status';
      status: number;
      body?: unknown;
      retryAfterSeconds?: number;
      headers?: Record<string, string>;
    }
  /** Destroy the socket without answering (ECONNRESET on the client). */
  | { kind: 'reset' }
  /** Never answer (`delayMs` omitted) or handle the request normally after `delayMs` real milliseconds. */
  | { kind: 'hang'; delayMs?: number }
  /** Perform the real operation (e.g. create the action), then destroy the socket instead of answering. */
  | { kind: 'loseResponse' };

export type FaultSpec = FaultEffect & {
  /** HTTP method to match; default any. */
  method?: string;
  /** Matched against the request path (no query string); a string is a regular expression source. */
  path: RegExp | string;
  /** How many matching requests it affects; default 1. */
  times?: number | 'always';
};

export interface ActiveFault {
  id: string;
  spec: FaultSpec;
  remaining: number;
}

export interface FaultInjector {
  add(spec: FaultSpec): string;
  /** The first queued fault matching the request, consuming one of its uses. */
  take(method: string, path: string): FaultEffect | undefined;
  list(): ActiveFault[];
  clear(): void;
}

export function createFaultInjector(): FaultInjector {
  let faults: { id: string; spec: FaultSpec; pattern: RegExp; remaining: number }[] = [];
  let nextId = 1;

  return {
    add(spec) {
      // A global/sticky RegExp keeps state between test() calls, so its flags are dropped.
      const pattern =
        typeof spec.path === 'string'
          ? new RegExp(spec.path, 'i')
          : new RegExp(spec.path.source, spec.path.flags.replace(/[gy]/g, ''));
      const times = spec.times ?? 1;
      const remaining = times === 'always' ? Number.POSITIVE_INFINITY : times;
      if (!(remaining > 0)) throw new RangeError('a fault needs times >= 1 or "always"');
      const id = `fault-${nextId++}`;
      faults.push({ id, spec, pattern, remaining });
      return id;
    },
    take(method, path) {
      const fault = faults.find(
        (f) =>
          (!f.spec.method || f.spec.method.toUpperCase() === method.toUpperCase()) && f.pattern.test(path),
      );
      if (!fault) return undefined;
      fault.remaining--;
      if (fault.remaining <= 0) faults = faults.filter((f) => f !== fault);
      return fault.spec;
    },
    list: () => faults.map(({ id, spec, remaining }) => ({ id, spec, remaining })),
    clear() {
      faults = [];
    },
  };
}
