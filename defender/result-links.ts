// Result links kept server-side: cards carry only the bot's own `/download/...` URL with an opaque id, never
// Defender's SAS URL and its signature. A link is either already backed by a Defender URL (a transcript the bot
// had to read anyway) or minted from Defender the first time someone opens it, so a result nobody downloads
// costs no API call, and a link never points at a Defender URL that has expired.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../core/redis-keys.js';
import type { ResultLink } from '../core/request.js';
import type { DefenderApi } from './defender-client.js';

/** How long a link on a card works: Defender's own link lifetime. */
export const LINK_LIFETIME_MS = 30 * 60_000;

/** What a link id stands for: a Defender URL already minted, or one to mint on first open. */
export type LinkTarget = { url: string } | { mintOnOpen: true };

export interface ResultLinkStore {
  /** Stores a link until `expiresAt`; returns its opaque id. */
  save(target: LinkTarget, expiresAt: number, now: number): Promise<string>;
  /** What the link stands for, or null when unknown or expired. */
  resolve(linkId: string): Promise<LinkTarget | null>;
  /** Records the Defender URL minted for a link, keeping the link's own expiry. */
  attach(linkId: string, url: string): Promise<void>;
}

/** Defender links live 30 minutes; the `se` query parameter says exactly when. */
export function linkExpiry(url: string, now: number): number {
  const fallback = now + LINK_LIFETIME_MS;
  try {
    const se = new URL(url).searchParams.get('se');
    const parsed = se ? Date.parse(se) : Number.NaN;
    return Number.isFinite(parsed) ? parsed : fallback;
  } catch {
    return fallback;
  }
}

const LINK_ID = /^[A-Za-z0-9_-]{16,64}$/;

export function createResultLinkStore(deps: { redis: Redis; keys: RedisKeys }): ResultLinkStore {
  return {
    async save(target, expiresAt, now) {
      const id = randomBytes(18).toString('base64url');
      await deps.redis.set(
        deps.keys.resultLink(id),
        JSON.stringify(target),
        'PX',
        Math.max(1_000, expiresAt - now),
      );
      return id;
    },
    async resolve(linkId) {
      if (!LINK_ID.test(linkId)) return null;
      const stored = await deps.redis.get(deps.keys.resultLink(linkId));
      if (stored === null) return null;
      // Links stored by earlier versions hold the bare URL.
      if (stored.startsWith('http')) return { url: stored };
      return JSON.parse(stored) as LinkTarget;
    },
    async attach(linkId, url) {
      await deps.redis.set(deps.keys.resultLink(linkId), JSON.stringify({ url }), 'KEEPTTL', 'XX');
    },
  };
}

/** A card link backed by a Defender URL minted now (the caller needs the URL itself, e.g. to read a transcript). */
export async function mintedLink(
  deps: { defender: Pick<DefenderApi, 'getResultDownloadLink'>; links: ResultLinkStore },
  actionId: string,
  index: number,
  now: number,
): Promise<{ link: ResultLink; url: string }> {
  const url = await deps.defender.getResultDownloadLink(actionId, index);
  const expiresAt = Math.min(linkExpiry(url, now), now + LINK_LIFETIME_MS);
  const id = await deps.links.save({ url }, expiresAt, now);
  return { link: { id, expiresAt: new Date(expiresAt).toISOString() }, url };
}

/** A card link whose Defender URL is minted when someone opens it: no API call until then. */
export async function lazyLink(links: ResultLinkStore, now: number): Promise<ResultLink> {
  const expiresAt = now + LINK_LIFETIME_MS;
  const id = await links.save({ mintOnOpen: true }, expiresAt, now);
  return { id, expiresAt: new Date(expiresAt).toISOString() };
}

/** The Defender URL to send a browser to: the stored one, or one minted now and remembered for the link's life. */
export async function openLink(
  deps: { defender: Pick<DefenderApi, 'getResultDownloadLink'>; links: ResultLinkStore },
  linkId: string,
  target: LinkTarget,
  actionId: string,
  index: number,
): Promise<string> {
  if ('url' in target) return target.url;
  const url = await deps.defender.getResultDownloadLink(actionId, index);
  await deps.links.attach(linkId, url);
  return url;
}
