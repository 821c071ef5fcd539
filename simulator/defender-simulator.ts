// An in-process Microsoft Defender for Endpoint API over real HTTP, for tests, the benchmark and the demo:
// the same routes, status codes, error bodies, limits and quirks the bot meets in a real tenant, on a clock
// that can run faster than real time, with faults that can be injected on demand.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { LibraryFile, Machine, MachineAction } from '../defender/types.js';
import type { LastUpdateFields } from './action-progress.js';
import { type ActiveFault, createFaultInjector, type FaultEffect, type FaultSpec } from './fault-injector.js';
import {
  countFilterNodes,
  FilterSyntaxError,
  MAX_FILTER_NODES,
  MAX_QUERY_STRING_LENGTH,
  matchesFilter,
  nodeCountExceededMessage,
  parseODataFilter,
  QUERY_STRING_TOO_LONG_HTML,
} from './odata-filter.js';
import {
  createSeedLibrary,
  createSeedMachines,
  createSeedScriptBehaviours,
  type ScriptBehaviour,
  type SimMachine,
} from './seed-data.js';
import { createSimClock } from './sim-clock.js';
import {
  acceptedAudiences,
  COMMERCIAL_DEFENDER_AUDIENCE,
  DEFENDER_ROLES,
  issueToken,
  missingRoles,
  OTHER_KNOWN_RESOURCES,
  readIssuedToken,
  requiredRoles,
} from './simulated-entra.js';
import {
  BLOB_CONTAINER_PATH,
  createSimulatedTenant,
  DEFAULT_TIMINGS,
  defaultGetFileContent,
  type SimError,
  type SimTimings,
} from './simulated-tenant.js';
import { createSlidingWindowLimiter, type WindowLimit } from './sliding-window-limiter.js';

export interface SimulatorLimits {
  /** runliveresponse calls per window. Defender: 10 per minute. */
  run: WindowLimit;
  /** Concurrent sessions (Pending or InProgress actions). Defender: 25 (current docs: 50). */
  maxSessions: number;
  /** Every other /api call. Defender: 100 per minute and 1500 per hour. */
  api: WindowLimit[];
  /** false turns the rate limits off (the session limit stays). Default true. */
  enabled: boolean;
}

export const DEFAULT_LIMITS: SimulatorLimits = {
  run: { limit: 10, windowMs: 60_000 },
  maxSessions: 25,
  api: [
    { limit: 100, windowMs: 60_000 },
    { limit: 1500, windowMs: 3_600_000 },
  ],
  enabled: true,
};

/** What the token endpoint answers instead of a token (an Entra ID error). */
export interface TokenFailure {
  status: number;
  /** OAuth error, e.g. `invalid_client`. */
  error: string;
  /** Entra ID description, e.g. `AADSTS7000215: Invalid client secret provided. ...`. */
  description: string;
}

export interface TokenEndpointOptions {
  /** When set, other client ids are refused (AADSTS700016). */
  clientId?: string;
  /** When set, other secrets are refused (AADSTS7000215). Client assertions (certificates) are accepted as is. */
  clientSecret?: string;
  failure?: TokenFailure;
  /** Other app registrations of the tenant (the bot's own), signing in with their secrets; they hold no Defender roles. */
  otherApps?: { clientId: string; clientSecret: string }[];
}

