// Cancel from the card or by `cancel <id>`: the requester or an approver; immediate before submission,
// otherwise a job asks Defender to cancel and the card follows the action to its end.
import { checkCancel, sameConversation } from '../core/approval-policy.js';
import type { LiveResponseRequest } from '../core/request.js';
import { actorOf } from '../core/request-store.js';
import { applyAndDispatch } from '../jobs/dispatch-effects.js';
import type { ChatTurn } from './chat-turn.js';
import type { FlowDeps } from './handle-message.js';

export type Outcome =
  | { ok: true; request: LiveResponseRequest; message: string }
  | { ok: false; message: string };

export async function cancelRequest(
  turn: ChatTurn,
  requestId: string,
  deps: Pick<FlowDeps, 'requests' | 'scheduler' | 'policy' | 'clock'> &
    Partial<Pick<FlowDeps, 'beforeEffects'>>,
): Promise<Outcome> {
  const request = await deps.requests.get(requestId);
  if (!request || !sameConversation(request, turn.tenantId, turn.conversationId))
    return {
      ok: false,
      message: `There is no request ${requestId} here. Type \`status\` to list the recent requests here.`,
    };
  const actor = { person: turn.from, tenantId: turn.tenantId, conversationId: turn.conversationId };
  const allowed = checkCancel(request, actor, deps.policy);
  if (!allowed.ok) {
    await deps.requests.audit(request.id, {
      action: 'refused',
      actor: actorOf(turn.from),
      detail: `cancel: ${allowed.reason}`,
    });
    return { ok: false, message: allowed.reason };
  }
  // Its effects (the card, asking Defender to cancel a running action) follow from the lifecycle.
  const result = await applyAndDispatch(
    deps,
    request.id,
    { type: 'cancel', by: turn.from, at: deps.clock.nowIso() },
    { action: 'cancel', actor: actorOf(turn.from) },
  );
  if (!result.ok) return { ok: false, message: result.message };
  const next = result.request;
  const message =
    next.state === 'Cancelled'
      ? `${next.id} is cancelled. Nothing was sent to the device${next.fanOut ? 's' : ''}.`
      : next.fanOut
        ? `Cancelling ${next.id} on every device: each device's request is stopped (\`status ${next.id}\` lists them). The card shows when they have.`
        : `Cancelling ${next.id}: asking Defender to stop it on \`${next.device.computerDnsName}\`. The card shows when it has stopped.`;
  return { ok: true, request: next, message };
}
