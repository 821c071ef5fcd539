// A click on a card (or Teams asking for a user's view): checked against Redis and the policy, answered at once.
// No Defender call happens here: approval enqueues the submission, fresh links enqueue a job.
import {
  CARD_VERBS,
  type CardVerb,
  REJECT_REASON_INPUT_ID,
  REJECT_REASON_MAX_LENGTH,
} from '../cards/card-verbs.js';
import { renderCardOf } from '../cards/fan-out-card.js';
import { type AdaptiveCard, type CardViewer, renderRequestCard } from '../cards/request-card.js';
import {
  checkDecision,
  checkView,
  isApprover,
  policyForRequest,
  samePerson,
} from '../core/approval-policy.js';
import { loadChildren } from '../core/fan-out.js';
import { approverIdsOf, type OnCallTier, sourcesOf } from '../core/on-call.js';
import { isFinal, type LiveResponseRequest, type Person } from '../core/request.js';
import { normaliseRequestId } from '../core/request-id.js';
import { actorOf } from '../core/request-store.js';
import { applyAndDispatch } from '../jobs/dispatch-effects.js';
import { queueCardOptions } from '../jobs/queue-place.js';
import { cancelRequest } from './cancel-request.js';
import type { ChatTurn } from './chat-turn.js';
import { askFollowUp, followUpPorts, preApproveFollowUps } from './follow-up.js';
import type { FlowDeps } from './handle-message.js';
import { onCallForDecision } from './on-call-now.js';

/** `refusal` on a card reply is the reason in words, for clients that can only post a message (Action.Submit). */
export type ActionReply =
  | { kind: 'card'; card: AdaptiveCard; refusal?: string }
  | { kind: 'message'; text: string };

type ActionDeps = Pick<FlowDeps, 'requests' | 'scheduler' | 'policy' | 'clock' | 'logger' | 'publicBaseUrl'> &
  Partial<Pick<FlowDeps, 'onCall'>> &
  Partial<Pick<FlowDeps, 'beforeEffects'>> &
  Partial<Pick<FlowDeps, 'tabDeepLink'>> &
  Partial<Pick<FlowDeps, 'queuePlace'>> &
  Partial<Pick<FlowDeps, 'followUpPreApprovalMs'>>;

/** Fills in the clicker's UPN when the policy names approvers by UPN and the object id alone did not match. */
async function identify(turn: ChatTurn, deps: ActionDeps): Promise<Person> {
  const person = turn.from;
  if (isApprover(person, deps.policy) || person.upn || !deps.policy.approvers.some((a) => a.includes('@')))
    return person;
  const member = await turn.lookupMember(person.teamsId).catch(() => null);
  return member?.upn ? { ...person, upn: member.upn } : person;
}

function viewerOf(
  request: LiveResponseRequest,
  person: Person,
  deps: ActionDeps,
  onCallNow?: readonly OnCallTier[],
): CardViewer {
  // Views follow the request's on-call snapshot, or who is on call now when a decision just asked.
  const policy = onCallNow
    ? { ...deps.policy, approvers: approverIdsOf(onCallNow) }
    : policyForRequest(deps.policy, request);
  const approver = isApprover(person, policy);
  const requester = samePerson(person, request.requester);
  if (approver && (!requester || deps.policy.allowSelfApproval)) return 'approver';
  if (requester) return 'requester';
  return 'other';
}

async function view(
  request: LiveResponseRequest,
  viewer: CardViewer,
  deps: ActionDeps,
  refusal?: string,
): Promise<AdaptiveCard> {
  // A fan-out's card, or the card of the fan-out a device's request belongs to (its Cancel is on that card).
  if (request.fanOut || request.parentId)
    return renderCardOf(
      request,
      deps.requests,
      {
        viewer,
        now: new Date(deps.clock.now()),
        publicBaseUrl: deps.publicBaseUrl,
        ...(deps.tabDeepLink ? { tabDeepLink: deps.tabDeepLink } : {}),
        ...(refusal ? { refusal } : {}),
      },
      (id) => queueCardOptions(id, deps.requests, deps.queuePlace),
    );
  const queue = await queueCardOptions(request.id, deps.requests, deps.queuePlace);
  return renderRequestCard(request, {
    viewer,
    now: new Date(deps.clock.now()),
    publicBaseUrl: deps.publicBaseUrl,
    ...(deps.tabDeepLink ? { tabDeepLink: deps.tabDeepLink } : {}),
    ...queue,
    ...(refusal ? { refusal } : {}),
    ...(deps.followUpPreApprovalMs !== undefined
      ? { followUpPreApprovalMs: deps.followUpPreApprovalMs }
      : {}),
  });
}

