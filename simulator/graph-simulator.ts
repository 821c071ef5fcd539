// A local Microsoft Graph for the on-call look-ups, over real HTTP: users, groups nested in groups, Teams tags, Shifts
// scheduling groups and shifts with times; app-only bearer tokens with granted application permissions; server paging
// with @odata.nextLink; throttling with 429 and Retry-After. Each rule names the Microsoft page it follows.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';

export interface SimUser {
  id: string;
  displayName: string;
  userPrincipalName: string;
}

export interface SimGroup {
  id: string;
  displayName: string;
  /** User or group ids (nested groups are flattened by transitiveMembers). */
  members: string[];
}

export interface SimShift {
  id: string;
  userId: string;
  schedulingGroupId: string;
  /** ISO times of the published (shared) shift; a draft-only shift has none and no one sees it as on call. */
  shared: { start: string; end: string } | null;
}

export interface GraphSimulatorOptions {
  /** The pre-issued app token the API accepts (GRAPH_ACCESS_TOKEN). Default `graph-sim-token`. */
  accessToken?: string;
  /** Application permissions granted to that token. Default the three the on-call sources need. */
  roles?: readonly string[];
  /** Items per page before an @odata.nextLink. Default 100 (Graph's usual default page). */
  pageSize?: number;
}

export interface GraphCall {
  path: string;
  query: string;
  actsAs?: string;
  status: number;
}

export interface GraphSimulator {
  url: string;
  accessToken: string;
  addUser(user: SimUser): void;
  addGroup(group: SimGroup): void;
  /** A standard tag in a team (team = its Entra group id). */
  addTag(teamId: string, tag: { id: string; displayName: string; userIds: string[] }): void;
  addSchedulingGroup(teamId: string, group: { id: string; displayName: string; isActive?: boolean }): void;
  addShift(teamId: string, shift: SimShift): void;
  /** Changes a shift's published times (e.g. ends it now). */
  updateShift(teamId: string, shiftId: string, shared: SimShift['shared']): void;
  /** The next `count` API calls answer 429 with `Retry-After: retryAfterSeconds`. */
  throttleNext(count: number, retryAfterSeconds: number): void;
  setGrantedRoles(roles: readonly string[]): void;
  calls(): GraphCall[];
  close(): Promise<void>;
}

export const GRAPH_SIM_ROLES = ['GroupMember.Read.All', 'TeamworkTag.Read.All', 'Schedule.Read.All'] as const;

