// The demo's view of the bot's requests: which card a terminal `approve` acts on, the playground invoke that
// clicks it as another user, the message a teammate sends from the terminal, and the one-line progress reports
// the terminal prints (in the card's own state words).
import { CARD_VERBS, REJECT_REASON_INPUT_ID } from '../cards/card-verbs.js';
import { stateLabel } from '../cards/request-card.js';
import { describeCommand } from '../core/commands.js';
import type { LiveResponseRequest, RequestState } from '../core/request.js';

export type DemoDecision = { verb: 'approve' } | { verb: 'reject'; reason?: string };

/** Someone the demo can click as: a member of the mock tenant who is a configured approver. */
export interface DemoApprover {
  teamsId: string;
  name: string;
}

export type RequestWithCard = LiveResponseRequest & { card: { activityId: string } };

export type PickedRequest =
  | { ok: true; request: RequestWithCard; approver: DemoApprover }
  | { ok: false; message: string };

function hasCard(request: LiveResponseRequest): request is RequestWithCard {
  return Boolean(request.card?.activityId);
}

/** The first of `approvers` the bot found in the request's conversation: only a member can click its card. */
export function approverIn(
  request: LiveResponseRequest,
  approvers: readonly DemoApprover[],
): DemoApprover | undefined {
  const members = new Set(request.approvers.map((person) => person.teamsId));
  return approvers.find((candidate) => members.has(candidate.teamsId));
}

/**
 * The request a decision applies to — the one named, or the newest awaiting approval — and who clicks its card
 * (see approverIn). A named request in another state is still picked, so the bot itself answers (e.g. "already
 * decided") as Teams would show it.
 */
export function pickRequest(
  requests: readonly LiveResponseRequest[],
  approvers: readonly DemoApprover[],
  requestId?: string,
): PickedRequest {
  let request: LiveResponseRequest | undefined;
  if (requestId) {
    request = requests.find((candidate) => candidate.id === requestId);
    if (!request)
      return { ok: false, message: `There is no request ${requestId} in this demo. Type "list".` };
  } else {
    request = requests
      .filter((candidate) => candidate.state === 'AwaitingApproval')
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
    if (!request)
      return {
        ok: false,
        message: 'No request is awaiting approval. Ask for one in the playground first, then decide it here.',
      };
  }
  if (!hasCard(request))
    return { ok: false, message: `${request.id} has no card yet; try again in a moment.` };
  const approver = approverIn(request, approvers);
  if (!approver)
    return {
      ok: false,
      message:
        `${request.id} was asked where no approver can see it (the bot said so under its card). ` +
        'Ask in the "Incident bridge" group chat or a "Security Operations" channel instead, mentioning @LR Bot.',
    };
  return { ok: true, request, approver };
}

/** The body of the playground's `POST /_conversation/v1/invoke`: a click on the card's button by `fromTeamsId`. */
export function cardActionInvoke(request: RequestWithCard, fromTeamsId: string, decision: DemoDecision) {
  const verb = decision.verb === 'approve' ? CARD_VERBS.approve : CARD_VERBS.reject;
  const reason = decision.verb === 'reject' ? decision.reason : undefined;
  return {
    name: 'adaptiveCard/action',
    from: { id: fromTeamsId },
    conversation: { id: request.conversationId },
    replyToId: request.card.activityId,
    value: {
      action: {
        type: 'Action.Execute',
        verb,
        // What Teams sends: the button's data, with the card's inputs merged in.
        data: { requestId: request.id, verb, ...(reason ? { [REJECT_REASON_INPUT_ID]: reason } : {}) },
      },
      trigger: 'manual',
    },
  };
}

/** Texts of the card's notices (italic text, e.g. "LR-… was already approved by …"), depth first. */
function noticesIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(noticesIn);
  if (!node || typeof node !== 'object') return [];
  const element = node as Record<string, unknown>;
  const own =
    (element.type === 'TextRun' || element.type === 'TextBlock') &&
    element.italic === true &&
    typeof element.text === 'string'
      ? [element.text]
      : [];
  return [...own, ...Object.values(element).flatMap(noticesIn)];
}

