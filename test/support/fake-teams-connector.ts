// A fake of the Bot Framework / Teams connector service (the bot's `serviceUrl`) over real HTTP on 127.0.0.1:
// the routes botbuilder's ConnectorClient and TeamsInfo call, Teams' per-thread rate limits, a roster,
// fault injection and query helpers, so integration tests exercise the bot's real HTTP path.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Activity, ConversationAccount } from 'botbuilder';

/** One sliding window of Teams' per-bot, per-thread limit. */
export interface RateLimitWindow {
  windowMs: number;
  max: number;
}

/**
 * Teams' documented limits per bot per conversation thread; sends, replies, updates and deletes all count
 * against the same budget ("Optimize your bot with rate limiting in Teams",
 * learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit, "Per bot per thread limit"). The page says the
 * 1,800 per hour applies "if multiple bot messages are sent to a single user"; the fake applies it to every thread,
 * the stricter reading.
 */
export const TEAMS_THREAD_RATE_LIMITS: readonly RateLimitWindow[] = [
  { windowMs: 1_000, max: 7 },
  { windowMs: 2_000, max: 8 },
  { windowMs: 30_000, max: 60 },
  { windowMs: 3_600_000, max: 1_800 },
];

/** Teams' limit per bot app per tenant, over every conversation and every kind of request. */
export const TEAMS_APP_RATE_LIMITS: readonly RateLimitWindow[] = [{ windowMs: 1_000, max: 50 }];

export interface FakeTeamsConnectorOptions {
  /** Port on 127.0.0.1. Default 0: a free port, read it from `url`. */
  port?: number;
  /** Answer 429 with `Retry-After` when a thread goes over `rateLimits`. Default true. */
  enforceRateLimits?: boolean;
  /** The windows enforced per conversation thread. Default `TEAMS_THREAD_RATE_LIMITS`. */
  rateLimits?: readonly RateLimitWindow[];
  /** The windows enforced over all of the bot's requests (one app, one tenant). Default `TEAMS_APP_RATE_LIMITS`. */
  appRateLimits?: readonly RateLimitWindow[];
  /**
   * Largest activity body accepted, in bytes, else 413. Default 100 000, Teams' documented limit; pass 28 * 1024
   * to hold the bot to the project's stricter rule (cards must also fit older Teams surfaces).
   */
  maxActivityBytes?: number;
  /** Clock of the rate windows (epoch ms). Default `Date.now`; a test's own clock crosses the hourly window at once. */
  now?: () => number;
}

/** An activity as the bot posted it, with the id this fake gave it and the conversation it was posted to. */
export interface PostedActivity extends Partial<Omit<Activity, 'id' | 'conversation'>> {
  id: string;
  conversation: Partial<ConversationAccount> & { id: string };
}

/** A roster entry; answered like Teams' TeamsChannelAccount. */
export interface FakeMember {
  /** The `29:` id. */
  id: string;
  name: string;
  /** Entra object id. */
  aadObjectId: string;
  userPrincipalName: string;
  email?: string;
  givenName?: string;
  surname?: string;
  tenantId: string;
  /** Default `user`. */
  userRole?: 'user' | 'guest' | 'anonymous';
}

export interface FakeTeam {
  /** The team id, which is also the General channel's conversation id (`19:…@thread.tacv2`). */
  id: string;
  name?: string;
  aadGroupId?: string;
  /** Channels besides General. */
  channels?: readonly { id: string; name?: string }[];
}

export type ConnectorOperation =
  | 'sendToConversation'
  | 'replyToActivity'
  | 'updateActivity'
  | 'deleteActivity'
  | 'createConversation'
  | 'getConversationMember'
  | 'getConversationMembers'
  | 'getConversationPagedMembers'
  | 'getActivityMembers'
  | 'getTeamDetails'
  | 'getTeamChannels'
  | 'unknown';

/** One request the fake received, in arrival order. */
export interface ConnectorRequest {
  at: number;
  method: string;
  /** Decoded path, e.g. `/v3/conversations/19:x@thread.tacv2;messageid=1/activities`. */
  path: string;
  operation: ConnectorOperation;
  conversationId?: string;
  activityId?: string;
  /** The HTTP status answered, or how the request was left unanswered. */
  outcome: number | 'hang' | 'reset';
  bytes: number;
  /** Set when an injected fault decided the outcome. */
  injected?: boolean;
  /** Whether the bot sent an Authorization header (it does not when anonymous). */
  authorized: boolean;
}

