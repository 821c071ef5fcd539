// Signs and checks the simulator's Azure-SAS-shaped result links, so clients meet the same URL shape,
// the same 30-minute expiry and the same "the signature is the only credential" property as with Azure Blob.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The service version Defender's links carry. */
export const SAS_SERVICE_VERSION = '2019-07-07';

export type SasCheck = 'ok' | 'expired' | 'badSignature';

export interface SasSigner {
  /** Query string (without `?`) for `path`, valid until `expiresAt` (epoch ms, rounded up to the second). */
  sign(path: string, expiresAt: number): string;
  /** Checks a request's query against its path at simulated time `now`. */
  verify(path: string, query: URLSearchParams, now: number): SasCheck;
}

export function createSasSigner(key: Buffer = randomBytes(32)): SasSigner {
  const signature = (path: string, se: string, sp: string, sv: string, sr: string): string =>
    createHmac('sha256', key).update([path, se, sp, sv, sr].join('\n')).digest('base64');

  return {
    sign(path, expiresAt) {
      // Azure writes `se` to the second, without milliseconds.
      const se = new Date(Math.ceil(expiresAt / 1000) * 1000).toISOString().replace('.000Z', 'Z');
      const sig = signature(path, se, 'r', SAS_SERVICE_VERSION, 'b');
      return [
        `se=${encodeURIComponent(se)}`,
        'sp=r',
        `sv=${SAS_SERVICE_VERSION}`,
        'sr=b',
        `sig=${encodeURIComponent(sig)}`,
      ].join('&');
    },
    verify(path, query, now) {
      const se = query.get('se') ?? '';
      const sp = query.get('sp') ?? '';
      const sv = query.get('sv') ?? '';
      const sr = query.get('sr') ?? '';
      const sig = Buffer.from(query.get('sig') ?? '', 'base64');
      const expected = Buffer.from(signature(path, se, sp, sv, sr), 'base64');
      if (sig.length !== expected.length || !timingSafeEqual(sig, expected)) return 'badSignature';
      const expiry = Date.parse(se);
      if (Number.isNaN(expiry) || now >= expiry) return 'expired';
      return 'ok';
    },
  };
}
