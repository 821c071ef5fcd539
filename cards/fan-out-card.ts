// The card of a fan-out (one request for several devices): one approval for all of them, then a row per device with
// its own state, exit code, links and Cancel, and a summary line ("7 of 9 succeeded, 1 failed, 1 timed out"). Rows
// are drawn with less and less detail until the card fits Teams' smallest message size; whatever cannot be drawn is
// counted and left to the `status` reply, which lists every device.
import { describeCommand } from '../core/commands.js';
import { ordinal } from '../core/estimate-start.js';
import { countFanOut, type FanOutTarget, loadChildren, summaryLine } from '../core/fan-out.js';
import { describeOnCall } from '../core/on-call.js';
import { isFinal, type LiveResponseRequest, type RequestState } from '../core/request.js';
import {
  type AdaptiveCard,
  CARD_BYTES_TARGET,
  cardSizeBytes,
  expandCardTemplate,
  loadCardTemplate,
} from './adaptive-card.js';
import { type CardClock, createCardClock } from './card-time.js';
import { CARD_VERBS, REJECT_REASON_INPUT_ID, REJECT_REASON_MAX_LENGTH } from './card-verbs.js';
import {
  type CardHeadData,
  type ContainerStyle,
  downloadUrl,
  mentionEntity,
  mentionText,
  type RequestCardOptions,
  renderRequestCard,
  type StatusLine,
  stateBadgeText,
  type TextColor,
  uniquePeople,
} from './request-card.js';

/** One device's row. Every field is always set: the template must never meet a missing one. */
export interface FanOutRowView {
  name: string;
  detail: string;
  detailColor: TextColor;
  stateText: string;
  stateColor: TextColor;
  hasExitCode: boolean;
  exitCodeText: string;
  exitCodeStyle: ContainerStyle;
  hasActions: boolean;
  links: Array<{ title: string; url: string }>;
  hasCancel: boolean;
  cancelTitle: string;
  cancelVerb: string;
  childId: string;
}

/** What `templates/fan-out-card.json` binds to. */
export interface FanOutCardData extends CardHeadData {
  commandsText: string;
  devicesHeading: string;
  rows: FanOutRowView[];
  hasMoreRows: boolean;
  moreRowsText: string;
  approval: {
    visible: boolean;
    waitingText: string;
    expiresText: string;
    showRejectReason: boolean;
    rejectReasonId: string;
    rejectReasonMaxLength: number;
    rejectReasonPlaceholder: string;
  };
  approve: { visible: boolean };
  reject: { visible: boolean };
  cancel: { visible: boolean; title: string };
  /** New links for every device's results (a device's links last 30 minutes). */
  freshLinks: { visible: boolean };
  mentions: ReturnType<typeof mentionEntity>[];
  hasRefresh: boolean;
  refreshUserIds: string[];
}

/** How much each row may carry; tightened step by step until the card fits. */
interface RowBudget {
  /** Rows drawn; the rest are counted in one line pointing at `status`. */
  maxRows: number;
  links: boolean;
  /** Cancel buttons for devices still running. */
  cancels: boolean;
  detailChars: number;
}

const ROW_BUDGETS: readonly RowBudget[] = [
  { maxRows: 100, links: true, cancels: true, detailChars: 300 },
  { maxRows: 100, links: true, cancels: true, detailChars: 100 },
  { maxRows: 100, links: false, cancels: true, detailChars: 80 },
  { maxRows: 100, links: false, cancels: false, detailChars: 60 },
  { maxRows: 12, links: false, cancels: false, detailChars: 60 },
  { maxRows: 5, links: false, cancels: false, detailChars: 40 },
];

const FAN_OUT_TEMPLATE = loadCardTemplate('fan-out-card.json');
const MAX_REFRESH_USERS = 60;
const RUNNING: readonly RequestState[] = ['Approved', 'Submitting', 'Pending', 'InProgress'];

const STATE_TEXT: Record<RequestState, { text: string; color: TextColor }> = {
  AwaitingApproval: { text: 'Will run', color: 'Default' },
  Approved: { text: 'Queued', color: 'Default' },
  Submitting: { text: 'Sending', color: 'Default' },
  Pending: { text: 'Pending', color: 'Default' },
  InProgress: { text: 'Running', color: 'Accent' },
  Succeeded: { text: 'Succeeded', color: 'Good' },
  Failed: { text: 'Failed', color: 'Attention' },
  TimeOut: { text: 'Timed out', color: 'Attention' },
  Cancelled: { text: 'Cancelled', color: 'Warning' },
  Rejected: { text: 'Rejected', color: 'Warning' },
  Expired: { text: 'Expired', color: 'Warning' },
};

