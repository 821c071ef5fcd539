// Steps shared by the tests that resolve on-call approvers through the local Microsoft Graph simulator.
import { randomUUID } from 'node:crypto';
import {
  type GraphSimulator,
  type GraphSimulatorOptions,
  startGraphSimulator,
} from '../../simulator/graph-simulator.js';
import { TEAM, type TeamsUser, USERS } from './teams-fixtures.js';

/** The Graph simulator, knowing every Teams fixture user by Entra object id, name and UPN. */
export async function startGraphWithUsers(options?: GraphSimulatorOptions): Promise<GraphSimulator> {
  const graph = await startGraphSimulator(options);
  for (const user of [USERS.requester, USERS.approver, USERS.secondApprover, USERS.outsider])
    graph.addUser({
      id: user.aadObjectId,
      displayName: user.name,
      userPrincipalName: user.userPrincipalName,
    });
  return graph;
}

/** The bot's settings for on-call approvers resolved against `graph`, with no escalation tier. */
export function graphApproverEnv(graph: GraphSimulator): Record<string, string> {
  return {
    GRAPH_API_URL: graph.url,
    GRAPH_ACCESS_TOKEN: graph.accessToken,
    APPROVERS_ESCALATION: '',
    ESCALATE_AFTER: '',
  };
}

/**
 * A scheduling group of the team with a published shift per person: [person, start offset, end offset]. Returns each
 * person's shift id by their Teams id.
 */
export function schedule(
  graph: GraphSimulator,
  name: string,
  shifts: Array<[TeamsUser, number, number]>,
): Record<TeamsUser['id'], string> {
  const groupId = `TAG_${randomUUID()}`;
  graph.addSchedulingGroup(TEAM.aadGroupId, { id: groupId, displayName: name });
  const ids: Record<string, string> = {};
  for (const [person, startOffset, endOffset] of shifts) {
    const id = `SHFT_${randomUUID()}`;
    ids[person.id] = id;
    graph.addShift(TEAM.aadGroupId, {
      id,
      userId: person.aadObjectId,
      schedulingGroupId: groupId,
      shared: {
        start: new Date(Date.now() + startOffset).toISOString(),
        end: new Date(Date.now() + endOffset).toISOString(),
      },
    });
  }
  return ids;
}
