// Builds the flows' ChatTurn from a botbuilder TurnContext: identity, thread, replies and member look-ups.
import { CardFactory, type TeamsChannelAccount, TeamsInfo, TurnContext } from 'botbuilder';
import type { Redis } from 'ioredis';
import type { AdaptiveCard } from '../cards/adaptive-card.js';
import type { RedisKeys } from '../core/redis-keys.js';
import type { Person, StoredConversationReference } from '../core/request.js';
import type { ChatTurn, ConversationKind } from '../flows/chat-turn.js';

/** Member look-ups are cached: approver lists are checked on every request and roster calls are slow. */
const MEMBER_CACHE_SECONDS = 600;
/** A team's Entra group id never changes. */
const TEAM_CACHE_SECONDS = 24 * 3600;
/** Members read from the roster when looking someone up by UPN or object id fails. */
const ROSTER_LIMIT = 2_000;

interface TeamsChannelData {
  tenant?: { id?: string };
  team?: { id?: string; name?: string; aadGroupId?: string };
  channel?: { id?: string; name?: string };
}

export function personFrom(
  account: Pick<TeamsChannelAccount, 'id' | 'name' | 'aadObjectId'> & { userPrincipalName?: string },
): Person {
  return {
    teamsId: account.id,
    name: account.name || 'Unknown user',
    ...(account.aadObjectId ? { aadObjectId: account.aadObjectId } : {}),
    ...(account.userPrincipalName ? { upn: account.userPrincipalName.toLowerCase() } : {}),
  };
}

export function tenantOf(context: TurnContext): string {
  const channelData = (context.activity.channelData ?? {}) as TeamsChannelData;
  return channelData.tenant?.id ?? context.activity.conversation?.tenantId ?? '';
}

function kindOf(context: TurnContext): ConversationKind {
  const type = context.activity.conversation?.conversationType;
  return type === 'channel' ? 'channel' : type === 'groupChat' ? 'groupChat' : 'personal';
}

function placeOf(context: TurnContext): string {
  const channelData = (context.activity.channelData ?? {}) as TeamsChannelData;
  if (channelData.team?.name || channelData.channel?.name)
    return `Teams ${[channelData.team?.name, channelData.channel?.name].filter(Boolean).join(' / ')}`;
  return `Teams ${kindOf(context) === 'channel' ? 'channel' : kindOf(context) === 'groupChat' ? 'group chat' : 'chat'}`;
}

export function createChatTurn(
  context: TurnContext,
  deps: { redis: Redis; keys: RedisKeys; onSend?: (conversationId: string) => Promise<void> },
): ChatTurn {
  const activity = context.activity;
  const reference = TurnContext.getConversationReference(activity) as unknown as StoredConversationReference;
  const conversationId = activity.conversation.id;
  const directoryKey = deps.keys.approverDirectory(conversationId);

  /** The conversation's roster (first pages only: approvers are looked up, not enumerated). */
  async function findInRoster(idOrUpn: string): Promise<Person | null> {
    try {
      const members: TeamsChannelAccount[] = [];
      let continuationToken: string | undefined;
      do {
        const page = await TeamsInfo.getPagedMembers(context, 500, continuationToken);
        members.push(...page.members);
        continuationToken = page.continuationToken;
      } while (continuationToken && members.length < ROSTER_LIMIT);
      const match = members.find((m) =>
        [m.id, m.aadObjectId, m.userPrincipalName, m.email].some((v) => v?.toLowerCase() === idOrUpn),
      );
      return match ? personFrom(match) : null;
    } catch {
      return null;
    }
  }

  return {
    tenantId: tenantOf(context),
    conversationId,
    conversationKind: kindOf(context),
    conversationRef: reference,
    placeLabel: placeOf(context),
    from: personFrom(activity.from),
    async reply(markdown) {
      await deps.onSend?.(conversationId);
      await context.sendActivity({ type: 'message', text: markdown, textFormat: 'markdown' });
    },
    async sendCard(card: AdaptiveCard) {
      await deps.onSend?.(conversationId);
      const response = await context.sendActivity({
        type: 'message',
        attachments: [CardFactory.adaptiveCard(card)],
      });
      if (!response?.id) throw new Error('Teams did not return an id for the card');
      return response.id;
    },
    async teamGroupId() {
      const team = ((activity.channelData ?? {}) as TeamsChannelData).team;
      if (!team?.id) return undefined;
      if (team.aadGroupId) return team.aadGroupId;
      // Message activities may carry only the team's thread id; its Entra group id comes from the team's details.
      const key = deps.keys.cache(`team-group:${team.id}`);
      const cached = await deps.redis.get(key);
      if (cached) return cached;
      const details = await TeamsInfo.getTeamDetails(context, team.id);
      if (details.aadGroupId) await deps.redis.set(key, details.aadGroupId, 'EX', TEAM_CACHE_SECONDS);
      return details.aadGroupId ?? undefined;
    },
    async lookupMember(idOrUpn) {
      const field = idOrUpn.toLowerCase();
      const cached = await deps.redis.hget(directoryKey, field);
      if (cached) return cached === 'null' ? null : (JSON.parse(cached) as Person);
      let person: Person | null = null;
      try {
        person = personFrom(await TeamsInfo.getMember(context, idOrUpn));
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode;
        // Some clients (the Agents Playground, older tenants) only look members up by their 29: id:
        // fall back to the roster before concluding this person is not here.
        person = await findInRoster(field);
        if (!person && status !== 404) throw error;
      }
      await deps.redis
        .multi()
        .hset(directoryKey, field, JSON.stringify(person))
        .expire(directoryKey, MEMBER_CACHE_SECONDS)
        .exec();
      return person;
    },
  };
}
