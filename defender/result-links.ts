// Defender result links kept server-side: cards carry only an opaque id, never the SAS URL and its signature.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../core/redis-keys.js';

export interface ResultLinkStore {
  /** Stores a link until it expires; returns its opaque id. */
  save(url: string, expiresAt: number, now: number): Promise<string>;
  /** The SAS URL, or null when unknown or expired. */
  resolve(linkId: string): Promise<string | null>;
}

/** Defender links live 30 minutes; the `se` query parameter says exactly when. */
export function linkExpiry(url: string, now: number): number {
  const fallback = now + 30 * 60_000;
  try {
    const se = new URL(url).searchParams.get('se');
    const parsed = se ? Date.parse(se) : Number.NaN;
    return Number.isFinite(parsed) ? parsed : fallback;
  } catch {
    return fallback;
  }
}

export function createResultLinkStore(deps: { redis: Redis; keys: RedisKeys }): ResultLinkStore {
  return {
    async save(url, expiresAt, now) {
      const id = randomBytes(18).toString('base64url');
      await deps.redis.set(deps.keys.resultLink(id), url, 'PX', Math.max(1_000, expiresAt - now));
      return id;
    },
    async resolve(linkId) {
      if (!/^[A-Za-z0-9_-]{16,64}$/.test(linkId)) return null;
      return deps.redis.get(deps.keys.resultLink(linkId));
    },
  };
}
