// The plain JSON shape of an Adaptive Card as the bot sends it, the size rule, and template expansion.
import { readFileSync } from 'node:fs';
import { Template } from 'adaptivecards-templating';
import type { CardActionData, CardVerb } from './card-verbs.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue | undefined;
}

/** Any body element (TextBlock, Container, ActionSet…); cards are data, so elements stay open JSON. */
export type CardElement = JsonObject & { type: string };

export type ExecuteAction = JsonObject & {
  type: 'Action.Execute';
  verb: CardVerb;
  title: string;
  data: CardActionData;
  style?: 'positive' | 'destructive' | 'default';
  isEnabled?: boolean;
};

export type OpenUrlAction = JsonObject & { type: 'Action.OpenUrl'; title: string; url: string };

export type CardAction = ExecuteAction | OpenUrlAction;

/** A Teams @mention; `text` must appear verbatim in a TextBlock of the card. */
export type MentionEntity = {
  type: 'mention';
  text: string;
  mentioned: { id: string; name: string };
};

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema?: string;
  version: string;
  body: CardElement[];
  actions?: CardAction[];
  /** Universal Actions refresh: Teams asks the bot for each listed user's own view. */
  refresh?: { action: ExecuteAction; userIds: string[] };
  msteams?: { width?: 'Full'; entities?: MentionEntity[] };
}

/**
 * Teams documents ~100 KB per message, but older pages and other surfaces (Outlook, mobile) 28 KB;
 * staying under the smallest keeps a card working everywhere.
 */
export const MAX_CARD_BYTES = 28 * 1024;

/** The activity around the card (ids, service URL, conversation) needs room too, so cards aim lower. */
export const CARD_BYTES_TARGET = MAX_CARD_BYTES - 1024;

/** UTF-8 size of the card JSON as it goes over the wire. */
export function cardSizeBytes(card: AdaptiveCard): number {
  return Buffer.byteLength(JSON.stringify(card), 'utf8');
}

/** Reads a template from `cards/templates/` once; templates are layout only, so parsing them is safe. */
export function loadCardTemplate(fileName: string): Template {
  const url = new URL(`./templates/${fileName}`, import.meta.url);
  // The template is our own JSON; Template takes it untyped.
  const payload: unknown = JSON.parse(readFileSync(url, 'utf8'));
  return new Template(payload);
}

/**
 * Binds `data` to a template. The data must define every field the template uses: the templating engine
 * leaves `${field}` in the output for a missing one, which the card tests catch.
 */
export function expandCardTemplate(template: Template, data: object): AdaptiveCard {
  // `expand` is typed `any` by the library; the template's shape is what the card tests pin down.
  const expanded: unknown = template.expand({ $root: data });
  return withoutNulls(expanded) as AdaptiveCard;
}

/**
 * A `$when` that is false on an object-valued property (e.g. `refresh`) leaves `null` behind;
 * Teams rejects some of those, so they are removed.
 */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((item) => item !== null).map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== null) result[key] = withoutNulls(item);
  }
  return result;
}
