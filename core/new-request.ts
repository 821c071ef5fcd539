// Builds the initial record of a request that passed pre-flight, before its approval card is posted.
import { buildCorrelationTag } from '../defender/action-correlation.js';
import type { LiveResponseCommand } from './commands.js';
import type { DeviceFacts, LiveResponseRequest, Person, StoredConversationReference } from './request.js';

export interface NewRequestInput {
  id: string;
  tenantId: string;
  conversationId: string;
  conversationRef: StoredConversationReference;
  requester: Person;
  device: DeviceFacts;
  commands: LiveResponseCommand[];
  reason?: string;
  approvers: Person[];
  now: number;
  approvalTimeoutMs: number;
}

export function newRequest(input: NewRequestInput): LiveResponseRequest {
  return {
    id: input.id,
    version: 1,
    tenantId: input.tenantId,
    conversationId: input.conversationId,
    conversationRef: input.conversationRef,
    requester: input.requester,
    device: input.device,
    commands: input.commands,
    ...(input.reason ? { reason: input.reason } : {}),
    state: 'AwaitingApproval',
    createdAt: new Date(input.now).toISOString(),
    expiresAt: new Date(input.now + input.approvalTimeoutMs).toISOString(),
    approvers: input.approvers,
    progress: input.commands.map(() => ({ status: 'Created', errors: [] })),
  };
}

/** The text put in Defender's `Comment`: who, where, why, and the correlation tag that finds the action again. */
export function defenderComment(request: LiveResponseRequest, channelLabel: string): string {
  const reason = request.reason ? ` because ${request.reason}` : '';
  const approver = request.decision?.kind === 'approved' ? `; approved by ${request.decision.by.name}` : '';
  const text = `${buildCorrelationTag(request.id)} Requested by ${request.requester.name} in ${channelLabel}${approver}${reason}`;
  return text.slice(0, 1000);
}
