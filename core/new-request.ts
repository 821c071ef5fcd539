// Builds the initial record of a request that passed pre-flight, before its approval card is posted.
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
