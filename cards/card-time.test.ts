// Tests for card times: today without a date, other days and years with one, unknown zones fall back to UTC.
import { describe, expect, it } from 'vitest';
import { createCardClock } from './card-time.js';

const now = new Date('2024-05-14T09:20:00Z');

describe('createCardClock', () => {
  it('writes only the time for today', () => {
    expect(createCardClock(now).format('2024-05-14T09:05:30Z')).toBe('09:05 UTC');
  });

  it('adds the date for another day and the year for another year', () => {
    const clock = createCardClock(now);
    expect(clock.format('2024-05-15T00:29:00Z')).toBe('15 May 00:29 UTC');
    expect(clock.format('2023-12-31T23:59:00Z')).toBe('31 Dec 2023 23:59 UTC');
  });

  it('computes "today" in the chosen zone', () => {
    const clock = createCardClock(new Date('2024-05-14T23:30:00Z'), 'Europe/Berlin');
    expect(clock.label).toBe('Europe/Berlin');
    expect(clock.format('2024-05-14T23:45:00Z')).toBe('01:45 Europe/Berlin');
  });

  it('falls back to UTC for an unknown zone rather than mislabel times', () => {
    const clock = createCardClock(now, 'Mars/Olympus');
    expect(clock.label).toBe('UTC');
    expect(clock.format('2024-05-14T09:05:00Z')).toBe('09:05 UTC');
  });

  it('returns text that is not a date unchanged', () => {
    expect(createCardClock(now).format('soon')).toBe('soon');
  });
});