/** Per conversation thread counters, for assertions and the benchmark. */
export interface ConversationRateStats {
  conversationId: string;
  /** Sends, replies, updates and deletes attempted, throttled or not. */
  operations: number;
  /** The most operations attempted in any 1-second window. */
  peakPerSecond: number;
  /** The most operations accepted in any 1-second window. */
  peakAcceptedPerSecond: number;
  throttled: number;
  /** The largest activity body received for this thread, in bytes. */
  largestActivityBytes: number;
}

/** A 429 the fake answered. */
export interface ThrottleRecord {
  at: number;
  conversationId: string;
  operation: ConnectorOperation;
  retryAfterSeconds: number | undefined;
  /** `rate-limit` when a thread's window was exceeded, `app-rate-limit` for the app's, `injected` for `failNext`. */
  reason: 'rate-limit' | 'app-rate-limit' | 'injected';
  /** The exceeded window, for `rate-limit`. */
  window?: RateLimitWindow;
}

export interface FaultSpec {
  /** Only requests with this method (case-insensitive). Default: any. */
  method?: string;
  /** Only requests whose decoded or raw path contains this. Default: any. */
  pathIncludes?: string;
  /** Status to answer. Default 500 (ignored with `hang` or `reset`). */
  status?: number;
  /** Sent as `Retry-After` (seconds). */
  retryAfterSeconds?: number;
  /** How many matching requests to fail. Default 1. */
  times?: number;
  /** Wait this long before answering (alone: answer normally, just late). */
  delayMs?: number;
  /** Never answer; the socket stays open until `reset()` or `close()`. */
  hang?: boolean;
  /** Destroy the socket without an answer (the client sees ECONNRESET). */
  reset?: boolean;
  /**
   * Carry out the request (store the activity), then answer with the fault: the "Teams did it but the answer
   * was lost" case that makes blind retries post duplicates.
   */
  afterApply?: boolean;
  /** Error body; default `{ error: { code, message } }` matching the status. */
  body?: unknown;
}

/** A pending or spent injected fault. */
export interface FaultHandle {
  readonly spec: FaultSpec;
  /** How many requests this fault has hit so far. */
  readonly hits: number;
  readonly remaining: number;
}

/** JSON of an Adaptive Card, loosely typed: tests read it like Teams' renderer does. */
export interface AdaptiveCardJson {
  type: 'AdaptiveCard';
  version?: string;
  body?: unknown[];
  actions?: unknown[];
  refresh?: { action?: unknown; userIds?: string[] };
  [key: string]: unknown;
}

/** Any `Action.*` element of a card. */
export interface CardActionJson {
  type: string;
  title?: string;
  verb?: string;
  data?: unknown;
  card?: AdaptiveCardJson;
  [key: string]: unknown;
}

export interface WaitForOptions {
  /** Default 20 000. */
  timeoutMs?: number;
  /** Default 25. */
  intervalMs?: number;
  /** Said in the timeout error, e.g. `'the approval card'`. */
  description?: string;
}

export interface FakeTeamsConnector {
  /** The `serviceUrl` to put in incoming activities; ends with `/` like Teams' own. */
  readonly url: string;
  readonly port: number;
  /** Latest version of each activity not deleted, in posting order; all conversations when none is given. */
  activities(conversationId?: string): PostedActivity[];
  /** Every version of one activity, oldest first (empty when unknown). */
  history(activityId: string): PostedActivity[];
  /**
   * When each version of `history(activityId)` was stored (epoch ms, same order): the post, then each update.
   * Cheap to call often (no copies of the activities), e.g. to notice a card changed.
   */
  historyTimes(activityId: string): number[];
  wasDeleted(activityId: string): boolean;
  /** Conversations made with `POST /v3/conversations`, with the parameters the bot sent. */
  createdConversations(): { id: string; parameters: Record<string, unknown> }[];
  /** Polls `probe` until it returns a value other than undefined, null or false; throws with a dump on timeout. */
  waitFor<T>(probe: () => T | undefined | null | false, options?: WaitForOptions): Promise<T>;
  findCard(activity: PostedActivity | undefined): AdaptiveCardJson | undefined;
  findAction(
    card: AdaptiveCardJson | undefined,
    title: string | { verb: string },
  ): CardActionJson | undefined;
  requestLog(): ConnectorRequest[];
  rateStats(): ConversationRateStats[];
  /** The most requests accepted in any second, over every conversation (Teams allows 50 per app per tenant). */
  appPeakPerSecond(): number;
  rateStatsFor(conversationId: string): ConversationRateStats | undefined;
  throttles(): ThrottleRecord[];
  setRateLimitsEnforced(enforced: boolean): void;
  failNext(spec: FaultSpec): FaultHandle;
  /** Registers a team and its channels, which share the team's roster. */
  addTeam(team: FakeTeam): void;
  /** Adds a member to a team (by team or channel id), group chat or 1:1 conversation. */
  addMember(conversationOrTeamId: string, member: FakeMember): void;
  /** A readable summary of what the fake holds, as printed by `waitFor` on timeout. */
  dump(): string;
  /** Forgets activities, logs, stats, faults and hanging requests; the roster too with `{ roster: true }`. */
  reset(options?: { roster?: boolean }): void;
  close(): Promise<void>;
}

