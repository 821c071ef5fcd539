// Resolves the approver tiers (APPROVERS, APPROVERS_ESCALATION) to who is on call now through Microsoft Graph, with
// each source's answer cached briefly in Redis so every process shares it. A decision bypasses the cache (`fresh`):
// someone whose shift just ended must not approve on a minute-old answer.
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import {
  type ApproverSource,
  type DirectorySource,
  isDirectorySource,
  type OnCallPerson,
  type OnCallSourceResult,
  type OnCallTier,
  sourceLabel,
} from '../core/on-call.js';
import type { RedisKeys } from '../core/redis-keys.js';
import type { GraphClient } from './graph-client.js';

export interface OnCallContext {
  /** The Entra group id of the team the request was made in (tags and Shifts live there); absent outside a team. */
  teamId?: string;
  /** A team member's Entra object id, sent as MS-APP-ACTS-AS on Shifts calls (see below). */
  actingUserId?: string;
}

export interface OnCallDirectory {
  /** How many tiers are configured (1, or 2 with APPROVERS_ESCALATION). */
  readonly tierCount: number;
  /** Whether tier `tier` has group/tag/shifts entries (else it is static and needs no Graph). */
  usesDirectory(tier: number): boolean;
  /** Who is on call in tier `tier` (1-based) now. Throws GraphApiError when Graph cannot answer. */
  resolve(tier: number, context: OnCallContext, options?: { fresh?: boolean }): Promise<OnCallTier>;
}

export interface OnCallDirectoryOptions {
  tiers: ApproverSource[][];
  /** Required when any tier has a directory source. */
  graph?: GraphClient;
  /** Only plain GET/SET: a single node or a cluster alike. */
  redis: Pick<Redis, 'get' | 'set'>;
  keys: RedisKeys;
  clock: Clock;
  /** How long a source's answer is shared between requests (ON_CALL_CACHE). */
  cacheMs: number;
}

const userSchema = z.object({
  id: z.string(),
  displayName: z.string().nullish(),
  userPrincipalName: z.string().nullish(),
});
const tagSchema = z.object({ id: z.string(), displayName: z.string() });
const tagMemberSchema = z.object({ userId: z.string(), displayName: z.string().nullish() });
const schedulingGroupSchema = z.object({
  id: z.string(),
  displayName: z.string(),
  isActive: z.boolean().nullish(),
});
const shiftSchema = z.object({
  userId: z.string().nullish(),
  schedulingGroupId: z.string().nullish(),
  sharedShift: z.object({ startDateTime: z.string(), endDateTime: z.string() }).nullish(),
});

const sameName = (a: string, b: string) => a.localeCompare(b, undefined, { sensitivity: 'accent' }) === 0;
const seg = encodeURIComponent;

