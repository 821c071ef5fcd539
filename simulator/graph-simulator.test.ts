// The Graph simulator's rules, through the bot's own Graph client over HTTP: tokens, permissions, the Shifts header
// and filter rules, nested groups, paging.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createStaticTokenProvider } from '../defender/token-provider.js';
import { createGraphClient, GraphApiError } from '../graph/graph-client.js';
import { type GraphSimulator, startGraphSimulator } from './graph-simulator.js';

const TEAM = '2f4a6c8e-0b1d-4f3a-8c5e-7a9b1d3f5a7c';
const ACTS_AS = { 'MS-APP-ACTS-AS': '3c5e7a91-2b4d-4f60-8a1c-9e0b2d4f6a81' };
const item = z.object({ id: z.string() }).passthrough();
const users = ['a', 'b', 'c'].map((k) => ({
  id: `00000000-0000-4000-8000-00000000000${k === 'a' ? 1 : k === 'b' ? 2 : 3}`,
  displayName: `User ${k}`,
  userPrincipalName: `${k}@contoso.com`,
}));

let graph: GraphSimulator;

beforeAll(async () => {
  graph = await startGraphSimulator({ pageSize: 1 });
  for (const user of users) graph.addUser(user);
  // A cycle: outer contains inner, inner contains outer.
  graph.addGroup({ id: 'outer', displayName: 'Outer', members: ['inner', users[0]!.id] });
  graph.addGroup({ id: 'inner', displayName: 'Inner', members: ['outer', users[1]!.id, users[0]!.id] });
  graph.addSchedulingGroup(TEAM, { id: 'TAG_1', displayName: 'SOC' });
});

afterAll(async () => {
  await graph?.close();
});

const client = (token = 'graph-sim-token') =>
  createGraphClient({ baseUrl: graph.url, tokens: createStaticTokenProvider(token), maxRetryWaitMs: 0 });

async function failure(promise: Promise<unknown>): Promise<GraphApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GraphApiError);
  return error as GraphApiError;
}

describe('Graph simulator', () => {
  it('flattens nested groups once each, users only with the cast, one page at a time', async () => {
    const members = await client().listAll('/v1.0/groups/outer/transitiveMembers/microsoft.graph.user', item);
    expect(members.map((m) => m.id).sort()).toEqual([users[0]!.id, users[1]!.id].sort());
    const all = await client().listAll('/v1.0/groups/outer/transitiveMembers', item);
    expect(all.map((m) => m.id)).toContain('inner');
    expect(graph.calls().filter((c) => c.query.includes('skiptoken')).length).toBeGreaterThan(0);
  });

  it('answers 401 to another token and 403 without the permission', async () => {
    expect(
      (await failure(client('stolen').listAll('/v1.0/groups/outer/transitiveMembers', item))).status,
    ).toBe(401);
    graph.setGrantedRoles(['TeamworkTag.Read.All']);
    try {
      const denied = await failure(client().listAll('/v1.0/groups/outer/transitiveMembers', item));
      expect([denied.status, denied.code]).toEqual([403, 'Authorization_RequestDenied']);
    } finally {
      graph.setGrantedRoles(['GroupMember.Read.All', 'TeamworkTag.Read.All', 'Schedule.Read.All']);
    }
  });

  it('wants MS-APP-ACTS-AS on Shifts calls with an app token', async () => {
    const error = await failure(client().listAll(`/v1.0/teams/${TEAM}/schedule/schedulingGroups`, item));
    expect(error.status).toBe(403);
    expect(error.message).toContain('MS-APP-ACTS-AS');
    const groups = await client().listAll(`/v1.0/teams/${TEAM}/schedule/schedulingGroups`, item, {
      headers: ACTS_AS,
    });
    expect(groups.map((g) => g.id)).toEqual(['TAG_1']);
  });

  it('refuses a shifts filter that names the same property twice', async () => {
    const filter = encodeURIComponent(
      'sharedShift/startDateTime ge 2026-01-01T00:00:00Z and sharedShift/startDateTime le 2026-01-02T00:00:00Z',
    );
    const error = await failure(
      client().listAll(`/v1.0/teams/${TEAM}/schedule/shifts?$filter=${filter}`, item, { headers: ACTS_AS }),
    );
    expect([error.status, error.code]).toEqual([400, 'BadRequest']);
  });

  it('answers 429 with Retry-After, which the client reports when it may not wait that long', async () => {
    graph.throttleNext(1, 7);
    const error = await failure(client().listAll('/v1.0/groups/outer/transitiveMembers', item));
    expect([error.kind, error.retryAfterMs]).toEqual(['throttled', 7_000]);
  });
});
