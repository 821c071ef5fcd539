// `audit LR-XXXXXX`: a request's audit trail in chat, for its requester and the approvers only; anyone else is refused
// (and the refusal is itself audited), and a request of another tenant does not exist for them.
import { isApprover, samePerson } from '../core/approval-policy.js';
import { type AuditEntry, actorOf } from '../core/request-store.js';
import type { ChatTurn } from './chat-turn.js';
import type { FlowDeps } from './handle-message.js';

/** A trail longer than this shows its first and latest entries: a chat reply must stay readable. */
const MAX_LINES = 40;

function line(entry: AuditEntry): string {
  const who = entry.actor?.name ? ` by ${entry.actor.name}` : '';
  const detail = entry.detail ? ` — ${entry.detail}` : '';
  return `- ${entry.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} **${entry.action}**${who}${detail}`;
}

export async function auditText(
  turn: ChatTurn,
  requestId: string,
  deps: Pick<FlowDeps, 'requests' | 'policy'>,
): Promise<string> {
  const request = await deps.requests.get(requestId);
  if (!request || request.tenantId !== turn.tenantId)
    return `There is no request ${requestId}. Request ids look like \`LR-7K3F9Q\`; \`status\` lists the recent ones here.`;
  if (!samePerson(request.requester, turn.from) && !isApprover(turn.from, deps.policy)) {
    await deps.requests.audit(request.id, {
      action: 'refused',
      actor: actorOf(turn.from),
      detail: 'audit: not the requester or an approver',
    });
    return `Only ${request.requester.name} (who asked) and the on-call approvers can see the audit trail of ${request.id}.`;
  }
  const entries = await deps.requests.auditTrail(request.id);
  if (entries.length === 0)
    return `${request.id} has no audit entries left in Redis (they are kept for the time set by AUDIT_RETENTION).`;
  const shown =
    entries.length <= MAX_LINES
      ? entries.map(line)
      : [
          ...entries.slice(0, MAX_LINES / 2).map(line),
          `- … ${entries.length - MAX_LINES} more …`,
          ...entries.slice(-MAX_LINES / 2).map(line),
        ];
  return [
    `**Audit trail of ${request.id}** (${request.device.computerDnsName}, now ${request.state}):`,
    ...shown,
  ].join('\n');
}
