// One request, several devices, one approval: the card lists every device with its own pre-flight, one approval
// sends one runliveresponse per included device (paced like any other), the one card follows each device to its end
// with a summary, one device or all can be cancelled, and exactly-once holds per device through a lost job and a
// lost answer. Real Redis, the Defender simulator and fake Teams over HTTP, the bot in this process.
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.js';
import { redisKeys } from '../core/redis-keys.js';
import type { LiveResponseRequest } from '../core/request.js';
import { createRequestStore, type RequestStore } from '../core/request-store.js';
import { QUEUES } from '../jobs/job-names.js';
import { DEFAULT_LIMITS } from '../simulator/defender-simulator.js';
import { machineIdFor } from '../simulator/seed-data.js';
import type { AdaptiveCardJson } from './support/fake-teams-connector.js';
import { cardText, teamsClientFor, textReplies, waitForReply } from './support/flow-helpers.js';
import {
  type AskedRequest,
  actionsOf,
  approve,
  ask,
  askAndApprove,
  click,
  currentCard,
  downloadPaths,
  expectCardsSafe,
  MACHINE_IDS,
  ROOMY_API_RATE,
  runCallsFor,
  startActionElsewhere,
  waitForFinalCard,
  workstation,
} from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import { channelThread, USERS } from './support/teams-fixtures.js';

const FIN_LAPTOP = machineIdFor('fin-laptop07.contoso.local');
const MAC = machineIdFor('mac-design01.contoso.local');

let stack: Stack;
let client: TeamsClient;
let requests: RequestStore;
let submitQueue: Queue;

beforeAll(async () => {
  stack = await startStack({
    // The tests send more than Defender's 10 a minute, some in real time; pacing by it has tests of its own.
    sim: {
      limits: { ...DEFAULT_LIMITS, run: { limit: 100, windowMs: 60_000 } },
      // A tag on more devices than FANOUT_MAX_DEVICES (5 here).
      extraMachines: ['bulk-01', 'bulk-02', 'bulk-03', 'bulk-04', 'bulk-05', 'bulk-06'].map((name) => ({
        ...workstation(name),
        machineTags: ['bulk'],
      })),
    },
    env: {
      DEFENDER_API_RATE: ROOMY_API_RATE,
      // The tests send more than Defender's 10 a minute; pacing by it has tests of its own.
      DEFENDER_RUN_RATE: '100/1m',
      RECONCILE_INTERVAL: '500ms',
      FANOUT_MAX_DEVICES: '5',
    },
  });
  client = teamsClientFor(stack);
  requests = createRequestStore({ redis: stack.redis, keys: redisKeys(stack.prefix), clock: systemClock });
  submitQueue = new Queue(QUEUES.submit, {
    connection: stack.redis,
    prefix: redisKeys(stack.prefix).bullPrefix(),
  });
});
afterEach(() => {
  stack.sim.control.setSpeed(20);
  stack.sim.control.clearFaults();
});
afterAll(async () => {
  await submitQueue?.close();
  await stack?.close();
});

async function stored(id: string): Promise<LiveResponseRequest> {
  const request = await requests.get(id);
  if (!request) throw new Error(`${id} is not in Redis`);
  return request;
}

/** The device requests of a fan-out, by device name (short host name). */
async function childrenOf(parentId: string): Promise<Map<string, LiveResponseRequest>> {
  const parent = await stored(parentId);
  const found = new Map<string, LiveResponseRequest>();
  for (const target of parent.fanOut?.targets ?? []) {
    const child = target.childId ? await requests.get(target.childId) : null;
    if (child) found.set(child.device.computerDnsName.split('.')[0]!, child);
  }
  return found;
}

/** The text of one device's row on the card: from its name to the next row. */
function rowText(card: AdaptiveCardJson | undefined, device: string): string {
  const row = findRows(card).find((r) => cardText(r).split('\n')[0]!.startsWith(device));
  if (!row) throw new Error(`no row for ${device} on the card:\n${cardText(card)}`);
  return cardText(row);
}

