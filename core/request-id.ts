// Request ids users type in chat (`status LR-7K3F9Q`) and the bot puts in the Defender Comment.
import { randomBytes } from 'node:crypto';

/** Crockford base32: no I, L, O or U, so an id read aloud or retyped is not misread. */
export const REQUEST_ID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const REQUEST_ID_PREFIX = 'LR-';
const ID_LENGTH = 6;

const CANONICAL = /^LR-[0-9A-HJKMNP-TV-Z]{6}$/;
// Spelled out instead of the `i` flag so that no non-ASCII letter can case-fold into an id.
const TYPED = /^[Ll][Rr]-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{6}$/;

/**
 * A new id: 30 random bits. Uniqueness is the store's job (it creates the record only if absent),
 * so this stays short enough to type.
 */
export function newRequestId(random: (size: number) => Uint8Array = randomBytes): string {
  const bytes = random(ID_LENGTH);
  if (bytes.length < ID_LENGTH)
    throw new Error(`random source returned ${bytes.length} bytes, need ${ID_LENGTH}`);
  let id = REQUEST_ID_PREFIX;
  for (let i = 0; i < ID_LENGTH; i++) {
    // 256 is a multiple of 32, so the low five bits of a uniform byte are uniform.
    id += REQUEST_ID_ALPHABET[bytes[i]! & 31];
  }
  return id;
}

/** True only for the canonical form (upper case), as stored. */
export function isRequestId(value: string): boolean {
  return CANONICAL.test(value);
}

/** The canonical id for what a user typed (`lr-7k3f9q` → `LR-7K3F9Q`), or undefined if it is not one. */
export function normaliseRequestId(typed: string): string | undefined {
  return TYPED.test(typed) ? typed.toUpperCase() : undefined;
}
