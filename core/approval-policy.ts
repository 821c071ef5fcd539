// Who may approve, reject and cancel: checked on every click against the stored request, never against the card.
import { approverIdsOf, type OnCallTier, sourcesOf } from './on-call.js';
import type { LiveResponseRequest, Person } from './request.js';

export interface ApprovalPolicy {
  /**
   * Lower-cased Entra object ids and/or UPNs listed as people in APPROVERS. Group, tag and Shifts entries are resolved
   * per request (see on-call.ts): a decision is checked against who is on call at the click (`checkDecision`'s
   * `onCallNow`), views and cancels against the request's snapshot (`policyForRequest`).
   */
  approvers: readonly string[];
  allowSelfApproval: boolean;
  /** Lower-cased tenant ids; empty = any tenant the adapter accepted. */
  allowedTenantIds: readonly string[];
}

export type PolicyResult = { ok: true } | { ok: false; reason: string };

export function isApprover(person: Person, policy: ApprovalPolicy): boolean {
  const ids = [person.aadObjectId, person.upn]
    .filter((v): v is string => Boolean(v))
    .map((v) => v.toLowerCase());
  return ids.some((id) => policy.approvers.includes(id));
}

export function isTenantAllowed(tenantId: string | undefined, policy: ApprovalPolicy): boolean {
  if (policy.allowedTenantIds.length === 0) return true;
  return Boolean(tenantId && policy.allowedTenantIds.includes(tenantId.toLowerCase()));
}

export function samePerson(a: Person, b: Person): boolean {
  if (a.aadObjectId && b.aadObjectId) return a.aadObjectId.toLowerCase() === b.aadObjectId.toLowerCase();
  return Boolean(a.teamsId) && a.teamsId === b.teamsId;
}

/** Whether a request was made in this conversation (channel threads count as their channel) and tenant. */
export function sameConversation(
  request: LiveResponseRequest,
  tenantId: string | undefined,
  conversationId: string,
): boolean {
  // A card action must come from the conversation (and tenant) the request was made in.
  const base = (id: string) => id.split(';')[0];
  return request.tenantId === (tenantId ?? '') && base(request.conversationId) === base(conversationId);
}

export interface Actor {
  person: Person;
  tenantId: string | undefined;
  conversationId: string;
}

/** The policy with the approvers of a request's on-call snapshot too (who was on call when it was asked or escalated). */
export function policyForRequest(policy: ApprovalPolicy, request: LiveResponseRequest): ApprovalPolicy {
  if (!request.onCall) return policy;
  return { ...policy, approvers: [...new Set([...policy.approvers, ...approverIdsOf(request.onCall)])] };
}

function idsOf(person: Person): string[] {
  return [person.aadObjectId, person.upn].filter((v): v is string => Boolean(v)).map((v) => v.toLowerCase());
}

/**
 * May this person approve or reject this request? `onCallNow` is who is on call at the click, in the tiers the
 * request has reached (resolved again for every decision); without it the policy's people decide.
 */
export function checkDecision(
  request: LiveResponseRequest,
  actor: Actor,
  policy: ApprovalPolicy,
  onCallNow?: readonly OnCallTier[],
): PolicyResult {
  const common = checkCommon(request, actor, policy);
  if (!common.ok) return common;
  const deciding = onCallNow ? { ...policy, approvers: approverIdsOf(onCallNow) } : policy;
  if (!isApprover(actor.person, deciding)) {
    const was = request.onCall ? sourcesOf(request.onCall, idsOf(actor.person)) : [];
    if (onCallNow && was.length > 0)
      return {
        ok: false,
        reason: `You are no longer on call (${was.join(', ')}): you were when ${request.id} was asked, but your shift or membership has ended, so you can no longer decide on it${onCallNames(onCallNow)}.`,
      };
    return {
      ok: false,
      reason: `Only the on-call approvers can decide on ${request.id}${(onCallNow && onCallNames(onCallNow)) || approverNames(request)}.`,
    };
  }
  if (!policy.allowSelfApproval && samePerson(actor.person, request.requester))
    return { ok: false, reason: `You asked for ${request.id}, so another approver has to decide on it.` };
  return { ok: true };
}

/** May this person cancel this request? The requester and the approvers may. */
export function checkCancel(
  request: LiveResponseRequest,
  actor: Actor,
  policy: ApprovalPolicy,
): PolicyResult {
  const common = checkCommon(request, actor, policy);
  if (!common.ok) return common;
  // Who was on call for this request (its snapshot) may stop it too, like the listed approvers.
  if (
    samePerson(actor.person, request.requester) ||
    isApprover(actor.person, policyForRequest(policy, request))
  )
    return { ok: true };
  return { ok: false, reason: `Only ${request.requester.name} or an approver can cancel ${request.id}.` };
}

/** May this person ask for fresh download links? Anyone in the request's conversation. */
export function checkView(request: LiveResponseRequest, actor: Actor, policy: ApprovalPolicy): PolicyResult {
  return checkCommon(request, actor, policy);
}

function checkCommon(request: LiveResponseRequest, actor: Actor, policy: ApprovalPolicy): PolicyResult {
  if (!isTenantAllowed(actor.tenantId, policy))
    return { ok: false, reason: 'Your organisation may not use this bot.' };
  if (!sameConversation(request, actor.tenantId, actor.conversationId))
    return { ok: false, reason: `${request.id} belongs to another conversation.` };
  if (!actor.person.aadObjectId)
    return {
      ok: false,
      reason: 'Teams did not say who you are (no Entra object id); try again from the Teams client.',
    };
  return { ok: true };
}

function onCallNames(tiers: readonly OnCallTier[]): string {
  const names = [...new Set(tiers.flatMap((t) => t.sources.flatMap((s) => s.people.map((p) => p.name))))];
  return names.length > 0 ? ` (on call now: ${names.join(', ')})` : '';
}

function approverNames(request: LiveResponseRequest): string {
  const names = request.approvers.map((a) => a.name).filter(Boolean);
  return names.length > 0 ? ` (${names.join(', ')})` : '';
}