/** What the bot answered to the click, in one line: its message, or the card with any notice it carries. */
export function describeInvokeAnswer(body: unknown): string {
  const answer = (body ?? {}) as { statusCode?: unknown; type?: unknown; value?: unknown };
  if (answer.type === 'application/vnd.microsoft.activity.message' && typeof answer.value === 'string')
    return `the bot answered: ${answer.value}`;
  if (answer.type === 'application/vnd.microsoft.card.adaptive') {
    const notices = noticesIn(answer.value);
    return notices.length > 0
      ? `the bot answered with the card, noting: ${notices.join(' ')}`
      : 'the bot answered with the updated card';
  }
  return `the bot answered ${JSON.stringify(body).slice(0, 300)}`;
}

/**
 * One line about a request, in the card's words, e.g.
 * `LR-7K3F9Q Running (Approved by Alex Lead) — run minidump.ps1 OfficeClickToRun on desktop-test.contoso.local, asked by Riley Analyst`.
 */
export function describeRequest(request: LiveResponseRequest): string {
  const commands = request.commands.map(describeCommand).join(' then ');
  const decision = request.decision;
  // The card's headline badge, with its decision line where that says more: "Approved by X — queued",
  // "Rejected by X: reason", "Running (Approved by X)".
  let state = stateLabel(request);
  if (request.state === 'Rejected' && decision)
    state = `Rejected by ${decision.by.name}${decision.reason ? `: ${decision.reason}` : ''}`;
  else if (request.state === 'Approved' && decision) state = `Approved by ${decision.by.name} — queued`;
  else if (decision?.kind === 'approved') state += ` (Approved by ${decision.by.name})`;
  const failure = request.failure ? `: ${request.failure.message}` : '';
  return `${request.id} ${state}${failure} — ${commands} on ${request.device.computerDnsName}, asked by ${request.requester.name}`;
}

/**
 * Lines for requests that are new or changed state since `seen` (id → state), and the states now.
 * A request that starts waiting gets a hint on how to decide it from the terminal.
 */
export function progressReport(
  seen: ReadonlyMap<string, RequestState>,
  requests: readonly LiveResponseRequest[],
  approvers: readonly DemoApprover[],
  /** The Playground page's user, when that is an approver (`--as-approver`): the hint says to click. */
  pageApprover?: DemoApprover,
): { lines: string[]; seen: Map<string, RequestState> } {
  const next = new Map(seen);
  const lines: string[] = [];
  const oldestFirst = [...requests].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  for (const request of oldestFirst) {
    if (seen.get(request.id) === request.state) continue;
    next.set(request.id, request.state);
    lines.push(describeRequest(request));
    if (request.state !== 'AwaitingApproval') continue;
    const approver = approverIn(request, approvers);
    const inPage = pageApprover && approverIn(request, [pageApprover]);
    lines.push(
      inPage
        ? `  → click Approve (or Reject) on its card in the playground page, where you are ${inPage.name}.`
        : approver
          ? `  → type "approve" (or "reject <reason>") here to decide it as ${approver.name}.`
          : '  → no approver is a member of that chat, so nobody can approve it there: ask in the "Incident bridge" group chat or a channel.',
    );
  }
  return { lines, seen: next };
}

/** The start of a message activity as the Playground would send it into a conversation (its own template). */
export interface ActivityTemplate {
  serviceUrl: string;
  channelId: string;
  conversation: { id: string; tenantId?: string; [key: string]: unknown };
  recipient: { id: string; name?: string };
  [key: string]: unknown;
}

/**
 * The body of the Playground's `POST /_internal/v1/customActivities` (its "Mock an Activity"): `text` sent by
 * `from`, mentioning the bot as Teams does in a group chat or channel. The Playground's own message API always
 * sends as its current user; a custom activity is the one way it lets another member of the mock tenant speak.
 */
export function messageActivityAs(
  template: ActivityTemplate,
  from: { teamsId: string; name: string; aadObjectId: string },
  text: string,
): Record<string, unknown> {
  const { id: _id, type: _type, ...base } = template;
  const botName = template.recipient.name ?? 'LR Bot';
  const mention = `<at>${botName}</at>`;
  return {
    ...base,
    type: 'message',
    timestamp: new Date().toISOString(),
    from: { id: from.teamsId, name: from.name, aadObjectId: from.aadObjectId },
    text: `${mention} ${text.trim()}`,
    textFormat: 'plain',
    locale: 'en-US',
    entities: [{ type: 'mention', mentioned: { id: template.recipient.id, name: botName }, text: mention }],
    channelData: { tenant: { id: template.conversation.tenantId } },
  };
}
