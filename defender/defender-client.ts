// The typed Microsoft Defender for Endpoint API client: one HTTP call per method, every failure a
// DefenderApiError. It never retries and never rate-limits; the budget layer above decides when to call again.
import type { Logger } from 'pino';
import { type ZodType, type ZodTypeDef, z } from 'zod';
import { DefenderApiError, parseDefenderError } from './defender-errors.js';
import { devicesFilter, type FilterPart } from './device-names.js';
import { type QuerySize, queryStringLength } from './odata-limits.js';
import { redactUrl } from './redact-url.js';
import { TokenAcquisitionError, type TokenProvider } from './token-provider.js';
import type {
  ActionCommand,
  CommandParam,
  LibraryFile,
  LiveResponseCommandType,
  Machine,
  MachineAction,
  RunLiveResponseBody,
} from './types.js';

export { buildCorrelationTag, findCorrelatedAction } from './action-correlation.js';

export interface MachineQuery {
  /** `startswith(computerDnsName,'...')`, for short names. */
  dnsNameStartsWith?: string;
  /** Any of these typed device names (machine id, FQDN or short host name), in one filter (see devicesFilter). */
  devices?: readonly string[];
  /**
   * Machines carrying this machine tag: `machineTags/any(tag: tag eq '<tag>')`, the collection filter of Microsoft
   * Learn's "OData queries with Microsoft Defender for Endpoint", Example 1
   * (learn.microsoft.com/defender-endpoint/api/exposed-apis-odata-samples).
   */
  tag?: string;
  top?: number;
}

export interface MachineActionQuery {
  /** Polled together with one `id in (...)`; an empty list returns [] without a call. */
  ids?: string[];
  machineId?: string;
  statuses?: string[];
  type?: string;
  /** ISO time; `creationDateTimeUtc ge ...`. */
  createdSince?: string;
  /** At most 10000 (Defender's limit). */
  top?: number;
}

export interface DownloadedResult {
  /** At most `maxBytes` bytes, exactly as served (GetFile results are usually gzip). */
  bytes: Buffer;
  /** The whole size: Content-Length when given, otherwise the bytes seen. */
  totalBytes: number;
  /** More existed than `maxBytes`. */
  truncated: boolean;
}

export interface DefenderApi {
  /** [] when nothing matches (Defender may answer that with 404). */
  findMachines(q: MachineQuery): Promise<Machine[]>;
  listLibraryFiles(): Promise<LibraryFile[]>;
  /** Creates the action. Never retried here: a retry could start a second session on the device. */
  runLiveResponse(machineId: string, body: RunLiveResponseBody): Promise<MachineAction>;
  /** null when Defender answers 404 (also briefly for an action just created). */
  getMachineAction(id: string): Promise<MachineAction | null>;
  /** One call with one `$filter` built from the query. */
  listMachineActions(q: MachineActionQuery): Promise<MachineAction[]>;
  cancelMachineAction(id: string, comment: string): Promise<MachineAction>;
  /** A fresh SAS link (valid 30 minutes) to a completed RunScript/GetFile command's result. */
  getResultDownloadLink(actionId: string, index: number): Promise<string>;
  /** Plain GET of a result link (the link is the credential: no bearer token is sent). */
  downloadResult(url: string, maxBytes: number): Promise<DownloadedResult>;
}

export interface DefenderClientOptions {
  /** e.g. `https://api.securitycenter.microsoft.com`. */
  baseUrl: string;
  tokens: TokenProvider;
  /** Per API call, including reading the body. Default 15000. */
  timeoutMs?: number;
  /** Per result download. Default 60000. */
  downloadTimeoutMs?: number;
  /** Default `lr-bot`. */
  userAgent?: string;
  logger?: Pick<Logger, 'debug'>;
}

/** DefenderApiError code when no token could be had: the call never left the bot. */
export const TOKEN_FAILED = 'TokenAcquisitionFailed';

