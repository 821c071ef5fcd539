import { describe, expect, it } from 'vitest';
import { CARD_VERBS } from '../cards/card-verbs.js';
import { APPROVERS, fixtureRequest } from '../cards/fixtures.js';
import type { LiveResponseRequest, RequestState } from '../core/request.js';
import {
  cardActionInvoke,
  type DemoApprover,
  describeInvokeAnswer,
  pickRequest,
  progressReport,
  type RequestWithCard,
} from './demo-requests.js';

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
    expect(first.lines[0]).toMatch(/^LR-AAAAAA awaiting approval — run minidump.ps1 OfficeClickToRun then /);
    expect(first.lines[1]).toContain(`decide it as ${LEAD.name}`);
    expect(first.lines[2]).toMatch(/^LR-BBBBBB running \(approved by /);

    const again = progressReport(
      first.seen,
      [request('LR-BBBBBB', 'InProgress', 3), request('LR-AAAAAA', 'Approved', 1)],
      [LEAD],
    );
    expect(again.lines).toEqual([expect.stringMatching(/^LR-AAAAAA approved, queued/)]);
  });

  it('names who rejected and why', () => {
    const report = progressReport(new Map(), [request('LR-AAAAAA', 'Rejected', 1)], [LEAD]);
    expect(report.lines).toEqual([
      expect.stringMatching(/^LR-AAAAAA rejected by .+ \("Collect with the EDR package instead"\) — /),
    ]);
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
