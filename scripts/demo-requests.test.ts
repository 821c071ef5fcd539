import { describe, expect, it } from 'vitest';
import { CARD_VERBS } from '../cards/card-verbs.js';
import { APPROVERS, fixtureRequest } from '../cards/fixtures.js';
import { stateBadgeText, stateLabel } from '../cards/request-card.js';
import type { LiveResponseRequest, RequestState } from '../core/request.js';
import { summariseTranscript } from '../core/summarise-transcript.js';
import {
  cardActionInvoke,
  type DemoApprover,
  describeInvokeAnswer,
  describeRequest,
  messageActivityAs,
  pickRequest,
  progressReport,
  type RequestWithCard,
} from './demo-requests.js';

/** Every state, so a new one fails the test until the demo names it. */
const STATES: Record<RequestState, true> = {
  AwaitingApproval: true,
  Approved: true,
  Submitting: true,
  Pending: true,
  InProgress: true,
  Succeeded: true,
  Failed: true,
  TimeOut: true,
  Cancelled: true,
  Rejected: true,
  Expired: true,
};

const LEAD: DemoApprover = { teamsId: APPROVERS[0]!.teamsId, name: APPROVERS[0]!.name };
const OUTSIDER: DemoApprover = { teamsId: '29:1someone-else', name: 'Someone Else' };

function request(
  id: string,
  state: RequestState,
  minute: number,
  extra: Partial<LiveResponseRequest> = {},
): RequestWithCard {
  return {
    ...fixtureRequest(state, {
      id,
      createdAt: new Date(Date.UTC(2024, 4, 14, 9, minute)).toISOString(),
      ...extra,
    }),
    card: { activityId: `card-${id}` },
  };
}

describe('pickRequest', () => {
  it('picks the newest request awaiting approval, and an approver who is in its chat', () => {
    const picked = pickRequest(
      [
        request('LR-AAAAAA', 'AwaitingApproval', 1),
        request('LR-BBBBBB', 'AwaitingApproval', 3),
        request('LR-CCCCCC', 'Succeeded', 5),
      ],
      [OUTSIDER, LEAD],
    );
    expect(picked).toMatchObject({ ok: true, request: { id: 'LR-BBBBBB' }, approver: LEAD });
  });

  it('picks a named request in any state, so the bot answers for itself', () => {
    const picked = pickRequest([request('LR-CCCCCC', 'Succeeded', 5)], [LEAD], 'LR-CCCCCC');
    expect(picked).toMatchObject({ ok: true, request: { id: 'LR-CCCCCC' } });
  });

  it('explains when nothing is waiting or the id is unknown', () => {
    expect(pickRequest([request('LR-CCCCCC', 'Succeeded', 5)], [LEAD])).toMatchObject({
      ok: false,
      message: expect.stringMatching(/No request is awaiting approval/),
    });
    expect(pickRequest([], [LEAD], 'LR-ZZZZZZ')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/no request LR-ZZZZZZ/),
    });
  });

  it('waits for the card before clicking it', () => {
    const noCard = fixtureRequest('AwaitingApproval', { id: 'LR-AAAAAA' });
    expect(pickRequest([noCard], [LEAD])).toMatchObject({
      ok: false,
      message: expect.stringMatching(/no card/),
    });
  });

  it('explains a request asked where no approver is a member (the 1:1 chat)', () => {
    const picked = pickRequest([request('LR-AAAAAA', 'AwaitingApproval', 1, { approvers: [] })], [LEAD]);
    expect(picked).toMatchObject({ ok: false, message: expect.stringMatching(/Incident bridge/) });
  });
});

describe('cardActionInvoke', () => {
  it('clicks Approve on the card as the approver', () => {
    const body = cardActionInvoke(request('LR-AAAAAA', 'AwaitingApproval', 1), LEAD.teamsId, {
      verb: 'approve',
    });
    expect(body).toEqual({
      name: 'adaptiveCard/action',
      from: { id: LEAD.teamsId },
      conversation: { id: fixtureRequest('AwaitingApproval').conversationId },
      replyToId: 'card-LR-AAAAAA',
      value: {
        action: {
          type: 'Action.Execute',
          verb: CARD_VERBS.approve,
          data: { requestId: 'LR-AAAAAA', verb: CARD_VERBS.approve },
        },
        trigger: 'manual',
      },
    });
  });

  it('sends the reject reason as the card input would', () => {
    const body = cardActionInvoke(request('LR-AAAAAA', 'AwaitingApproval', 1), LEAD.teamsId, {
      verb: 'reject',
      reason: 'use the EDR package',
    });
    expect(body.value.action).toEqual({
      type: 'Action.Execute',
      verb: CARD_VERBS.reject,
      data: { requestId: 'LR-AAAAAA', verb: CARD_VERBS.reject, rejectReason: 'use the EDR package' },
    });
  });
});

