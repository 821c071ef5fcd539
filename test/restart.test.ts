// Stopping and starting the bot with requests in flight: Redis holds everything, so after a restart each request
// goes on from where it was — one Defender action, and the same card brought to its final state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardText, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import {
  actionsOf,
  approve,
  ask,
  askAndApprove,
  expectCardsSafe,
  MACHINE_IDS,
  ROOMY_API_RATE,
  runCallsFor,
  sleep,
  waitForFinalCard,
} from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';

describe('a bot restarted with requests in flight', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ env: { DEFENDER_API_RATE: ROOMY_API_RATE } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('brings a request that was running when the bot stopped to its final card', async () => {
    const client = teamsClientFor(stack);
    const request = await askAndApprove(stack, client, 'run minidump.ps1 OfficeClickToRun on desktop-test');
    await waitForCard(stack, request.activity.id, /Running on the device/);

    await stack.stopBot();
    // The action finishes on the device while nobody polls it.
    await stack.teams.waitFor(() => actionsOf(stack, request.requestId)[0]?.status === 'Succeeded', {
      description: 'the action to finish while the bot is down',
    });
    expect(cardText(stack.teams.findCard(stack.teams.history(request.activity.id).at(-1)))).toMatch(
      /Running/,
    );
    await stack.startBot();

    const card = await waitForFinalCard(stack, request.activity.id, /Succeeded/, (t) =>
      /Exit code 0/.test(t),
    );
    expect(cardText(card)).toContain('OfficeClickToRun.dmp.zip');
    expect(runCallsFor(stack, MACHINE_IDS.desktop)).toHaveLength(1);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
    // Still the one card: no new message was posted in the thread.
    expect(stack.teams.activities(request.thread.id).filter((a) => stack.teams.findCard(a))).toHaveLength(1);
    expectCardsSafe(stack, request.activity.id);
  });

  it('submits once after a restart a request that was approved but not yet submitted', async () => {
    // A bot without workers takes the approval but cannot submit: as if it stopped right after the click.
    await stack.stopBot();
    await stack.startBot({}, { workers: false });
    const client = teamsClientFor(stack);
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test2');
    expect(cardText(await approve(client, request))).toMatch(/Approved by Alex Lead/);
    await sleep(300);
    expect(runCallsFor(stack, MACHINE_IDS.desktop2)).toHaveLength(0);
    await stack.stopBot();

    await stack.startBot({}, { workers: true });
    const card = await waitForFinalCard(stack, request.activity.id, /Succeeded/, (t) =>
      /Exit code 0/.test(t),
    );
    expect(cardText(card)).toContain('nt authority\\system');
    expect(runCallsFor(stack, MACHINE_IDS.desktop2).map((c) => c.status)).toEqual([201]);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
    expect(stack.teams.activities(request.thread.id).filter((a) => stack.teams.findCard(a))).toHaveLength(1);
  });
});