/** The device rows: the containers whose first element is a ColumnSet with the device's name. */
function findRows(card: AdaptiveCardJson | undefined): AdaptiveCardJson[] {
  const body = (card as { body?: Array<{ type?: string; items?: Array<{ type?: string }> }> })?.body ?? [];
  return body.filter(
    (element) => element.type === 'Container' && element.items?.[0]?.type === 'ColumnSet',
  ) as unknown as AdaptiveCardJson[];
}

/** Every card message in the request's thread: a fan-out posts one, whatever its devices do. */
function cardMessages(request: AskedRequest) {
  return stack.teams.activities(request.thread.id).filter((a) => stack.teams.findCard(a));
}

async function until(what: string, probe: () => Promise<unknown>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a request for several devices', () => {
  it('shows every device with its pre-flight, leaves out the unknown and the Inactive one, and runs the rest once each on one approval', async () => {
    const request = await ask(
      stack,
      client,
      'run whoami.ps1 on desktop-test, srv-db01, nosuch-pc, laptop-offline because beaconing',
    );
    const asked = cardText(request.card);
    expect(asked).toContain('run whoami.ps1 on 2 devices');
    expect(asked).toContain('Devices: 2 included, 2 left out');
    expect(rowText(request.card, 'desktop-test.contoso.local')).toContain('Will run');
    expect(rowText(request.card, 'nosuch-pc')).toContain('Left out');
    expect(rowText(request.card, 'nosuch-pc')).toContain('Defender has no device called nosuch-pc');
    expect(rowText(request.card, 'laptop-offline.contoso.local')).toMatch(/Inactive in Defender/);
    expect(rowText(request.card, 'laptop-offline.contoso.local')).toContain('Left out');
    expect(runCallsFor(stack, MACHINE_IDS.desktop)).toHaveLength(0);

    const approved = await approve(client, request);
    expect(cardText(approved)).toMatch(/Approved by Alex Lead/);

    const card = await waitForFinalCard(stack, request.activity.id, /2 of 2 succeeded/, (t) =>
      /Finished at/.test(t),
    );
    for (const device of ['desktop-test.contoso.local', 'srv-db01.contoso.local']) {
      const row = rowText(card, device);
      expect(row).toContain('Exit code 0');
      expect(row).toContain('Succeeded');
      expect(row).toContain('Transcript');
    }
    expect(rowText(card, 'laptop-offline.contoso.local')).toContain('Left out');
    // One runliveresponse per included device, none for the devices left out.
    expect(runCallsFor(stack, MACHINE_IDS.desktop)).toHaveLength(1);
    expect(runCallsFor(stack, MACHINE_IDS.server)).toHaveLength(1);
    expect(runCallsFor(stack, MACHINE_IDS.offline)).toHaveLength(0);
    const children = await childrenOf(request.requestId);
    for (const child of children.values()) expect(actionsOf(stack, child.id)).toHaveLength(1);
    expect((await stored(request.requestId)).state).toBe('Succeeded');
    expect(cardMessages(request)).toHaveLength(1);
    expectCardsSafe(stack, request.activity.id);

    // `status` names every device, with its own request id.
    const before = textReplies(stack, request.thread.id).length;
    await client.sendMessage({
      conversation: request.thread,
      from: USERS.requester,
      text: `status ${request.requestId}`,
    });
    const status = await waitForReply(stack, request.thread.id, /2 of 2 succeeded/);
    expect(textReplies(stack, request.thread.id).length).toBeGreaterThan(before);
    expect(status).toContain(children.get('desktop-test')!.id);
    expect(status).toMatch(/nosuch-pc.*left out/);

    // Get fresh links asks each device's request for its own; the rows then carry the new links.
    const linksBefore = downloadPaths(currentCard(stack, request.activity.id));
    expect(linksBefore).toHaveLength(2);
    await click(stack, client, request, 'Get fresh links');
    const renewed = await stack.teams.waitFor(
      () => {
        const links = downloadPaths(currentCard(stack, request.activity.id));
        return links.length === 2 && links.every((l) => !linksBefore.includes(l)) ? links : undefined;
      },
      { description: 'new links on both rows', timeoutMs: 15_000 },
    );
    expect(renewed.map((l) => l.split('/')[2]).sort()).toEqual(
      [...children.values()].map((c) => c.id).sort(),
    );
  });

  it('shows a device Defender refuses as failed, and folds its devices’ many changes into a few card updates', async () => {
    // Real time: the devices' changes spread over seconds, as they do in a tenant.
    stack.sim.control.setSpeed(1);
    const request = await askAndApprove(
      stack,
      client,
      'run whoami.ps1 on desktop-test, desktop-test2, srv-db01, web01.contoso.local, kiosk-nogroup',
    );
    const card = await waitForFinalCard(stack, request.activity.id, /4 of 5 succeeded, 1 failed/, (t) =>
      /Finished at/.test(t),
    );
    expect(rowText(card, 'kiosk-nogroup.contoso.local')).toMatch(
      /Failed[\s\S]*DisallowedOperation|DisallowedOperation[\s\S]*Failed/,
    );
    expect(cardText(card)).toContain('Finished with failures');
    // Every change of a device's request re-renders the parent's card, at most once per 2 s window for all of them.
    const children = [...(await childrenOf(request.requestId)).values()];
    const deviceChanges = children.reduce((sum, child) => sum + child.version - 1, 0);
    const updates = stack.teams.history(request.activity.id).length - 1;
    expect(deviceChanges).toBeGreaterThanOrEqual(15);
    expect(updates).toBeLessThanOrEqual(deviceChanges / 3);
    expect(cardMessages(request)).toHaveLength(1);
  });

  it('cancels one device from its row while the other runs to the end', async () => {
    stack.sim.control.setSpeed(1);
    const request = await askAndApprove(stack, client, 'run whoami.ps1 on desktop-test, desktop-test2');
    await stack.teams.waitFor(
      () =>
        /Cancel desktop-test2/.test(JSON.stringify(currentCard(stack, request.activity.id)))
          ? true
          : undefined,
      { description: 'the row Cancel buttons', timeoutMs: 10_000 },
    );
    await click(stack, client, request, 'Cancel desktop-test2');
    stack.sim.control.setSpeed(20);

    const card = await waitForFinalCard(stack, request.activity.id, /1 of 2 succeeded, 1 cancelled/, (t) =>
      /Finished at/.test(t),
    );
    expect(rowText(card, 'desktop-test2.contoso.local')).toContain('Cancelled');
    expect(rowText(card, 'desktop-test.contoso.local')).toContain('Exit code 0');
    const children = await childrenOf(request.requestId);
    expect(children.get('desktop-test2')?.state).toBe('Cancelled');
    expect(children.get('desktop-test2')?.cancellation?.by.name).toBe(USERS.requester.name);
    expect(children.get('desktop-test')?.state).toBe('Succeeded');
    expect(cardMessages(request)).toHaveLength(1);
  });

  it('cancels every device with Cancel all', async () => {
    stack.sim.control.setSpeed(1);
    const runsBefore = runCallsFor(stack, MACHINE_IDS.desktop).length;
    const request = await askAndApprove(stack, client, 'run whoami.ps1 on desktop-test, web01.contoso.local');
    await until('both devices sent to Defender', async () =>
      [...(await childrenOf(request.requestId)).values()].every((c) => c.actionId),
    );
    await stack.teams.waitFor(
      () => (/"Cancel all"/.test(JSON.stringify(currentCard(stack, request.activity.id))) ? true : undefined),
      { description: 'the Cancel all button', timeoutMs: 10_000 },
    );
    await click(stack, client, request, 'Cancel all');
    stack.sim.control.setSpeed(20);

    const card = await waitForFinalCard(stack, request.activity.id, /0 of 2 succeeded, 2 cancelled/);
    expect(cardText(card)).toMatch(/Cancelled by Riley/);
    const children = await childrenOf(request.requestId);
    expect([...children.values()].map((c) => c.state)).toEqual(['Cancelled', 'Cancelled']);
    expect((await stored(request.requestId)).state).toBe('Cancelled');
    expect(runCallsFor(stack, MACHINE_IDS.desktop).length - runsBefore).toBe(1);
  });

  it('cancels every device with `cancel <id>` in chat', async () => {
    // A script that runs for 15 minutes of Defender's time, so the cancel finds both devices still running.
    const request = await askAndApprove(stack, client, 'run hang.ps1 on desktop-test2, srv-db01');
    await until('both devices sent to Defender', async () =>
      [...(await childrenOf(request.requestId)).values()].every((c) => c.actionId),
    );
    await client.sendMessage({
      conversation: request.thread,
      from: USERS.approver,
      text: `cancel ${request.requestId}`,
    });
    const reply = await waitForReply(stack, request.thread.id, /Cancelling/);
    expect(reply).toContain(`Cancelling ${request.requestId} on every device`);
    const card = await waitForFinalCard(stack, request.activity.id, /0 of 2 succeeded, 2 cancelled/);
    expect(cardText(card)).toMatch(/Cancelled by Alex Lead/);
    expect((await stored(request.requestId)).state).toBe('Cancelled');
  });

  it('refuses a list over FANOUT_MAX_DEVICES before any card or Defender call', async () => {
    const thread = channelThread();
    // Device and library look-ups (other requests' polls may run meanwhile).
    const lookups = () => stack.sim.control.calls({ path: /^\/api\/(machines|libraryfiles)$/ }).length;
    const callsBefore = lookups();
    await client.sendMessage({
      conversation: thread,
      from: USERS.requester,
      text: 'run whoami.ps1 on pc1, pc2, pc3, pc4, pc5, pc6',
    });
    const reply = await waitForReply(stack, thread.id, /at most 5/);
    expect(reply).toContain('That names 6 devices');
    expect(reply).toContain('FANOUT_MAX_DEVICES');
    expect(stack.teams.activities(thread.id).filter((a) => stack.teams.findCard(a))).toHaveLength(0);
    expect(lookups()).toBe(callsBefore);
  });

  it('refuses a tag on more devices than FANOUT_MAX_DEVICES, and a tag no device has, before any card', async () => {
    const thread = channelThread();
    await client.sendMessage({
      conversation: thread,
      from: USERS.requester,
      text: 'run whoami.ps1 on tag:bulk',
    });
    const tooMany = await waitForReply(stack, thread.id, /tagged/);
    expect(tooMany).toContain('Defender has 6 devices tagged **bulk**; one request runs on at most 5');
    await client.sendMessage({
      conversation: thread,
      from: USERS.requester,
      text: 'run whoami.ps1 on tag:nosuch',
    });
    const none = await waitForReply(stack, thread.id, /no device tagged/);
    expect(none).toContain('Nothing was requested');
    expect(stack.teams.activities(thread.id).filter((a) => stack.teams.findCard(a))).toHaveLength(0);
  });

  it('runs on the devices of a Defender machine tag, leaving out the Inactive and the wrong-OS ones', async () => {
    const runsBefore = runCallsFor(stack, FIN_LAPTOP).length;
    const request = await ask(stack, client, 'run whoami.ps1 on tag:finance-laptops');
    const lookups = stack.sim.control
      .calls({ method: 'GET', path: /^\/api\/machines$/ })
      .filter((c) => (c.query.$filter ?? '') === "machineTags/any(tag: tag eq 'finance-laptops')");
    expect(lookups.map((c) => c.status)).toContain(200);
    const asked = cardText(request.card);
    expect(asked).toContain('run whoami.ps1 on 1 device tagged finance-laptops in Defender');
    expect(rowText(request.card, 'fin-laptop07.contoso.local')).toContain('Will run');
    expect(rowText(request.card, 'laptop-offline.contoso.local')).toMatch(/Inactive in Defender/);
    expect(rowText(request.card, 'mac-design01.contoso.local')).toMatch(/macOS/);
    expect(rowText(request.card, 'mac-design01.contoso.local')).toContain('Left out');

    await approve(client, request);
    await waitForFinalCard(stack, request.activity.id, /1 of 1 succeeded/, (t) => /Exit code 0/.test(t));
    expect(runCallsFor(stack, FIN_LAPTOP).length - runsBefore).toBe(1);
    expect(runCallsFor(stack, MAC)).toHaveLength(0);
  });
});