export interface DefenderSimulatorOptions {
  /** Default 0 = a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Base URL written into result links; default `http://<host>:<port>`. */
  publicUrl?: string;
  /**
   * A pre-issued bearer token the API accepts as is (DEFENDER_ACCESS_TOKEN), with the configured audience and roles.
   * Tokens from the token endpoint are JWTs whose signature starts with it, so tests can look for it in logs.
   * Letters, digits, `-` and `_` only. Default `sim-token`.
   */
  accessToken?: string;
  /**
   * The audience (`aud`) the API accepts: its cloud's WindowsDefenderATP resource. Default
   * `https://api.securitycenter.microsoft.com` (commercial and regional hosts); GCC and GCC High use their API's URL.
   */
  audience?: string;
  /** Application permissions the app was granted on WindowsDefenderATP (its tokens' `roles`). Default all four. */
  grantedRoles?: readonly string[];
  /** Simulated ms per real ms (60 = a simulated minute per second). Default 1. */
  speed?: number;
  /** Simulated start time; default now. */
  startTime?: string | number;
  /** Real clock, injectable. Default Date.now. */
  realNow?: () => number;
  /** `requestor` on actions created through the API. Default `LR Bot`. */
  requestor?: string;
  /** Replace the seed devices. */
  machines?: SimMachine[];
  /** Add devices to the seed. */
  extraMachines?: SimMachine[];
  /** Replace the seed library. */
  library?: LibraryFile[];
  /** Add library files to the seed. */
  extraLibrary?: LibraryFile[];
  /** Script behaviours by file name, on top of the seed ones. */
  scripts?: Record<string, ScriptBehaviour>;
  timings?: Partial<SimTimings>;
  limits?: Partial<SimulatorLimits>;
  /** Answer 404 when a machines query matches nothing, as Defender sometimes does. Default true. */
  emptyListAs404?: boolean;
  /** Which last-update field actions carry: current (`lastUpdateDateTimeUtc`), older (`lastUpdateTimeUtc`), or both. Default 'new'. */
  lastUpdateFields?: LastUpdateFields;
  /** A new action is missing from GET for this long (simulated ms). Default 0. */
  invisibleAfterCreateMs?: number;
  /** Bytes collected by GetFile (before gzip). */
  getFileContent?: (path: string, machine: Machine) => Buffer;
  tokenEndpoint?: TokenEndpointOptions;
  /** Most recent calls kept for `calls()`. Default 100000. */
  maxCallLog?: number;
}

export interface CallRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  /** null when no response was sent (reset, hang, lost response). */
  status: number | null;
  fault?: FaultEffect['kind'];
  /** Simulated time (ISO). */
  time: string;
  /** Real epoch ms. */
  realTime: number;
}

export interface SimulatorControl {
  /** Simulated epoch ms. */
  now(): number;
  advance(simMs: number): void;
  setSpeed(speed: number): void;
  setOnline(machineIdOrName: string, online: boolean): void;
  /** The device's `healthStatus` as Defender reports it from now on; `Inactive` also takes it offline. */
  setHealth(machineIdOrName: string, healthStatus: string): void;
  /** A live response session opened in the Defender portal on the device (not listed by machineactions), or closed. */
  setPortalSession(machineIdOrName: string, open: boolean): void;
  /** The next N runliveresponse calls (or all) for a busy device return its active action instead of 400. */
  setMerge(mode: number | 'always' | 'off'): void;
  setInvisibleAfterCreate(simMs: number): void;
  setTokenFailure(failure: TokenFailure | null): void;
  /** Roles granted from now on (tokens already issued keep theirs; the pre-issued token follows at once). */
  setGrantedRoles(roles: readonly string[]): void;
  injectFault(spec: FaultSpec): string;
  clearFaults(): void;
  faults(): ActiveFault[];
  /** Every request except /_sim ones, oldest first; optionally filtered. */
  calls(filter?: { method?: string; path?: RegExp | string }): CallRecord[];
  clearCalls(): void;
  /** All actions as GET would show them now (ignoring the invisibility quirk). */
  actions(): MachineAction[];
  action(id: string): MachineAction | undefined;
  machines(): SimMachine[];
  addMachine(machine: SimMachine): void;
  addLibraryFile(file: LibraryFile, behaviour?: ScriptBehaviour): void;
  setScriptBehaviour(fileName: string, behaviour: ScriptBehaviour): void;
  /** Back to the configured seed: no actions, calls, faults, merges, token failure; rate windows emptied. */
  reset(): void;
}

export interface DefenderSimulator {
  url: string;
  port: number;
  control: SimulatorControl;
  close(): Promise<void>;
}

const MACHINE_FILTER_PROPERTIES = [
  'id',
  'computerDnsName',
  'healthStatus',
  'osPlatform',
  'riskScore',
  'exposureLevel',
  'lastSeen',
  'lastIpAddress',
  'rbacGroupName',
  // A collection: filtered with any() (Microsoft Learn, "OData queries with Microsoft Defender for Endpoint", Example 1).
  'machineTags',
] as const;
const ACTION_FILTER_PROPERTIES = [
  'id',
  'status',
  'machineId',
  'type',
  'requestor',
  'creationDateTimeUtc',
] as const;
const MAX_TOP = 10_000;

