// A small Teams world for integration tests: one tenant with a team, channels, a group chat and 1:1 chats,
// the people of the approval flow, and a user of another tenant. Ids are shaped like Teams' own.
import type { FakeMember, FakeTeamsConnector } from './fake-teams-connector.js';

export const TENANT_ID = 'd9a4c1e2-5b3f-4c8a-9e7d-2f1b0a3c4d5e';
export const OTHER_TENANT_ID = '0b7e3f5a-8c2d-4e91-a6f4-7d3c2b1a0e9f';

/** The bot as Teams addresses it (`28:` + app id); its display name is what `<at>…</at>` mentions show. */
export interface TeamsBot {
  id: string;
  name: string;
}

export const BOT: TeamsBot = { id: '28:lr-bot-local', name: 'LR Bot' };

/** A person as Teams knows them; also a roster entry of the fake connector. */
export type TeamsUser = FakeMember & { email: string; givenName: string; surname: string };

function user(
  key: string,
  name: string,
  aadObjectId: string,
  upn: string,
  tenantId = TENANT_ID,
  userRole: FakeMember['userRole'] = 'user',
): TeamsUser {
  const [givenName = name, surname = ''] = name.split(' ');
  // Real `29:` ids are opaque and long; a readable key keeps test failures legible.
  return {
    id: `29:1${key}`,
    name,
    aadObjectId,
    userPrincipalName: upn,
    email: upn,
    givenName,
    surname,
    tenantId,
    userRole,
  };
}

/** The Entra object ids match `.m365agentsplayground.yml`, so the demo's APPROVERS work in both. */
export const USERS = {
  /** Asks for live response; not an approver. */
  requester: user(
    'riley-analyst',
    'Riley Analyst',
    '3c5e7a91-2b4d-4f60-8a1c-9e0b2d4f6a81',
    'riley.analyst@contoso.com',
  ),
  /** On-call security lead, configured as approver by object id. */
  approver: user('alex-lead', 'Alex Lead', '4d6f8b02-3c5e-4071-9b2d-0f1c3e5a7b92', 'alex.lead@contoso.com'),
  /** Second on-call approver, configured by UPN in some tests. */
  secondApprover: user(
    'sam-oncall',
    'Sam Oncall',
    '5e709c13-4d6f-4182-8c3e-1a2d4f6b8ca3',
    'sam.oncall@contoso.com',
  ),
  /** A team member who may watch but never approve. */
  outsider: user(
    'morgan-helpdesk',
    'Morgan Helpdesk',
    '6f81ad24-5e70-4293-9d4f-2b3e5a7c9db4',
    'morgan.helpdesk@contoso.com',
  ),
  /** Someone from another tenant, where the bot is not allowed. */
  foreigner: user(
    'quinn-fabrikam',
    'Quinn Fabrikam',
    '9a2b4c6d-8e0f-4a1b-9c3d-5e7f9a1b3c5d',
    'quinn@fabrikam.com',
    OTHER_TENANT_ID,
  ),
} as const;

export interface TeamsChannel {
  id: string;
  name: string;
}

export interface TeamsTeam {
  /** Also the General channel's id. */
  id: string;
  name: string;
  aadGroupId: string;
  tenantId: string;
  general: TeamsChannel;
  incidents: TeamsChannel;
}

const TEAM_ID = '19:soc-team-general@thread.tacv2';

export const TEAM: TeamsTeam = {
  id: TEAM_ID,
  name: 'Security Operations',
  aadGroupId: '2f4a6c8e-0b1d-4f3a-8c5e-7a9b1d3f5a7c',
  tenantId: TENANT_ID,
  general: { id: TEAM_ID, name: 'General' },
  incidents: { id: '19:soc-incidents@thread.tacv2', name: 'Incidents' },
};

/** Where a Teams activity happens; the shape decides `conversation` and `channelData`. */
export type TeamsConversation =
  | {
      kind: 'channel';
      /** The thread: `<channel id>;messageid=<root message id>`. */
      id: string;
      tenantId: string;
      team: TeamsTeam;
      channel: TeamsChannel;
      /** The root post's id; the first message sent to this thread gets it. */
      rootMessageId: string;
    }
  | { kind: 'groupChat'; id: string; tenantId: string; name?: string }
  | { kind: 'personal'; id: string; tenantId: string };

export type ChannelConversation = Extract<TeamsConversation, { kind: 'channel' }>;

let threadCounter = 0;

/** A new thread in a channel, as when someone starts a post; pass a root id to join an existing one. */
export function channelThread(
  channel: TeamsChannel = TEAM.incidents,
  rootMessageId?: string,
  team: TeamsTeam = TEAM,
): ChannelConversation {
  // Epoch-millisecond ids like Teams', offset so up to a thousand threads made in the same millisecond differ.
  threadCounter += 1;
  const root = rootMessageId ?? String(Date.now() * 1000 + (threadCounter % 1000));
  return {
    kind: 'channel',
    id: `${channel.id};messageid=${root}`,
    tenantId: team.tenantId,
    team,
    channel,
    rootMessageId: root,
  };
}

export const GROUP_CHAT: TeamsConversation = {
  kind: 'groupChat',
  id: '19:incident-bridge-chat@thread.v2',
  tenantId: TENANT_ID,
  name: 'Incident bridge',
};

/** The 1:1 chat between the bot and `member`. */
export function personalChat(member: TeamsUser): TeamsConversation {
  return { kind: 'personal', id: `a:1personal-${member.id.slice(4)}`, tenantId: member.tenantId };
}

/**
 * Registers the world in the fake connector's roster: the team (General and Incidents share its roster) with
 * requester, both approvers and the outsider; the group chat with requester and approvers; a 1:1 chat for
 * each person. The foreigner is only in their own 1:1 chat.
 */
export function registerFixtures(connector: FakeTeamsConnector): void {
  connector.addTeam({
    id: TEAM.id,
    name: TEAM.name,
    aadGroupId: TEAM.aadGroupId,
    channels: [{ id: TEAM.incidents.id, name: TEAM.incidents.name }],
  });
  for (const member of [USERS.requester, USERS.approver, USERS.secondApprover, USERS.outsider]) {
    connector.addMember(TEAM.id, member);
  }
  for (const member of [USERS.requester, USERS.approver, USERS.secondApprover]) {
    connector.addMember(GROUP_CHAT.id, member);
  }
  for (const member of Object.values(USERS)) {
    connector.addMember(personalChat(member).id, member);
  }
}
