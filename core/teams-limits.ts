// The bot's share of Teams' limit per app per tenant (50 requests a second over all conversations).
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
