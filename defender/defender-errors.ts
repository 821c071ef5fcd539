// The one error type the Defender client throws. Its `kind` decides what callers do: wait and retry
// (throttled, server, network, timeout), tell the user the device is busy, or report a configuration problem.
import { redactText, redactUrl } from './redact-url.js';

export { redactText, redactUrl } from './redact-url.js';

export type DefenderErrorKind =
  /** 429: wait `retryAfterMs` and try again. */
  | 'throttled'
  /** 400 ActiveRequestAlreadyExists: the device already runs a live response; never retry in a loop. */
  | 'busy'
  /** 403 DisallowedOperation: the device group has no automation level (configuration, not retryable). */
  | 'disallowed'
  | 'notFound'
  /** Other 4xx: the request itself is wrong. */
  | 'badRequest'
  /** 401, other 403, or no token: credentials or permissions. */
  | 'unauthorized'
  /** 5xx or a response the client cannot read. */
  | 'server'
  /** The connection failed (refused, reset, DNS). */
  | 'network'
  /** No answer within the client's timeout. */
  | 'timeout';

const RETRYABLE_KINDS: readonly DefenderErrorKind[] = ['throttled', 'server', 'network', 'timeout'];

export function isRetryableKind(kind: DefenderErrorKind): boolean {
  return RETRYABLE_KINDS.includes(kind);
}

export interface DefenderApiErrorInit {
  kind: DefenderErrorKind;
  /** HTTP status; 0 when no response arrived. */
  status: number;
  /** Defender's `error.code`, or a code describing the failure (`NetworkError`, `Timeout`, ...). */
  code: string;
  message: string;
  /** Defender's `error.target`: the correlation id Microsoft support asks for. */
  target?: string;
  retryAfterMs?: number;
  cause?: unknown;
}

export class DefenderApiError extends Error {
  override readonly name = 'DefenderApiError';
  readonly kind: DefenderErrorKind;
  readonly status: number;
  readonly code: string;
  readonly target: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly retryable: boolean;

  constructor(init: DefenderApiErrorInit) {
    // Every message passes through redactText: a URL or token echoed by a server must not reach a log.
    super(redactText(init.message), init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.status = init.status;
    this.code = init.code;
    this.target = init.target;
    this.retryAfterMs = init.retryAfterMs;
    this.retryable = isRetryableKind(init.kind);
  }
}

/** Headers as fetch gives them, or a plain object (lower- or mixed-case names). */
export type HeadersLike = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeadersLike | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * How long the server asks us to wait, in ms: Azure's `retry-after-ms` / `x-ms-retry-after-ms` when present,
 * else `Retry-After` as seconds or as an HTTP date.
 */
export function parseRetryAfter(
  headers: HeadersLike | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = header(headers, name)?.trim();
    if (value && /^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value));
  }
  const value = header(headers, 'retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

export function classifyDefenderError(status: number, code: string): DefenderErrorKind {
  // The code wins over the status: it says what happened even if the status were to change.
  if (code === 'ActiveRequestAlreadyExists') return 'busy';
  if (code === 'DisallowedOperation') return 'disallowed';
  if (code === 'TooManyRequests' || status === 429) return 'throttled';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'notFound';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'server';
  return 'badRequest';
}

const DEFAULT_CODES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  408: 'RequestTimeout',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Reads `{"error":{"code","message","target"}}`, Azure Storage's XML errors, or any other text. */
function readErrorBody(bodyText: string): { code?: string; message?: string; target?: string } {
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) {
      const error = parsed.error;
      if (typeof error === 'object' && error !== null) {
        const get = (key: string): string | undefined => {
          const value = (error as Record<string, unknown>)[key];
          return typeof value === 'string' ? value : undefined;
        };
        return {
          ...(get('code') ? { code: get('code') } : {}),
          ...(get('message') ? { message: get('message') } : {}),
          ...(get('target') ? { target: get('target') } : {}),
        };
      }
      // OAuth-style `{"error":"invalid_client","error_description":"..."}`.
      if (typeof error === 'string') {
        const description = (parsed as Record<string, unknown>).error_description;
        return { code: error, ...(typeof description === 'string' ? { message: description } : {}) };
      }
    }
  } catch {
    // Not JSON: fall through to XML and plain text.
  }
  const xmlCode = /<Code>([^<]+)<\/Code>/i.exec(bodyText)?.[1];
  const xmlMessage = /<Message>([^<]+)<\/Message>/i.exec(bodyText)?.[1];
  if (xmlCode) return { code: xmlCode, ...(xmlMessage ? { message: xmlMessage.split('\n')[0] } : {}) };
  const text = oneLine(bodyText.replace(/<[^>]+>/g, ' '), 200);
  return text ? { message: text } : {};
}

/** Builds the error for a non-2xx response. `request` names the call in the message (its URL redacted). */
export function parseDefenderError(
  status: number,
  bodyText: string,
  headers?: HeadersLike,
  request?: { method: string; url: string },
): DefenderApiError {
  const body = readErrorBody(bodyText);
  const code = body.code ?? DEFAULT_CODES[status] ?? `Http${status}`;
  const kind = classifyDefenderError(status, code);
  const retryAfterMs = parseRetryAfter(headers);
  const target = body.target ?? header(headers, 'x-ms-request-id') ?? header(headers, 'request-id');
  const call = request ? `${request.method} ${redactUrl(request.url)} ` : '';
  const detail = body.message ? `: ${oneLine(body.message)}` : '';
  return new DefenderApiError({
    kind,
    status,
    code,
    message: `Defender API ${call}failed with ${status} ${code}${detail}`,
    ...(target ? { target } : {}),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}
