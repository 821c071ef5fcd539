// A bot SIGKILLed right after writing a fan-out's approval, before any device's request exists: after a restart the
// reconciler creates them from the parent's record and each device is sent exactly one runliveresponse. The bot runs
// as a child process (test/support/bot-process.ts) told by a test-only variable to die before the startFanOut effect.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestStore } from '../core/request-store.js';
import type { ProcessStack } from './support/bot-process.js';
import { cardText, teamsClientFor } from './support/flow-helpers.js';
import {
  approveAndCrash,
  armCrashBefore,
  restartAfterCrash,
  startCrashStack,
} from './support/process-steps.js';
import { actionsOf, ask, MACHINE_IDS, runCallsFor, waitForFinalCard } from './support/request-steps.js';

let stack: ProcessStack;
let requests: RequestStore;

beforeAll(async () => {
  ({ stack, requests } = await startCrashStack());
});
afterAll(async () => {
  await stack?.close();
});

describe('a bot killed between a fan-out’s approval and its devices’ requests', () => {
  it('creates and submits each device once after a restart', async () => {
    await armCrashBefore(stack, 'startFanOut');
    const client = teamsClientFor(stack);
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test, desktop-test2');
    await approveAndCrash(stack, client, request);

    // The approval is written; no device's request exists.
    const parent = await requests.get(request.requestId);
    expect(parent?.state).toBe('Approved');
    const childIds = parent!.fanOut!.targets.map((t) => t.childId!);
    expect(await Promise.all(childIds.map((id) => requests.get(id)))).toEqual([null, null]);

    await restartAfterCrash(stack);
    const card = await waitForFinalCard(stack, request.activity.id, /2 of 2 succeeded/, (t) =>
      /Finished at/.test(t),
    );
    expect(cardText(card)).toContain('Approved by Alex Lead');
    expect(runCallsFor(stack, MACHINE_IDS.desktop)).toHaveLength(1);
    expect(runCallsFor(stack, MACHINE_IDS.desktop2)).toHaveLength(1);
    for (const id of childIds) expect(actionsOf(stack, id)).toHaveLength(1);
    expect(stack.bot.output()).toMatch(/reconciler repaired a request/);
  });
});
