// Teams' limits on what a bot sends, and the bot's share of them: per app per tenant (50 requests a second over all
// conversations) and per conversation thread.
import type { Rate } from './durations.js';

/**
 * Below Teams' 50/s per app per tenant. The quarter-second window spreads the slots: calls that waited for the CPU
 * after taking theirs still reach Teams at most 50 in any second as long as none waited more than 250 ms, where
 * 40 per second alone would let two seconds' slots arrive together.
 */
export const TEAMS_APP_RATES: Rate[] = [
  { count: 40, durationMs: 1_000 },
  { count: 10, durationMs: 250 },
];
export const TEAMS_APP_LIMITER_KEY = 'teams-app';

/**
 * Teams' documented limits per bot per conversation thread; sends and updates count alike ("Optimize your bot with
 * rate limiting in Teams", learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit). The page says the
 * hourly one applies "if multiple bot messages are sent to a single user"; we hold every thread to it, the stricter
 * reading.
 */
export const TEAMS_THREAD_LIMITS: readonly Rate[] = [
  { count: 7, durationMs: 1_000 },
  { count: 8, durationMs: 2_000 },
  { count: 60, durationMs: 30_000 },
  { count: 1_800, durationMs: 3_600_000 },
];

/**
 * The bot's default share of each thread (TEAMS_THREAD_RATE), under every window of TEAMS_THREAD_LIMITS: 3/1s also
 * keeps 2 s to 6; 50/30s leaves room for Teams counting a little differently; 1,700/1h leaves 100 of the hour for
 * turn replies, which go out even past the bot's own rate rather than leave someone unanswered.
 */
export const DEFAULT_TEAMS_THREAD_RATE = '3/1s,50/30s,1700/1h';
