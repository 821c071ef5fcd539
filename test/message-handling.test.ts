// What the bot answers to what people type, in a channel thread, a group chat and a 1:1 chat (mention stripped),
// and the pre-flight refusals that end a request before anyone is asked to approve it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineIdFor } from '../simulator/seed-data.js';
import {
  freshGroupChat,
  runLiveResponseAttempts,
  say,
  startLiveResponseInPortal,
} from './support/chat-helpers.js';
import { askFor, cardText, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import {
  channelThread,
  GROUP_CHAT,
  personalChat,
  type TeamsConversation,
  USERS,
} from './support/teams-fixtures.js';

let stack: Stack;
let client: TeamsClient;

beforeAll(async () => {
  stack = await startStack();
  client = teamsClientFor(stack);
});

afterAll(async () => {
  await stack?.close();
});

const PLACES: [string, () => TeamsConversation][] = [
  ['a channel thread', () => channelThread()],
  ['a group chat', () => GROUP_CHAT],
  ['a 1:1 chat', () => personalChat(USERS.requester)],
];

function defenderCalls(): number {
  return stack.sim.control.calls().length;
}

describe.each(PLACES)('chat grammar in %s', (where, place) => {
  it('answers help with every command and an example', async () => {
    const conversation = place();
    const { replies, cards } = await say(stack, client, conversation, USERS.requester, 'help');
    expect(cards).toBe(0);
    expect(replies).toHaveLength(1);
    const help = replies[0]!;
    expect(help).toContain('What I understand');
    for (const usage of ['run ‹script›', 'getfile ‹path› from ‹device›', 'status', 'cancel ‹request id›'])
      expect(help).toContain(usage);
    // Exactly what Teams receives: Markdown with no angle brackets, which Teams would show as &lt; &gt; in code.
    expect(help).not.toMatch(/[<>]|&lt;|&gt;/);
    const sent = stack.teams.activities(conversation.id).findLast((a) => a.text === help);
    expect(sent?.textFormat).toBe('markdown');
    expect(help).toContain('run minidump.ps1 OfficeClickToRun on desktop-test');
  });

  it('lists the live response library for `scripts`', async () => {
    const { replies, cards } = await say(stack, client, place(), USERS.requester, 'scripts');
    expect(cards).toBe(0);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toContain('Live response library');
    expect(replies[0]).toContain('`whoami.ps1`');
    expect(replies[0]).toMatch(/`minidump\.ps1`.*arguments: Process name/);
    // A path in a description keeps every backslash once Markdown reads the doubled ones, and no tag-like text.
    expect(replies[0]).toContain('C:\\\\windows\\\\TEMP\\\\‹process›.dmp.zip');
    expect(replies[0]).not.toMatch(/[<>]|&lt;|&gt;/);
  });

  it.each([
    ['rnu whoami.ps1 on desktop-test', /Did you mean `run`\?/],
    ['run whoami.ps1', /Which device\? End the request with `on ‹device›`/],
    ['cancel', /`cancel` needs its id/],
    ['', /The message is empty/],
  ])('says what is wrong with "%s", with an example and no card', async (text, problem) => {
    const calls = defenderCalls();
    const { replies, cards } = await say(stack, client, place(), USERS.requester, text);
    expect(cards).toBe(0);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatch(/I couldn't read that/);
    expect(replies[0]).toMatch(problem);
    expect(replies[0]).toMatch(/Try: `[^`]+`/);
    expect(defenderCalls()).toBe(calls);
  });

  // A 1:1 chat has no approver in it, so no request is made there (tested below).
  it.skipIf(where === 'a 1:1 chat')(
    'shows a request with `status`, lists it with `status` and cancels it with `cancel <id>`',
    async () => {
      const conversation = place();
      const attempts = runLiveResponseAttempts(stack);
      const { activity, requestId } = await askFor(
        stack,
        client,
        conversation,
        USERS.requester,
        'run whoami.ps1 on desktop-test because checking the session account',
      );

      const listed = await say(stack, client, conversation, USERS.requester, 'status');
      expect(listed.cards).toBe(0);
      expect(listed.replies[0]).toContain('Recent requests here');
      expect(listed.replies[0]).toMatch(new RegExp(`${requestId}\\*\\* — Awaiting approval`));
      expect(listed.replies[0]).toContain('run whoami.ps1 (Not started)');

      const one = await say(
        stack,
        client,
        conversation,
        USERS.requester,
        `status ${requestId.toLowerCase()}`,
      );
      expect(one.replies).toHaveLength(1);
      expect(one.replies[0]).toContain(requestId);
      expect(one.replies[0]).toContain('desktop-test.contoso.local');
      expect(one.replies[0]).toContain('run whoami.ps1');
      expect(one.replies[0]).toContain('asked by Riley Analyst');

      const cancelled = await say(stack, client, conversation, USERS.requester, `cancel ${requestId}`);
      expect(cancelled.replies).toEqual([`${requestId} is cancelled. Nothing was sent to the device.`]);
      await waitForCard(stack, activity.id, /Cancelled/);

      const after = await say(stack, client, conversation, USERS.requester, `status ${requestId}`);
      expect(after.replies[0]).toMatch(new RegExp(`${requestId}\\*\\* — Cancelled`));
      expect(after.replies[0]).not.toMatch(/\d{4}-\d\d-\d\dT/);
      expect(runLiveResponseAttempts(stack)).toBe(attempts);
    },
  );
});

describe('where no approver can see the card', () => {
  it('posts no card in a 1:1 chat, says at once why, and shows what to send where an approver is', async () => {
    const calls = defenderCalls();
    const { replies, cards } = await say(
      stack,
      client,
      personalChat(USERS.requester),
      USERS.requester,
      'run whoami.ps1 on desktop-test because checking the session account',
    );
    expect(cards).toBe(0);
    expect(replies).toEqual([
      'Nothing was requested: no on-call approver who may decide on it is a member of this chat, so nobody here could approve it. Ask in your incident channel or a group chat with an approver, mentioning the bot: `run whoami.ps1 on desktop-test because checking the session account`',
    ]);
    // Nothing was asked of Defender for a request that could never be approved.
    expect(defenderCalls()).toBe(calls);
  });

  it('does not count the requester as their own approver in their 1:1 chat', async () => {
    const { replies, cards } = await say(
      stack,
      client,
      personalChat(USERS.approver),
      USERS.approver,
      'run whoami.ps1 on desktop-test',
    );
    expect(cards).toBe(0);
    expect(replies[0]).toMatch(/^Nothing was requested: no on-call approver who may decide on it/);
  });
});

describe('status and cancel', () => {
  it("writes times as the card does, and names states and commands with the card's words", async () => {
    const thread = channelThread();
    const { activity, requestId } = await askFor(
      stack,
      client,
      thread,
      USERS.requester,
      'run whoami.ps1 on desktop-test',
    );
    const click = await client.invokeAction({
      conversation: thread,
      from: USERS.approver,
      replyToId: activity.id,
      verb: 'lr.approve',
      data: { requestId },
    });
    expect(click.status).toBe(200);
    await waitForCard(stack, activity.id, /Finished at/);
    const { replies } = await say(stack, client, thread, USERS.requester, `status ${requestId}`);
    expect(replies[0]).toMatch(new RegExp(`\\*\\*${requestId}\\*\\* — Succeeded on`));
    expect(replies[0]).toContain('run whoami.ps1 (Completed)');
    expect(replies[0]).toMatch(/Approved by Alex Lead at \d\d:\d\d UTC/);
    expect(replies[0]).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:/);
  });

  it('says there is nothing yet when no request was made in the conversation', async () => {
    const { replies } = await say(stack, client, freshGroupChat(stack), USERS.requester, 'status');
    expect(replies).toEqual(['No live response requests here yet. Type `help` to see how to ask for one.']);
  });

  it('says an unknown request id is unknown', async () => {
    const conversation = channelThread();
    for (const text of ['status LR-ZZZZZZ', 'cancel LR-ZZZZZZ']) {
      const { replies, cards } = await say(stack, client, conversation, USERS.requester, text);
      expect(cards).toBe(0);
      expect(replies).toEqual([
        'There is no request LR-ZZZZZZ here. Type `status` to list the recent requests here.',
      ]);
    }
  });

  it('does not show or cancel a request from another conversation', async () => {
    const thread = channelThread();
    const { activity, requestId } = await askFor(
      stack,
      client,
      thread,
      USERS.requester,
      'run whoami.ps1 on desktop-test',
    );
    const elsewhere = freshGroupChat(stack);
    for (const text of [`status ${requestId}`, `cancel ${requestId}`]) {
      const { replies } = await say(stack, client, elsewhere, USERS.requester, text);
      expect(replies).toEqual([
        `There is no request ${requestId} here. Type \`status\` to list the recent requests here.`,
      ]);
    }
    expect(cardText(stack.teams.findCard(stack.teams.history(activity.id).at(-1)))).toMatch(
      /Awaiting approval|Waiting for approval/,
    );
  });

  it('refuses a cancel by text from someone who is neither the requester nor an approver', async () => {
    const thread = channelThread();
    const { activity, requestId } = await askFor(
      stack,
      client,
      thread,
      USERS.requester,
      'run whoami.ps1 on desktop-test2',
    );
    const { replies } = await say(stack, client, thread, USERS.outsider, `cancel ${requestId}`);
    expect(replies).toEqual([`Only Riley Analyst or an approver can cancel ${requestId}.`]);
    const card = stack.teams.findCard(stack.teams.history(activity.id).at(-1));
    expect(cardText(card)).toContain('Awaiting approval');
  });
});

