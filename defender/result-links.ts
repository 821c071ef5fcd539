// Result links kept server-side: cards carry only the bot's own `/download/...` URL with an opaque id, never
// Defender's SAS URL and its signature. A link is either already backed by a Defender URL (a transcript the bot
// had to read anyway) or minted from Defender the first time someone opens it, so a result nobody downloads
// costs no API call, and a link never points at a Defender URL that has expired. Each link is bound to its request
// and command and works until the expiry its card showed, also after "Get fresh link" put a newer one on the card.
// Downloads stream through the bot (sendResultFile), which names the file and hashes what it delivers.
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../core/redis-keys.js';
import type { ResultFile, ResultLink } from '../core/request.js';
import type { DefenderApi } from './defender-client.js';

/** How long a link on a card works: Defender's own link lifetime. */
export const LINK_LIFETIME_MS = 30 * 60_000;

/** Which result a link opens; links stored by earlier versions have none and must match the card's current link. */
export interface LinkBinding {
  requestId?: string;
  index?: number;
}

/** What a link id stands for: a Defender URL already minted, or one to mint on first open. */
export type LinkTarget = ({ url: string } | { mintOnOpen: true }) & LinkBinding;

/**
 * Whether `linkId` (resolved to `target`) opens command `index` of `requestId`: any link the bot issued for it works
 * until its own expiry (Redis drops it then), so "Get fresh link" never cuts short a link already on someone's screen.
 */
export function linkOpens(
  target: LinkTarget,
  linkId: string,
  requestId: string,
  index: number,
  currentLinkId: string | undefined,
): boolean {
  if (target.requestId !== undefined) return target.requestId === requestId && target.index === index;
  return currentLinkId === linkId;
}

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
  async function resolve(linkId: string): Promise<LinkTarget | null> {
    if (!LINK_ID.test(linkId)) return null;
    const stored = await deps.redis.get(deps.keys.resultLink(linkId));
    if (stored === null) return null;
    // Links stored by earlier versions hold the bare URL.
    if (stored.startsWith('http')) return { url: stored };
    return JSON.parse(stored) as LinkTarget;
  }
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
    resolve,
    async attach(linkId, url) {
      const stored = await resolve(linkId);
      const binding: LinkBinding = stored ? { requestId: stored.requestId, index: stored.index } : {};
      await deps.redis.set(
        deps.keys.resultLink(linkId),
        JSON.stringify({ ...binding, url }),
        'KEEPTTL',
        'XX',
      );
    },
  };
}

/** A card link backed by a Defender URL minted now (the caller needs the URL itself, e.g. to read a transcript). */
export async function mintedLink(
  deps: { defender: Pick<DefenderApi, 'getResultDownloadLink'>; links: ResultLinkStore },
  actionId: string,
  index: number,
  now: number,
  requestId?: string,
): Promise<{ link: ResultLink; url: string }> {
  const url = await deps.defender.getResultDownloadLink(actionId, index);
  const expiresAt = Math.min(linkExpiry(url, now), now + LINK_LIFETIME_MS);
  const id = await deps.links.save({ url, requestId, index }, expiresAt, now);
  return { link: { id, expiresAt: new Date(expiresAt).toISOString() }, url };
}

/** A card link whose Defender URL is minted when someone opens it: no API call until then. */
export async function lazyLink(
  links: ResultLinkStore,
  now: number,
  binding: LinkBinding = {},
): Promise<ResultLink> {
  const expiresAt = now + LINK_LIFETIME_MS;
  const id = await links.save({ mintOnOpen: true, ...binding }, expiresAt, now);
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

/** Defender's storage did not give the file behind a signed URL (e.g. 403 once the URL has expired). */
export class ResultFetchError extends Error {
  constructor(readonly status: number) {
    super(`Defender's storage answered ${status}`);
  }
}

/** How long Defender's storage may take to start answering; the transfer itself may take as long as it needs. */
const FIRST_BYTE_TIMEOUT_MS = 30_000;

/**
 * Streams the result behind Defender's signed `url` to the browser as an attachment named `nameFor(gzip)` (gzip is
 * read from the first bytes, not assumed), hashing what it sends. Resolves with the file's name, size and SHA-256
 * once the whole file went out, or null when the browser left first. Throws ResultFetchError before anything was
 * sent when the storage refuses. The browser never sees the signed URL.
 */
export async function sendResultFile(
  res: Response,
  url: string,
  nameFor: (gzip: boolean) => string,
): Promise<ResultFile | null> {
  const started = new AbortController();
  const timer = setTimeout(() => started.abort(), FIRST_BYTE_TIMEOUT_MS);
  let response: globalThis.Response;
  try {
    // No Authorization header: the SAS signature is the credential, and a bearer token must not reach storage.
    response = await fetch(url, { signal: started.signal });
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    throw new ResultFetchError(response.status);
  }
  const reader = response.body.getReader();
  const first = await reader.read();
  const head = first.done ? Buffer.alloc(0) : Buffer.from(first.value);
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const name = nameFor(gzip);

  res.attachment(name);
  res.type(
    name.endsWith('.json') ? 'application/json' : gzip ? 'application/gzip' : 'application/octet-stream',
  );
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  const length = Number(response.headers.get('content-length'));
  if (Number.isInteger(length) && length >= 0) res.setHeader('Content-Length', String(length));

  const hash = createHash('sha256');
  let sizeBytes = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (first.done) return;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield Buffer.from(value);
    }
  }
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(Readable.from(chunks()), counted, res);
  } catch {
    await reader.cancel().catch(() => undefined);
    return null;
  }
  return { name, sizeBytes, sha256: hash.digest('hex') };
}

/** Name, size and SHA-256 of bytes the bot read whole (a transcript), as a download would report them. */
export function describeResultFile(bytes: Buffer, nameFor: (gzip: boolean) => string): ResultFile {
  const gzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  return {
    name: nameFor(gzip),
    sizeBytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}
