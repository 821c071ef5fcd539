// Steps of the approval flow as a person in Teams takes them, for the integration tests.
import { expect } from 'vitest';
import type { AdaptiveCardJson, PostedActivity } from './fake-teams-connector.js';
import type { Stack } from './start-stack.js';
import { createTeamsClient, type TeamsClient } from './teams-client.js';
import { registerFixtures, type TeamsConversation, type TeamsUser } from './teams-fixtures.js';

export function teamsClientFor(stack: Stack): TeamsClient {
  registerFixtures(stack.teams);
  return createTeamsClient({ botUrl: `${stack.botUrl}/api/messages`, serviceUrl: stack.teams.url });
}

/** All text on a card, flattened, for "the card says …" assertions. */
export function cardText(card: AdaptiveCardJson | undefined): string {
  const texts: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if ((key === 'text' || key === 'title' || key === 'value') && typeof value === 'string')
          texts.push(value);
        else walk(value);
      }
    }
  };
  walk(card);
  return texts.join('\n');
}

export function requestIdOf(card: AdaptiveCardJson | undefined): string {
  const match = /LR-[0-9A-Z]{6}/.exec(cardText(card));
  if (!match) throw new Error('no request id on the card');
  return match[0];
}

/** The card activity in a conversation (the latest version Teams shows). */
export function cardActivity(stack: Stack, conversationId: string): PostedActivity | undefined {
  return stack.teams.activities(conversationId).find((a) => stack.teams.findCard(a));
}

export async function askFor(
  stack: Stack,
  client: TeamsClient,
  conversation: TeamsConversation,
  from: TeamsUser,
  text: string,
): Promise<{ activity: PostedActivity; card: AdaptiveCardJson; requestId: string }> {
  const before = new Set(stack.teams.activities(conversation.id).map((a) => a.id));
  expect(await client.sendMessage({ conversation, from, text })).toBe(200);
  const activity = await stack.teams.waitFor(
    () => stack.teams.activities(conversation.id).find((a) => !before.has(a.id) && stack.teams.findCard(a)),
    { description: `the approval card for "${text}"`, timeoutMs: 10_000 },
  );
  const card = stack.teams.findCard(activity)!;
  return { activity, card, requestId: requestIdOf(card) };
}

/** The text replies (not cards) the bot posted in a conversation since `since` activities. */
export function textReplies(stack: Stack, conversationId: string): string[] {
  return stack.teams
    .activities(conversationId)
    .filter((a) => !stack.teams.findCard(a) && typeof a.text === 'string')
    .map((a) => a.text as string);
}

export async function waitForReply(stack: Stack, conversationId: string, pattern: RegExp): Promise<string> {
  return stack.teams.waitFor(() => textReplies(stack, conversationId).find((t) => pattern.test(t)), {
    description: `a reply matching ${pattern}`,
    timeoutMs: 10_000,
  });
}

/** Waits until the card (as everyone sees it) says `pattern`. */
export async function waitForCard(stack: Stack, activityId: string, pattern: RegExp, timeoutMs = 20_000) {
  return stack.teams.waitFor(
    () => {
      const latest = stack.teams.history(activityId).at(-1);
      const card = stack.teams.findCard(latest);
      return card && pattern.test(cardText(card)) ? card : undefined;
    },
    { description: `the card to say ${pattern}`, timeoutMs },
  );
}

export function runLiveResponseCalls(stack: Stack): number {
  return stack.sim.control.calls({ method: 'POST', path: /runliveresponse/ }).filter((c) => c.status === 201)
    .length;
}