function errorBody(code: string, message: string) {
  return { error: { code, message, target: randomUUID() } };
}

function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json(errorBody(code, message));
}

const CODE_FOR_STATUS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'ResourceNotFound',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

const faultBodySchema = z.object({
  method: z.string().optional(),
  path: z.string(),
  times: z.union([z.number().int().positive(), z.literal('always')]).optional(),
  kind: z.enum(['status', 'reset', 'hang', 'loseResponse']),
  status: z.number().int().min(100).max(599).optional(),
  body: z.unknown().optional(),
  retryAfterSeconds: z.number().nonnegative().optional(),
  headers: z.record(z.string()).optional(),
  delayMs: z.number().nonnegative().optional(),
});

export async function startDefenderSimulator(
  options: DefenderSimulatorOptions = {},
): Promise<DefenderSimulator> {
  const accessToken = options.accessToken ?? 'sim-token';
  if (!/^[A-Za-z0-9_-]+$/.test(accessToken)) throw new Error('accessToken must be letters, digits, - and _');
  const audience = (options.audience ?? COMMERCIAL_DEFENDER_AUDIENCE).replace(/\/+$/, '');
  const audiences = acceptedAudiences(audience);
  const knownResources = new Set<string>([...audiences, ...OTHER_KNOWN_RESOURCES]);
  let grantedRoles: readonly string[] = options.grantedRoles ?? DEFENDER_ROLES;
  const signingKey = randomBytes(32);
  const realNow = options.realNow ?? Date.now;
  const host = options.host ?? '127.0.0.1';
  const startTime = typeof options.startTime === 'string' ? Date.parse(options.startTime) : options.startTime;
  const clock = createSimClock({
    speed: options.speed ?? 1,
    ...(startTime === undefined ? {} : { start: startTime }),
    ...(options.realNow ? { realNow: options.realNow } : {}),
  });
  const limits: SimulatorLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const emptyListAs404 = options.emptyListAs404 ?? true;
  const seedNow = clock.now();
  const tenant = createSimulatedTenant(
    {
      machines: [...(options.machines ?? createSeedMachines(seedNow)), ...(options.extraMachines ?? [])],
      library: [...(options.library ?? createSeedLibrary()), ...(options.extraLibrary ?? [])],
      scripts: { ...createSeedScriptBehaviours(), ...options.scripts },
      timings: { ...DEFAULT_TIMINGS, ...options.timings },
      requestor: options.requestor ?? 'LR Bot',
      maxSessions: limits.maxSessions,
      lastUpdateFields: options.lastUpdateFields ?? 'new',
      invisibleAfterCreateMs: options.invisibleAfterCreateMs ?? 0,
      getFileContent: options.getFileContent ?? defaultGetFileContent,
    },
    clock,
  );
  const faults = createFaultInjector();
  const runLimiter = createSlidingWindowLimiter([limits.run]);
  const apiLimiter = createSlidingWindowLimiter(limits.api);
  let callLog: CallRecord[] = [];
  const maxCallLog = options.maxCallLog ?? 100_000;
  let tokenFailure: TokenFailure | null = options.tokenEndpoint?.failure ?? null;
  const delayTimers = new Set<NodeJS.Timeout>();
  let baseUrl = '';

  /** Retry-After in whole real seconds (clients honour it in real time), plus Azure's `retry-after-ms`. */
  const sendThrottled = (res: Response, simWaitMs: number, message: string): void => {
    const realMs = Math.max(1, Math.ceil(clock.toRealMs(Math.max(0, simWaitMs))));
    res.setHeader('Retry-After', String(Math.max(1, Math.ceil(realMs / 1000))));
    res.setHeader('retry-after-ms', String(realMs));
    sendError(res, 429, 'TooManyRequests', message);
  };
  const sendSimError = (res: Response, error: SimError): void => {
    if (error.status === 429) {
      sendThrottled(res, error.retryAfterMs ?? 60_000, error.message);
      return;
    }
    sendError(res, error.status, error.code, error.message);
  };
  const parseTop = (req: Request, res: Response): number | undefined | null => {
    const raw = req.query.$top;
    if (raw === undefined) return undefined;
    if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_TOP) {
      sendError(res, 400, 'BadRequest', `$top must be an integer between 1 and ${MAX_TOP}`);
      return null;
    }
    return Number(raw);
  };
  /** Applies `$filter`, `$skip` and `$top`; null when it already answered 400. */
  const query = <T extends object>(
    req: Request,
    res: Response,
    items: T[],
    properties: readonly string[],
    dateProperties: readonly string[],
  ): T[] | null => {
    const top = parseTop(req, res);
    if (top === null) return null;
    const filterText = req.query.$filter;
    let result = items;
    if (filterText !== undefined) {
      if (typeof filterText !== 'string') {
        sendError(res, 400, 'BadRequest', 'Only one $filter is allowed');
        return null;
      }
      try {
        const expr = parseODataFilter(filterText, properties);
        // ASP.NET OData's FilterQueryValidator counts the parsed tree against MaxNodeCount (100 by default).
        if (countFilterNodes(expr) > MAX_FILTER_NODES) {
          sendError(res, 400, 'BadRequest', nodeCountExceededMessage(MAX_FILTER_NODES));
          return null;
        }
        result = items.filter((item) => matchesFilter(expr, item as Record<string, unknown>, dateProperties));
      } catch (err) {
        if (!(err instanceof FilterSyntaxError)) throw err;
        sendError(res, 400, 'BadRequest', `Invalid $filter "${filterText}": ${err.message}`);
        return null;
      }
    }
    const skip =
      typeof req.query.$skip === 'string' && /^\d+$/.test(req.query.$skip) ? Number(req.query.$skip) : 0;
    return result.slice(skip, top === undefined ? undefined : skip + top);
  };
  const context = (entity: string): string => `${baseUrl}/api/$metadata#${entity}`;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // The call log comes first so faults and refusals are recorded too.
  app.use((req, res, next) => {
    if (req.path.startsWith('/_sim')) {
      next();
      return;
    }
    const url = new URL(req.originalUrl, 'http://simulator');
    const entry: CallRecord = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: null,
      time: new Date(clock.now()).toISOString(),
      realTime: Date.now(),
    };
    callLog.push(entry);
    // Bounded, so a simulator left running for a demo does not grow without limit.
    if (callLog.length > maxCallLog) callLog.splice(0, callLog.length - maxCallLog);
    res.locals.call = entry;
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
    next();
  });

  app.use((req, res, next) => {
    if (req.path.startsWith('/_sim')) {
      next();
      return;
    }
    const fault = faults.take(req.method, req.path);
    if (!fault) {
      next();
      return;
    }
    const entry = res.locals.call as CallRecord;
    entry.fault = fault.kind;
    switch (fault.kind) {
      case 'status': {
        if (fault.retryAfterSeconds !== undefined)
          res.setHeader('Retry-After', String(fault.retryAfterSeconds));
        for (const [name, value] of Object.entries(fault.headers ?? {})) res.setHeader(name, value);
        const body = fault.body ?? errorBody(CODE_FOR_STATUS[fault.status] ?? 'Error', 'Injected fault');
        if (typeof body === 'string') res.status(fault.status).type('text/plain').send(body);
        else res.status(fault.status).json(body);
        return;
      }
      case 'reset':
        req.socket.destroy();
        return;
      case 'hang': {
        if (fault.delayMs === undefined) return; // never answers; close() drops the connection
        const { delayMs } = fault;
        // Defender has the whole request before it is slow to answer, and still acts on it if the client gives up
        // or dies meanwhile: read the body now (the routes' parser then skips it), do the work after the delay.
        express.json({ limit: '1mb' })(req, res, (error?: unknown) => {
          if (error) {
            next(error);
            return;
          }
          const timer = setTimeout(() => {
            delayTimers.delete(timer);
            next();
          }, delayMs);
          delayTimers.add(timer);
        });
        return;
      }
      case 'loseResponse': {
        // Let the route do its real work, then drop the connection instead of sending what it produced.
        const lose = (): Response => {
          req.socket.destroy();
          return res;
        };
        res.end = lose as Response['end'];
        next();
        return;
      }
    }
  });

  const sim = express.Router();
  sim.use(express.json());

  app.post(/^\/([^/]+)\/oauth2\/v2\.0\/token$/, express.urlencoded({ extended: false }), (req, res) => {
    const form = (req.body ?? {}) as Record<string, unknown>;
    const aadError = (status: number, error: string, description: string): void => {
      const traceId = randomUUID();
      const correlationId = randomUUID();
      const code = Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0);
      res.status(status).json({
        error,
        error_description: `${description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${new Date().toISOString()}`,
        error_codes: code ? [code] : [],
        timestamp: new Date().toISOString(),
        trace_id: traceId,
        correlation_id: correlationId,
      });
    };
    if (tokenFailure) {
      aadError(tokenFailure.status, tokenFailure.error, tokenFailure.description);
      return;
    }
    if (form.grant_type !== 'client_credentials') {
      aadError(400, 'unsupported_grant_type', 'AADSTS70003: The app requested an unsupported grant type.');
      return;
    }
    const expected = options.tokenEndpoint;
    const otherApp = expected?.otherApps?.find((a) => a.clientId === form.client_id);
    if (
      typeof form.client_id !== 'string' ||
      (expected?.clientId && form.client_id !== expected.clientId && !otherApp)
    ) {
      aadError(
        400,
        'unauthorized_client',
        `AADSTS700016: Application with identifier '${String(form.client_id)}' was not found in the directory.`,
      );
      return;
    }
    const hasAssertion = typeof form.client_assertion === 'string';
    if (typeof form.client_secret !== 'string' && !hasAssertion) {
      aadError(
        401,
        'invalid_client',
        "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
      return;
    }
    const secret = otherApp ? otherApp.clientSecret : expected?.clientSecret;
    if (!hasAssertion && secret && form.client_secret !== secret) {
      aadError(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
      return;
    }
    // Client credentials take exactly one `<resource>/.default` (MSAL may add OpenID scopes, which Entra ignores here).
    const scopes = typeof form.scope === 'string' ? form.scope.split(' ').filter(Boolean) : [];
    const resourceScopes = scopes.filter((x) => !['openid', 'profile', 'offline_access'].includes(x));
    const scope = resourceScopes[0];
    if (resourceScopes.length !== 1 || !scope?.endsWith('/.default')) {
      aadError(400, 'invalid_scope', 'AADSTS1002012: The provided value for scope is not valid.');
      return;
    }
    // Entra ID issues a token for whatever resource the tenant knows, with the roles granted on that resource; only
    // the API receiving it decides whether the audience is its own. An unknown resource is refused here.
    const resource = scope.slice(0, -'/.default'.length);
    const tenantId = String((req.params as unknown as Record<string, string>)[0] ?? '');
    if (!knownResources.has(resource)) {
      aadError(
        400,
        'invalid_resource',
        `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      );
      return;
    }
    const issuedAt = Math.floor(realNow() / 1000);
    const roles = !otherApp && audiences.includes(resource) ? [...grantedRoles] : [];
    const token = issueToken(
      {
        aud: resource,
        tid: tenantId,
        appid: form.client_id,
        ...(roles.length > 0 ? { roles } : {}),
        iat: issuedAt,
        nbf: issuedAt,
        exp: issuedAt + 3599,
      },
      signingKey,
      accessToken,
    );
    res.json({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
  });

  app.get(`${BLOB_CONTAINER_PATH}/:actionId/CustomPlaybookCommandOutput/:blobId`, (req, res) => {
    const url = new URL(req.originalUrl, 'http://simulator');
    const blob = tenant.readBlob(url.pathname, url.searchParams);
    res.status(blob.status).type(blob.contentType).setHeader('x-ms-blob-type', 'BlockBlob');
    res.setHeader('Content-Length', String(blob.body.length));
    res.end(blob.body);
  });

  const api = express.Router();
  // IIS request filtering refuses a query string over `maxQueryString` (2048 bytes by default) before the
  // application sees it, so no authentication, rate limit or call to the API happens; Defender answers such a
  // request 414 (issue 9: a 2,171-character device look-up). Measured on the raw request target, as sent.
  api.use((req, res, next) => {
    const target = req.originalUrl;
    const mark = target.indexOf('?');
    if (mark >= 0 && target.length - mark - 1 > MAX_QUERY_STRING_LENGTH) {
      res.status(414).type('text/html').send(QUERY_STRING_TOO_LONG_HTML);
      return;
    }
    next();
  });
  api.use((req, res, next) => {
    const header = req.get('authorization') ?? '';
    const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    const claims =
      bearer === undefined
        ? null
        : bearer === accessToken
          ? { aud: audience, roles: [...grantedRoles] }
          : readIssuedToken(bearer, signingKey, accessToken, realNow());
    if (!claims) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      sendError(res, 401, 'Unauthorized', 'Authorization has been denied for this request.');
      return;
    }
    // A token Entra ID issued for another resource is well formed and signed, so not a 401: Defender refuses it with
    // 403 (MicrosoftDocs/microsoft-365-docs#9246). The body's wording is the simulator's; it names the audience.
    if (!audiences.includes(claims.aud)) {
      sendError(
        res,
        403,
        'Forbidden',
        `The token's audience '${claims.aud}' is not this API's (${audience}): request the token with scope ${audience}/.default`,
      );
      return;
    }
    res.locals.roles = claims.roles ?? [];
    next();
  });
  api.use((req, res, next) => {
    if (!limits.enabled) {
      next();
      return;
    }
    const isRun = req.method === 'POST' && /^\/machines\/[^/]+\/runliveresponse\/?$/i.test(req.path);
    const now = clock.now();
    const taken = (isRun ? runLimiter : apiLimiter).tryTake(now);
    if (taken.ok) {
      next();
      return;
    }
    const seconds = Math.round(taken.limit.windowMs / 1000);
    sendThrottled(
      res,
      taken.retryAt - now,
      `Rate limit of ${taken.limit.limit} calls per ${seconds} seconds exceeded${isRun ? ' for runliveresponse' : ''}`,
    );
  });
  // The route's application permission is checked after the gateway's rate limit, as the controller does it. Message
  // as Defender words it (MicrosoftDocs/microsoft-365-docs#6053).
  api.use((req, res, next) => {
    const missing = missingRoles(res.locals.roles as string[], requiredRoles(req.method, req.path));
    if (missing) {
      sendError(
        res,
        403,
        'Forbidden',
        `The application does not have any of the required application permissions (${missing.join(', ')}) to access the resource.`,
      );
      return;
    }
    next();
  });
  api.use(express.json({ limit: '1mb' }));

  api.get('/machines', (req, res) => {
    const found = query(req, res, tenant.machines(), MACHINE_FILTER_PROPERTIES, ['lastSeen']);
    if (found === null) return;
    if (found.length === 0 && emptyListAs404) {
      sendError(res, 404, 'ResourceNotFound', 'No machines match the request');
      return;
    }
    res.json({ '@odata.context': context('Machines'), value: found });
  });
  api.get('/machines/:id', (req, res) => {
    const machine = tenant.getMachine(req.params.id);
    if (!machine) {
      sendError(res, 404, 'ResourceNotFound', `Machine ${req.params.id} was not found`);
      return;
    }
    res.json({ '@odata.context': context('Machines/$entity'), ...machine });
  });
  api.get('/libraryfiles', (_req, res) => {
    res.json({ '@odata.context': context('LibraryFiles'), value: tenant.library() });
  });
  api.post('/machines/:id/runliveresponse', (req, res) => {
    const result = tenant.runLiveResponse(req.params.id, req.body);
    if (!result.ok) {
      sendSimError(res, result.error);
      return;
    }
    res.status(201).json({ '@odata.context': context('MachineActions/$entity'), ...result.value.action });
  });
  api.get('/machineactions', (req, res) => {
    const found = query(req, res, tenant.visibleActions(), ACTION_FILTER_PROPERTIES, ['creationDateTimeUtc']);
    if (found === null) return;
    res.json({ '@odata.context': context('MachineActions'), value: found });
  });
  // Matched before `/machineactions/:id` because the whole segment `GetLive...(index=N)` is part of the path.
  api.get(
    /^\/machineactions\/([^/]+)\/GetLiveResponseResultDownloadLink(?:\(|%28)index=([^)%]*)(?:\)|%29)$/i,
    (req, res) => {
      const params = req.params as unknown as Record<string, string>;
      const result = tenant.mintResultLink(params[0] ?? '', params[1] ?? '', baseUrl);
      if (!result.ok) {
        sendSimError(res, result.error);
        return;
      }
      res.json({ '@odata.context': context('Edm.String'), value: result.value });
    },
  );
  api.get('/machineactions/:id', (req, res) => {
    const action = tenant.getAction(req.params.id);
    if (!action) {
      sendError(res, 404, 'ResourceNotFound', `Machine action ${req.params.id} was not found`);
      return;
    }
    res.json({ '@odata.context': context('MachineActions/$entity'), ...action });
  });
  api.post('/machineactions/:id/cancel', (req, res) => {
    const result = tenant.cancelAction(req.params.id, req.body);
    if (!result.ok) {
      sendSimError(res, result.error);
      return;
    }
    res.json({ '@odata.context': context('MachineActions/$entity'), ...result.value });
  });
  api.use((req, res) => {
    sendError(res, 404, 'ResourceNotFound', `No API route ${req.method} /api${req.path}`);
  });
  app.use('/api', api);

  const control: SimulatorControl = {
    now: () => clock.now(),
    advance: (ms) => clock.advance(ms),
    setSpeed: (speed) => clock.setSpeed(speed),
    setOnline: (machine, online) => tenant.setOnline(machine, online),
    setHealth: (machine, health) => tenant.setHealth(machine, health),
    setPortalSession: (machine, open) => tenant.setPortalSession(machine, open),
    setMerge: (mode) => tenant.setMerge(mode),
    setInvisibleAfterCreate: (ms) => tenant.setInvisibleAfterCreate(ms),
    setTokenFailure: (failure) => {
      tokenFailure = failure;
    },
    setGrantedRoles: (roles) => {
      grantedRoles = [...roles];
    },
    injectFault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    faults: () => faults.list(),
    calls: (filter) => {
      const pattern =
        filter?.path === undefined
          ? undefined
          : typeof filter.path === 'string'
            ? new RegExp(filter.path, 'i')
            : filter.path;
      return callLog
        .filter((c) => !filter?.method || c.method.toUpperCase() === filter.method.toUpperCase())
        .filter((c) => !pattern || pattern.test(c.path))
        .map((c) => ({ ...c, query: { ...c.query } }));
    },
    clearCalls: () => {
      callLog = [];
    },
    actions: () => tenant.allActions(),
    action: (id) => tenant.allActions().find((a) => a.id === id),
    machines: () => tenant.simMachines(),
    addMachine: (machine) => tenant.addMachine(machine),
    addLibraryFile: (file, behaviour) => tenant.addLibraryFile(file, behaviour),
    setScriptBehaviour: (name, behaviour) => tenant.setScriptBehaviour(name, behaviour),
    reset: () => {
      tenant.reset();
      faults.clear();
      runLimiter.reset();
      apiLimiter.reset();
      callLog = [];
      tokenFailure = options.tokenEndpoint?.failure ?? null;
      grantedRoles = options.grantedRoles ?? DEFENDER_ROLES;
    },
  };

  // The same control over HTTP, for the demo and for a simulator running as its own process.
  sim.get('/now', (_req, res) => {
    res.json({ now: new Date(clock.now()).toISOString(), ms: clock.now(), speed: clock.speed() });
  });
  sim.post('/advance', (req, res) => {
    const body = z.object({ ms: z.number().nonnegative() }).parse(req.body);
    control.advance(body.ms);
    res.json({ now: new Date(clock.now()).toISOString() });
  });
  sim.post('/speed', (req, res) => {
    control.setSpeed(z.object({ speed: z.number().positive() }).parse(req.body).speed);
    res.json({ speed: clock.speed() });
  });
  sim.get('/calls', (req, res) => {
    const method = typeof req.query.method === 'string' ? req.query.method : undefined;
    const path = typeof req.query.path === 'string' ? req.query.path : undefined;
    res.json({ value: control.calls({ ...(method ? { method } : {}), ...(path ? { path } : {}) }) });
  });
  sim.delete('/calls', (_req, res) => {
    control.clearCalls();
    res.status(204).end();
  });
  sim.get('/actions', (_req, res) => {
    res.json({ value: control.actions() });
  });
  sim.get('/machines', (_req, res) => {
    res.json({ value: control.machines() });
  });
  sim.get('/faults', (_req, res) => {
    res.json({
      value: control.faults().map((f) => ({ ...f, spec: { ...f.spec, path: String(f.spec.path) } })),
    });
  });
  sim.post('/faults', (req, res) => {
    const body = faultBodySchema.parse(req.body);
    const common = {
      path: body.path,
      ...(body.method ? { method: body.method } : {}),
      ...(body.times ? { times: body.times } : {}),
    };
    let spec: FaultSpec;
    if (body.kind === 'status') {
      spec = {
        ...common,
        kind: 'status',
        status: body.status ?? 500,
        ...(body.body === undefined ? {} : { body: body.body }),
        ...(body.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: body.retryAfterSeconds }),
        ...(body.headers ? { headers: body.headers } : {}),
      };
    } else if (body.kind === 'hang') {
      spec = { ...common, kind: 'hang', ...(body.delayMs === undefined ? {} : { delayMs: body.delayMs }) };
    } else {
      spec = { ...common, kind: body.kind };
    }
    let id: string;
    try {
      id = control.injectFault(spec);
    } catch (error) {
      sendError(res, 400, 'BadRequest', error instanceof Error ? error.message : 'Invalid fault');
      return;
    }
    res.status(201).json({ id });
  });
  sim.delete('/faults', (_req, res) => {
    control.clearFaults();
    res.status(204).end();
  });
  sim.post('/machines/:id/online', (req, res) => {
    control.setOnline(req.params.id, z.object({ online: z.boolean() }).parse(req.body).online);
    res.status(204).end();
  });
  sim.post('/machines/:id/portal-session', (req, res) => {
    control.setPortalSession(req.params.id, z.object({ open: z.boolean() }).parse(req.body).open);
    res.status(204).end();
  });
  sim.post('/merge', (req, res) => {
    const body = z
      .object({ mode: z.union([z.number().int().nonnegative(), z.literal('always'), z.literal('off')]) })
      .parse(req.body);
    control.setMerge(body.mode);
    res.status(204).end();
  });
  sim.post('/invisible-after-create', (req, res) => {
    control.setInvisibleAfterCreate(z.object({ ms: z.number().nonnegative() }).parse(req.body).ms);
    res.status(204).end();
  });
  sim.post('/token-failure', (req, res) => {
    const body = z
      .object({
        failure: z
          .object({ status: z.number().int(), error: z.string(), description: z.string() })
          .nullable(),
      })
      .parse(req.body);
    control.setTokenFailure(body.failure);
    res.status(204).end();
  });
  sim.post('/roles', (req, res) => {
    control.setGrantedRoles(z.object({ roles: z.array(z.string()) }).parse(req.body).roles);
    res.status(204).end();
  });
  sim.post('/reset', (_req, res) => {
    control.reset();
    res.status(204).end();
  });
  app.use('/_sim', sim);

  app.use((req, res) => {
    sendError(res, 404, 'ResourceNotFound', `No route ${req.method} ${req.path}`);
  });
  // Express 5 sends thrown errors and rejected handlers here; the arity of 4 is how it recognises the handler.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    const type = typeof err === 'object' && err !== null && 'type' in err ? err.type : undefined;
    if (type === 'entity.parse.failed') {
      sendError(res, 400, 'InvalidRequestBody', 'The request body is not valid JSON');
    } else if (err instanceof z.ZodError) {
      sendError(
        res,
        400,
        'BadRequest',
        err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    } else if (err instanceof Error && /No simulated machine/.test(err.message)) {
      sendError(res, 404, 'ResourceNotFound', err.message);
    } else {
      sendError(res, 500, 'InternalServerError', err instanceof Error ? err.message : 'Unexpected error');
    }
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(options.port ?? 0, host, (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  baseUrl = options.publicUrl?.replace(/\/$/, '') ?? url;

  return {
    url,
    port,
    control,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of delayTimers) clearTimeout(timer);
        delayTimers.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        // Hanging requests and keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