/**
 * The card a request shows in Teams: a fan-out's card (with its devices' requests read from the store), or the single
 * request's card. A device request of a fan-out shows its parent's card: that is the card its buttons are on.
 */
export async function renderCardOf(
  request: LiveResponseRequest,
  requests: { get(id: string): Promise<LiveResponseRequest | null> },
  options: RequestCardOptions,
  queuePlaceOf?: (requestId: string) => Promise<QueuePlaceView>,
): Promise<AdaptiveCard> {
  const parent = request.parentId ? ((await requests.get(request.parentId)) ?? request) : request;
  if (!parent.fanOut) return renderRequestCard(parent, options);
  const children = await loadChildren(requests, parent);
  // Devices waiting for the run budget say where they stand in the line, as a single request's card does.
  const queued = [...children.values()].filter((child) => child.state === 'Approved');
  const places = new Map<string, QueuePlaceView>();
  if (queuePlaceOf) for (const child of queued) places.set(child.id, await queuePlaceOf(child.id));
  return renderFanOutCard(parent, children, { ...options, queuePlaces: places });
}

/** Where a queued device stands: its place in the line and when the run budget should let it go. */
export interface QueuePlaceView {
  queuePosition?: number;
  queueStartsAt?: string;
}

/** The fan-out card's options: a request card's, and the queued devices' places. */
export type FanOutCardOptions = RequestCardOptions & { queuePlaces?: ReadonlyMap<string, QueuePlaceView> };

/** Renders a fan-out parent with its device requests (id → request; missing ones are not created yet). */
export function renderFanOutCard(
  parent: LiveResponseRequest,
  children: ReadonlyMap<string, LiveResponseRequest>,
  options: FanOutCardOptions,
): AdaptiveCard {
  let card: AdaptiveCard | undefined;
  for (const budget of ROW_BUDGETS) {
    card = expandCardTemplate(FAN_OUT_TEMPLATE, buildFanOutCardData(parent, children, options, budget));
    if (cardSizeBytes(card) <= CARD_BYTES_TARGET) return card;
  }
  return card!;
}

export function buildFanOutCardData(
  parent: LiveResponseRequest,
  children: ReadonlyMap<string, LiveResponseRequest>,
  options: FanOutCardOptions,
  budget: RowBudget = ROW_BUDGETS[0]!,
): FanOutCardData {
  const clock = createCardClock(options.now, options.timeZoneLabel);
  const { viewer } = options;
  const targets = parent.fanOut?.targets ?? [];
  const awaiting = parent.state === 'AwaitingApproval';
  const decides = awaiting && (viewer === 'approver' || viewer === 'everyone');
  const approvers = uniquePeople(parent.approvers);
  const included = targets.filter((t) => !t.excluded).length;
  const leftOut = targets.length - included;
  const shown = targets.slice(0, budget.maxRows);
  const running = !isFinal(parent.state) && !awaiting;
  const source = parent.fanOut?.source;
  return {
    requestId: parent.id,
    verbs: CARD_VERBS,
    badge: badgeOf(parent, children),
    title: `Live response ${parent.id}`,
    createdText: clock.format(parent.createdAt),
    requesterName: clip(parent.requester.name, 200),
    hasReason: Boolean(parent.reason),
    reason: clip(parent.reason ?? '', 300),
    statusLines: statusLines(parent, children, options, clock),
    commandsText: `${parent.commands.map(describeCommand).join(' then ')} on ${included} device${included === 1 ? '' : 's'}${source?.kind === 'tag' ? ` tagged ${source.tag} in Defender` : ''}`,
    devicesHeading: `Devices: ${included} included${leftOut > 0 ? `, ${leftOut} left out` : ''}`,
    rows: shown.map((target) =>
      rowView(
        target,
        children,
        options,
        budget,
        viewer,
        isFinal(parent.state) && parent.decision?.kind !== 'approved',
      ),
    ),
    hasMoreRows: targets.length > shown.length,
    moreRowsText: `${targets.length - shown.length} more device${targets.length - shown.length === 1 ? '' : 's'} not shown to fit the card: type \`status ${parent.id}\` for every device.`,
    approval: {
      visible: awaiting,
      waitingText: [
        approvers.length > 0
          ? `Waiting for approval from ${approvers.map(mentionText).join(', ')}.`
          : 'Waiting for approval from a configured approver.',
        included === 1
          ? 'One approval runs it on the included device.'
          : `One approval runs it on all ${included} included devices.`,
        ...onCallLines(parent, clock).map((text) => clip(text, 300)),
      ].join('\n\n'),
      expiresText: `Expires ${clock.format(parent.expiresAt)}`,
      showRejectReason: decides,
      rejectReasonId: REJECT_REASON_INPUT_ID,
      rejectReasonMaxLength: REJECT_REASON_MAX_LENGTH,
      rejectReasonPlaceholder: 'Reason (optional, shown on the card)',
    },
    approve: { visible: decides },
    reject: { visible: decides },
    cancel: {
      visible:
        (awaiting && (viewer === 'requester' || viewer === 'everyone')) ||
        (running && !parent.cancellation && viewer !== 'other'),
      title: awaiting ? 'Cancel' : 'Cancel all',
    },
    freshLinks: {
      visible: [...children.values()].some((child) => child.progress.some((p) => p.link !== undefined)),
    },
    mentions: awaiting ? approvers.map(mentionEntity) : [],
    hasRefresh: !isFinal(parent.state),
    refreshUserIds: uniquePeople([parent.requester, ...parent.approvers])
      .map((p) => p.teamsId)
      .slice(0, MAX_REFRESH_USERS),
  };
}