describe('pre-flight', () => {
  async function refused(text: string): Promise<string> {
    const attempts = runLiveResponseAttempts(stack);
    const { replies, cards } = await say(stack, client, channelThread(), USERS.requester, text);
    expect(cards).toBe(0);
    expect(replies).toHaveLength(1);
    expect(runLiveResponseAttempts(stack)).toBe(attempts);
    return replies[0]!;
  }

  it('suggests close names for a device Defender does not know', async () => {
    const reply = await refused('run whoami.ps1 on desktop-tset');
    expect(reply).toContain('Defender has no device called **desktop-tset**');
    expect(reply).toMatch(/Did you mean .*`desktop-test\.contoso\.local`/);
  });

  it('suggests the devices whose names start with a name typed in part', async () => {
    const reply = await refused('run whoami.ps1 on desktop');
    expect(reply).toContain('Defender has no device called **desktop**');
    expect(reply).toMatch(/Did you mean .*`desktop-test\.contoso\.local`/);
    expect(reply).toMatch(/Did you mean .*`desktop-test2\.contoso\.local`/);
  });

  it('lists every device an ambiguous short name matches', async () => {
    const reply = await refused('run whoami.ps1 on web01');
    expect(reply).toContain('**web01** matches 2 devices');
    expect(reply).toContain('`web01.contoso.local`');
    expect(reply).toContain('`web01.fabrikam.local`');
    expect(reply).toContain(machineIdFor('web01.fabrikam.local'));
  });

  it('resolves an FQDN to its device', async () => {
    const { card } = await askFor(
      stack,
      client,
      channelThread(),
      USERS.requester,
      'run whoami.ps1 on web01.fabrikam.local',
    );
    expect(cardText(card)).toContain('web01.fabrikam.local');
    expect(cardText(card)).not.toContain('web01.contoso.local');
  });

  it('resolves a 40-hex Defender machine id to its device', async () => {
    const { card } = await askFor(
      stack,
      client,
      channelThread(),
      USERS.requester,
      `run whoami.ps1 on ${machineIdFor('srv-db01.contoso.local')}`,
    );
    expect(cardText(card)).toContain('srv-db01.contoso.local');
    expect(cardText(card)).toContain('WindowsServer2022');
  });

  it('looks up the devices of simultaneous requests together, and each card names its own device', async () => {
    const lookups = () => stack.sim.control.calls({ method: 'GET', path: /^\/api\/machines$/ }).length;
    const before = lookups();
    const devices = [
      'desktop-test',
      'desktop-test2.contoso.local',
      'srv-db01',
      'web01.fabrikam.local',
      machineIdFor('web01.contoso.local'),
      'laptop-offline',
    ];
    const asked = await Promise.all(
      devices.map((device) =>
        askFor(stack, client, channelThread(), USERS.requester, `run whoami.ps1 on ${device}`),
      ),
    );
    const shown = asked.map(({ card }) => cardText(card));
    expect(shown[0]).toContain('desktop-test.contoso.local');
    expect(shown[1]).toContain('desktop-test2.contoso.local');
    expect(shown[2]).toContain('srv-db01.contoso.local');
    expect(shown[3]).toContain('web01.fabrikam.local');
    expect(shown[4]).toContain('web01.contoso.local');
    expect(shown[5]).toContain('laptop-offline.contoso.local');
    // The first lookup goes out alone; the names typed while it is in flight share the next call(s).
    expect(lookups() - before).toBeLessThan(devices.length);
  });

  it('says when a machine id is not a Defender device', async () => {
    const reply = await refused(`run whoami.ps1 on ${'ab'.repeat(20)}`);
    expect(reply).toContain(`Defender has no device with machine id \`${'ab'.repeat(20)}\``);
  });

  it('refuses a script that is not in the live response library', async () => {
    const reply = await refused('run notthere.ps1 on desktop-test');
    expect(reply).toContain('**notthere.ps1** is not in the live response library');
    expect(reply).toContain('`whoami.ps1`');
  });

  it('refuses arguments to a script that takes none', async () => {
    const reply = await refused('run whoami.ps1 -All on desktop-test');
    expect(reply).toContain('**whoami.ps1** takes no arguments, but you gave `-All`');
  });

  it('refuses a device that already has a live response waiting', async () => {
    await startLiveResponseInPortal(stack, 'laptop-offline.contoso.local');
    // The bot's tenant-wide view of running sessions is shared and at most a second old (one Defender call per
    // burst); a session started within that second is refused by Defender at submission instead.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const reply = await refused('run whoami.ps1 on laptop-offline');
    expect(reply).toContain('**laptop-offline.contoso.local** already has a live response waiting to start');
    expect(reply).toContain('cancel it first');
  });
});
