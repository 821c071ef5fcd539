// A small Microsoft Graph client for the on-call look-ups: app-only bearer tokens, every page of a collection
// (`@odata.nextLink`), and 429/503/504 retried after Graph's Retry-After within a bounded wait, so a Teams turn is
// never held longer than it can afford. Every failure is a GraphApiError with words an operator can act on.
import type { Logger } from 'pino';
import { type ZodType, type ZodTypeDef, z } from 'zod';
import { parseRetryAfter } from '../defender/defender-errors.js';
import type { TokenProvider } from '../defender/token-provider.js';

export type GraphErrorKind =
  | 'throttled'
  | 'unauthorized'
  | 'forbidden'
  | 'notFound'
  | 'badRequest'
  | 'server'
  | 'network';

/** A Graph call that failed; `message` never contains a token. */
export class GraphApiError extends Error {
  override readonly name = 'GraphApiError';
  readonly kind: GraphErrorKind;
  readonly status: number;
  /** Graph's `error.code` (e.g. `Authorization_RequestDenied`), or ours for transport failures. */
  readonly code: string;
  /** From Retry-After, when Graph sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(init: {
    kind: GraphErrorKind;
    status: number;
    code: string;
    message: string;
    retryAfterMs?: number;
  }) {
    super(init.message);
    this.kind = init.kind;
    this.status = init.status;
    this.code = init.code;
    this.retryAfterMs = init.retryAfterMs;
  }
}

export interface GraphClient {
  /** GET a collection (`/v1.0/...`) and every following page; items parsed with `item` (others are skipped). */
  listAll<T>(
    path: string,
    item: ZodType<T, ZodTypeDef, unknown>,
    options?: { headers?: Record<string, string> },
  ): Promise<T[]>;
}

export interface GraphClientOptions {
  /** Graph's root, without version: `https://graph.microsoft.com` (GCC High `https://graph.microsoft.us`). */
  baseUrl: string;
  tokens: TokenProvider;
  /** Per HTTP call, body included. Default 10000. */
  timeoutMs?: number;
  /**
   * How long one listAll may wait in total for Retry-After before giving up with a `throttled` error. Default 8000:
   * a Teams turn (and a card click, answered within ~10 s) can afford a few seconds, not Graph's longer pauses.
   */
  maxRetryWaitMs?: number;
  /** Retries of one page after 429/503/504. Default 3. */
  maxRetries?: number;
  /** Pages followed at most; a longer collection is an error rather than an unbounded walk. Default 50. */
  maxPages?: number;
  logger?: Pick<Logger, 'debug' | 'warn'>;
  /** Waits; tests never replace it, it exists so the wait is one named place. */
  sleep?: (ms: number) => Promise<void>;
}

const DEFAULTS = { timeoutMs: 10_000, maxRetryWaitMs: 8_000, maxRetries: 3, maxPages: 50 } as const;
/** Without Retry-After, Graph's throttling guidance asks for exponential back-off: start here. */
const FALLBACK_RETRY_MS = 1_000;

const pageSchema = z
  .object({ value: z.array(z.unknown()), '@odata.nextLink': z.string().optional() })
  .passthrough();
const errorSchema = z.object({
  error: z.object({ code: z.string().optional(), message: z.string().optional() }),
});

function kindOf(status: number): GraphErrorKind {
  if (status === 429) return 'throttled';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'notFound';
  if (status >= 500) return 'server';
  return 'badRequest';
}

/** Path without its query (ids in it are not secret, but query strings can be long). */
function shortPath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.split('?')[0] ?? url;
  }
}