describe('exactly once per device', () => {
  it('submits once each device whose submit job was lost, and recovers a lost answer by its tag', async () => {
    await stack.stopBot();
    await stack.startBot({}, { workers: false });
    client = teamsClientFor(stack);
    const runsBefore = {
      desktop: runCallsFor(stack, MACHINE_IDS.desktop).length,
      desktop2: runCallsFor(stack, MACHINE_IDS.desktop2).length,
    };
    const request = await askAndApprove(stack, client, 'run whoami.ps1 on desktop-test, desktop-test2');
    const children = await childrenOf(request.requestId);
    // One device's submit job is lost; the other's answer from Defender will be lost.
    expect(await submitQueue.remove(`submit-${children.get('desktop-test2')!.id}`)).toBe(1);
    stack.sim.control.injectFault({
      method: 'POST',
      path: `machines/${MACHINE_IDS.desktop}/runliveresponse`,
      kind: 'loseResponse',
    });

    await stack.stopBot();
    await stack.startBot({}, { workers: true });
    client = teamsClientFor(stack);
    await waitForFinalCard(stack, request.activity.id, /2 of 2 succeeded/, (t) => /Finished at/.test(t));
    expect(runCallsFor(stack, MACHINE_IDS.desktop).length - runsBefore.desktop).toBe(1);
    expect(runCallsFor(stack, MACHINE_IDS.desktop2).length - runsBefore.desktop2).toBe(1);
    for (const child of (await childrenOf(request.requestId)).values())
      expect(actionsOf(stack, child.id)).toHaveLength(1);
  });

  it('creates the device requests a crash kept from being created after the approval, and submits each once', async () => {
    await stack.stopBot();
    await stack.startBot({}, { workers: false });
    client = teamsClientFor(stack);
    const runsBefore = runCallsFor(stack, MACHINE_IDS.web).length;
    const request = await askAndApprove(stack, client, 'run whoami.ps1 on web01.contoso.local, desktop-test');
    // As if the process died right after writing the approval: no device request, no submit job.
    const parent = await stored(request.requestId);
    for (const target of parent.fanOut!.targets) {
      await stack.redis.del(redisKeys(stack.prefix).request(target.childId!));
      await submitQueue.remove(`submit-${target.childId}`);
    }
    expect((await childrenOf(request.requestId)).size).toBe(0);

    await stack.stopBot();
    await stack.startBot({}, { workers: true });
    client = teamsClientFor(stack);
    await waitForFinalCard(stack, request.activity.id, /2 of 2 succeeded/, (t) => /Finished at/.test(t));
    expect(runCallsFor(stack, MACHINE_IDS.web).length - runsBefore).toBe(1);
    expect((await childrenOf(request.requestId)).size).toBe(2);
  });
});