const DEFAULTS = { timeoutMs: 15_000, downloadTimeoutMs: 60_000, userAgent: 'lr-bot' } as const;
const MAX_TOP = 10_000;

/** An OData string literal: single quotes doubled, so user input cannot end the literal early. */
export function quoteODataString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function invalidArgument(message: string): DefenderApiError {
  return new DefenderApiError({ kind: 'badRequest', status: 0, code: 'InvalidArgument', message });
}

function checkTop(top: number | undefined): void {
  if (top !== undefined && (!Number.isInteger(top) || top < 1 || top > MAX_TOP)) {
    throw invalidArgument(`top must be an integer from 1 to ${MAX_TOP}, got ${top}`);
  }
}

/** The machines `$filter` and its OData node count; undefined when the query has no filter. */
export function machinesFilterPart(q: MachineQuery): FilterPart | undefined {
  const parts: FilterPart[] = [];
  if (q.dnsNameStartsWith !== undefined) {
    parts.push({ filter: `startswith(computerDnsName,${quoteODataString(q.dnsNameStartsWith)})`, nodes: 4 });
  }
  if (q.devices !== undefined && q.devices.length > 0) {
    const devices = devicesFilter(q.devices, quoteODataString);
    parts.push(
      parts.length > 0 && devices.filter.includes(' or ')
        ? { ...devices, filter: `(${devices.filter})` }
        : devices,
    );
  }
  if (q.tag !== undefined) {
    // ASP.NET OData counts the any() node, its collection, and its body (a comparison, 4).
    parts.push({ filter: `machineTags/any(tag: tag eq ${quoteODataString(q.tag)})`, nodes: 6 });
  }
  if (parts.length === 0) return undefined;
  return {
    filter: parts.map((p) => p.filter).join(' and '),
    nodes: parts.reduce((sum, p) => sum + p.nodes, 0) + parts.length - 1,
  };
}

export function buildMachinesFilter(q: MachineQuery): string | undefined {
  return machinesFilterPart(q)?.filter;
}

/** The path and query `findMachines(q)` requests. */
function machinesPath(q: MachineQuery): string {
  return `/api/machines${odataQuery(buildMachinesFilter(q), q.top)}`;
}

/** What Defender's limits see of `findMachines(q)`: the filter's nodes and the query string's length as sent. */
export function machinesQuerySize(q: MachineQuery): QuerySize {
  return { nodes: machinesFilterPart(q)?.nodes ?? 0, queryLength: queryStringLength(machinesPath(q)) };
}

/** The path and query `listMachineActions(q)` requests. */
function machineActionsPath(q: MachineActionQuery): string {
  return `/api/machineactions${odataQuery(buildMachineActionsFilter(q), q.top)}`;
}

/** The query string's length for `listMachineActions({ ids })`: an `id in (...)` is 4 nodes however many ids. */
export function actionIdsQuerySize(ids: readonly string[]): QuerySize {
  return { nodes: 4, queryLength: queryStringLength(machineActionsPath({ ids: [...ids] })) };
}

export function buildMachineActionsFilter(q: MachineActionQuery): string | undefined {
  const clauses: string[] = [];
  if (q.ids !== undefined) clauses.push(`id in (${q.ids.map(quoteODataString).join(',')})`);
  if (q.machineId !== undefined) clauses.push(`machineId eq ${quoteODataString(q.machineId)}`);
  if (q.statuses !== undefined && q.statuses.length > 0) {
    const any = q.statuses.map((s) => `status eq ${quoteODataString(s)}`).join(' or ');
    clauses.push(q.statuses.length > 1 ? `(${any})` : any);
  }
  if (q.type !== undefined) clauses.push(`type eq ${quoteODataString(q.type)}`);
  if (q.createdSince !== undefined) {
    const since = Date.parse(q.createdSince);
    if (Number.isNaN(since)) throw invalidArgument(`createdSince is not a date: ${q.createdSince}`);
    // Unquoted, as Defender's own examples write datetimes; normalised so no caller text reaches the filter.
    clauses.push(`creationDateTimeUtc ge ${new Date(since).toISOString()}`);
  }
  return clauses.length > 0 ? clauses.join(' and ') : undefined;
}