export function createGraphClient(options: GraphClientOptions): GraphClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const origin = new URL(baseUrl).origin;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const maxRetryWaitMs = options.maxRetryWaitMs ?? DEFAULTS.maxRetryWaitMs;
  const maxRetries = options.maxRetries ?? DEFAULTS.maxRetries;
  const maxPages = options.maxPages ?? DEFAULTS.maxPages;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  async function bearer(): Promise<string> {
    try {
      return await options.tokens.getToken();
    } catch (error) {
      throw new GraphApiError({
        kind: 'unauthorized',
        status: 0,
        code: 'TokenAcquisitionFailed',
        message: error instanceof Error ? error.message : 'Could not get a Microsoft Graph token',
      });
    }
  }

  async function getPage(url: string, headers: Record<string, string>, budget: { waitedMs: number }) {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      let text: string;
      try {
        response = await fetch(url, {
          headers: { Authorization: `Bearer ${await bearer()}`, Accept: 'application/json', ...headers },
          signal: AbortSignal.timeout(timeoutMs),
        });
        text = await response.text();
      } catch (error) {
        if (error instanceof GraphApiError) throw error;
        const timedOut =
          error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
        throw new GraphApiError({
          kind: 'network',
          status: 0,
          code: timedOut ? 'Timeout' : 'NetworkError',
          message: `Microsoft Graph GET ${shortPath(url)} ${timedOut ? `timed out after ${timeoutMs} ms` : 'could not be reached'}`,
        });
      }
      if (response.ok) {
        options.logger?.debug({ path: shortPath(url), status: response.status }, 'graph call');
        try {
          return pageSchema.parse(JSON.parse(text));
        } catch {
          throw new GraphApiError({
            kind: 'server',
            status: response.status,
            code: 'InvalidResponse',
            message: `Microsoft Graph GET ${shortPath(url)} did not answer a collection`,
          });
        }
      }
      const parsed = errorSchema.safeParse(safeJson(text));
      const code = parsed.success
        ? (parsed.data.error.code ?? String(response.status))
        : String(response.status);
      const detail = parsed.success ? (parsed.data.error.message ?? '') : '';
      const retryAfterMs = parseRetryAfter(response.headers);
      const transient = response.status === 429 || response.status === 503 || response.status === 504;
      // Graph's throttling guidance: wait the Retry-After it sends, then retry; without one, back off exponentially.
      const waitMs = retryAfterMs ?? FALLBACK_RETRY_MS * 2 ** attempt;
      if (transient && attempt < maxRetries && budget.waitedMs + waitMs <= maxRetryWaitMs) {
        options.logger?.warn(
          { path: shortPath(url), status: response.status, waitMs },
          'graph throttled; waiting',
        );
        budget.waitedMs += waitMs;
        await sleep(waitMs);
        continue;
      }
      throw new GraphApiError({
        kind: kindOf(response.status),
        status: response.status,
        code,
        message: `Microsoft Graph GET ${shortPath(url)} answered ${response.status} ${code}${detail ? `: ${detail}` : ''}`,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    }
  }

  return {
    async listAll(path, item, opts = {}) {
      const items: Array<z.infer<typeof item>> = [];
      const budget = { waitedMs: 0 };
      let url: string | undefined = `${baseUrl}${path}`;
      for (let page = 0; url; page++) {
        if (page >= maxPages)
          throw new GraphApiError({
            kind: 'badRequest',
            status: 0,
            code: 'TooManyPages',
            message: `Microsoft Graph GET ${shortPath(url)} has more than ${maxPages} pages`,
          });
        const body = await getPage(url, opts.headers ?? {}, budget);
        for (const value of body.value) {
          const parsed = item.safeParse(value);
          if (parsed.success) items.push(parsed.data);
        }
        const next: string | undefined = body['@odata.nextLink'];
        // The bearer token goes only to Graph itself: a next link elsewhere is not followed.
        if (next && new URL(next, baseUrl).origin !== origin)
          throw new GraphApiError({
            kind: 'server',
            status: 0,
            code: 'ForeignNextLink',
            message: `Microsoft Graph GET ${shortPath(url)} pointed its next page outside ${origin}`,
          });
        url = next ? new URL(next, baseUrl).toString() : undefined;
      }
      return items;
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