describe('pre-flight of each device', () => {
  it('leaves out a busy device and a device named twice, saying why, and runs the rest', async () => {
    const busy = await startActionElsewhere(stack, MACHINE_IDS.web);
    const request = await ask(
      stack,
      client,
      'run whoami.ps1 on desktop-test, desktop-test.contoso.local, web01.contoso.local',
    );
    expect(busy.status).toBe('Pending');
    expect(rowText(request.card, 'web01.contoso.local')).toMatch(/already has a live response/);
    expect(rowText(request.card, 'web01.contoso.local')).toContain('Left out');
    expect(rowText(request.card, 'desktop-test.contoso.local')).toContain('Will run');
    const twice = findRows(request.card)
      .map((row) => cardText(row))
      .filter((text) => text.startsWith('desktop-test.contoso.local'));
    expect(twice).toHaveLength(2);
    expect(twice[1]).toContain('the same device as desktop-test');
    expect(cardText(request.card)).toContain('Devices: 1 included, 2 left out');

    const runsBefore = runCallsFor(stack, MACHINE_IDS.web).length;
    await approve(client, request);
    await waitForFinalCard(stack, request.activity.id, /1 of 1 succeeded/, (t) => /Finished at/.test(t));
    expect(runCallsFor(stack, MACHINE_IDS.web).length).toBe(runsBefore);
  });
});
