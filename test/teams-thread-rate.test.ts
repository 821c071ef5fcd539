// The default TEAMS_THREAD_RATE against the fake Teams connector's per-thread limits, Teams' hourly one included:
// a thread kept as busy as the bot's rate allows for over an hour never gets a 429. Real Redis limiter, one clock
// shared by the limiter and the fake so the hour passes at once.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfig } from '../app/config.js';
import { redisKeys } from '../core/redis-keys.js';
import { createSlidingWindowLimiter } from '../core/sliding-window-limiter.js';
import { threadLimiterKey } from '../jobs/card-processor.js';
import { startFakeTeamsConnector } from './support/fake-teams-connector.js';
import { REDIS_URL } from './support/start-stack.js';
import { channelThread } from './support/teams-fixtures.js';

const HOUR_MS = 3_600_000;
const redis = new Redis(REDIS_URL);
const prefix = `lrtest-threadrate-${process.pid}-${Date.now().toString(36)}`;

afterAll(async () => {
  const found = await redis.keys(`${prefix}*`);
  if (found.length) await redis.del(...found);
  redis.disconnect();
});

describe('default Teams thread rate', () => {
  it("keeps a thread busy for more than an hour under Teams' limits, the hourly 1,800 included", async () => {
    const { teamsThreadRates } = readConfig({
      APPROVERS: 'sam.oncall@contoso.com',
      DEFENDER_ACCESS_TOKEN: 'x',
    });
    const start = 1_700_000_000_000;
    const clock = { t: start };
    const limiter = createSlidingWindowLimiter({
      redis,
      clock: { now: () => clock.t, nowIso: () => new Date(clock.t).toISOString() },
      keyOf: redisKeys(prefix).limiter,
    });
    const teams = await startFakeTeamsConnector({ now: () => clock.t });
    try {
      const thread = channelThread();
      const url = `${teams.url}v3/conversations/${encodeURIComponent(thread.id)}/activities`;
      let sentInFirstHour = 0;
      let sent = 0;
      // Always another card update waiting: each goes the moment the limiter gives a slot.
      while (clock.t < start + HOUR_MS + 5 * 60_000) {
        const grant = await limiter.tryAcquire(threadLimiterKey(thread.id), teamsThreadRates);
        if (!grant.ok) {
          clock.t += grant.waitMs;
          continue;
        }
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'message', text: `update ${sent}` }),
        });
        expect(response.status, `operation ${sent} at +${clock.t - start} ms`).toBe(201);
        sent++;
        if (clock.t < start + HOUR_MS) sentInFirstHour++;
      }
      expect(teams.throttles()).toEqual([]);
      expect(sentInFirstHour).toBeLessThanOrEqual(1_800);
      // The thread kept going after the hour, as the oldest operations left Teams' window.
      expect(sent).toBeGreaterThan(sentInFirstHour);
    } finally {
      await teams.close();
    }
  });
});
