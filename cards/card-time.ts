// Writes times on cards: "14:02 UTC" for today, "12 Jan 14:02 UTC" otherwise, in one named time zone.

export interface CardClock {
  /** The zone label written after every time, e.g. `UTC`. */
  label: string;
  /** `14:02 UTC` when `iso` falls on the same day as `now`, else with the date; the raw text if unparseable. */
  format(iso: string): string;
}

/**
 * `timeZone` is an IANA zone (`UTC`, `Europe/Berlin`) used both to compute and to label the times. An
 * unknown zone falls back to UTC so that a card never shows a time under the wrong label.
 */
export function createCardClock(now: Date, timeZone = 'UTC'): CardClock {
  const { zone, parts } = formatterFor(timeZone);
  const pieces = (date: Date) => {
    const byType = new Map(parts.formatToParts(date).map((part) => [part.type, part.value]));
    return {
      day: byType.get('day') ?? '',
      month: byType.get('month') ?? '',
      year: byType.get('year') ?? '',
      time: `${byType.get('hour') ?? '00'}:${byType.get('minute') ?? '00'}`,
    };
  };
  const today = pieces(now);

  return {
    label: zone,
    format(iso: string): string {
      const date = new Date(iso);
      if (Number.isNaN(date.getTime())) return iso;
      const p = pieces(date);
      if (p.year !== today.year) return `${p.day} ${p.month} ${p.year} ${p.time} ${zone}`;
      if (p.month !== today.month || p.day !== today.day) return `${p.day} ${p.month} ${p.time} ${zone}`;
      return `${p.time} ${zone}`;
    },
  };
}

// Building an Intl.DateTimeFormat costs about a millisecond, as much as the rest of a card render: one per zone.
const formatters = new Map<string, { zone: string; parts: Intl.DateTimeFormat }>();

function formatterFor(timeZone: string): { zone: string; parts: Intl.DateTimeFormat } {
  let found = formatters.get(timeZone);
  if (!found) {
    const options: Intl.DateTimeFormatOptions = {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    };
    try {
      found = { zone: timeZone, parts: new Intl.DateTimeFormat('en-GB', { ...options, timeZone }) };
    } catch {
      found = { zone: 'UTC', parts: new Intl.DateTimeFormat('en-GB', { ...options, timeZone: 'UTC' }) };
    }
    formatters.set(timeZone, found);
  }
  return found;
}