const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
const DEFAULT_MAX_ACTIVITY_BYTES = 100_000;
const DEFAULT_PAGE_SIZE = 200;
const HOUR_MS = 3_600_000;

interface ActivityRecord {
  id: string;
  conversationId: string;
  versions: PostedActivity[];
  /** Epoch ms each version was stored, parallel to `versions`. */
  storedAt: number[];
  deleted: boolean;
}

interface ThreadState {
  stats: ConversationRateStats;
  /** Accepted operation times within the longest window, oldest first. */
  accepted: number[];
  /** Attempted operation times within the last second. */
  recentAttempts: number[];
  recentAccepted: number[];
}

interface Fault {
  spec: FaultSpec;
  hits: number;
  remaining: number;
}

interface Route {
  operation: ConnectorOperation;
  conversationId?: string;
  activityId?: string;
  memberId?: string;
  teamId?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Starts the fake on 127.0.0.1; close it in `afterAll`. */
export async function startFakeTeamsConnector(
  options: FakeTeamsConnectorOptions = {},
): Promise<FakeTeamsConnector> {
  const rateLimits = options.rateLimits ?? TEAMS_THREAD_RATE_LIMITS;
  const longestWindowMs = Math.max(HOUR_MS, ...rateLimits.map((w) => w.windowMs));
  const maxActivityBytes = options.maxActivityBytes ?? DEFAULT_MAX_ACTIVITY_BYTES;
  const clock = options.now ?? Date.now;
  let enforceRateLimits = options.enforceRateLimits ?? true;
  const appRateLimits = options.appRateLimits ?? TEAMS_APP_RATE_LIMITS;
  const appLongestWindowMs = Math.max(...appRateLimits.map((w) => w.windowMs));
  const appState = { accepted: [] as number[], peakAcceptedPerSecond: 0 };

  const records = new Map<string, ActivityRecord>();
  const order: string[] = [];
  const threads = new Map<string, ThreadState>();
  const throttleLog: ThrottleRecord[] = [];
  const log: ConnectorRequest[] = [];
  const faults: Fault[] = [];
  const created: { id: string; parameters: Record<string, unknown> }[] = [];
  const rosters = new Map<string, Map<string, FakeMember>>();
  const teams = new Map<string, FakeTeam>();
  /** Channel conversation id (without `;messageid=`) → team id. */
  const channelTeam = new Map<string, string>();
  const hanging = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  // Teams' activity ids are epoch milliseconds; keep them increasing and unique within this fake.
  let lastActivityId = 0;

  function newActivityId(): string {
    lastActivityId = Math.max(lastActivityId + 1, Date.now());
    return String(lastActivityId);
  }

  function threadState(conversationId: string): ThreadState {
    let state = threads.get(conversationId);
    if (!state) {
      state = {
        stats: {
          conversationId,
          operations: 0,
          peakPerSecond: 0,
          peakAcceptedPerSecond: 0,
          throttled: 0,
          largestActivityBytes: 0,
        },
        accepted: [],
        recentAttempts: [],
        recentAccepted: [],
      };
      threads.set(conversationId, state);
    }
    return state;
  }

  /** Counts one send/update/delete the bot attempted, whatever its outcome. */
  function countAttempt(conversationId: string, now: number): void {
    const state = threadState(conversationId);
    state.stats.operations += 1;
    state.recentAttempts = state.recentAttempts.filter((t) => t > now - 1_000);
    state.recentAttempts.push(now);
    state.stats.peakPerSecond = Math.max(state.stats.peakPerSecond, state.recentAttempts.length);
  }

  /** The window of `limits` that one more operation at `now` would exceed, and when it would fit. */
  function exceededWindow(
    accepted: readonly number[],
    limits: readonly RateLimitWindow[],
    now: number,
  ): { window: RateLimitWindow; retryAfterMs: number } | undefined {
    let exceeded: { window: RateLimitWindow; retryAfterMs: number } | undefined;
    for (const window of limits) {
      const inWindow = accepted.filter((t) => t > now - window.windowMs);
      if (inWindow.length >= window.max) {
        // The request fits again once enough of the oldest operations have left the window.
        const freeingAt = inWindow[inWindow.length - window.max]! + window.windowMs;
        const retryAfterMs = freeingAt - now;
        if (!exceeded || retryAfterMs > exceeded.retryAfterMs) exceeded = { window, retryAfterMs };
      }
    }
    return exceeded;
  }

  /** Takes a request into the app's tenant-wide budget, or returns the window it would exceed. */
  function admitApp(
    now: number,
    enforce: boolean,
  ): { window: RateLimitWindow; retryAfterMs: number } | undefined {
    appState.accepted = appState.accepted.filter((t) => t > now - appLongestWindowMs);
    const exceeded = enforce ? exceededWindow(appState.accepted, appRateLimits, now) : undefined;
    if (exceeded) return exceeded;
    appState.accepted.push(now);
    appState.peakAcceptedPerSecond = Math.max(
      appState.peakAcceptedPerSecond,
      appState.accepted.filter((t) => t > now - 1_000).length,
    );
    return undefined;
  }

  /** Takes an operation into the thread's budget, or returns the window it would exceed. */
  function admit(
    conversationId: string,
    now: number,
    enforce: boolean,
  ): { window: RateLimitWindow; retryAfterMs: number } | undefined {
    const state = threadState(conversationId);
    state.accepted = state.accepted.filter((t) => t > now - longestWindowMs);
    const exceeded = enforce ? exceededWindow(state.accepted, rateLimits, now) : undefined;
    if (exceeded) return exceeded;
    state.accepted.push(now);
    state.recentAccepted = state.recentAccepted.filter((t) => t > now - 1_000);
    state.recentAccepted.push(now);
    state.stats.peakAcceptedPerSecond = Math.max(
      state.stats.peakAcceptedPerSecond,
      state.recentAccepted.length,
    );
    return undefined;
  }

  function recordThrottle(record: ThrottleRecord): void {
    throttleLog.push(record);
    if (record.conversationId) threadState(record.conversationId).stats.throttled += 1;
  }

  function takeFault(method: string, decodedPath: string, rawPath: string): Fault | undefined {
    const fault = faults.find(
      (f) =>
        f.remaining > 0 &&
        (!f.spec.method || f.spec.method.toUpperCase() === method) &&
        (!f.spec.pathIncludes ||
          decodedPath.includes(f.spec.pathIncludes) ||
          rawPath.includes(f.spec.pathIncludes)),
    );
    if (fault) {
      fault.remaining -= 1;
      fault.hits += 1;
    }
    return fault;
  }

  function rosterFor(conversationOrTeamId: string): Map<string, FakeMember> | undefined {
    const base = baseConversationId(conversationOrTeamId);
    const team = channelTeam.get(base);
    return rosters.get(team ?? base) ?? rosters.get(conversationOrTeamId);
  }

  /** Teams resolves a member by `29:` id, Entra object id or UPN. */
  function findMember(roster: Map<string, FakeMember>, memberId: string): FakeMember | undefined {
    const wanted = memberId.toLowerCase();
    for (const member of roster.values()) {
      if (
        member.id === memberId ||
        member.aadObjectId.toLowerCase() === wanted ||
        member.userPrincipalName.toLowerCase() === wanted
      ) {
        return member;
      }
    }
    return undefined;
  }

  function storeActivity(
    conversationId: string,
    body: Record<string, unknown>,
    id = newActivityId(),
  ): string {
    const posted = toPosted(body, id, conversationId);
    records.set(id, { id, conversationId, versions: [posted], storedAt: [Date.now()], deleted: false });
    order.push(id);
    return id;
  }

  function findRecord(conversationId: string, activityId: string): ActivityRecord {
    const record = records.get(activityId);
    // Teams finds a channel message whether the thread id or the channel id is given.
    if (
      !record ||
      record.deleted ||
      baseConversationId(record.conversationId) !== baseConversationId(conversationId)
    ) {
      throw new HttpError(404, 'ActivityNotFoundInConversation', `Activity ${activityId} not found`);
    }
    return record;
  }

  function handle(route: Route, method: string, body: unknown, query: URLSearchParams): [number, unknown] {
    const conversationId = route.conversationId ?? '';
    switch (route.operation) {
      case 'sendToConversation':
      case 'replyToActivity': {
        // replyToActivity does not need a known activity: in a proactive turn botbuilder replies to the
        // continuation activity's random id, and Teams threads by conversation id anyway.
        const id = storeActivity(conversationId, asObject(body));
        return [201, { id }];
      }
      case 'updateActivity': {
        const record = findRecord(conversationId, route.activityId ?? '');
        record.versions.push(toPosted(asObject(body), record.id, record.conversationId));
        record.storedAt.push(Date.now());
        return [200, { id: record.id }];
      }
      case 'deleteActivity': {
        findRecord(conversationId, route.activityId ?? '').deleted = true;
        return [200, undefined];
      }
      case 'createConversation':
        return [201, createConversation(asObject(body))];
      case 'getConversationMember': {
        const roster = rosterOrThrow(conversationId);
        const member = findMember(roster, route.memberId ?? '');
        if (!member) {
          throw new HttpError(
            404,
            'MemberNotFoundInConversation',
            'The member was not found in the conversation.',
          );
        }
        return [200, toTeamsAccount(member)];
      }
      case 'getConversationMembers':
      case 'getActivityMembers':
        return [200, [...rosterOrThrow(conversationId).values()].map(toTeamsAccount)];
      case 'getConversationPagedMembers': {
        const members = [...rosterOrThrow(conversationId).values()];
        const pageSize = Number(query.get('pageSize') ?? DEFAULT_PAGE_SIZE) || DEFAULT_PAGE_SIZE;
        const start = Number(query.get('continuationToken') ?? 0) || 0;
        const page = members.slice(start, start + pageSize).map(toTeamsAccount);
        const next = start + pageSize < members.length ? String(start + pageSize) : undefined;
        return [200, next ? { members: page, continuationToken: next } : { members: page }];
      }
      case 'getTeamDetails': {
        const team = teamOrThrow(route.teamId ?? '');
        return [200, { id: team.id, name: team.name, aadGroupId: team.aadGroupId }];
      }
      case 'getTeamChannels': {
        const team = teamOrThrow(route.teamId ?? '');
        // Teams names the General channel null.
        const conversations = [
          { id: team.id, name: null },
          ...(team.channels ?? []).map((c) => ({ id: c.id, name: c.name ?? null })),
        ];
        return [200, { conversations }];
      }
      case 'unknown':
        throw new HttpError(404, 'NotFound', `No route for ${method}`);
    }
  }

  function rosterOrThrow(conversationId: string): Map<string, FakeMember> {
    const roster = rosterFor(conversationId);
    if (!roster) throw new HttpError(404, 'ConversationNotFound', `Conversation ${conversationId} not found`);
    return roster;
  }

  function teamOrThrow(teamId: string): FakeTeam {
    const team =
      teams.get(baseConversationId(teamId)) ?? teams.get(channelTeam.get(baseConversationId(teamId)) ?? '');
    if (!team) throw new HttpError(404, 'TeamNotFound', `Team ${teamId} not found`);
    return team;
  }

  function createConversation(parameters: Record<string, unknown>): { id: string; activityId?: string } {
    const channelData = asObject(parameters.channelData);
    const channelId = asObject(channelData.channel).id;
    const activity = parameters.activity === undefined ? undefined : asObject(parameters.activity);
    let id: string;
    let activityId: string | undefined;
    if (typeof channelId === 'string') {
      // A new post in a channel: its thread is the channel id plus the first message's id.
      activityId = newActivityId();
      id = `${channelId};messageid=${activityId}`;
      if (activity) storeActivity(id, activity, activityId);
    } else {
      id = `a:${randomUUID().replaceAll('-', '')}`;
      const roster = new Map<string, FakeMember>();
      const members = Array.isArray(parameters.members) ? parameters.members : [];
      for (const account of members) {
        const accountId = asObject(account).id;
        const member = typeof accountId === 'string' ? findAnywhere(accountId) : undefined;
        if (member) roster.set(member.id, member);
      }
      rosters.set(id, roster);
      if (activity) activityId = storeActivity(id, activity);
    }
    created.push({ id, parameters });
    return activityId ? { id, activityId } : { id };
  }

  function findAnywhere(memberId: string): FakeMember | undefined {
    for (const roster of rosters.values()) {
      const member = findMember(roster, memberId);
      if (member) return member;
    }
    return undefined;
  }

  function dump(): string {
    const lines = ['Activities (latest version):'];
    for (const id of order) {
      const record = records.get(id);
      if (record) lines.push(`  ${describeActivity(record)}`);
    }
    if (order.length === 0) lines.push('  (none)');
    lines.push('Last requests:');
    for (const entry of log.slice(-15)) {
      lines.push(
        `  ${new Date(entry.at).toISOString().slice(11, 23)} ${entry.method} ${entry.path} → ${entry.outcome}${entry.injected ? ' (injected)' : ''}`,
      );
    }
    if (log.length === 0) lines.push('  (none)');
    return lines.join('\n');
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);
    const decodedPath = safeDecodePath(url.pathname);
    const route = matchRoute(method, url.pathname);
    const entry: ConnectorRequest = {
      at: Date.now(),
      method,
      path: decodedPath,
      operation: route.operation,
      ...(route.conversationId === undefined ? {} : { conversationId: route.conversationId }),
      ...(route.activityId === undefined ? {} : { activityId: route.activityId }),
      outcome: 0,
      bytes: raw.length,
      authorized: typeof req.headers.authorization === 'string',
    };
    log.push(entry);

    const countsAgainstThread = isThreadOperation(route.operation) && route.conversationId !== undefined;
    if (countsAgainstThread && isActivityBody(route.operation)) {
      const stats = threadState(route.conversationId!).stats;
      stats.largestActivityBytes = Math.max(stats.largestActivityBytes, raw.length);
    }

    const fault = takeFault(method, decodedPath, url.pathname);
    if (fault) entry.injected = true;
    if (fault?.spec.delayMs) await sleep(fault.spec.delayMs);
    const now = clock();
    if (countsAgainstThread) countAttempt(route.conversationId!, now);
    const spec = fault?.spec;
    const delayOnly =
      spec !== undefined &&
      !spec.hang &&
      !spec.reset &&
      !spec.afterApply &&
      spec.status === undefined &&
      !!spec.delayMs;

    if (spec && !delayOnly) {
      // What the fault did to Teams' side: only an applied request used up the thread's budget.
      if (spec.afterApply) {
        if (countsAgainstThread) admit(route.conversationId!, now, false);
        tryHandle(route, method, raw, url.searchParams);
      }
      if (spec.hang) {
        entry.outcome = 'hang';
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if (spec.reset) {
        entry.outcome = 'reset';
        req.socket.destroy();
        return;
      }
      const status = spec.status ?? 500;
      entry.outcome = status;
      if (status === 429 && route.conversationId !== undefined) {
        recordThrottle({
          at: now,
          conversationId: route.conversationId,
          operation: route.operation,
          retryAfterSeconds: spec.retryAfterSeconds,
          reason: 'injected',
        });
      }
      const headers: Record<string, string> =
        spec.retryAfterSeconds === undefined ? {} : { 'retry-after': String(spec.retryAfterSeconds) };
      send(res, status, spec.body ?? errorBody(status), headers);
      return;
    }

    if (isActivityBody(route.operation) && raw.length > maxActivityBytes) {
      entry.outcome = 413;
      send(res, 413, {
        error: {
          code: 'MessageSizeTooBig',
          message: `Activity is ${raw.length} bytes, over ${maxActivityBytes}`,
        },
      });
      return;
    }

    // Teams' limit per app first, then the thread's: either answers 429 with when to retry.
    const exceeded =
      admitApp(now, enforceRateLimits) ??
      (countsAgainstThread ? admit(route.conversationId!, now, enforceRateLimits) : undefined);
    if (exceeded) {
      const retryAfterSeconds = Math.max(1, Math.ceil(exceeded.retryAfterMs / 1_000));
      recordThrottle({
        at: now,
        conversationId: route.conversationId ?? '',
        operation: route.operation,
        retryAfterSeconds,
        reason: appRateLimits.includes(exceeded.window) ? 'app-rate-limit' : 'rate-limit',
        window: exceeded.window,
      });
      entry.outcome = 429;
      send(res, 429, errorBody(429), { 'retry-after': String(retryAfterSeconds) });
      return;
    }

    try {
      const [status, body] = handle(route, method, parseJson(raw), url.searchParams);
      entry.outcome = status;
      send(res, status, body);
    } catch (error) {
      const httpError =
        error instanceof HttpError ? error : new HttpError(500, 'InternalServerError', String(error));
      entry.outcome = httpError.status;
      send(res, httpError.status, { error: { code: httpError.code, message: httpError.message } });
    }
  }

  /** Carries out a request whose answer a fault replaces; its own errors do not matter then. */
  function tryHandle(route: Route, method: string, raw: Buffer, query: URLSearchParams): void {
    try {
      handle(route, method, parseJson(raw), query);
    } catch {
      // The client gets the injected fault whatever happened here.
    }
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        send(res, 500, { error: { code: 'InternalServerError', message: String(error) } });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const connector: FakeTeamsConnector = {
    url: `http://127.0.0.1:${port}/`,
    port,
    activities(conversationId) {
      const result: PostedActivity[] = [];
      for (const id of order) {
        const record = records.get(id);
        if (!record || record.deleted) continue;
        if (conversationId !== undefined && record.conversationId !== conversationId) continue;
        result.push(structuredClone(record.versions[record.versions.length - 1]!));
      }
      return result;
    },
    history(activityId) {
      return structuredClone(records.get(activityId)?.versions ?? []);
    },
    historyTimes(activityId) {
      return [...(records.get(activityId)?.storedAt ?? [])];
    },
    wasDeleted(activityId) {
      return records.get(activityId)?.deleted ?? false;
    },
    createdConversations() {
      return structuredClone(created);
    },
    async waitFor(probe, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 20_000;
      const intervalMs = waitOptions.intervalMs ?? 25;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = probe();
        if (value !== undefined && value !== null && value !== false) return value;
        if (Date.now() >= deadline) {
          const what = waitOptions.description ? ` for ${waitOptions.description}` : '';
          throw new Error(`Fake Teams connector: gave up waiting${what} after ${timeoutMs} ms.\n${dump()}`);
        }
        await sleep(intervalMs);
      }
    },
    findCard,
    findAction,
    requestLog() {
      return structuredClone(log);
    },
    rateStats() {
      return [...threads.values()].map((t) => ({ ...t.stats }));
    },
    appPeakPerSecond: () => appState.peakAcceptedPerSecond,
    rateStatsFor(conversationId) {
      const state = threads.get(conversationId);
      return state ? { ...state.stats } : undefined;
    },
    throttles() {
      return structuredClone(throttleLog);
    },
    setRateLimitsEnforced(enforced) {
      enforceRateLimits = enforced;
    },
    failNext(spec) {
      const fault: Fault = { spec, hits: 0, remaining: spec.times ?? 1 };
      faults.push(fault);
      return {
        spec,
        get hits() {
          return fault.hits;
        },
        get remaining() {
          return fault.remaining;
        },
      };
    },
    addTeam(team) {
      teams.set(team.id, team);
      channelTeam.set(team.id, team.id);
      for (const channel of team.channels ?? []) channelTeam.set(baseConversationId(channel.id), team.id);
      if (!rosters.has(team.id)) rosters.set(team.id, new Map());
    },
    addMember(conversationOrTeamId, member) {
      const base = baseConversationId(conversationOrTeamId);
      const key = channelTeam.get(base) ?? base;
      let roster = rosters.get(key);
      if (!roster) {
        roster = new Map();
        rosters.set(key, roster);
      }
      roster.set(member.id, member);
    },
    dump,
    reset(resetOptions = {}) {
      records.clear();
      order.length = 0;
      threads.clear();
      appState.accepted = [];
      appState.peakAcceptedPerSecond = 0;
      throttleLog.length = 0;
      log.length = 0;
      faults.length = 0;
      created.length = 0;
      for (const res of hanging) res.destroy();
      hanging.clear();
      if (resetOptions.roster) {
        rosters.clear();
        teams.clear();
        channelTeam.clear();
      }
    },
    async close() {
      for (const res of hanging) res.destroy();
      hanging.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive and hanging sockets would hold close() open.
        for (const socket of sockets) socket.destroy();
      });
    },
  };
  return connector;
}

