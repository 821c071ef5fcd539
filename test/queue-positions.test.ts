// Everyone waiting for Defender's run budget sees where they stand: every waiting card shows its place in line and
// when the budget's windows let it start, and the places move as the line does, within Teams' rate limits.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRequest } from '../core/new-request.js';
import { redisKeys } from '../core/redis-keys.js';
import { createRequestStore } from '../core/request-store.js';
import { createSlidingWindowLimiter } from '../core/sliding-window-limiter.js';
import { createDefenderBudget } from '../defender/defender-budget.js';
import { createSessionSlots } from '../defender/session-slots.js';
import { createQueuePlaces } from '../jobs/queue-place.js';
import { cardText, teamsClientFor } from './support/flow-helpers.js';
import {
  type AskedRequest,
  actionsOf,
  approve,
  ask,
  cardVersions,
  ROOMY_API_RATE,
  waitForFinalCard,
  workstation,
} from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import { USERS } from './support/teams-fixtures.js';

const LINE = /(\d+)(?:st|nd|rd|th) in line — (?:starts about (\d\d):(\d\d) UTC|goes to Defender now)/;

describe('place in line and estimated start, from the budget windows', () => {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `lrtest-queue-${process.pid}-${Date.now()}`;
  afterAll(async () => {
    const found = await redis.keys(`${prefix}*`);
    if (found.length) await redis.del(...found);
    redis.disconnect();
  });

  it('gives the 12 approved requests places 1–12 and starts one run-budget window apart, moving up as one leaves', async () => {
    const now = { t: Date.UTC(2025, 0, 6, 14, 0, 0) };
    const clock = { now: () => now.t, nowIso: () => new Date(now.t).toISOString() };
    const keys = redisKeys(prefix);
    const requests = createRequestStore({ redis, keys, clock });
    const limiter = createSlidingWindowLimiter({ redis, clock, keyOf: keys.limiter });
    // One runliveresponse per 20 s, windows exact (the skew margin has its own test).
    const budget = createDefenderBudget({
      limiter,
      runRate: { count: 1, durationMs: 20_000 },
      apiRates: [{ count: 100, durationMs: 60_000 }],
      skewMargin: 0,
      skewFloorMs: 0,
    });
    const sessions = createSessionSlots({ redis, keys, maxSessions: 25 });
    const placeOf = createQueuePlaces({ requests, budget, sessions });

    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const id = `LR-Q${String(i).padStart(5, '0')}`;
      const request = newRequest({
        id,
        tenantId: 't',
        conversationId: `19:queue-${i}`,
        conversationRef: {},
        requester: { teamsId: '29:r', aadObjectId: 'r', name: 'Riley' },
        device: { machineId: 'm'.repeat(40), computerDnsName: `queue-${i}` },
        commands: [{ type: 'RunScript', scriptName: 'whoami.ps1' }],
        approvers: [],
        now: now.t,
        approvalTimeoutMs: 30 * 60_000,
      });
      expect(await requests.create(request, { action: 'requested' })).toBe(true);
      now.t += 100;
      const approved = await requests.transition(id, {
        type: 'approve',
        by: { teamsId: '29:a', aadObjectId: 'a', name: 'Alex' },
        at: clock.nowIso(),
      });
      expect(approved.ok).toBe(true);
      ids.push(id);
    }
    // The first call of the line went 5 s ago: the 1st waits 15 s more, each next place one window after.
    const firstCall = now.t;
    expect(await budget.tryAcquire('run')).toEqual({ ok: true });
    now.t += 5_000;
    const before = await Promise.all(ids.map(placeOf));
    expect(before.map((p) => p?.place)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(before.map((p) => Date.parse(p!.startsAt))).toEqual(
      ids.map((_, i) => firstCall + (i + 1) * 20_000),
    );

    // The 1st takes a session and its slot when it frees: it is being sent, out of the line, and everyone moves up one
    // place with their starts unchanged (its slot is in the window now), before and after Defender answers.
    now.t = firstCall + 20_000;
    expect(await sessions.claim(ids[0]!, 'm'.repeat(40))).toEqual({ ok: true });
    expect(await budget.tryAcquire('run')).toEqual({ ok: true });
    await requests.transition(ids[0]!, { type: 'submitStarted', at: clock.nowIso() });
    const sending = await Promise.all(ids.slice(1).map(placeOf));
    expect(sending.map((p) => p?.place)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(sending.map((p) => p!.startsAt)).toEqual(before.slice(1).map((p) => p!.startsAt));
    await requests.transition(ids[0]!, {
      type: 'submitted',
      action: { id: 'a1', status: 'Pending', commands: [] },
      at: clock.nowIso(),
    });
    const after = await Promise.all(ids.slice(1).map(placeOf));
    expect(after.map((p) => p?.place)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(after.map((p) => p!.startsAt)).toEqual(before.slice(1).map((p) => p!.startsAt));
    expect(await placeOf(ids[0]!)).toBeNull();

    // A 429 holds every call off: the whole line starts later by the back-off.
    await budget.backOff('run', 60_000);
    const heldOff = await Promise.all(ids.slice(1).map(placeOf));
    expect(Date.parse(heldOff[0]!.startsAt)).toBe(now.t + 60_000);
    expect(Date.parse(heldOff[1]!.startsAt)).toBe(now.t + 80_000);
  });
});

const DEVICES = Array.from({ length: 12 }, (_, i) => workstation(`line-${String(i + 1).padStart(2, '0')}`));

describe('twelve approved requests waiting for a small run budget', () => {
  let stack: Stack;
  let client: TeamsClient;

  beforeAll(async () => {
    stack = await startStack({
      env: { DEFENDER_RUN_RATE: '1/2s', DEFENDER_API_RATE: ROOMY_API_RATE },
      sim: { extraMachines: DEVICES },
    });
    client = teamsClientFor(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('shows every waiting card its place and start, moves the places up, and stays within Teams’ limits', async () => {
    const requests: AskedRequest[] = [];
    for (const device of DEVICES)
      requests.push(await ask(stack, client, `run whoami.ps1 on ${device.computerDnsName}`));
    // Approved one after another, as fast as Teams answers the clicks.
    for (const request of requests) await approve(client, request, USERS.approver);
    for (const request of requests) await waitForFinalCard(stack, request.activity.id, /Succeeded/);

    const runs = stack.sim.control
      .calls({ method: 'POST', path: /runliveresponse/ })
      .map((c) => c.realTime)
      .sort((a, b) => a - b);
    expect(runs).toHaveLength(12);

    let moved = 0;
    for (const [index, request] of requests.entries()) {
      const times = stack.teams.historyTimes(request.activity.id);
      const shown = cardVersions(stack, request.activity.id)
        .map((card, version) => ({ match: LINE.exec(cardText(card)), at: times[version]! }))
        .filter((v): v is { match: RegExpExecArray; at: number } => v.match !== null);
      // Every request but the first waited: its card said where it stood.
      if (index > 0) expect(shown.length, `${request.requestId} showed its place`).toBeGreaterThan(0);
      const places = shown.map((v) => Number(v.match[1]));
      // Places only move up the line, and the card follows each move (two at most merge into one update).
      for (let i = 1; i < places.length; i++) {
        expect(places[i]).toBeLessThanOrEqual(places[i - 1]!);
        expect(
          places[i - 1]! - places[i]!,
          `${request.requestId} went ${places.join(' → ')}`,
        ).toBeLessThanOrEqual(2);
      }
      if (new Set(places).size > 1) moved++;

      for (const { match, at } of shown) {
        const place = Number(match[1]);
        // Calls already made when the card was sent, and the ones the line ahead still needs: this place's call is
        // the place-th after them, one 2 s window (plus the budget's skew margin) apart, so it cannot start before
        // the card was sent nor after place windows from then.
        const windowMs = 2_000 + 120;
        if (match[2] === undefined) {
          // "goes to Defender now": its slot was under 5 s away, so at most the third (the 1st's may be free now).
          expect(place).toBeLessThanOrEqual(3);
          continue;
        }
        const shownMinute = Date.UTC(
          new Date(at).getUTCFullYear(),
          new Date(at).getUTCMonth(),
          new Date(at).getUTCDate(),
          Number(match[2]),
          Number(match[3]),
        );
        const minuteOf = (t: number) => Math.floor(t / 60_000) * 60_000;
        expect(shownMinute).toBeGreaterThanOrEqual(minuteOf(at));
        expect(shownMinute).toBeLessThanOrEqual(minuteOf(at + place * windowMs));
      }
      expect(actionsOf(stack, request.requestId)).toHaveLength(1);
    }
    // The line is served in order: each request started in the place its card gave it.
    const started = requests
      .map((r) => ({
        id: r.requestId,
        at: Date.parse(actionsOf(stack, r.requestId)[0]!.creationDateTimeUtc),
      }))
      .sort((a, b) => a.at - b.at)
      .map((r) => r.id);
    expect(started).toEqual(requests.map((r) => r.requestId));
    // The places moved on most cards, not only on the first five.
    expect(moved).toBeGreaterThanOrEqual(8);
    expect(
      requests.some((r) =>
        cardVersions(stack, r.activity.id).some((c) => /(?:[6-9]|1[0-2])th in line/.test(cardText(c))),
      ),
    ).toBe(true);
    // Within Teams' limits: no 429 from the fake connector, none from Defender.
    expect(stack.teams.throttles()).toEqual([]);
    expect(stack.sim.control.calls().filter((c) => c.status === 429)).toEqual([]);
  });
});
