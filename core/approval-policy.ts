// Who may approve, reject and cancel: checked on every click against the stored request, never against the card.
import type { LiveResponseRequest, Person } from './request.js';

export interface ApprovalPolicy {
  /** Lower-cased Entra object ids and/or UPNs. */
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

/** May this person approve or reject this request? */
export function checkDecision(
  request: LiveResponseRequest,
  actor: Actor,
  policy: ApprovalPolicy,
): PolicyResult {
  const common = checkCommon(request, actor, policy);
  if (!common.ok) return common;
  if (!isApprover(actor.person, policy))
    return {
      ok: false,
      reason: `Only the on-call approvers can decide on ${request.id}${approverNames(request)}.`,
    };
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
  if (samePerson(actor.person, request.requester) || isApprover(actor.person, policy)) return { ok: true };
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

function approverNames(request: LiveResponseRequest): string {
  const names = request.approvers.map((a) => a.name).filter(Boolean);
  return names.length > 0 ? ` (${names.join(', ')})` : '';
}