describe('describeInvokeAnswer', () => {
  it('shows a message answer and summarises a card answer', () => {
    expect(
      describeInvokeAnswer({
        statusCode: 200,
        type: 'application/vnd.microsoft.activity.message',
        value: 'You cannot approve your own request.',
      }),
    ).toBe('the bot answered: You cannot approve your own request.');
    expect(
      describeInvokeAnswer({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: {} }),
    ).toBe('the bot answered with the updated card');
  });

  it('quotes the notice on a card answer', () => {
    const card = {
      type: 'AdaptiveCard',
      body: [
        { type: 'TextBlock', text: 'Live response request LR-AAAAAA' },
        {
          type: 'RichTextBlock',
          inlines: [
            { type: 'TextRun', text: 'Approved by Alex Lead at 09:05 UTC', italic: false },
            { type: 'TextRun', text: 'LR-AAAAAA was already approved by Alex Lead.', italic: true },
          ],
        },
      ],
    };
    expect(
      describeInvokeAnswer({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card }),
    ).toBe('the bot answered with the card, noting: LR-AAAAAA was already approved by Alex Lead.');
  });
});

describe('progressReport', () => {
  it('reports new requests and state changes once, oldest first', () => {
    const first = progressReport(
      new Map(),
      [request('LR-BBBBBB', 'InProgress', 3), request('LR-AAAAAA', 'AwaitingApproval', 1)],
      [LEAD],
    );
    expect(first.lines[0]).toMatch(/^LR-AAAAAA Awaiting approval — run minidump.ps1 OfficeClickToRun then /);
    expect(first.lines[1]).toContain(`decide it as ${LEAD.name}`);
    expect(first.lines[2]).toMatch(/^LR-BBBBBB Running \(Approved by /);

    const again = progressReport(
      first.seen,
      [request('LR-BBBBBB', 'InProgress', 3), request('LR-AAAAAA', 'Approved', 1)],
      [LEAD],
    );
    expect(again.lines).toEqual([expect.stringMatching(/^LR-AAAAAA Approved by .+ — queued — /)]);
  });

  it('names who rejected and why', () => {
    const report = progressReport(new Map(), [request('LR-AAAAAA', 'Rejected', 1)], [LEAD]);
    expect(report.lines).toEqual([
      expect.stringMatching(/^LR-AAAAAA Rejected by .+: Collect with the EDR package instead — /),
    ]);
  });

  it("tells the page's approver to click the card when the playground runs as them", () => {
    const report = progressReport(new Map(), [request('LR-AAAAAA', 'AwaitingApproval', 1)], [LEAD], LEAD);
    expect(report.lines[1]).toBe(
      `  → click Approve (or Reject) on its card in the playground page, where you are ${LEAD.name}.`,
    );
  });

  it('says when nobody in the chat can approve', () => {
    const report = progressReport(
      new Map(),
      [request('LR-AAAAAA', 'AwaitingApproval', 1, { approvers: [] })],
      [LEAD],
    );
    expect(report.lines[1]).toMatch(/no approver is a member/);
  });
});

describe('describeRequest', () => {
  it("names every state with the card's own badge", () => {
    for (const state of Object.keys(STATES) as RequestState[]) {
      const line = describeRequest(request('LR-AAAAAA', state, 1));
      expect(
        line.startsWith(`LR-AAAAAA ${stateBadgeText(state)}`) ||
          /^LR-AAAAAA (Approved|Rejected) by /.test(line),
      ).toBe(true);
    }
    expect(describeRequest(request('LR-AAAAAA', 'Succeeded', 1))).toMatch(
      /^LR-AAAAAA Succeeded \(Approved by /,
    );
    expect(describeRequest(request('LR-AAAAAA', 'InProgress', 1))).toMatch(/^LR-AAAAAA Running /);
  });

  it('headlines a script that exited non-zero as the card does', () => {
    const failed = fixtureRequest('Succeeded');
    failed.progress[0] = {
      ...failed.progress[0]!,
      transcript: summariseTranscript(
        JSON.stringify({
          script_name: 'minidump.ps1',
          exit_code: 1,
          script_output: '',
          script_errors: 'denied',
        }),
      ),
    };
    expect(describeRequest({ ...failed, card: { activityId: 'x' } })).toContain(
      `${failed.id} ${stateLabel(failed)}`,
    );
    expect(stateLabel(failed)).not.toBe('Succeeded');
  });
});

describe('messageActivityAs', () => {
  const template = {
    serviceUrl: 'http://localhost:56150/_connector',
    channelId: 'msteams',
    id: 'template-id',
    type: '<custom-activity-type>',
    recipient: { id: '28:lr-bot-local', name: 'LR Bot' },
    conversation: { id: '19:incident-bridge-chat@thread.v2', isGroup: true, tenantId: 'tenant-1' },
    from: { id: '29:1alex-lead' },
  };

  it('sends the text from the teammate, mentioning the bot the way Teams does', () => {
    const riley = { teamsId: '29:1riley-analyst', name: 'Riley Analyst', aadObjectId: 'oid-riley' };
    const activity = messageActivityAs(template, riley, ' run whoami.ps1 on desktop-test ');
    expect(activity).toMatchObject({
      type: 'message',
      serviceUrl: template.serviceUrl,
      conversation: template.conversation,
      recipient: template.recipient,
      from: { id: riley.teamsId, name: riley.name, aadObjectId: 'oid-riley' },
      text: '<at>LR Bot</at> run whoami.ps1 on desktop-test',
      entities: [
        { type: 'mention', mentioned: { id: '28:lr-bot-local', name: 'LR Bot' }, text: '<at>LR Bot</at>' },
      ],
      channelData: { tenant: { id: 'tenant-1' } },
    });
    expect(activity).not.toHaveProperty('id');
  });
});
