// What a person sees in a conversation after talking to the bot, and what reached Defender and the audit trail,
// for the message-handling and approval-policy integration tests.
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { AuditEntry } from '../../core/request-store.js';
import { machineIdFor } from '../../simulator/seed-data.js';
import type { Stack } from './start-stack.js';
import type { TeamsClient } from './teams-client.js';
import { TENANT_ID, type TeamsConversation, type TeamsUser, USERS } from './teams-fixtures.js';

/**
 * Sends `text` and returns the text replies and cards the bot posted in answer. The bot answers a message inside
 * the turn, so everything it said has reached the connector once the POST returns.
 */
export async function say(
  stack: Stack,
  client: TeamsClient,
  conversation: TeamsConversation,
  from: TeamsUser,
  text: string,
): Promise<{ replies: string[]; cards: number }> {
  const before = new Set(stack.teams.activities(conversation.id).map((a) => a.id));
  expect(await client.sendMessage({ conversation, from, text })).toBe(200);
  const posted = stack.teams.activities(conversation.id).filter((a) => !before.has(a.id));
  return {
    replies: posted
      .filter((a) => !stack.teams.findCard(a) && typeof a.text === 'string')
      .map((a) => a.text as string),
    cards: posted.filter((a) => stack.teams.findCard(a)).length,
  };
}

/** Every runliveresponse Defender received, whatever it answered. */
export function runLiveResponseAttempts(stack: Stack): number {
  return stack.sim.control.calls({ method: 'POST', path: /runliveresponse/ }).length;
}

/** The request's audit trail as Redis holds it. */
export async function auditTrail(stack: Stack, requestId: string): Promise<AuditEntry[]> {
  const entries = await stack.redis.lrange(`${stack.prefix}:audit:${requestId}`, 0, -1);
  return entries.map((entry) => JSON.parse(entry) as AuditEntry);
}

/** A new group chat with the requester and both approvers, so its requests and `status` are its own. */
export function freshGroupChat(stack: Stack): TeamsConversation {
  const chat: TeamsConversation = {
    kind: 'groupChat',
    id: `19:chat-${randomUUID()}@thread.v2`,
    tenantId: TENANT_ID,
    name: 'Incident bridge',
  };
  for (const member of [USERS.requester, USERS.approver, USERS.secondApprover])
    stack.teams.addMember(chat.id, member);
  return chat;
}

/**
 * Starts a live response directly in the simulator, as someone using the Defender portal would; the device then
 * has one Pending (offline) or running action.
 */
export async function startLiveResponseInPortal(stack: Stack, computerDnsName: string): Promise<string> {
  const response = await fetch(
    `${stack.sim.url}/api/machines/${machineIdFor(computerDnsName)}/runliveresponse`,
    {
      method: 'POST',
      headers: { authorization: 'Bearer sim-token', 'content-type': 'application/json' },
      body: JSON.stringify({
        Commands: [{ type: 'RunScript', params: [{ key: 'ScriptName', value: 'whoami.ps1' }] }],
        Comment: 'started from the portal',
      }),
    },
  );
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}
