// Who may see a request in the tab: its requester, anyone on call for it (its snapshot, or now through the on-call
// directory), or a member of the conversation it was made in (Bot Framework roster, cached briefly in Redis). Everyone
// else gets the same answer as for an unknown id. Who may decide is the card's rule (onCallForDecision + checkDecision).
import type { Redis } from 'ioredis';
import {
  type ApprovalPolicy,
  checkDecision,
  isApprover,
  policyForRequest,
  samePerson,
} from '../core/approval-policy.js';
import { approverIdsOf } from '../core/on-call.js';
import type { RedisKeys } from '../core/redis-keys.js';
import type { LiveResponseRequest, Person, StoredConversationReference } from '../core/request.js';
import { onCallForDecision } from '../flows/on-call-now.js';
import type { OnCallDirectory } from '../graph/on-call-directory.js';
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
  /** Anyone (by Entra object id) in the request's conversation roster: names Graph did not give (Shifts). */
  findMember(request: LiveResponseRequest, aadObjectId: string): Promise<Person | null>;
  /**
   * Whether the card would let this person decide now, for lists and the detail's buttons: the same rule as a click,
   * with who is on call as ON_CALL_CACHE last saw it (the decision itself asks Graph afresh).
   */
  mayDecide(request: LiveResponseRequest, person: Person): Promise<boolean>;
  /** Whether anyone could be an approver through the directory (else only APPROVERS' people can). */
  readonly usesDirectory: boolean;
}

export function baseConversationId(conversationId: string): string {
  return conversationId.split(';')[0] ?? conversationId;
}

export function createTabAccess(deps: {
  redis: Redis;
  keys: RedisKeys;
  roster: RosterPort;
  policy: ApprovalPolicy;
  /** Resolves group:, tag: and shifts: approvers; absent when APPROVERS lists people only. */
  onCall?: OnCallDirectory;
}): TabAccess {
  const { redis, keys, roster, policy, onCall } = deps;
  const usesDirectory = Boolean(
    onCall && Array.from({ length: onCall.tierCount }, (_, i) => onCall.usesDirectory(i + 1)).some(Boolean),
  );

  async function findMember(request: LiveResponseRequest, aadObjectId: string): Promise<Person | null> {
    const oid = aadObjectId.toLowerCase();
    if (!oid) return null;
    const key = keys.cache(`tab-member:${baseConversationId(request.conversationId)}:${oid}`);
    const cached = await redis.get(key);
    if (cached !== null) return cached === 'null' ? null : (JSON.parse(cached) as Person);
    const found = await roster.findMember(request.conversationRef, aadObjectId);
    await redis.set(
      key,
      JSON.stringify(found),
      'EX',
      found ? MEMBER_CACHE_SECONDS : NON_MEMBER_CACHE_SECONDS,
    );
    return found;
  }

  /** On call for the request now (tiers it reached), as ON_CALL_CACHE last saw it; false when Graph cannot say. */
  async function onCallNow(request: LiveResponseRequest, person: Person): Promise<boolean> {
    if (!request.onCall?.length || !onCall) return false;
    const now = await onCallForDecision(request, onCall, undefined, false).catch(() => null);
    return Boolean(
      now?.ok && now.tiers && isApprover(person, { ...policy, approvers: approverIdsOf(now.tiers) }),
    );
  }

  return {
    member: (request, who) => findMember(request, who.person.aadObjectId ?? ''),
    findMember,
    usesDirectory,
    async mayDecide(request, person) {
      if (request.state !== 'AwaitingApproval') return false;
      const now = await onCallForDecision(request, onCall, undefined, false).catch(() => null);
      if (!now?.ok) return false;
      const actor = { person, tenantId: request.tenantId, conversationId: request.conversationId };
      return checkDecision(request, actor, policy, now.tiers).ok;
    },
    async relationTo(request, who) {
      // A token of another tenant never sees this tenant's requests, whatever the roster says.
      if (request.tenantId.toLowerCase() !== who.tenantId) return null;
      if (samePerson(who.person, request.requester)) return 'requester';
      // APPROVERS' people and whoever was on call when it was asked or escalated (the request's snapshot).
      if (isApprover(who.person, policyForRequest(policy, request))) return 'approver';
      if (await findMember(request, who.person.aadObjectId ?? '')) return 'member';
      return (await onCallNow(request, who.person)) ? 'approver' : null;
    },
  };
}