/** Who is on call and from which source, and the escalation once it happened (as the single request's card). */
function onCallLines(request: LiveResponseRequest, clock: CardClock): string[] {
  return (request.onCall ?? []).flatMap((tier) =>
    tier.tier > 1 && request.escalatedAt
      ? [
          `Escalated at ${clock.format(request.escalatedAt)}: nobody decided in time, so the next tier is asked too.`,
          ...describeOnCall(tier),
        ]
      : describeOnCall(tier),
  );
}

function badgeOf(
  parent: LiveResponseRequest,
  children: ReadonlyMap<string, LiveResponseRequest>,
): { text: string; style: ContainerStyle } {
  const stillRunning = countFanOut(parent, children).running;
  if (parent.state === 'Approved')
    return parent.cancellation
      ? { text: 'Cancelling', style: 'warning' }
      : { text: stillRunning > 0 ? 'Running' : 'Finishing', style: 'accent' };
  const style: Record<RequestState, ContainerStyle> = {
    AwaitingApproval: 'warning',
    Approved: 'accent',
    Submitting: 'accent',
    Pending: 'accent',
    InProgress: 'accent',
    Succeeded: 'good',
    Failed: 'attention',
    TimeOut: 'attention',
    Cancelled: 'emphasis',
    Rejected: 'emphasis',
    Expired: 'emphasis',
  };
  if (parent.state === 'Succeeded' && countFanOut(parent, children).cancelled > 0)
    return { text: 'Finished', style: 'emphasis' };
  const text = parent.state === 'Failed' ? 'Finished with failures' : stateBadgeText(parent.state);
  return { text, style: style[parent.state] };
}

function statusLines(
  parent: LiveResponseRequest,
  children: ReadonlyMap<string, LiveResponseRequest>,
  options: RequestCardOptions,
  clock: CardClock,
): StatusLine[] {
  const lines: StatusLine[] = [];
  if (options.refusal) lines.push(line(clip(options.refusal, 300), 'attention'));
  const { decision, cancellation } = parent;
  if (decision?.kind === 'approved')
    lines.push(line(`Approved by ${clip(decision.by.name, 100)} at ${clock.format(decision.at)}`));
  if (decision?.kind === 'rejected')
    lines.push(
      line(
        `Rejected by ${clip(decision.by.name, 100)}${decision.reason ? `: ${clip(decision.reason, 300)}` : ''}`,
      ),
    );
  if (parent.state === 'Expired')
    lines.push(line(`Expired — no decision by ${clock.format(parent.expiresAt)}`));
  if (cancellation)
    lines.push(
      cancellation.confirmedAt || isFinal(parent.state)
        ? line(`Cancelled by ${clip(cancellation.by.name, 100)} at ${clock.format(cancellation.at)}`)
        : line(
            `Cancel all asked by ${clip(cancellation.by.name, 100)} at ${clock.format(cancellation.at)} — stopping each device`,
            'warning',
          ),
    );
  if (decision?.kind === 'approved') {
    const counts = countFanOut(parent, children);
    lines.push(line(summaryLine(counts), counts.failed + counts.timedOut > 0 ? 'attention' : 'bold'));
  }
  if (parent.finishedAt && isFinal(parent.state))
    lines.push(line(`Finished at ${clock.format(parent.finishedAt)}`, 'subtle'));
  if (parent.notice) lines.push(line(clip(parent.notice, 300), 'subtle'));
  return lines;
}