function odataQuery(filter: string | undefined, top: number | undefined): string {
  const parts: string[] = [];
  if (filter !== undefined) parts.push(`$filter=${encodeURIComponent(filter)}`);
  if (top !== undefined) parts.push(`$top=${top}`);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

// Light response validation: required fields are checked, extra fields pass through, unknown status strings are
// kept (Defender adds values over time), and nulls that the wire types do not allow become defaults.
const optionalString = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);
const stringOrEmpty = z
  .string()
  .nullish()
  .transform((v) => v ?? '');

const machineSchema = z
  .object({
    id: z.string(),
    computerDnsName: stringOrEmpty,
    osPlatform: optionalString,
    osVersion: z.string().nullish(),
    version: optionalString,
    healthStatus: optionalString,
    riskScore: optionalString,
    exposureLevel: optionalString,
    lastSeen: optionalString,
    lastIpAddress: optionalString,
    rbacGroupName: optionalString,
    machineTags: z
      .array(z.string())
      .nullish()
      .transform((v) => v ?? undefined),
  })
  .passthrough();

const libraryFileSchema = z
  .object({
    fileName: z.string(),
    sha256: optionalString,
    description: optionalString,
    hasParameters: z
      .boolean()
      .nullish()
      .transform((v) => v ?? undefined),
    parametersDescription: z.string().nullish(),
    createdBy: optionalString,
    creationTime: optionalString,
    lastUpdatedTime: optionalString,
  })
  .passthrough();

const actionCommandSchema = z
  .object({
    index: z.number(),
    startTime: z
      .string()
      .nullish()
      .transform((v) => v ?? null),
    endTime: z
      .string()
      .nullish()
      .transform((v) => v ?? null),
    commandStatus: z.string(),
    errors: z
      .array(z.unknown())
      .nullish()
      .transform((v) => (v ?? []).map((e) => (typeof e === 'string' ? e : JSON.stringify(e)))),
    command: z
      .object({
        type: z.string(),
        params: z
          .array(z.object({ key: z.string(), value: stringOrEmpty }).passthrough())
          .nullish()
          .transform((v) => v ?? []),
      })
      .passthrough(),
  })
  .passthrough()
  .transform(
    (c): ActionCommand => ({
      ...c,
      // Type and keys are passed through as Defender sent them, even ones newer than this client knows.
      command: {
        ...c.command,
        type: c.command.type as LiveResponseCommandType,
        params: c.command.params.map((p) => ({ ...p, key: p.key as CommandParam['key'] })),
      },
    }),
  );

const machineActionSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    requestor: stringOrEmpty,
    requestorComment: stringOrEmpty,
    status: z.string(),
    machineId: z.string(),
    computerDnsName: stringOrEmpty,
    creationDateTimeUtc: z.string(),
    lastUpdateDateTimeUtc: optionalString,
    lastUpdateTimeUtc: optionalString,
    cancellationRequestor: z.string().nullish(),
    cancellationComment: z.string().nullish(),
    cancellationDateTimeUtc: z.string().nullish(),
    errorHResult: z
      .number()
      .nullish()
      .transform((v) => v ?? undefined),
    troubleshootInfo: z
      .unknown()
      .transform((v) => (typeof v === 'string' ? v : v == null ? null : JSON.stringify(v))),
    commands: z
      .array(actionCommandSchema)
      .nullish()
      .transform((v) => v ?? []),
  })
  .passthrough()
  // Older payloads name the field `lastUpdateTimeUtc`; callers read only `lastUpdateDateTimeUtc`.
  .transform(
    (a): MachineAction => ({ ...a, lastUpdateDateTimeUtc: a.lastUpdateDateTimeUtc ?? a.lastUpdateTimeUtc }),
  );

