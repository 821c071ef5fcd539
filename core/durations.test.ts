import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseRates } from './durations.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    [' 30m ', 1_800_000],
    ['1.5s', 1500],
  ])('reads %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', 'm', '-1s', '0s', '10 minutes', '1w'])('refuses %j', (text) =>
    expect(parseDuration(text)).toBeNull(),
  );
});

describe('parseRates', () => {
  it('reads several windows', () => {
    expect(parseRates('100/1m,1500/1h')).toEqual([
      { count: 100, durationMs: 60_000 },
      { count: 1500, durationMs: 3_600_000 },
    ]);
  });
  it.each(['', '10', '10/', '/1m', '0/1m', 'x/1m', '10/1w'])('refuses %j', (text) =>
    expect(parseRates(text)).toBeNull(),
  );
});

describe('formatDuration', () => {
  it.each([
    [90_000, '1m 30s'],
    [3_600_000, '1h'],
    [250, '250ms'],
  ])('formats %d as %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