/** The Adaptive Card in an activity's attachments, if any. */
export function findCard(activity: PostedActivity | undefined): AdaptiveCardJson | undefined {
  for (const attachment of activity?.attachments ?? []) {
    if (attachment.contentType === ADAPTIVE_CARD_CONTENT_TYPE && isObject(attachment.content)) {
      return attachment.content as AdaptiveCardJson;
    }
  }
  return undefined;
}

/**
 * The first action whose title equals `title` (case-insensitive, trimmed), or whose verb equals `{ verb }`,
 * anywhere in the card: top-level actions, ActionSets in containers and columns, ShowCard cards, the refresh
 * action and select actions.
 */
export function findAction(
  card: AdaptiveCardJson | undefined,
  title: string | { verb: string },
): CardActionJson | undefined {
  if (!card) return undefined;
  const matches = (action: CardActionJson): boolean =>
    typeof title === 'string'
      ? action.title?.trim().toLowerCase() === title.trim().toLowerCase()
      : action.verb === title.verb;
  const queue: unknown[] = [card];
  // Breadth first, so the top-level actions win over a same-titled action nested deeper.
  while (queue.length > 0) {
    const node = queue.shift();
    if (Array.isArray(node)) {
      queue.push(...node);
    } else if (isObject(node)) {
      if (
        typeof node.type === 'string' &&
        node.type.startsWith('Action.') &&
        matches(node as CardActionJson)
      ) {
        return node as CardActionJson;
      }
      queue.push(...Object.values(node));
    }
  }
  return undefined;
}