/** Least-privileged application permission of each API and the higher ones that also work (each API's Permissions table). */
const PERMISSIONS = {
  // learn.microsoft.com/graph/api/group-list-transitivemembers
  groups: [
    'GroupMember.Read.All',
    'Directory.Read.All',
    'Group.Read.All',
    'Group.ReadWrite.All',
    'GroupMember.ReadWrite.All',
  ],
  // learn.microsoft.com/graph/api/teamworktag-list and teamworktagmember-list
  tags: ['TeamworkTag.Read.All', 'TeamworkTag.ReadWrite.All'],
  // learn.microsoft.com/graph/api/schedule-list-schedulinggroups and schedule-list-shifts
  schedule: ['Schedule.Read.All', 'Schedule.ReadWrite.All'],
} as const;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The shifts `$filter` as schedule-list-shifts documents it: `sharedShift/startDateTime` and `sharedShift/endDateTime`
 * compared with a date, joined by `and`, each property at most once ("the following query will not work:
 * sharedShift/startDateTime ge … and sharedShift/startDateTime le …"): anything else is 400.
 */
export function parseShiftFilter(filter: string): Array<{ field: 'start' | 'end'; op: string; at: number }> {
  const clauses = filter.split(/\s+and\s+/i);
  const seen = new Set<string>();
  return clauses.map((clause) => {
    const match = /^\s*sharedShift\/(startDateTime|endDateTime)\s+(ge|le|gt|lt|eq)\s+(\S+)\s*$/i.exec(clause);
    const at = match ? Date.parse(match[3]!) : Number.NaN;
    if (!match || Number.isNaN(at))
      throw new GraphError(400, 'BadRequest', `Invalid filter clause: ${clause.trim()}`);
    const field = match[1]!.toLowerCase() === 'startdatetime' ? 'start' : 'end';
    if (seen.has(field))
      throw new GraphError(
        400,
        'BadRequest',
        `The filter names sharedShift/${match[1]} more than once, which is not supported`,
      );
    seen.add(field);
    return { field, op: match[2]!.toLowerCase(), at };
  });
}

function compare(value: number, op: string, at: number): boolean {
  switch (op) {
    case 'ge':
      return value >= at;
    case 'le':
      return value <= at;
    case 'gt':
      return value > at;
    case 'lt':
      return value < at;
    default:
      return value === at;
  }
}

export async function startGraphSimulator(options: GraphSimulatorOptions = {}): Promise<GraphSimulator> {
  const accessToken = options.accessToken ?? 'graph-sim-token';
  let roles = [...(options.roles ?? GRAPH_SIM_ROLES)];
  const pageSize = options.pageSize ?? 100;
  const users = new Map<string, SimUser>();
  const groups = new Map<string, SimGroup>();
  const tags = new Map<string, Array<{ id: string; displayName: string; userIds: string[] }>>();
  const schedulingGroups = new Map<string, Array<{ id: string; displayName: string; isActive: boolean }>>();
  const shifts = new Map<string, SimShift[]>();
  const log: GraphCall[] = [];
  let throttle = { count: 0, retryAfterSeconds: 0 };
  let baseUrl = '';

  const key = (id: string) => id.toLowerCase();

  function requireRole(allowed: readonly string[]): void {
    if (!roles.some((r) => allowed.includes(r)))
      // Graph's answer to an app token without the permission (Authorization_RequestDenied on directory APIs).
      throw new GraphError(
        403,
        'Authorization_RequestDenied',
        'Insufficient privileges to complete the operation.',
      );
  }

  function teamOrThrow(teamId: string): void {
    if (!tags.has(key(teamId)) && !schedulingGroups.has(key(teamId)))
      throw new GraphError(404, 'NotFound', `No team found with Group Id ${teamId}`);
  }

  /** The Shifts pages in v1.0 require MS-APP-ACTS-AS (a user id) with an application token. */
  function requireActsAs(req: Request): void {
    const actsAs = req.header('MS-APP-ACTS-AS');
    if (!actsAs || !GUID.test(actsAs))
      throw new GraphError(
        403,
        'Forbidden',
        'MS-APP-ACTS-AS header needs to be set for application context requests (a user id).',
      );
  }

  /** One page of `items`; the next link keeps the query and adds an opaque $skiptoken (learn.microsoft.com/graph/paging). */
  function page(req: Request, res: Response, items: unknown[]): void {
    const start = req.query.$skiptoken
      ? Number(Buffer.from(String(req.query.$skiptoken), 'base64url').toString())
      : 0;
    const slice = items.slice(start, start + pageSize);
    const body: Record<string, unknown> = { '@odata.context': `${baseUrl}/v1.0/$metadata`, value: slice };
    if (start + pageSize < items.length) {
      const next = new URL(`${baseUrl}${req.path}`);
      for (const [name, value] of Object.entries(req.query))
        if (name !== '$skiptoken' && typeof value === 'string') next.searchParams.set(name, value);
      next.searchParams.set('$skiptoken', Buffer.from(String(start + pageSize)).toString('base64url'));
      body['@odata.nextLink'] = next.toString();
    }
    res.json(body);
  }

  /** Users reachable from a group through nested groups, each once; cycles are harmless. */
  function transitiveMembers(groupId: string): Array<SimUser | SimGroup> {
    const out = new Map<string, SimUser | SimGroup>();
    const visit = (id: string) => {
      for (const member of groups.get(key(id))?.members ?? []) {
        if (out.has(key(member))) continue;
        const user = users.get(key(member));
        const group = groups.get(key(member));
        if (user) out.set(key(member), user);
        if (group) {
          out.set(key(member), group);
          visit(member);
        }
      }
    };
    visit(groupId);
    return [...out.values()];
  }

  const app = express();
  app.disable('x-powered-by');

  app.use((req, res, next) => {
    const call: GraphCall = {
      path: req.path,
      query: req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '',
      ...(req.header('MS-APP-ACTS-AS') ? { actsAs: req.header('MS-APP-ACTS-AS')! } : {}),
      status: 0,
    };
    log.push(call);
    res.on('finish', () => {
      call.status = res.statusCode;
    });
    const bearer = /^Bearer\s+(.+)$/i.exec(req.header('authorization') ?? '')?.[1];
    if (bearer !== accessToken) {
      res
        .status(401)
        .json({ error: { code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' } });
      return;
    }
    // learn.microsoft.com/graph/throttling: 429 Too Many Requests with a Retry-After (seconds) to wait.
    if (throttle.count > 0) {
      throttle.count -= 1;
      res.setHeader('Retry-After', String(throttle.retryAfterSeconds));
      res.status(429).json({ error: { code: 'TooManyRequests', message: 'Too many requests.' } });
      return;
    }
    next();
  });

  const handle =
    (fn: (req: Request, res: Response) => void) =>
    (req: Request, res: Response): void => {
      try {
        fn(req, res);
      } catch (error) {
        if (error instanceof GraphError)
          res.status(error.status).json({ error: { code: error.code, message: error.message } });
        else res.status(500).json({ error: { code: 'InternalServerError', message: String(error) } });
      }
    };

  // GET /groups/{id}/transitiveMembers[/microsoft.graph.user]: the cast keeps users only.
  app.get(
    /^\/v1\.0\/groups\/([^/]+)\/transitiveMembers(\/microsoft\.graph\.user)?$/,
    handle((req, res) => {
      requireRole(PERMISSIONS.groups);
      const groupId = decodeURIComponent(req.params[0] ?? '');
      if (!groups.has(key(groupId)))
        throw new GraphError(
          404,
          'Request_ResourceNotFound',
          `Resource '${groupId}' does not exist or one of its queried reference-property objects are not present.`,
        );
      const usersOnly = Boolean(req.params[1]);
      const members = transitiveMembers(groupId)
        .filter((m) => !usersOnly || 'userPrincipalName' in m)
        .map((m) =>
          'userPrincipalName' in m
            ? { '@odata.type': '#microsoft.graph.user', ...m }
            : { '@odata.type': '#microsoft.graph.group', id: m.id, displayName: m.displayName },
        );
      page(req, res, members);
    }),
  );

  app.get(
    '/v1.0/teams/:teamId/tags',
    handle((req, res) => {
      requireRole(PERMISSIONS.tags);
      teamOrThrow(String(req.params.teamId));
      page(
        req,
        res,
        (tags.get(key(String(req.params.teamId))) ?? []).map((t) => ({
          id: t.id,
          teamId: req.params.teamId,
          displayName: t.displayName,
          description: null,
          memberCount: t.userIds.length,
          tagType: 'standard',
        })),
      );
    }),
  );

  app.get(
    '/v1.0/teams/:teamId/tags/:tagId/members',
    handle((req, res) => {
      requireRole(PERMISSIONS.tags);
      teamOrThrow(String(req.params.teamId));
      const tag = (tags.get(key(String(req.params.teamId))) ?? []).find(
        (t) => t.id === String(req.params.tagId),
      );
      if (!tag) throw new GraphError(404, 'NotFound', 'Tag not found.');
      page(
        req,
        res,
        tag.userIds.map((userId) => ({
          id: Buffer.from(`${tag.id}#${userId}`).toString('base64'),
          displayName: users.get(key(userId))?.displayName ?? null,
          userId,
          tenantId: null,
        })),
      );
    }),
  );

  app.get(
    '/v1.0/teams/:teamId/schedule/schedulingGroups',
    handle((req, res) => {
      requireRole(PERMISSIONS.schedule);
      requireActsAs(req);
      teamOrThrow(String(req.params.teamId));
      page(req, res, schedulingGroups.get(key(String(req.params.teamId))) ?? []);
    }),
  );

  app.get(
    '/v1.0/teams/:teamId/schedule/shifts',
    handle((req, res) => {
      requireRole(PERMISSIONS.schedule);
      requireActsAs(req);
      teamOrThrow(String(req.params.teamId));
      const clauses = typeof req.query.$filter === 'string' ? parseShiftFilter(req.query.$filter) : [];
      const list = (shifts.get(key(String(req.params.teamId))) ?? [])
        .filter((s) =>
          clauses.every((c) => {
            if (!s.shared) return false;
            return compare(Date.parse(c.field === 'start' ? s.shared.start : s.shared.end), c.op, c.at);
          }),
        )
        .map((s) => ({
          id: s.id,
          userId: s.userId,
          schedulingGroupId: s.schedulingGroupId,
          sharedShift: s.shared
            ? {
                displayName: 'On call',
                startDateTime: s.shared.start,
                endDateTime: s.shared.end,
                activities: [],
              }
            : null,
          draftShift: s.shared ? null : { displayName: 'On call (draft)' },
        }));
      page(req, res, list);
    }),
  );

  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'BadRequest', message: 'Resource not found for the segment.' } });
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl,
    accessToken,
    addUser: (user) => users.set(key(user.id), user),
    addGroup: (group) => groups.set(key(group.id), group),
    addTag(teamId, tag) {
      tags.set(key(teamId), [...(tags.get(key(teamId)) ?? []), tag]);
      if (!schedulingGroups.has(key(teamId))) schedulingGroups.set(key(teamId), []);
    },
    addSchedulingGroup(teamId, group) {
      schedulingGroups.set(key(teamId), [
        ...(schedulingGroups.get(key(teamId)) ?? []),
        { ...group, isActive: group.isActive ?? true },
      ]);
      if (!tags.has(key(teamId))) tags.set(key(teamId), []);
    },
    addShift: (teamId, shift) => shifts.set(key(teamId), [...(shifts.get(key(teamId)) ?? []), shift]),
    updateShift(teamId, shiftId, shared) {
      const shift = (shifts.get(key(teamId)) ?? []).find((s) => s.id === shiftId);
      if (!shift) throw new Error(`no shift ${shiftId}`);
      shift.shared = shared;
    },
    throttleNext(count, retryAfterSeconds) {
      throttle = { count, retryAfterSeconds };
    },
    setGrantedRoles(next) {
      roles = [...next];
    },
    calls: () => [...log],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
