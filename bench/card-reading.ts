// Reads the bot's request card the way a person would: its state badge, request id, transcript and links.
import type { AdaptiveCardJson } from '../test/support/fake-teams-connector.js';

/** The badge texts of request-card.ts, by the state they show. */
const BADGES: Record<string, string> = {
  'Awaiting approval': 'AwaitingApproval',
  'Approved — queued': 'Approved',
  Submitting: 'Submitting',
  Pending: 'Pending',
  Running: 'InProgress',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  'Timed out': 'TimeOut',
  Cancelled: 'Cancelled',
  Rejected: 'Rejected',
  Expired: 'Expired',
};

export const FINAL_STATES = new Set(['Succeeded', 'Failed', 'TimeOut', 'Cancelled', 'Rejected', 'Expired']);

function textBlocks(card: AdaptiveCardJson | undefined): string[] {
  const texts: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const element = node as Record<string, unknown>;
      if (element.type === 'TextBlock' && typeof element.text === 'string') texts.push(element.text);
      for (const value of Object.values(element)) walk(value);
    }
  };
  walk(card);
  return texts;
}

/** The request state the card's badge shows (the first badge text on the card). */
export function cardState(card: AdaptiveCardJson | undefined): string | undefined {
  for (const text of textBlocks(card)) if (BADGES[text]) return BADGES[text];
  return undefined;
}

export function cardRequestId(card: AdaptiveCardJson | undefined): string | undefined {
  return /LR-[0-9A-Z]{6}/.exec(JSON.stringify(card ?? {}))?.[0];
}

/** Succeeded with every result on it: the transcript's exit code and a download link per command. */
export function cardSettled(card: AdaptiveCardJson | undefined, commands: number): boolean {
  if (cardState(card) !== 'Succeeded')
    return cardState(card) !== undefined && FINAL_STATES.has(cardState(card)!);
  const links = new Set(JSON.stringify(card).match(/\/download\/[^"\s]+/g) ?? []);
  return links.size >= commands && textBlocks(card).some((t) => /^Exit code /.test(t));
}
