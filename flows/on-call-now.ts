// Who is on call for a request: resolved (through the on-call directory) when it is asked, named on the card with its
// source, and resolved again for every decision so that someone whose shift or membership ended can no longer decide.
import {
  anyoneOnCall,
  approverIdsOf,
  directoryPeopleOf,
  explainNobodyOnCall,
  type OnCallTier,
} from '../core/on-call.js';
import type { LiveResponseRequest, Person } from '../core/request.js';
import { GraphApiError } from '../graph/graph-client.js';
import type { OnCallDirectory } from '../graph/on-call-directory.js';
import type { ChatTurn } from './chat-turn.js';

export type OnCallAnswer = { ok: true; tiers: OnCallTier[]; ids: string[] } | { ok: false; message: string };

/** Why Graph could not say who is on call, in words; nothing was requested or decided. */
export function explainGraphFailure(error: unknown, what: string): string {
  if (error instanceof GraphApiError) {
    if (error.kind === 'throttled')
      return `Microsoft Graph is throttling the bot, so it cannot check who is on call right now${error.retryAfterMs ? ` (it asked to wait ${Math.ceil(error.retryAfterMs / 1000)} s)` : ''}. ${what} Try again in a minute.`;
    if (error.code === 'TokenAcquisitionFailed')
      return `The bot could not sign in to Microsoft Graph to check who is on call. ${what} An admin should check the GRAPH_* settings (or the bot registration's secret).`;
    if (error.kind === 'forbidden' || error.kind === 'unauthorized')
      return `The bot may not read who is on call in Microsoft Graph (${error.code}). ${what} An admin should check the Graph application permissions the README lists for the APPROVERS sources, with admin consent.`;
    return `Microsoft Graph did not say who is on call (${error.code}). ${what} Try again in a minute.`;
  }
  throw error;
}

/** Tier 1 for a new request in this turn. Static APPROVERS (people only) need no directory and no Graph. */
export async function onCallForRequest(
  turn: ChatTurn,
  directory: OnCallDirectory | undefined,
  staticIds: readonly string[],
): Promise<OnCallAnswer> {
  if (!directory?.usesDirectory(1)) return { ok: true, tiers: [], ids: [...staticIds] };
  try {
    const teamId = turn.conversationKind === 'channel' ? await turn.teamGroupId?.() : undefined;
    const tier = await directory.resolve(1, {
      ...(teamId ? { teamId } : {}),
      ...(turn.from.aadObjectId ? { actingUserId: turn.from.aadObjectId } : {}),
    });
    if (!anyoneOnCall([tier]))
      return { ok: false, message: `Nothing was requested. ${explainNobodyOnCall(tier)}` };
    return { ok: true, tiers: [tier], ids: approverIdsOf([tier]) };
  } catch (error) {
    return { ok: false, message: explainGraphFailure(error, 'Nothing was requested.') };
  }
}

/**
 * Who may decide on this request now: its tiers reached (tier 2 once escalated), resolved afresh in the team they were
 * first read in. Undefined when the request has no directory sources (the policy's people decide, as before).
 */
export async function onCallForDecision(
  request: LiveResponseRequest,
  directory: OnCallDirectory | undefined,
  /** Finds names Graph did not give (Shifts carry user ids only) in the conversation's roster. */
  lookupMember?: (id: string) => Promise<Person | null>,
  /** False for what a list only shows (the tab's "waiting for my approval"): ON_CALL_CACHE's answer will do there. */
  fresh = true,
): Promise<{ ok: true; tiers?: OnCallTier[] } | { ok: false; reason: string }> {
  if (!request.onCall || request.onCall.length === 0) return { ok: true };
  if (!directory)
    return {
      ok: false,
      reason: `Decide on ${request.id} from its card in Teams, where who is on call is checked.`,
    };
  const teamId = request.onCall.find((tier) => tier.teamId)?.teamId;
  const context = {
    ...(teamId ? { teamId } : {}),
    ...(request.requester.aadObjectId ? { actingUserId: request.requester.aadObjectId } : {}),
  };
  // Tier 1 always; the next tier once the request was escalated to it.
  const reached = request.escalatedAt ? [1, 2] : [1];
  try {
    const tiers = await Promise.all(reached.map((tier) => directory.resolve(tier, context, { fresh })));
    const nameless = directoryPeopleOf(tiers).filter((p) => !p.name);
    const known = [...request.approvers];
    if (lookupMember && nameless.length > 0)
      for (const person of await Promise.all(
        nameless.map((p) => lookupMember(p.aadObjectId).catch(() => null)),
      ))
        if (person) known.push(person);
    return { ok: true, tiers: tiers.map((tier) => namedTier(tier, known)) };
  } catch (error) {
    return { ok: false, reason: explainGraphFailure(error, 'Nothing was decided.') };
  }
}

/** The tier with names filled in from the Teams roster (Shifts give user ids only). */
export function namedTier(tier: OnCallTier, people: readonly Person[]): OnCallTier {
  const byId = new Map(
    people.filter((p) => p.aadObjectId).map((p) => [p.aadObjectId!.toLowerCase(), p.name]),
  );
  return {
    ...tier,
    sources: tier.sources.map((source) => ({
      ...source,
      people: source.people.map((p) => ({
        ...p,
        name: p.name || byId.get(p.aadObjectId) || p.upn || p.aadObjectId,
      })),
    })),
  };
}

/**
 * At most this many on-call people are looked up in the Teams roster (to be @mentioned and get the card's per-user
 * view): Teams refreshes a card for at most 60 users, and a large group must not cost hundreds of roster calls in one
 * turn. Everyone on call may still decide: a click is checked against Graph, not against the mentions.
 */
export const MAX_ROSTER_LOOKUPS = 60;

/** The ids to look up in the conversation's roster: people entries first, then directory people by object id. */
export function lookupIdsOf(tiers: readonly OnCallTier[], staticIds: readonly string[]): string[] {
  if (tiers.length === 0) return [...staticIds];
  const people = tiers.flatMap((t) => t.people);
  const directory = directoryPeopleOf(tiers).map((p) => p.aadObjectId);
  return [...new Set([...people, ...directory])].slice(0, MAX_ROSTER_LOOKUPS);
}
