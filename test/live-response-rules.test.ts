// Defender's live response rules as a responder meets them in a channel, with the real bot over HTTP, real Redis, the
// Defender simulator and the fake Teams connector: the command order refused before anyone is asked to approve,
// re-imaged devices with older records, Linux and macOS devices, and what the busy check can and cannot see.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineIdFor } from '../simulator/seed-data.js';
import { runLiveResponseAttempts, say } from './support/chat-helpers.js';
import { cardText, teamsClientFor } from './support/flow-helpers.js';
import { approve, ask, askAndApprove, ROOMY_API_RATE, waitForFinalCard } from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import { channelThread, USERS } from './support/teams-fixtures.js';

let stack: Stack;
let client: TeamsClient;

beforeAll(async () => {
  stack = await startStack({ env: { DEFENDER_API_RATE: ROOMY_API_RATE } });
  client = teamsClientFor(stack);
});
afterAll(async () => {
  await stack?.close();
});

async function storedRequests(): Promise<number> {
  let count = 0;
  let cursor = '0';
  do {
    const [next, keys] = await stack.redis.scan(cursor, 'MATCH', `${stack.prefix}:req:*`, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

/** Sends `text` in a fresh thread and expects one reply, no card, nothing stored and nothing sent to Defender. */
async function refused(text: string): Promise<string> {
  const attempts = runLiveResponseAttempts(stack);
  const stored = await storedRequests();
  const { replies, cards } = await say(stack, client, channelThread(), USERS.requester, text);
  expect(cards).toBe(0);
  expect(replies).toHaveLength(1);
  expect(await storedRequests()).toBe(stored);
  expect(runLiveResponseAttempts(stack)).toBe(attempts);
  return replies[0]!;
}

/** The `Path` (or `ScriptName`) values Defender received for a device, in order. */
function wireParams(machineId: string): string[] {
  return stack.sim.control
    .actions()
    .filter((action) => action.machineId === machineId)
    .flatMap((action) => action.commands.flatMap((c) => c.command.params.map((p) => p.value)));
}

describe('command order', () => {
  it('refuses getfile before run with no card, explaining the rule and offering the reordered request', async () => {
    const defenderCalls = stack.sim.control.calls().length;
    const reply = await refused(
      'getfile "C:\\Program Files\\App\\app.log" then run minidump.ps1 OfficeClickToRun on desktop-test because INC-7',
    );
    expect(reply).toContain('in the order `putfile`, then `run`, then `getfile`');
    expect(reply).toContain('`run` comes after `getfile`');
    const example =
      'run minidump.ps1 OfficeClickToRun then getfile "C:\\Program Files\\App\\app.log" on desktop-test because INC-7';
    expect(reply).toContain(`Try: \`${example}\``);
    // Refused while reading the message: not even a device look-up.
    expect(stack.sim.control.calls().length).toBe(defenderCalls);

    // The example is ready to send as it is.
    const asked = await ask(stack, client, example);
    const text = cardText(asked.card);
    expect(text.indexOf('run minidump.ps1 OfficeClickToRun')).toBeLessThan(
      text.indexOf('getfile C:\\Program Files\\App\\app.log'),
    );
  });

  it('refuses run before putfile the same way', async () => {
    const reply = await refused('run whoami.ps1; putfile procdump64.exe on desktop-test');
    expect(reply).toContain('`putfile` comes after `run`');
    expect(reply).toContain('Try: `putfile procdump64.exe then run whoami.ps1 on desktop-test`');
  });
});

describe('re-imaged devices', () => {
  it('runs on the Active record of a name with older Inactive records, and says so on the card', async () => {
    const active = machineIdFor('fin-laptop07.contoso.local');
    const request = await ask(stack, client, 'run whoami.ps1 on fin-laptop07');
    expect(cardText(request.card)).toContain(
      `2 older Inactive records of this name were ignored (this request uses machine id ${active})`,
    );
    await approve(client, request);
    // An older record is offline for good: an action sent there would stay Pending instead of finishing.
    await waitForFinalCard(stack, request.activity.id, /Succeeded/);
    expect(stack.sim.control.calls({ method: 'POST', path: /runliveresponse/ }).at(-1)?.path).toBe(
      `/api/machines/${active}/runliveresponse`,
    );
  });

  it('still asks which device when a short name matches different machines', async () => {
    const reply = await refused('run whoami.ps1 on web01');
    expect(reply).toContain('**web01** matches 2 devices');
  });
});

describe('Linux and macOS devices', () => {
  it('collects /var/log/syslog from a Linux device as typed', async () => {
    const linux = machineIdFor('linux-web02.contoso.local');
    const request = await askAndApprove(stack, client, 'getfile /var/log/syslog from linux-web02');
    expect(cardText(request.card)).toContain('getfile /var/log/syslog');
    expect(cardText(request.card)).toContain('Linux 22.04');
    await waitForFinalCard(stack, request.activity.id, /Succeeded/);
    expect(wireParams(linux)).toEqual(['/var/log/syslog']);
  });

  it('runs a .sh script on Linux and shows its errors from a result file in the docs’ table spelling', async () => {
    const request = await askAndApprove(stack, client, 'run collect-logs.sh on linux-web02');
    const card = await waitForFinalCard(stack, request.activity.id, /Succeeded/, (t) => /Exit code/.test(t));
    const text = cardText(card);
    expect(text).toContain('Archive: /tmp/collect-logs.tar.gz');
    expect(text).toContain('tar: /var/log/btmp: Cannot open: Permission denied');
  });

  it.each([
    [
      'a Windows path on Linux',
      'getfile C:\\Windows\\Temp\\x.log from linux-web02',
      'is a Windows path',
      'Try: `getfile /var/log/syslog from linux-web02.contoso.local`',
    ],
    [
      'a POSIX path on Windows',
      'getfile /var/log/syslog from desktop-test',
      'is a Linux/macOS path',
      'Try: `getfile C:\\Windows\\Temp\\file.zip from desktop-test.contoso.local`',
    ],
    [
      'a PowerShell script on macOS',
      'run whoami.ps1 on mac-design01',
      'runs macOS, where live response runs Bash scripts (`.sh`)',
      'Try: `run collect-logs.sh on mac-design01.contoso.local`',
    ],
    [
      'a Bash script on Windows',
      'run whoami.sh on desktop-test',
      'where live response runs PowerShell scripts (`.ps1`)',
      'Try: `run ',
    ],
  ])('refuses %s before anyone is asked, showing the right form', async (_name, text, problem, example) => {
    const reply = await refused(text);
    expect(reply).toContain(problem);
    expect(reply).toContain(example);
  });
});

describe('sessions opened in the portal', () => {
  it('says on the card what the busy check saw, and shows Defender’s busy answer after approval', async () => {
    stack.sim.control.setPortalSession('desktop-test2.contoso.local', true);
    try {
      const request = await ask(stack, client, 'run whoami.ps1 on desktop-test2');
      expect(cardText(request.card)).toContain(
        'No live response from the API is pending on this device; sessions opened in the portal are not visible to the bot',
      );
      await approve(client, request);
      const card = await waitForFinalCard(stack, request.activity.id, /ActiveRequestAlreadyExists/);
      expect(cardText(card)).toContain('already has a live response session running');
      expect(cardText(card)).not.toContain('sessions opened in the portal are not visible');
    } finally {
      stack.sim.control.setPortalSession('desktop-test2.contoso.local', false);
    }
  });
});