function cleanReason(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value
    .replace(/\p{Cc}+/gu, ' ')
    .trim()
    .slice(0, REJECT_REASON_MAX_LENGTH);
  return text || undefined;
}

export async function handleCardAction(
  turn: ChatTurn,
  verb: CardVerb,
  data: Record<string, unknown>,
  deps: ActionDeps,
): Promise<ActionReply> {
  const requestId = typeof data.requestId === 'string' ? normaliseRequestId(data.requestId) : undefined;
  const request = requestId ? await deps.requests.get(requestId) : null;
  if (!request) {
    deps.logger.warn(
      { verb, requestId: String(data.requestId).slice(0, 40), from: turn.from.aadObjectId },
      'card action for an unknown request',
    );
    return { kind: 'message', text: 'This card refers to a request I do not know. Nothing was done.' };
  }
  const person = await identify(turn, deps);
  const actor = { person, tenantId: turn.tenantId, conversationId: turn.conversationId };
  const audited = (reason: string) =>
    deps.requests.audit(request.id, {
      action: 'refused',
      actor: actorOf(person),
      detail: `${verb}: ${reason}`,
    });
  const seen = checkView(request, actor, deps.policy);
  // Someone who may not see the request gets words only, never its card.
  if (!seen.ok) {
    await audited(seen.reason);
    return { kind: 'message', text: seen.reason };
  }
  // Everyone in the conversation sees the posted card's buttons (Teams ignores isEnabled; some clients never ask for
  // a user's own view), so a click the policy refuses answers with the clicker's own view of the card saying why.
  const refusalCard = async (reason: string, onCallNow?: readonly OnCallTier[]): Promise<ActionReply> => {
    const current = (await deps.requests.get(request.id)) ?? request;
    return {
      kind: 'card',
      card: await view(current, viewerOf(current, person, deps, onCallNow), deps, reason),
      refusal: reason,
    };
  };
  const refuse = async (reason: string, onCallNow?: readonly OnCallTier[]): Promise<ActionReply> => {
    await audited(reason);
    return refusalCard(reason, onCallNow);
  };

  switch (verb) {
    case CARD_VERBS.refresh:
      return { kind: 'card', card: await view(request, viewerOf(request, person, deps), deps) };

    case CARD_VERBS.approve:
    case CARD_VERBS.reject: {
      // Who is on call is asked again at the click: someone whose shift ended since the card was posted may not decide.
      const onCallNow = await onCallForDecision(request, deps.onCall, (id) => turn.lookupMember(id));
      if (!onCallNow.ok) return refuse(onCallNow.reason);
      const allowed = checkDecision(request, actor, deps.policy, onCallNow.tiers);
      if (!allowed.ok) return refuse(allowed.reason, onCallNow.tiers);
      const ids = [person.aadObjectId, person.upn].filter((v): v is string => Boolean(v));
      const onCallDetail = onCallNow.tiers
        ? `on call now via ${sourcesOf(onCallNow.tiers, ids).join(', ')}`
        : undefined;
      const approve = verb === CARD_VERBS.approve;
      const reason = approve ? undefined : cleanReason(data[REJECT_REASON_INPUT_ID]);
      const at = deps.clock.nowIso();
      // Past the deadline a click can only expire the request (the expiry job may be late or down): record that,
      // not a decision. If the state moved on meanwhile, the decision below is refused with the reason.
      if (request.state === 'AwaitingApproval' && Date.parse(at) >= Date.parse(request.expiresAt)) {
        const expired = await applyAndDispatch(
          deps,
          request.id,
          { type: 'expire', at },
          { action: 'expired', actor: actorOf(person), detail: `${verb} after the deadline` },
        );
        if (expired.ok && expired.changed) {
          const notice = `${request.id} expired before a decision. Nothing was sent to the device.`;
          return {
            kind: 'card',
            card: await view({ ...expired.request, notice }, viewerOf(expired.request, person, deps), deps),
          };
        }
      }
      // The lifecycle decides what follows (the submission, the card update); see core/request-effects.ts.
      const result = await applyAndDispatch(
        deps,
        request.id,
        approve
          ? { type: 'approve', by: person, at }
          : { type: 'reject', by: person, at, ...(reason ? { reason } : {}) },
        {
          action: approve ? 'approved' : 'rejected',
          actor: actorOf(person),
          ...(reason || onCallDetail ? { detail: [reason, onCallDetail].filter(Boolean).join(' — ') } : {}),
        },
      );
      if (!result.ok) return refuse(result.message);
      const next = result.request;
      return { kind: 'card', card: await view(next, viewerOf(next, person, deps), deps) };
    }

    case CARD_VERBS.cancel: {
      const outcome = await cancelRequest({ ...turn, from: person }, request.id, deps);
      // cancelRequest audited the refusal; answer with the clicker's own view saying why.
      if (!outcome.ok) return refusalCard(outcome.message);
      return {
        kind: 'card',
        card: await view(outcome.request, viewerOf(outcome.request, person, deps), deps),
      };
    }

    case CARD_VERBS.followUp: {
      // Anyone in the conversation may ask (it is only a request); the path must be one the card offers.
      // A Teams turn passes every FlowDeps port; the tab's API passes fewer, and followUpPorts says so.
      const ports = followUpPorts(deps as Partial<FlowDeps>);
      if (!ports) return refuse(`Ask for follow-ups of ${request.id} from its card in Teams.`);
      const outcome = await askFollowUp(turn, request, person, data.path, ports);
      if (!outcome.ok) return refuse(outcome.reason);
      return { kind: 'card', card: await view(outcome.parent, viewerOf(outcome.parent, person, deps), deps) };
    }

    case CARD_VERBS.preApproveFollowUps: {
      const ports = followUpPorts(deps as Partial<FlowDeps>);
      if (!ports) return refuse(`Pre-approve follow-ups of ${request.id} from its card in Teams.`);
      const outcome = await preApproveFollowUps(turn, request, actor, ports);
      if (!outcome.ok) return refuse(outcome.reason);
      return { kind: 'card', card: await view(outcome.parent, viewerOf(outcome.parent, person, deps), deps) };
    }

    case CARD_VERBS.freshLinks: {
      // A fan-out's card asks for every device's links at once: each device's request fetches its own.
      if (request.fanOut) {
        const children = await loadChildren(deps.requests, request);
        const withResults = [...children.values()].filter((child) => child.actionId);
        if (withResults.length === 0) return { kind: 'message', text: `${request.id} has no results yet.` };
        await deps.requests.audit(request.id, { action: 'fresh-links', actor: actorOf(person) });
        for (const child of withResults) {
          await applyAndDispatch(deps, child.id, {
            type: 'notice',
            text: `Fetching fresh download links (asked by ${person.name})…`,
          });
          await deps.scheduler.freshLinks(child.id, deps.clock.now());
        }
        return { kind: 'card', card: await view(request, viewerOf(request, person, deps), deps) };
      }
      if (!request.actionId) return { kind: 'message', text: `${request.id} has no results yet.` };
      const noticed = await applyAndDispatch(deps, request.id, {
        type: 'notice',
        text: `Fetching fresh download links (asked by ${person.name})…`,
      });
      await deps.requests.audit(request.id, { action: 'fresh-links', actor: actorOf(person) });
      // A click, not a change of state: the job is the click's own effect.
      await deps.scheduler.freshLinks(request.id, deps.clock.now());
      const next = noticed.ok ? noticed.request : request;
      return { kind: 'card', card: await view(next, viewerOf(next, person, deps), deps) };
    }
  }
  return {
    kind: 'message',
    text: isFinal(request.state) ? `${request.id} has finished.` : 'Unknown action.',
  };
}