const listOf = <T>(item: ZodType<T, ZodTypeDef, unknown>) => z.object({ value: z.array(item) }).passthrough();
const downloadLinkSchema = z.object({ value: z.string().url() }).passthrough();

type Schema<T> = ZodType<T, ZodTypeDef, unknown>;

interface CallOptions {
  body?: unknown;
  /** Statuses that count as success. Default 200. */
  expect?: readonly number[];
  /** Answer null instead of throwing on 404. */
  notFoundAsNull?: boolean;
}

function describeFetchFailure(error: unknown): { kind: 'timeout' | 'network'; code: string; detail: string } {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError')
    return { kind: 'timeout', code: 'Timeout', detail: 'no answer' };
  // undici reports socket problems as `TypeError: fetch failed` with the system error as the cause.
  const cause = error instanceof Error ? error.cause : undefined;
  // With several addresses to try, Node wraps the per-address errors in an AggregateError.
  const first = cause instanceof AggregateError ? cause.errors[0] : cause;
  const codeOf = (e: unknown): string | undefined =>
    typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
  const code = codeOf(cause) ?? codeOf(first) ?? 'NetworkError';
  const detail =
    cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return { kind: 'network', code, detail };
}

export function createDefenderClient(options: DefenderClientOptions): DefenderApi {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const downloadTimeoutMs = options.downloadTimeoutMs ?? DEFAULTS.downloadTimeoutMs;
  const userAgent = options.userAgent ?? DEFAULTS.userAgent;
  const logger = options.logger;
  const segment = encodeURIComponent;

  const transportError = (error: unknown, method: string, url: string, limitMs: number): DefenderApiError => {
    if (error instanceof DefenderApiError) return error;
    const failure = describeFetchFailure(error);
    const what = failure.kind === 'timeout' ? `timed out after ${limitMs} ms` : `failed: ${failure.detail}`;
    return new DefenderApiError({
      kind: failure.kind,
      status: 0,
      code: failure.code,
      message: `Defender API ${method} ${redactUrl(url)} ${what}`,
      cause: error,
    });
  };

  const bearer = async (): Promise<string> => {
    try {
      return await options.tokens.getToken();
    } catch (error) {
      const retryable = error instanceof TokenAcquisitionError ? error.retryable : true;
      throw new DefenderApiError({
        kind: retryable ? 'network' : 'unauthorized',
        status: 0,
        code: TOKEN_FAILED,
        message: error instanceof Error ? error.message : 'Could not get a Defender API token',
        cause: error,
      });
    }
  };

  async function call<T>(
    method: 'GET' | 'POST',
    path: string,
    schema: Schema<T>,
    opts: CallOptions = {},
  ): Promise<T | null> {
    const url = `${baseUrl}${path}`;
    const started = Date.now();
    const headers: Record<string, string> = {
      Authorization: `Bearer ${await bearer()}`,
      Accept: 'application/json',
      'User-Agent': userAgent,
    };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';

    let status: number;
    let text: string;
    let responseHeaders: Headers;
    try {
      const response = await fetch(url, {
        method,
        headers,
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      responseHeaders = response.headers;
      text = await response.text();
    } catch (error) {
      const failure = transportError(error, method, url, timeoutMs);
      logger?.debug(
        { method, url: redactUrl(url), kind: failure.kind, code: failure.code },
        'defender call failed',
      );
      throw failure;
    }
    const ms = Date.now() - started;

    if (!(opts.expect ?? [200]).includes(status)) {
      if (status === 404 && opts.notFoundAsNull) {
        logger?.debug({ method, url: redactUrl(url), status, ms }, 'defender call');
        return null;
      }
      const failure = parseDefenderError(status, text, responseHeaders, { method, url });
      logger?.debug(
        { method, url: redactUrl(url), status, ms, code: failure.code, target: failure.target },
        'defender call failed',
      );
      throw failure;
    }
    logger?.debug({ method, url: redactUrl(url), status, ms }, 'defender call');

    const invalid = (detail: string): DefenderApiError =>
      new DefenderApiError({
        kind: 'server',
        status,
        code: 'InvalidResponse',
        message: `Defender API ${method} ${redactUrl(url)} returned an unexpected response: ${detail}`,
      });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw invalid('the body is not JSON');
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      // Issue paths and messages only: values could be long or sensitive.
      throw invalid(
        parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; '),
      );
    }
    return parsed.data;
  }

  const required = <T>(value: T | null): T => {
    // `call` returns null only with notFoundAsNull; this keeps the types honest without a cast.
    if (value === null)
      throw new DefenderApiError({ kind: 'notFound', status: 404, code: 'NotFound', message: 'Not found' });
    return value;
  };

  return {
    async findMachines(q) {
      checkTop(q.top);
      const path = machinesPath(q);
      const list = await call('GET', path, listOf(machineSchema), { notFoundAsNull: true });
      return list?.value ?? [];
    },

    async listLibraryFiles() {
      return required(await call('GET', '/api/libraryfiles', listOf(libraryFileSchema))).value;
    },

    async runLiveResponse(machineId, body) {
      const path = `/api/machines/${segment(machineId)}/runliveresponse`;
      return required(await call('POST', path, machineActionSchema, { body, expect: [200, 201] }));
    },

    async getMachineAction(id) {
      return call('GET', `/api/machineactions/${segment(id)}`, machineActionSchema, { notFoundAsNull: true });
    },

    async listMachineActions(q) {
      checkTop(q.top);
      if (q.ids !== undefined && q.ids.length === 0) return [];
      const path = machineActionsPath(q);
      return required(await call('GET', path, listOf(machineActionSchema))).value;
    },

    async cancelMachineAction(id, comment) {
      const path = `/api/machineactions/${segment(id)}/cancel`;
      return required(await call('POST', path, machineActionSchema, { body: { Comment: comment } }));
    },

    async getResultDownloadLink(actionId, index) {
      if (!Number.isInteger(index) || index < 0)
        throw invalidArgument(`index must be a non-negative integer, got ${index}`);
      const path = `/api/machineactions/${segment(actionId)}/GetLiveResponseResultDownloadLink(index=${index})`;
      return required(await call('GET', path, downloadLinkSchema)).value;
    },

    async downloadResult(url, maxBytes) {
      if (!Number.isInteger(maxBytes) || maxBytes < 0)
        throw invalidArgument('maxBytes must be a non-negative integer');
      const started = Date.now();
      try {
        // No Authorization header: the SAS signature is the credential, and a bearer token must not leak to storage.
        const response = await fetch(url, {
          headers: { 'User-Agent': userAgent },
          signal: AbortSignal.timeout(downloadTimeoutMs),
        });
        if (!response.ok) {
          throw parseDefenderError(response.status, await response.text(), response.headers, {
            method: 'GET',
            url,
          });
        }
        const lengthHeader = Number(response.headers.get('content-length'));
        const contentLength = Number.isInteger(lengthHeader) && lengthHeader >= 0 ? lengthHeader : undefined;

        const chunks: Buffer[] = [];
        let seen = 0;
        let stoppedEarly = false;
        if (response.body) {
          const reader = response.body.getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            chunks.push(Buffer.from(value));
            seen += value.byteLength;
            if (seen > maxBytes) {
              stoppedEarly = true;
              // Stop the transfer: the rest is not needed and may be large.
              await reader.cancel().catch(() => undefined);
              break;
            }
          }
        }
        const all = Buffer.concat(chunks);
        const totalBytes = Math.max(contentLength ?? 0, seen);
        logger?.debug(
          { url: redactUrl(url), totalBytes, ms: Date.now() - started },
          'defender result downloaded',
        );
        return {
          bytes: all.subarray(0, maxBytes),
          totalBytes,
          truncated: stoppedEarly || totalBytes > maxBytes,
        };
      } catch (error) {
        throw transportError(error, 'GET', url, downloadTimeoutMs);
      }
    },
  };
}
