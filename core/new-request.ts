// Builds the initial record of a request that passed pre-flight, before its approval card is posted.
import type { LiveResponseCommand } from './commands.js';
import type { OnCallTier } from './on-call.js';
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
  /** Tier 1 as resolved for this request, when APPROVERS has group/tag/shifts entries. */
  onCall?: OnCallTier;
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
    ...(input.onCall ? { onCall: [input.onCall] } : {}),
    progress: input.commands.map(() => ({ status: 'Created', errors: [] })),
  };
}
