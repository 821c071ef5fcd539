// Liveness and readiness, kept apart as orchestrators expect: live = the process answers (restart it if not);
// ready = it can do its work now (Redis answers, its workers run, Defender gives it a token) — take it out of the
// load balancer if not, but do not restart it: none of those is fixed by a restart.
import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';
import type { TokenProvider } from '../defender/token-provider.js';

export type CheckState = 'up' | 'down' | 'not-run-here';

export interface ReadinessReport {
  ready: boolean;
  checks: { redis: CheckState; workers: CheckState; defenderToken: CheckState };
}

export interface Readiness {
  redisReachable(): Promise<boolean>;
  check(): Promise<ReadinessReport>;
}

/** A token obtained this recently counts (MSAL caches tokens for about an hour; asking again is cheap). */
const TOKEN_FRESH_MS = 5 * 60_000;
/** After a failure, Entra is asked again at most this often, whatever the probe interval. */
const TOKEN_RETRY_MS = 30_000;
const PROBE_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

export function createReadiness(deps: {
  redis: Redis;
  clock: Clock;
  /** Whether this process's workers are running; absent when it runs none. */
  workersRunning?: () => boolean;
  /** Absent when this process never calls Defender itself. */
  tokens?: TokenProvider;
}): Readiness {
  let tokenOkAt = Number.NEGATIVE_INFINITY;
  let tokenFailedAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<void> | undefined;

  async function redisReachable(): Promise<boolean> {
    try {
      return (await withTimeout(deps.redis.ping(), PROBE_TIMEOUT_MS)) === 'PONG';
    } catch {
      return false;
    }
  }

  async function tokenState(): Promise<CheckState> {
    const tokens = deps.tokens;
    if (!tokens) return 'not-run-here';
    const now = deps.clock.now();
    if (now - tokenOkAt < TOKEN_FRESH_MS) return 'up';
    if (now - tokenFailedAt >= TOKEN_RETRY_MS) {
      // Concurrent probes share one sign-in.
      pending ??= withTimeout(tokens.getToken(), PROBE_TIMEOUT_MS * 5)
        .then(
          () => {
            tokenOkAt = deps.clock.now();
          },
          () => {
            tokenFailedAt = deps.clock.now();
          },
        )
        .finally(() => {
          pending = undefined;
        });
      await pending;
    }
    return deps.clock.now() - tokenOkAt < TOKEN_FRESH_MS ? 'up' : 'down';
  }

  return {
    redisReachable,
    async check() {
      const [redis, defenderToken] = await Promise.all([redisReachable(), tokenState()]);
      const workers: CheckState = deps.workersRunning
        ? deps.workersRunning()
          ? 'up'
          : 'down'
        : 'not-run-here';
      const checks = { redis: redis ? ('up' as const) : ('down' as const), workers, defenderToken };
      return { ready: Object.values(checks).every((state) => state !== 'down'), checks };
    },
  };
}
