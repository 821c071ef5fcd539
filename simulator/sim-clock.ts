// The simulator's compressed clock: simulated time runs `speed` times faster than real time and tests can jump it.

export interface SimClock {
  /** Simulated epoch milliseconds. */
  now(): number;
  /** Jump simulated time forward (tests use this instead of sleeping). */
  advance(simMs: number): void;
  /** Change the compression factor from now on; simulated time stays continuous. */
  setSpeed(speed: number): void;
  speed(): number;
  /** How long a simulated span takes in real time (for Retry-After headers, which clients honour in real time). */
  toRealMs(simMs: number): number;
}

export interface SimClockOptions {
  /** Simulated ms per real ms. Default 1. */
  speed?: number;
  /** Simulated time at start (epoch ms). Default: the real time at start, so timestamps look current. */
  start?: number;
  /** Real clock, injectable for tests. Default `Date.now`. */
  realNow?: () => number;
}

export function createSimClock(options: SimClockOptions = {}): SimClock {
  const realNow = options.realNow ?? Date.now;
  let speed = checkSpeed(options.speed ?? 1);
  // Simulated time is `simBase + (real - realBase) * speed`; rebasing on every change keeps it continuous.
  let realBase = realNow();
  let simBase = options.start ?? realBase;

  const now = (): number => Math.floor(simBase + (realNow() - realBase) * speed);

  return {
    now,
    advance(simMs) {
      if (!Number.isFinite(simMs) || simMs < 0)
        throw new RangeError('advance() needs a non-negative number of ms');
      simBase += simMs;
    },
    setSpeed(next) {
      const current = now();
      speed = checkSpeed(next);
      realBase = realNow();
      simBase = current;
    },
    speed: () => speed,
    toRealMs: (simMs) => simMs / speed,
  };
}

function checkSpeed(speed: number): number {
  if (!Number.isFinite(speed) || speed <= 0)
    throw new RangeError(`speed must be a positive number, got ${speed}`);
  return speed;
}