function matchRoute(method: string, rawPathname: string): Route {
  const segments = rawPathname.split('/').filter((s) => s.length > 0);
  // Teams' serviceUrl has a region prefix (`/amer/`); route from the API version on.
  const start = segments.indexOf('v3');
  if (start < 0) return { operation: 'unknown' };
  const parts = segments.slice(start + 1).map(safeDecode);
  const [collection, id, sub, subId, subSub] = parts;
  if (collection === 'teams' && id !== undefined && method === 'GET') {
    if (sub === undefined) return { operation: 'getTeamDetails', teamId: id };
    if (sub === 'conversations' && subId === undefined) return { operation: 'getTeamChannels', teamId: id };
    return { operation: 'unknown' };
  }
  if (collection !== 'conversations') return { operation: 'unknown' };
  if (id === undefined) return { operation: method === 'POST' ? 'createConversation' : 'unknown' };
  const conversationId = id;
  if (sub === 'activities') {
    if (subId === undefined) {
      return method === 'POST'
        ? { operation: 'sendToConversation', conversationId }
        : { operation: 'unknown' };
    }
    if (subSub === 'members' && method === 'GET') {
      return { operation: 'getActivityMembers', conversationId, activityId: subId };
    }
    if (subSub !== undefined) return { operation: 'unknown', conversationId };
    const byMethod: Record<string, ConnectorOperation> = {
      POST: 'replyToActivity',
      PUT: 'updateActivity',
      DELETE: 'deleteActivity',
    };
    return { operation: byMethod[method] ?? 'unknown', conversationId, activityId: subId };
  }
  if (sub === 'members' && method === 'GET') {
    return subId === undefined
      ? { operation: 'getConversationMembers', conversationId }
      : { operation: 'getConversationMember', conversationId, memberId: subId };
  }
  if (sub === 'pagedmembers' && method === 'GET')
    return { operation: 'getConversationPagedMembers', conversationId };
  return { operation: 'unknown', conversationId };
}

