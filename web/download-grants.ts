// Short-lived, single-use download grants: the tab trades its SSO token for one (a browser download cannot carry
// a bearer header), then the file streams through the bot with its name, and the download is audited with the
// SHA-256 of the bytes actually delivered.
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../core/redis-keys.js';

/** Long enough for the browser to follow the link it was just given, short enough that a leaked one is useless. */
const GRANT_LIFETIME_SECONDS = 60;

export interface DownloadGrant {
  requestId: string;
  index: number;
  /** The link id the grant was given for: a newer link (fresh links) makes the grant stale. */
  linkId: string;
  fileName: string;
  /** Who asked, for the audit entry. */
  actor: { name: string; aadObjectId?: string; teamsId?: string };
}

export interface DownloadGrants {
  issue(grant: DownloadGrant): Promise<string>;
  /** The grant, once: a second use (or after its lifetime) gets null. */
  redeem(id: string): Promise<DownloadGrant | null>;
}

const GRANT_ID = /^[A-Za-z0-9_-]{32,64}$/;

export function createDownloadGrants(deps: { redis: Redis; keys: RedisKeys }): DownloadGrants {
  const key = (id: string) => deps.keys.cache(`tab-grant:${id}`);
  return {
    async issue(grant) {
      const id = randomBytes(24).toString('base64url');
      await deps.redis.set(key(id), JSON.stringify(grant), 'EX', GRANT_LIFETIME_SECONDS);
      return id;
    },
    async redeem(id) {
      if (!GRANT_ID.test(id)) return null;
      const stored = await deps.redis.getdel(key(id));
      return stored ? (JSON.parse(stored) as DownloadGrant) : null;
    },
  };
}

/** RFC 6266 Content-Disposition with an ASCII fallback and the UTF-8 name. */
function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

/** Streams `url` to the browser as `fileName`; resolves with the size and SHA-256 of what was sent. */
export async function streamDownload(
  url: string,
  fileName: string,
  res: Response,
  options: {
    timeoutMs: number /** Hex SHA-256 when already known: sent as RFC 9530 Repr-Digest. */;
    sha256?: string;
  },
): Promise<{ bytes: number; sha256: string }> {
  const upstream = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs) });
  if (!upstream.ok || !upstream.body) throw new Error(`the result store answered ${upstream.status}`);
  const hash = createHash('sha256');
  let bytes = 0;
  res.status(200);
  res.setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('Content-Disposition', contentDisposition(fileName));
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (options.sha256)
    res.setHeader('Repr-Digest', `sha-256=:${Buffer.from(options.sha256, 'hex').toString('base64')}:`);
  const length = upstream.headers.get('content-length');
  if (length) res.setHeader('Content-Length', length);
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  // The web stream's type from undici and node:stream/web differ only nominally.
  await pipeline(Readable.fromWeb(upstream.body as Parameters<typeof Readable.fromWeb>[0]), tap, res);
  return { bytes, sha256: hash.digest('hex') };
}