export function createOnCallDirectory(options: OnCallDirectoryOptions): OnCallDirectory {
  const { redis, keys, clock } = options;
  if (!options.graph && options.tiers.some((tier) => tier.some(isDirectorySource)))
    throw new Error('group:, tag: and shifts: approvers need Microsoft Graph (GRAPH_* settings)');

  async function lookUp(source: DirectorySource, context: OnCallContext): Promise<OnCallSourceResult> {
    const graph = options.graph!;
    const label = sourceLabel(source);
    if (source.kind === 'group') {
      // GET /groups/{id}/transitiveMembers (learn.microsoft.com/graph/api/group-list-transitivemembers): application
      // permission GroupMember.Read.All; nested groups flattened; the microsoft.graph.user cast keeps people only.
      const users = await graph.listAll(
        `/v1.0/groups/${seg(source.groupId)}/transitiveMembers/microsoft.graph.user?$select=id,displayName,userPrincipalName`,
        userSchema,
      );
      return { source: label, people: users.map(personOf) };
    }
    if (!context.teamId)
      return {
        source: label,
        people: [],
        note: `${source.kind === 'tag' ? 'tags' : 'Shifts'} need a team channel`,
      };
    const team = seg(context.teamId);
    if (source.kind === 'tag') {
      // GET /teams/{id}/tags and /tags/{id}/members (learn.microsoft.com/graph/api/teamworktag-list,
      // teamworktagmember-list): application permission TeamworkTag.Read.All.
      const tags = await graph.listAll(`/v1.0/teams/${team}/tags`, tagSchema);
      const tag = tags.find((t) => sameName(t.displayName, source.name));
      if (!tag) return { source: label, people: [], note: 'no such tag in this team' };
      const members = await graph.listAll(`/v1.0/teams/${team}/tags/${seg(tag.id)}/members`, tagMemberSchema);
      return {
        source: label,
        people: members.map((m) => ({ aadObjectId: m.userId.toLowerCase(), name: m.displayName ?? '' })),
      };
    }
    // GET /teams/{id}/schedule/schedulingGroups and /schedule/shifts (learn.microsoft.com/graph/api/
    // schedule-list-schedulinggroups, schedule-list-shifts): application permission Schedule.Read.All. With an app
    // token the v1.0 pages require MS-APP-ACTS-AS (a user id); newer ones mark it deprecated: sent whenever known.
    const headers: Record<string, string> = context.actingUserId
      ? { 'MS-APP-ACTS-AS': context.actingUserId }
      : {};
    const groups = await graph.listAll(
      `/v1.0/teams/${team}/schedule/schedulingGroups`,
      schedulingGroupSchema,
      {
        headers,
      },
    );
    const group = groups.find((g) => g.isActive !== false && sameName(g.displayName, source.name));
    if (!group) return { source: label, people: [], note: 'no such scheduling group in this team' };
    const now = clock.nowIso();
    // $filter may name each property once (schedule-list-shifts): start at or before now, end at or after it.
    const filter = `sharedShift/startDateTime le ${now} and sharedShift/endDateTime ge ${now}`;
    const shifts = await graph.listAll(
      `/v1.0/teams/${team}/schedule/shifts?$filter=${encodeURIComponent(filter)}`,
      shiftSchema,
      { headers },
    );
    const at = clock.now();
    const ids = new Set<string>();
    for (const shift of shifts) {
      const window = shift.sharedShift;
      // Only published (shared) shifts count; the end is exclusive: a shift ending now has ended.
      if (!shift.userId || shift.schedulingGroupId !== group.id || !window) continue;
      if (Date.parse(window.startDateTime) <= at && at < Date.parse(window.endDateTime))
        ids.add(shift.userId.toLowerCase());
    }
    // Shifts carry user ids only; names come from the Teams roster where the card is posted.
    return { source: label, people: [...ids].map((id) => ({ aadObjectId: id, name: '' })) };
  }

  async function sourceNow(source: DirectorySource, context: OnCallContext, fresh: boolean) {
    const key = keys.cache(`oncall:${sourceLabel(source).toLowerCase()}:${context.teamId ?? '-'}`);
    if (!fresh) {
      const cached = await redis.get(key);
      if (cached) return JSON.parse(cached) as OnCallSourceResult;
    }
    const result = await lookUp(source, context);
    await redis.set(key, JSON.stringify(result), 'PX', Math.max(1, options.cacheMs));
    return result;
  }

  return {
    tierCount: options.tiers.length,
    usesDirectory: (tier) => (options.tiers[tier - 1] ?? []).some(isDirectorySource),
    async resolve(tier, context, resolveOptions = {}) {
      const sources = options.tiers[tier - 1] ?? [];
      const people = sources.flatMap((s) => (s.kind === 'person' ? [s.id] : []));
      const results = await Promise.all(
        sources
          .filter(isDirectorySource)
          .map((source) => sourceNow(source, context, resolveOptions.fresh ?? false)),
      );
      return {
        tier,
        resolvedAt: clock.nowIso(),
        ...(context.teamId ? { teamId: context.teamId } : {}),
        people,
        sources: results,
      };
    },
  };
}

function personOf(user: z.infer<typeof userSchema>): OnCallPerson {
  return {
    aadObjectId: user.id.toLowerCase(),
    name: user.displayName ?? user.userPrincipalName ?? '',
    ...(user.userPrincipalName ? { upn: user.userPrincipalName.toLowerCase() } : {}),
  };
}