function isThreadOperation(operation: ConnectorOperation): boolean {
  return (
    operation === 'sendToConversation' ||
    operation === 'replyToActivity' ||
    operation === 'updateActivity' ||
    operation === 'deleteActivity'
  );
}

function isActivityBody(operation: ConnectorOperation): boolean {
  return (
    operation === 'sendToConversation' || operation === 'replyToActivity' || operation === 'updateActivity'
  );
}

/** `19:abc@thread.tacv2;messageid=123` → `19:abc@thread.tacv2`. */
function baseConversationId(conversationId: string): string {
  return conversationId.split(';')[0] ?? conversationId;
}

function toPosted(body: Record<string, unknown>, id: string, conversationId: string): PostedActivity {
  const conversation = { ...asObject(body.conversation), id: conversationId };
  return { ...(body as Partial<Activity>), id, conversation };
}

function toTeamsAccount(member: FakeMember): Record<string, unknown> {
  return {
    id: member.id,
    name: member.name,
    aadObjectId: member.aadObjectId,
    // The members list of the real service says `objectId`; botbuilder copies it to aadObjectId.
    objectId: member.aadObjectId,
    givenName: member.givenName,
    surname: member.surname,
    email: member.email,
    userPrincipalName: member.userPrincipalName,
    tenantId: member.tenantId,
    userRole: member.userRole ?? 'user',
  };
}

