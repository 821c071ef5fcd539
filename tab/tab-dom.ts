/// <reference lib="dom" />
// Small DOM helpers for the tab: elements built with text nodes only (never HTML strings, so no text from a
// request can become markup), relative times, and the colour family of a state.

type Child = Node | string | number | null | undefined | false;

export function h(
  tag: string,
  attributes: Record<string, string | undefined>,
  ...children: Child[]
): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes))
    if (value !== undefined) element.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** `[render(value)]` when the value is there, `[]` otherwise: for optional parts of a list of children. */
export function when<T>(
  value: T | undefined | null,
  render: (value: T) => Node | string,
): Array<Node | string> {
  return value === undefined || value === null ? [] : [render(value)];
}

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

export function relativeTime(iso: string, now = Date.now()): string {
  const diff = Date.parse(iso) - now;
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  for (const [unit, ms] of UNITS) if (Math.abs(diff) >= ms) return format.format(Math.round(diff / ms), unit);
  return format.format(Math.round(diff / 1000), 'second');
}

export type Tone = 'ok' | 'bad' | 'busy' | 'wait' | 'neutral';

export function stateTone(state: string): Tone {
  if (state === 'Succeeded' || state === 'Completed') return 'ok';
  if (['Failed', 'TimeOut', 'Rejected'].includes(state)) return 'bad';
  if (['Approved', 'Submitting', 'Pending', 'InProgress'].includes(state)) return 'busy';
  if (state === 'AwaitingApproval' || state === 'Created') return 'wait';
  return 'neutral';
}
