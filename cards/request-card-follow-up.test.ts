// The follow-up parts of the request card: Collect buttons on a finished card for files its output named, what became
// of them, the pre-approval button and line, and a follow-up card naming its parent.
import { describe, expect, it } from 'vitest';
import type { AdaptiveCard } from './adaptive-card.js';
import { CARD_VERBS } from './card-verbs.js';
import {
  APPROVERS,
  FIXTURE_NOW,
  fixtureDumpWithoutGetFile,
  fixtureFollowUp,
  fixtureOptions,
  fixtureRequest,
  REQUESTER,
} from './fixtures.js';
import { type CardViewer, renderRequestCard } from './request-card.js';

const DUMP = 'C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip';
const WINDOW = 15 * 60_000;

type Action = { title?: string; verb?: string; data?: Record<string, unknown> };

function actions(card: AdaptiveCard): Action[] {
  return ((card as { actions?: Action[] }).actions ?? []).filter(Boolean);
}

function text(card: AdaptiveCard): string {
  return JSON.stringify(card);
}

const render = (request = fixtureDumpWithoutGetFile(), viewer: CardViewer = 'everyone', windowMs?: number) =>
  renderRequestCard(
    request,
    fixtureOptions({ viewer, ...(windowMs !== undefined ? { followUpPreApprovalMs: windowMs } : {}) }),
  );

describe('Collect buttons', () => {
  it('offers the file the output named to everyone, carrying the path, and no pre-approval while the setting is off', () => {
    for (const viewer of ['everyone', 'approver', 'requester', 'other'] as const) {
      const collect = actions(render(undefined, viewer)).find((a) => a.verb === CARD_VERBS.followUp);
      expect(collect).toMatchObject({
        title: 'Collect OfficeClickToRun.dmp.zip',
        data: { requestId: 'LR-7K3F9Q', path: DUMP, verb: CARD_VERBS.followUp },
      });
    }
    expect(actions(render()).some((a) => a.verb === CARD_VERBS.preApproveFollowUps)).toBe(false);
  });

  it('offers nothing before the request finished, nor a file the request already collected', () => {
    const running = fixtureDumpWithoutGetFile({ state: 'InProgress' });
    expect(actions(render(running)).some((a) => a.verb === CARD_VERBS.followUp)).toBe(false);
    // The two-command fixture collected the dump itself.
    expect(actions(render(fixtureRequest('Succeeded'))).some((a) => a.verb === CARD_VERBS.followUp)).toBe(
      false,
    );
  });

  it('replaces the button of a file asked for with which request took it', () => {
    const asked = fixtureDumpWithoutGetFile({
      followUps: [{ path: DUMP, requestId: 'LR-Q8M2TD', by: REQUESTER, at: FIXTURE_NOW.toISOString() }],
    });
    const card = render(asked, 'everyone', WINDOW);
    expect(actions(card).some((a) => a.verb === CARD_VERBS.followUp)).toBe(false);
    expect(text(card)).toContain(
      `Collect ${DUMP.replaceAll('\\', '\\\\')}: asked as LR-Q8M2TD by Riya Patel at 09:20 UTC`,
    );
    // Nothing left to pre-approve.
    expect(actions(card).some((a) => a.verb === CARD_VERBS.preApproveFollowUps)).toBe(false);
  });
});

describe('pre-approval of follow-ups', () => {
  it('offers "Pre-approve follow-ups for 15 min" to approvers on the finished card when the setting is on', () => {
    expect(
      actions(render(undefined, 'everyone', WINDOW)).find((a) => a.verb === CARD_VERBS.preApproveFollowUps),
    ).toMatchObject({
      title: 'Pre-approve follow-ups for 15 min',
      data: { requestId: 'LR-7K3F9Q' },
    });
    expect(
      actions(render(undefined, 'approver', WINDOW)).some((a) => a.verb === CARD_VERBS.preApproveFollowUps),
    ).toBe(true);
    for (const viewer of ['requester', 'other'] as const)
      expect(
        actions(render(undefined, viewer, WINDOW)).some((a) => a.verb === CARD_VERBS.preApproveFollowUps),
      ).toBe(false);
  });

  it('says who pre-approved until when, and that it ended once it has', () => {
    const until = new Date(FIXTURE_NOW.getTime() + WINDOW).toISOString();
    const pre = { by: APPROVERS[0]!, at: FIXTURE_NOW.toISOString(), until };
    const active = render(fixtureDumpWithoutGetFile({ followUpPreApproval: pre }), 'everyone', WINDOW);
    expect(text(active)).toContain(
      'Follow-ups pre-approved by Marcus Chen until 09:35 UTC: a Collect click is approved at once.',
    );
    expect(actions(active).some((a) => a.verb === CARD_VERBS.preApproveFollowUps)).toBe(false);
    const ended = renderRequestCard(
      fixtureDumpWithoutGetFile({ followUpPreApproval: pre }),
      fixtureOptions({
        viewer: 'everyone',
        followUpPreApprovalMs: WINDOW,
        now: new Date(Date.parse(until) + 1),
      }),
    );
    expect(text(ended)).toContain('Pre-approval of follow-ups by Marcus Chen ended at 09:35 UTC.');
    expect(actions(ended).some((a) => a.verb === CARD_VERBS.preApproveFollowUps)).toBe(true);
  });
});

describe('a follow-up card', () => {
  it('names its parent, and a pre-approved decision says so', () => {
    expect(text(render(fixtureFollowUp()))).toContain(
      'Follow-up of LR-7K3F9Q: collects a file its output named.',
    );
    const preApproved = fixtureFollowUp('Approved', {
      decision: {
        kind: 'approved',
        by: APPROVERS[0]!,
        at: FIXTURE_NOW.toISOString(),
        preApprovedFor: 'LR-7K3F9Q',
      },
    });
    expect(text(render(preApproved))).toContain(
      'Pre-approved by Marcus Chen (follow-up of LR-7K3F9Q) at 09:20 UTC — queued',
    );
  });
});
