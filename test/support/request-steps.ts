// Longer steps of the request lifecycle for the behaviour tests: ask and approve in one go, read every version of a
// card, follow a card's download link, and act on the Defender simulator as another tool (the portal) would.
import { expect } from 'vitest';
import type { MachineAction } from '../../defender/types.js';
import { machineIdFor } from '../../simulator/seed-data.js';
import type { AdaptiveCardJson, PostedActivity } from './fake-teams-connector.js';
import { askFor, cardText, waitForCard } from './flow-helpers.js';
import type { Stack } from './start-stack.js';
import type { TeamsClient } from './teams-client.js';
import { type ChannelConversation, channelThread, type TeamsUser, USERS } from './teams-fixtures.js';

/** Keeps test stacks from tripping over the bot's own 100/min Defender API budget (polls every 250 ms). */
export const ROOMY_API_RATE = '60/1s';

export const MAX_CARD_BYTES = 28 * 1024;

export interface AskedRequest {
  thread: ChannelConversation;
  activity: PostedActivity;
  card: AdaptiveCardJson;
  requestId: string;
}

/** Posts `text` in a fresh thread as the requester and returns the approval card. */
export async function ask(stack: Stack, client: TeamsClient, text: string): Promise<AskedRequest> {
  const thread = channelThread();
  const asked = await askFor(stack, client, thread, USERS.requester, text);
  return { thread, ...asked };
}

/** Clicks Approve as `approver` and checks Teams got its answer. */
export async function approve(
  client: TeamsClient,
  request: AskedRequest,
  approver: TeamsUser = USERS.approver,
): Promise<AdaptiveCardJson | undefined> {
  const click = await client.invokeAction({
    conversation: request.thread,
    from: approver,
    replyToId: request.activity.id,
    verb: 'lr.approve',
    data: { requestId: request.requestId },
  });
  expect(click.status).toBe(200);
  return click.card;
}

export async function askAndApprove(stack: Stack, client: TeamsClient, text: string): Promise<AskedRequest> {
  const request = await ask(stack, client, text);
  const card = await approve(client, request);
  expect(cardText(card)).toMatch(/Approved by Alex Lead/);
  return request;
}

/** Clicks a card button (by title) as `from`, on the card as it is now. */
export async function click(
  stack: Stack,
  client: TeamsClient,
  request: AskedRequest,
  title: string,
  from: TeamsUser = USERS.requester,
) {
  // Teams shows each user their own view; the buttons' verb and data are the same in every view.
  const activity = stack.teams.activities(request.thread.id).find((a) => a.id === request.activity.id)!;
  const result = await client.clickAction({ conversation: request.thread, from, activity, action: title });
  expect(result.status).toBe(200);
  return result;
}

/** Every version of the card Teams has held, oldest first. */
export function cardVersions(stack: Stack, activityId: string): AdaptiveCardJson[] {
  return stack.teams
    .history(activityId)
    .map((v) => stack.teams.findCard(v))
    .filter((c): c is AdaptiveCardJson => c !== undefined);
}

/** The card as it is now. */
export function currentCard(stack: Stack, activityId: string): AdaptiveCardJson {
  const card = cardVersions(stack, activityId).at(-1);
  if (!card) throw new Error(`no card on activity ${activityId}`);
  return card;
}

/** The final card of a request: waits for `pattern`, then for later updates (e.g. results) to settle. */
export async function waitForFinalCard(
  stack: Stack,
  activityId: string,
  pattern: RegExp,
  settle: (text: string) => boolean = () => true,
): Promise<AdaptiveCardJson> {
  await waitForCard(stack, activityId, pattern);
  return stack.teams.waitFor(
    () => {
      const card = currentCard(stack, activityId);
      return pattern.test(cardText(card)) && settle(cardText(card)) ? card : undefined;
    },
    { description: `the final card to settle (${pattern})`, timeoutMs: 15_000 },
  );
}

/** Checks what must hold for every version of a card: no Defender SAS signature, within Teams' size for all surfaces. */
export function expectCardsSafe(stack: Stack, activityId: string): void {
  const versions = cardVersions(stack, activityId);
  expect(versions.length).toBeGreaterThan(0);
  for (const card of versions) {
    const json = JSON.stringify(card);
    expect(json).not.toMatch(/sig=/i);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(MAX_CARD_BYTES);
  }
}

/** The `/download/...` URLs on a card (their host is PUBLIC_BASE_URL; tests call the bot directly). */
export function downloadPaths(card: AdaptiveCardJson | undefined): string[] {
  const found = JSON.stringify(card ?? {}).match(/https?:\/\/[^"\s]*\/download\/[^"\s]+/g) ?? [];
  return [...new Set(found.map((url) => new URL(url).pathname))];
}

/** The opaque link ids in download paths (`/download/<request>/<index>/<link id>`). */
export function linkIds(card: AdaptiveCardJson | undefined): string[] {
  return downloadPaths(card).map((path) => path.split('/').at(-1)!);
}

/** `runliveresponse` calls the simulator received for one device, whatever their answer. */
export function runCallsFor(stack: Stack, machineId: string) {
  return stack.sim.control.calls({
    method: 'POST',
    path: new RegExp(`/machines/${machineId}/runliveresponse`),
  });
}

/** The actions the bot's request created (its correlation tag is in the Defender Comment). */
export function actionsOf(stack: Stack, requestId: string): MachineAction[] {
  return stack.sim.control.actions().filter((a) => a.requestorComment.includes(`[lr:${requestId}]`));
}

/** Starts a live response on a device the way the Defender portal or another tool would, outside the bot. */
export async function startActionElsewhere(
  stack: Stack,
  machineId: string,
  scriptName = 'minidump.ps1',
): Promise<MachineAction> {
  const response = await fetch(`${stack.sim.url}/api/machines/${machineId}/runliveresponse`, {
    method: 'POST',
    headers: { Authorization: 'Bearer sim-token', 'Content-Type': 'application/json' },
    body: JSON.stringify({
      Commands: [{ type: 'RunScript', params: [{ key: 'ScriptName', value: scriptName }] }],
      Comment: 'Investigation started from the Defender portal',
    }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as MachineAction;
}

export { workstation } from '../../simulator/seed-data.js';

export const MACHINE_IDS = {
  desktop: machineIdFor('desktop-test.contoso.local'),
  desktop2: machineIdFor('desktop-test2.contoso.local'),
  server: machineIdFor('srv-db01.contoso.local'),
  web: machineIdFor('web01.contoso.local'),
  offline: machineIdFor('laptop-offline.contoso.local'),
  kiosk: machineIdFor('kiosk-nogroup.contoso.local'),
};

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The style of the card container that holds a TextBlock saying exactly `text` (e.g. the exit code badge). */
export function styleAround(card: AdaptiveCardJson | undefined, text: string): string | undefined {
  let found: string | undefined;
  const walk = (node: unknown, style: string | undefined): void => {
    if (Array.isArray(node)) for (const child of node) walk(child, style);
    else if (node && typeof node === 'object') {
      const element = node as Record<string, unknown>;
      const own = typeof element.style === 'string' ? element.style : style;
      if (element.type === 'TextBlock' && element.text === text) found ??= own;
      for (const value of Object.values(element)) walk(value, own);
    }
  };
  walk(card, undefined);
  return found;
}
