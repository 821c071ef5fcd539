// Who may see a request in the tab: its requester, an on-call approver, or a member of the conversation it was made
// in (Bot Framework roster, cached briefly in Redis). Everyone else gets the same answer as for an unknown id.
import type { Redis } from 'ioredis';
import { type ApprovalPolicy, isApprover, samePerson } from '../core/approval-policy.js';
import type { RedisKeys } from '../core/redis-keys.js';
import type { LiveResponseRequest, Person, StoredConversationReference } from '../core/request.js';
import type { SignedInPerson } from './sso-verifier.js';

/** Bot Framework's roster, as the tab needs it. Implemented in bot/. */
export interface RosterPort {
  /** The conversation's member with this Entra object id, or null when they are not a member. */
  findMember(reference: StoredConversationReference, aadObjectId: string): Promise<Person | null>;
}

/** A member stays a member for the tab this long; someone removed from the team loses access within it. */
const MEMBER_CACHE_SECONDS = 300;
/** "Not a member" is kept shorter: someone just added should not wait long. */
const NON_MEMBER_CACHE_SECONDS = 60;

export type Relation = 'requester' | 'approver' | 'member';

export interface TabAccess {
  /** How the signed-in person relates to the request, or null when they may not see it. */
  relationTo(request: LiveResponseRequest, who: SignedInPerson): Promise<Relation | null>;
  /** The person with their Teams `29:` id when the roster knows them in the request's conversation. */
  member(request: LiveResponseRequest, who: SignedInPerson): Promise<Person | null>;
}

export function baseConversationId(conversationId: string): string {
  return conversationId.split(';')[0] ?? conversationId;
}

export function createTabAccess(deps: {
  redis: Redis;
  keys: RedisKeys;
  roster: RosterPort;
  policy: ApprovalPolicy;
}): TabAccess {
  const { redis, keys, roster, policy } = deps;

  async function member(request: LiveResponseRequest, who: SignedInPerson): Promise<Person | null> {
    const oid = who.person.aadObjectId ?? '';
    if (!oid) return null;
    const key = keys.cache(`tab-member:${baseConversationId(request.conversationId)}:${oid}`);
    const cached = await redis.get(key);
    if (cached !== null) return cached === 'null' ? null : (JSON.parse(cached) as Person);
    const found = await roster.findMember(request.conversationRef, oid);
    await redis.set(
      key,
      JSON.stringify(found),
      'EX',
      found ? MEMBER_CACHE_SECONDS : NON_MEMBER_CACHE_SECONDS,
    );
    return found;
  }

  return {
    member,
    async relationTo(request, who) {
      // A token of another tenant never sees this tenant's requests, whatever the roster says.
      if (request.tenantId.toLowerCase() !== who.tenantId) return null;
      if (samePerson(who.person, request.requester)) return 'requester';
      if (isApprover(who.person, policy)) return 'approver';
      return (await member(request, who)) ? 'member' : null;
    },
  };
}
