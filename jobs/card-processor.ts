// Updates a request's card in place: renders the latest state, skips identical cards, paces per Teams thread.
import { createHash } from 'node:crypto';
import { type Job, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { renderCardOf } from '../cards/fan-out-card.js';
import type { Clock } from '../core/clock.js';
import type { Rate } from '../core/durations.js';
import type { RedisKeys } from '../core/redis-keys.js';
import type { RequestStore } from '../core/request-store.js';
import type { SlidingWindowLimiter } from '../core/sliding-window-limiter.js';
import { TEAMS_APP_LIMITER_KEY, TEAMS_APP_RATES } from '../core/teams-limits.js';
import { type CardPort, TeamsApiError } from './card-port.js';
import { postpone } from './job-deps.js';
import type { JobPayloads } from './job-names.js';
import { type QueuePlaceOf, queueCardOptions } from './queue-place.js';

export interface CardDeps {
  requests: RequestStore;
  teams: CardPort;
  limiter: SlidingWindowLimiter;
  redis: Redis;
  keys: RedisKeys;
  clock: Clock;
  logger: Logger;
  threadRates: Rate[];
  publicBaseUrl: string;
  /** DOWNLOAD_MODE=sso: download buttons open the tab at the request (see RequestCardOptions). */
  tabDeepLink?: (requestId: string) => string;
  /** A waiting request's place in line and estimated start; without it the card shows the place alone. */
  queuePlace?: QueuePlaceOf;
  /** FOLLOWUP_PREAPPROVAL=on: the window the final card's "Pre-approve follow-ups" button offers; absent = off. */
  followUpPreApprovalMs?: number;
  /**
   * How long a card's fingerprint outlives its last update: REQUEST_RETENTION, so it goes with the request record
   * it describes. @defaultValue 30 days
   */
  fingerprintTtlMs?: number;
}

const DEFAULT_FINGERPRINT_TTL_MS = 30 * 24 * 3600_000;

/** What the card-fingerprint key holds: the version the card last showed and the rendered card's hash. */
function fingerprintValue(version: number, fingerprint: string): string {
  return `${version} ${fingerprint}`;
}

/**
 * The request version the card in Teams shows (0 when never updated), from the card-fingerprint key: what the
 * reconciler compares with the request to find a card update that was lost.
 */
export async function shownCardVersion(redis: Redis, keys: RedisKeys, requestId: string): Promise<number> {
  const value = await redis.get(keys.cardFingerprint(requestId));
  const version = Number(value?.split(' ')[0]);
  return Number.isInteger(version) ? version : 0;
}

/** The limiter key of a Teams thread: sends and updates in one thread share Teams' per-thread limits. */
export function threadLimiterKey(conversationId: string): string {
  return `teams-${conversationId}`;
}

const LOCK_MS = 30_000;

/** Takes the lock when it is free or already ours (same job id); 1 when held. */
const TAKE_LOCK_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

export function createCardProcessor(deps: CardDeps) {
  const { requests, teams, limiter, redis, keys, clock, logger } = deps;
  const fingerprintTtlSeconds = Math.max(
    1,
    Math.ceil((deps.fingerprintTtlMs ?? DEFAULT_FINGERPRINT_TTL_MS) / 1000),
  );

  return async function updateCard(job: Job<JobPayloads['updateCard']>, token?: string): Promise<string> {
    const { requestId } = job.data;
    // One update per request at a time, so an older render never lands after a newer one.
    const lockKey = keys.cardLock(requestId);
    // The job id, not the worker's token: BullMQ runs a job in one worker at a time, so a job taken over from a
    // worker that died mid-update takes its own lock back instead of leaving the card frozen for LOCK_MS.
    const lockValue = job.id ?? `${job.name}:${token ?? ''}`;
    if ((await redis.eval(TAKE_LOCK_SCRIPT, 1, lockKey, lockValue, String(LOCK_MS))) !== 1)
      await postpone(job, token, 250 + Math.random() * 250, clock.now());
    try {
      const request = await requests.get(requestId);
      if (!request?.card) return 'no card yet';
      const queue = await queueCardOptions(requestId, requests, deps.queuePlace);
      // The card as everyone sees it: every client shows it as posted, so it must work without a per-user view.
      // A fan-out's card also shows its devices' requests (core/fan-out.ts).
      const card = await renderCardOf(
        request,
        requests,
        {
          viewer: 'everyone',
          now: new Date(clock.now()),
          publicBaseUrl: deps.publicBaseUrl,
          ...(deps.tabDeepLink ? { tabDeepLink: deps.tabDeepLink } : {}),
          ...queue,
          ...(deps.followUpPreApprovalMs !== undefined
            ? { followUpPreApprovalMs: deps.followUpPreApprovalMs }
            : {}),
        },
        (id) => queueCardOptions(id, requests, deps.queuePlace),
      );
      const fingerprint = createHash('sha256').update(JSON.stringify(card)).digest('base64url');
      const shown = (await redis.get(keys.cardFingerprint(requestId)))?.split(' ');
      if (shown?.[1] === fingerprint) {
        // The card already shows this: record that it is current up to this version.
        if (Number(shown[0]) < request.version)
          await redis.set(
            keys.cardFingerprint(requestId),
            fingerprintValue(request.version, fingerprint),
            'EX',
            fingerprintTtlSeconds,
          );
        return 'unchanged';
      }

      // While Teams' rate for the whole app is used up, come back then and render what is current at that time,
      // rather than render now and wait with a card that may be stale when it goes. The connector takes the app's
      // slot itself, right before sending; the thread's limits are taken here.
      const appWait = await limiter.peekWait(TEAMS_APP_LIMITER_KEY, TEAMS_APP_RATES);
      if (appWait > 0) await postpone(job, token, appWait, clock.now());
      const grant = await limiter.tryAcquire(threadLimiterKey(request.conversationId), deps.threadRates);
      if (!grant.ok) await postpone(job, token, grant.waitMs, clock.now());
      try {
        await teams.updateCard(request, card);
      } catch (error) {
        if (!(error instanceof TeamsApiError)) throw error;
        if (error.status === 429) {
          const wait = error.retryAfterMs ?? 2_000;
          await limiter.block(threadLimiterKey(request.conversationId), wait);
          await postpone(job, token, wait, clock.now());
        }
        if (error.retryable) throw error;
        logger.warn({ requestId, status: error.status, err: error.message }, 'Teams refused the card update');
        throw new UnrecoverableError(error.message);
      }
      await redis.set(
        keys.cardFingerprint(requestId),
        fingerprintValue(request.version, fingerprint),
        'EX',
        fingerprintTtlSeconds,
      );
      return `updated (${request.state}, v${request.version})`;
    } finally {
      // Release only our own lock.
      await redis.eval(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        1,
        lockKey,
        lockValue,
      );
    }
  };
}
