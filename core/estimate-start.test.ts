import { describe, expect, it } from 'vitest';
import { estimateStarts, ordinal } from './estimate-start.js';

const MINUTE = 60_000;

describe('estimateStarts', () => {
  it('lets calls go at once while the window has room, then one per freed slot', () => {
    // 10 per minute, 7 used in the last minute: 3 may go now, the 4th when the oldest call leaves the window.
    const now = 1_000_000;
    const grants = [
      now - 50_000,
      now - 40_000,
      now - 30_000,
      now - 20_000,
      now - 10_000,
      now - 5_000,
      now - 1_000,
    ];
    const starts = estimateStarts(
      { blockedUntil: 0, windows: [{ rate: { count: 10, durationMs: MINUTE }, grants }] },
      now,
      6,
    );
    expect(starts).toEqual([
      now,
      now,
      now,
      now - 50_000 + MINUTE,
      now - 40_000 + MINUTE,
      now - 30_000 + MINUTE,
    ]);
  });

  it('spaces the line by the window when the budget is one call per window', () => {
    const now = 500_000;
    const starts = estimateStarts(
      { blockedUntil: 0, windows: [{ rate: { count: 1, durationMs: 4_000 }, grants: [now - 1_000] }] },
      now,
      4,
    );
    expect(starts).toEqual([now + 3_000, now + 7_000, now + 11_000, now + 15_000]);
  });

  it('counts the calls it places itself: the 11th waits a whole window after the 1st of the same minute', () => {
    const now = 0;
    const starts = estimateStarts(
      { blockedUntil: 0, windows: [{ rate: { count: 10, durationMs: MINUTE }, grants: [] }] },
      now,
      21,
    );
    expect(starts.slice(0, 10).every((t) => t === now)).toBe(true);
    expect(starts[10]).toBe(now + MINUTE);
    expect(starts[20]).toBe(now + 2 * MINUTE);
  });

  it('takes the strictest of several windows and a back-off', () => {
    const now = 10_000;
    const starts = estimateStarts(
      {
        blockedUntil: now + 2_000,
        windows: [
          { rate: { count: 5, durationMs: 1_000 }, grants: [] },
          { rate: { count: 2, durationMs: 60_000 }, grants: [now - 30_000] },
        ],
      },
      now,
      3,
    );
    // Blocked for 2 s; the one-minute window has one slot left, its next when the call 30 s ago leaves it, and the
    // one after when the first of the line's own calls leaves it.
    expect(starts).toEqual([now + 2_000, now + 30_000, now + 2_000 + 60_000]);
  });

  it('ignores calls that already left their window', () => {
    const now = 100_000;
    const starts = estimateStarts(
      {
        blockedUntil: 0,
        windows: [{ rate: { count: 1, durationMs: 1_000 }, grants: [now - 5_000, now - 1_000] }],
      },
      now,
      2,
    );
    expect(starts).toEqual([now, now + 1_000]);
  });
});

describe('ordinal', () => {
  it('writes places as people say them', () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112].map(ordinal)).toEqual([
      '1st',
      '2nd',
      '3rd',
      '4th',
      '11th',
      '12th',
      '13th',
      '21st',
      '22nd',
      '23rd',
      '101st',
      '111th',
      '112th',
    ]);
  });
});