function rowView(
  target: FanOutTarget,
  children: ReadonlyMap<string, LiveResponseRequest>,
  options: FanOutCardOptions,
  budget: RowBudget,
  viewer: RequestCardOptions['viewer'],
  ended: boolean,
): FanOutRowView {
  const name = clip(target.device?.computerDnsName ?? target.name, 120);
  const facts = [target.device?.osPlatform, target.device?.healthStatus].filter(Boolean).join(' · ');
  const base: FanOutRowView = {
    name,
    detail: facts,
    detailColor: 'Default',
    stateText: 'Will run',
    stateColor: 'Default',
    hasExitCode: false,
    exitCodeText: '',
    exitCodeStyle: 'emphasis',
    hasActions: false,
    links: [],
    hasCancel: false,
    cancelTitle: '',
    cancelVerb: CARD_VERBS.cancel,
    childId: target.childId ?? '',
  };
  if (target.excluded)
    return {
      ...base,
      detail: clip(target.excluded, budget.detailChars),
      detailColor: 'Warning',
      stateText: 'Left out',
      stateColor: 'Warning',
    };
  const child = target.childId ? children.get(target.childId) : undefined;
  // Rejected, expired or cancelled before approval: nothing ran on any device.
  if (!child && ended) return { ...base, stateText: 'Not run', stateColor: 'Default' };
  if (!child) return base;
  const state = STATE_TEXT[child.state];
  const exit = child.progress.find((p) => p.transcript)?.transcript?.exitCode;
  const links = budget.links
    ? child.commands.flatMap((command, index) => {
        const link = child.progress[index]?.link;
        if (!link || options.now.getTime() >= Date.parse(link.expiresAt)) return [];
        const what = command.type === 'GetFile' ? 'File' : 'Transcript';
        const url = options.tabDeepLink
          ? options.tabDeepLink(child.id)
          : downloadUrl(options.publicBaseUrl, child.id, index, link.id);
        return [{ title: child.commands.length > 1 ? `${what} ${index + 1}` : what, url }];
      })
    : [];
  const hasCancel =
    budget.cancels && RUNNING.includes(child.state) && !child.cancellation && viewer !== 'other';
  const failure = child.failure ? `${child.failure.code}: ${child.failure.message}` : '';
  const cancelled = child.cancellation ? `cancelled by ${child.cancellation.by.name}` : '';
  // A queued device says what it waits for (a session, the device, the run budget), as a single request's card does.
  const waiting = RUNNING.includes(child.state)
    ? (child.notice ?? queueText(options.queuePlaces?.get(child.id), options))
    : '';
  const detail = [facts, failure || cancelled || waiting, child.id].filter(Boolean).join(' — ');
  return {
    ...base,
    detail: clip(detail, budget.detailChars),
    detailColor: failure ? 'Attention' : 'Default',
    stateText: child.cancellation && !isFinal(child.state) ? 'Cancelling' : state.text,
    stateColor: state.color,
    hasExitCode: exit !== undefined && exit !== null,
    exitCodeText: exit === undefined || exit === null ? '' : `Exit code ${exit}`,
    exitCodeStyle: exit === 0 ? 'good' : 'attention',
    hasActions: links.length > 0 || hasCancel,
    links,
    hasCancel,
    cancelTitle: `Cancel ${name.split('.')[0]}`,
    childId: child.id,
  };
}

/** "3rd in line, starts about 14:05 UTC", or '' when the device is not in the line. */
function queueText(place: QueuePlaceView | undefined, options: RequestCardOptions): string {
  if (!place?.queuePosition) return '';
  const where = `${ordinal(place.queuePosition)} in line`;
  if (!place.queueStartsAt) return where;
  // A slot free within seconds: a time of day would read as already late.
  if (Date.parse(place.queueStartsAt) - options.now.getTime() < 5_000)
    return `${where}, goes to Defender now`;
  const clock = createCardClock(options.now, options.timeZoneLabel);
  return `${where}, starts about ${clock.format(place.queueStartsAt)}`;
}

type Tone = 'default' | 'subtle' | 'attention' | 'warning' | 'bold';

function line(text: string, tone: Tone = 'default'): StatusLine {
  return {
    text,
    color: tone === 'attention' ? 'Attention' : tone === 'warning' ? 'Warning' : 'Default',
    isSubtle: tone === 'subtle',
    italic: false,
    weight: tone === 'attention' || tone === 'bold' ? 'Bolder' : 'Default',
  };
}

function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 1)).trimEnd()}…`;
}