function errorBody(status: number): { error: { code: string; message: string } } {
  const codes: Record<number, string> = {
    400: 'BadSyntax',
    403: 'Forbidden',
    404: 'NotFound',
    412: 'PreconditionFailed',
    429: 'Throttled',
    500: 'InternalServerError',
    502: 'BadGateway',
    503: 'ServiceUnavailable',
    504: 'GatewayTimeout',
  };
  const code = codes[status] ?? 'Error';
  return { error: { code, message: `Fake Teams connector answered ${status} ${code}` } };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
    .end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'BadSyntax', 'The body is not JSON');
  }
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function safeDecodePath(pathname: string): string {
  return pathname.split('/').map(safeDecode).join('/');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asObject(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}

function describeActivity(record: ActivityRecord): string {
  const latest = record.versions[record.versions.length - 1]!;
  const card = findCard(latest);
  const what = card
    ? `card "${cardHeadline(card)}"`
    : `text ${JSON.stringify(truncate(String(latest.text ?? ''), 80))}`;
  const versions = record.versions.length > 1 ? ` (${record.versions.length} versions)` : '';
  return `${record.id} in ${record.conversationId}: ${latest.type ?? '?'} ${what}${versions}${record.deleted ? ' [deleted]' : ''}`;
}

/** The first TextBlock's text, which is how a person recognises a card in a dump. */
function cardHeadline(card: AdaptiveCardJson): string {
  const queue: unknown[] = [card.body];
  while (queue.length > 0) {
    const node = queue.shift();
    if (Array.isArray(node)) queue.push(...node);
    else if (isObject(node)) {
      if (node.type === 'TextBlock' && typeof node.text === 'string') return truncate(node.text, 80);
      queue.push(...Object.values(node));
    }
  }
  return '(no text)';
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
