// The live response request card: computes the card's data from a request, binds it to the template, keeps it small.
import { describeCommand } from '../core/commands.js';
import { ordinal } from '../core/estimate-start.js';
import { findFollowUpPaths } from '../core/find-followup-paths.js';
import { describeOnCall } from '../core/on-call.js';
import type {
  CommandProgress,
  DeviceFacts,
  LiveResponseRequest,
  Person,
  RequestState,
} from '../core/request.js';
import { isFinal } from '../core/request.js';
import { deadlineWords } from '../core/request-deadlines.js';
import { formatByteSize } from '../core/result-file-name.js';
import { DEFAULT_TRANSCRIPT_LIMITS, truncateOnLine } from '../core/summarise-transcript.js';
import {
  type AdaptiveCard,
  CARD_BYTES_TARGET,
  cardSizeBytes,
  expandCardTemplate,
  loadCardTemplate,
  type MentionEntity,
} from './adaptive-card.js';
import { type CardClock, createCardClock } from './card-time.js';
import { CARD_VERBS, REJECT_REASON_INPUT_ID, REJECT_REASON_MAX_LENGTH } from './card-verbs.js';

export type { AdaptiveCard } from './adaptive-card.js';
export { cardSizeBytes, MAX_CARD_BYTES } from './adaptive-card.js';

/**
 * Whose view of the card to render. `everyone` is the card as posted: every client shows it as it is (Teams ignores
 * `isEnabled`, clients without refresh never ask for a user's view), so it carries every button someone may use and
 * the bot refuses a click from anyone else. Teams' refresh asks for each approver's and the requester's own view,
 * which shows only their buttons; `other` is what a click from someone else gets back.
 */
export type CardViewer = 'everyone' | 'approver' | 'requester' | 'other';

export interface RequestCardOptions {
  /** Which user-specific view to render. */
  viewer: CardViewer;
  /** Reference time for "today", link expiry and the like. */
  now: Date;
  /** The bot's public URL; download buttons point at `${publicBaseUrl}/download/…`, never at Defender. */
  publicBaseUrl: string;
  /**
   * DOWNLOAD_MODE=sso: the Teams deep link to the tab at a request. Download buttons then open the tab in Teams
   * directly, where the file needs sign-in, instead of a browser that the bot's /download link would redirect.
   */
  tabDeepLink?: (requestId: string) => string;
  /** Position in the submit queue, shown while the request is Approved and waiting. */
  queuePosition?: number;
  /** When the run budget's windows let this place start (ISO), shown with the position. */
  queueStartsAt?: string;
  /** IANA time zone the card's times are written in and labelled with. Default `UTC`. */
  timeZoneLabel?: string;
  /** Why the bot refused this viewer's click: shown first, for them only (an invoke response card). */
  refusal?: string;
  /**
   * FOLLOWUP_PREAPPROVAL's window: a finished request's approvers get "Pre-approve follow-ups for <window>". Absent =
   * the setting is off, and no such button.
   */
  followUpPreApprovalMs?: number;
}

/** A "Collect <file>" button: a follow-up GetFile of a file the output named (anyone in the conversation may ask). */
export interface CollectButton {
  verb: string;
  title: string;
  requestId: string;
  path: string;
}

/** Text colours and container styles of the Adaptive Cards host config. */
export type TextColor = 'Default' | 'Accent' | 'Good' | 'Warning' | 'Attention';
export type ContainerStyle = 'emphasis' | 'accent' | 'good' | 'warning' | 'attention';

export interface StatusLine {
  text: string;
  color: TextColor;
  isSubtle: boolean;
  italic: boolean;
  weight: 'Default' | 'Bolder';
}

/** A button is shown to a viewer who may use it and left out otherwise: never drawn disabled, see CardViewer. */
export interface ButtonView {
  visible: boolean;
}

/**
 * One line of device text (script output, script errors, Defender's command errors). The template draws each as
 * its own RichTextBlock with one TextRun: one element per line keeps the line breaks in every client (a TextBlock's
 * markdown joins single newlines into one paragraph), and TextRun text is never read as markdown, so `- x`,
 * `1. x`, `**x**`, `_x_` and `[x](y)` show literally without escapes that some clients would print.
 */
export interface CardLine {
  text: string;
}

/** One command's block on the card. Every field is always set: the template must never meet a missing one. */
export interface CommandView {
  label: string;
  statusText: string;
  statusColor: TextColor;
  statusSubtle: boolean;
  hasNote: boolean;
  note: string;
  hasErrors: boolean;
  errorLines: CardLine[];
  hasTranscript: boolean;
  exitCodeText: string;
  exitCodeStyle: ContainerStyle;
  hasOutput: boolean;
  outputLines: CardLine[];
  hasEmptyOutputNote: boolean;
  emptyOutputNote: string;
  hasTranscriptErrors: boolean;
  transcriptErrorLines: CardLine[];
  hasSizeNote: boolean;
  sizeNote: string;
  hasResultError: boolean;
  resultError: string;
  hasLink: boolean;
  downloadUrl: string;
  linkNote: string;
  linkNoteColor: TextColor;
  linkNoteSubtle: boolean;
  /** Name and size of the result file, or that they come with the first download. */
  hasFileNote: boolean;
  fileNote: string;
  /** `SHA-256 <hex>` once the bot has read the file whole (chain of custody). */
  hasFileHash: boolean;
  fileHash: string;
}

/** The head every request card binds (single-device and fan-out templates alike). */
export interface CardHeadData {
  requestId: string;
  verbs: typeof CARD_VERBS;
  badge: { text: string; style: ContainerStyle };
  title: string;
  createdText: string;
  requesterName: string;
  hasReason: boolean;
  reason: string;
  statusLines: StatusLine[];
}

/** What `templates/request-card.json` binds to. All wording and formatting is done before binding. */
export interface RequestCardData extends CardHeadData {
  deviceFacts: { title: string; value: string }[];
  commandsHeading: string;
  commands: CommandView[];
  hasOmittedCommands: boolean;
  omittedCommandsText: string;
  approval: {
    visible: boolean;
    waitingText: string;
    expiresText: string;
    showRejectReason: boolean;
    rejectReasonId: string;
    rejectReasonMaxLength: number;
    rejectReasonPlaceholder: string;
  };
  approve: ButtonView;
  reject: ButtonView;
  cancel: ButtonView;
  freshLinks: ButtonView;
  /** Files the finished output named and nobody asked for yet. */
  collects: CollectButton[];
  preApprove: ButtonView & { title: string };
  /** What became of the offered files (asked as LR-…), the pre-approval, or whose follow-up this request is. */
  hasFollowUpLines: boolean;
  followUpLines: CardLine[];
  mentions: MentionEntity[];
  hasRefresh: boolean;
  refreshUserIds: string[];
}

/** How much free text the card may carry; tightened step by step until the card fits. */
export interface CardBudget {
  /** Characters of transcript output per command. */
  outputChars: number;
  /** Lines of transcript output per command; each line is its own element, ~110 bytes of JSON before its text. */
  outputLines: number;
  /** Characters of transcript errors per command. */
  transcriptErrorsChars: number;
  /** Lines of transcript errors per command. */
  transcriptErrorsLines: number;
  /** Characters of Defender's command errors per command. */
  commandErrorsChars: number;
  /** Lines of Defender's command errors per command. */
  commandErrorsLines: number;
  /** Characters of any other free text (reason, labels, notices, failure messages). */
  freeTextChars: number;
  /** Commands drawn on the card; the rest are counted in one line. */
  maxCommands: number;
}

/** The first step shows a summary as summariseTranscript made it; later steps trade output for fitting. */
export const CARD_BUDGETS: readonly CardBudget[] = [
  {
    outputChars: DEFAULT_TRANSCRIPT_LIMITS.outputChars,
    outputLines: 40,
    transcriptErrorsChars: DEFAULT_TRANSCRIPT_LIMITS.errorsChars,
    transcriptErrorsLines: 20,
    commandErrorsChars: 1000,
    commandErrorsLines: 10,
    freeTextChars: 1000,
    maxCommands: 50,
  },
  {
    outputChars: 1000,
    outputLines: 25,
    transcriptErrorsChars: 500,
    transcriptErrorsLines: 12,
    commandErrorsChars: 600,
    commandErrorsLines: 6,
    freeTextChars: 600,
    maxCommands: 50,
  },
  {
    outputChars: 600,
    outputLines: 15,
    transcriptErrorsChars: 300,
    transcriptErrorsLines: 8,
    commandErrorsChars: 400,
    commandErrorsLines: 5,
    freeTextChars: 400,
    maxCommands: 50,
  },
  {
    outputChars: 300,
    outputLines: 8,
    transcriptErrorsChars: 200,
    transcriptErrorsLines: 5,
    commandErrorsChars: 300,
    commandErrorsLines: 4,
    freeTextChars: 300,
    maxCommands: 50,
  },
  {
    outputChars: 120,
    outputLines: 4,
    transcriptErrorsChars: 100,
    transcriptErrorsLines: 3,
    commandErrorsChars: 200,
    commandErrorsLines: 3,
    freeTextChars: 200,
    maxCommands: 50,
  },
  {
    outputChars: 0,
    outputLines: 0,
    transcriptErrorsChars: 0,
    transcriptErrorsLines: 0,
    commandErrorsChars: 150,
    commandErrorsLines: 2,
    freeTextChars: 150,
    maxCommands: 30,
  },
  {
    outputChars: 0,
    outputLines: 0,
    transcriptErrorsChars: 0,
    transcriptErrorsLines: 0,
    commandErrorsChars: 80,
    commandErrorsLines: 1,
    freeTextChars: 100,
    maxCommands: 15,
  },
];

/** Stands in for an empty line so it keeps its height: renderers drop a TextRun with no text or only spaces. */
const BLANK_LINE = '\u00a0';

/** Most scripts whose non-zero exit code gets its own header line; the rest are counted in one more line. */
const MAX_EXIT_CODE_LINES = 3;

/** Teams accepts at most 60 users in `refresh.userIds`. */
const MAX_REFRESH_USERS = 60;

const SHORTENED_NOTE = 'output shortened to fit the card; download the transcript for the full text';

const BADGES: Record<RequestState, { text: string; style: ContainerStyle }> = {
  AwaitingApproval: { text: 'Awaiting approval', style: 'accent' },
  Approved: { text: 'Approved — queued', style: 'accent' },
  Submitting: { text: 'Submitting', style: 'accent' },
  Pending: { text: 'Pending', style: 'accent' },
  InProgress: { text: 'Running', style: 'accent' },
  Succeeded: { text: 'Succeeded', style: 'good' },
  Failed: { text: 'Failed', style: 'attention' },
  TimeOut: { text: 'Timed out', style: 'attention' },
  Cancelled: { text: 'Cancelled', style: 'warning' },
  Rejected: { text: 'Rejected', style: 'attention' },
  Expired: { text: 'Expired', style: 'warning' },
};

const RUNNING_STATES: readonly RequestState[] = ['Approved', 'Submitting', 'Pending', 'InProgress'];

const REQUEST_TEMPLATE = loadCardTemplate('request-card.json');

/**
 * Renders `request` as `options.viewer` sees it. The result is at most CARD_BYTES_TARGET bytes whatever the
 * outputs: transcript blocks shrink step by step (and say so) until the card fits.
 */
export function renderRequestCard(request: LiveResponseRequest, options: RequestCardOptions): AdaptiveCard {
  let card: AdaptiveCard | undefined;
  for (const budget of CARD_BUDGETS) {
    card = expandCardTemplate(REQUEST_TEMPLATE, buildRequestCardData(request, options, budget));
    if (cardSizeBytes(card) <= CARD_BYTES_TARGET) return card;
  }
  // The last budget bounds every free-text field, so only absurd inputs get here; send the smallest card.
  return card!;
}

/** The template's data for one view of `request`. Exported for tests and other surfaces (e.g. status replies). */
export function buildRequestCardData(
  request: LiveResponseRequest,
  options: RequestCardOptions,
  budget: CardBudget = CARD_BUDGETS[0]!,
): RequestCardData {
  const clock = createCardClock(options.now, options.timeZoneLabel);
  const { state } = request;
  const awaiting = state === 'AwaitingApproval';
  const running = RUNNING_STATES.includes(state);
  const final = isFinal(state);
  const approvers = uniquePeople(request.approvers);
  const hasResults = request.progress.some((p) => p.link !== undefined || p.resultError !== undefined);
  const shown = request.commands.slice(0, budget.maxCommands);
  const omitted = request.commands.length - shown.length;

  const { viewer } = options;
  // The posted card (`everyone`) carries the buttons of every role: whoever clicks is checked on the server.
  const decides = awaiting && (viewer === 'approver' || viewer === 'everyone');
  const failedScripts = scriptsExitedNonZero(request, budget);

  return {
    requestId: request.id,
    verbs: CARD_VERBS,
    badge:
      state === 'Succeeded' && failedScripts.length > 0 ? scriptFailedBadge(failedScripts) : BADGES[state],
    title: `Live response request ${request.id}`,
    createdText: clock.format(request.createdAt),
    requesterName: clip(request.requester.name, budget.freeTextChars),
    hasReason: Boolean(request.reason),
    reason: clip(request.reason ?? '', budget.freeTextChars),
    statusLines: statusLines(request, options, clock, budget, failedScripts),
    deviceFacts: deviceFacts(request, clock),
    commandsHeading: request.commands.length === 1 ? 'Command' : `Commands (${request.commands.length})`,
    commands: shown.map((_, index) => commandView(request, index, options, clock, budget)),
    hasOmittedCommands: omitted > 0,
    omittedCommandsText: `${omitted} more command${omitted === 1 ? '' : 's'} not shown to fit the card.`,
    approval: {
      visible: awaiting,
      waitingText: [
        approvers.length > 0
          ? `Waiting for approval from ${approvers.map(mentionText).join(', ')}`
          : 'Waiting for approval from a configured approver',
        ...onCallLines(request, clock).map((line) => clip(line, budget.freeTextChars)),
      ].join('\n\n'),
      expiresText: `Expires ${clock.format(request.expiresAt)}`,
      showRejectReason: decides,
      rejectReasonId: REJECT_REASON_INPUT_ID,
      rejectReasonMaxLength: REJECT_REASON_MAX_LENGTH,
      rejectReasonPlaceholder:
        viewer === 'approver'
          ? 'Reason (optional, shown on the card)'
          : 'Reason if an approver rejects (optional, shown on the card)',
    },
    approve: { visible: decides },
    reject: { visible: decides },
    cancel: {
      // Before the decision approvers reject rather than cancel; afterwards either side may stop it.
      visible:
        (awaiting && (viewer === 'requester' || viewer === 'everyone')) || (running && viewer !== 'other'),
    },
    freshLinks: { visible: hasResults },
    ...followUpView(request, options, clock, budget),
    mentions: awaiting ? approvers.map(mentionEntity) : [],
    hasRefresh: !final,
    refreshUserIds: refreshUserIds(request),
  };
}

/** Longest "Collect <file>" button title; Teams cuts longer ones anyway. */
const MAX_COLLECT_TITLE = 40;

/** The card's follow-up parts: Collect buttons, their outcome, and the pre-approval of follow-ups. */
function followUpView(
  request: LiveResponseRequest,
  options: RequestCardOptions,
  clock: CardClock,
  budget: CardBudget,
): Pick<RequestCardData, 'collects' | 'preApprove' | 'hasFollowUpLines' | 'followUpLines'> {
  const offered = isFinal(request.state) ? findFollowUpPaths(request) : [];
  const asked = new Map((request.followUps ?? []).map((f) => [f.path, f]));
  const names = offered.map(fileNameOf);
  const collects = offered
    .filter((path) => !asked.has(path))
    .map((path) => {
      const name = fileNameOf(path);
      // Two offered files of one name in different folders: the button names the path instead.
      const shown = names.filter((n) => n === name).length > 1 ? path : name;
      return {
        verb: CARD_VERBS.followUp,
        title: clip(`Collect ${shown}`, MAX_COLLECT_TITLE),
        requestId: request.id,
        path,
      };
    });
  const lines: string[] = [];
  for (const path of offered) {
    const followUp = asked.get(path);
    if (followUp)
      lines.push(
        `Collect ${path}: asked as ${followUp.requestId} by ${followUp.by.name} at ${clock.format(followUp.at)}`,
      );
  }
  const preApproval = request.followUpPreApproval;
  const preApproved = preApproval && Date.parse(preApproval.until) > options.now.getTime();
  if (preApproval)
    lines.push(
      preApproved
        ? `Follow-ups pre-approved by ${preApproval.by.name} until ${clock.format(preApproval.until)}: a Collect click is approved at once.`
        : `Pre-approval of follow-ups by ${preApproval.by.name} ended at ${clock.format(preApproval.until)}.`,
    );
  const windowMs = options.followUpPreApprovalMs;
  const mayPreApprove =
    windowMs !== undefined &&
    !preApproved &&
    collects.length > 0 &&
    request.decision?.kind === 'approved' &&
    (options.viewer === 'everyone' || options.viewer === 'approver');
  return {
    collects,
    preApprove: {
      visible: mayPreApprove,
      title: `Pre-approve follow-ups for ${windowMs === undefined ? '' : deadlineWords(windowMs)}`,
    },
    hasFollowUpLines: lines.length > 0,
    followUpLines: lines.map((text) => ({ text: clip(text, budget.freeTextChars) })),
  };
}

function fileNameOf(path: string): string {
  return path.split(/[\\/]/).at(-1) ?? path;
}

/** The card's badge for a state (`Awaiting approval`, `Running`…), before a failed script changes the headline. */
export function stateBadgeText(state: RequestState): string {
  return BADGES[state].text;
}

/** Who is on call and from which source (APPROVERS' group/tag/shifts entries), and the escalation once it happened. */
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

/** The headline state as the card's badge shows it, for replies that name a request's state. */
export function stateLabel(request: LiveResponseRequest): string {
  const failed = scriptsExitedNonZero(request, CARD_BUDGETS[0]!);
  return request.state === 'Succeeded' && failed.length > 0
    ? scriptFailedBadge(failed).text
    : BADGES[request.state].text;
}

/** A command's status as the card shows it (`Completed`, `Queued`, `Not run`…), for replies. */
export function commandStatusLabel(request: LiveResponseRequest, index: number): string {
  return commandStatus(request, index, request.progress[index] ?? { status: 'Created', errors: [] }).text;
}

function statusLines(
  request: LiveResponseRequest,
  options: RequestCardOptions,
  clock: CardClock,
  budget: CardBudget,
  failedScripts: FailedScript[],
): StatusLine[] {
  const lines: StatusLine[] = [];
  const { state, decision, cancellation, failure } = request;
  if (options.refusal) lines.push(line(clip(options.refusal, budget.freeTextChars), 'attention'));
  const name = (person: Person) => clip(person.name, budget.freeTextChars);

  if (request.followUpOf)
    lines.push(line(`Follow-up of ${request.followUpOf}: collects a file its output named.`));
  if (decision?.kind === 'approved') {
    const queued = state === 'Approved' ? ' — queued' : '';
    const how = decision.preApprovedFor
      ? `Pre-approved by ${name(decision.by)} (follow-up of ${decision.preApprovedFor})`
      : `Approved by ${name(decision.by)}`;
    lines.push(line(`${how} at ${clock.format(decision.at)}${queued}`));
  }
  if (decision?.kind === 'rejected') {
    const reason = decision.reason ? `: ${clip(decision.reason, budget.freeTextChars)}` : '';
    lines.push(line(`Rejected by ${name(decision.by)}${reason}`));
  }

  switch (state) {
    case 'Approved':
      lines.push(line(queueLine(options, clock), 'subtle'));
      break;
    case 'Submitting':
      lines.push(line('Sending the request to Defender…', 'subtle'));
      break;
    case 'AwaitingApproval': {
      const concern = deviceConcern(request.device, options.now, clock);
      if (concern) lines.push(line(concern.warning, 'alert'));
      break;
    }
    case 'Pending': {
      const concern = deviceConcern(request.device, options.now, clock);
      const health = request.device.healthStatus ? `; ${request.device.healthStatus} when requested` : '';
      lines.push(
        concern
          ? line(
              `Pending on the device — ${concern.pending}. Defender keeps the request queued and runs it when the device connects.`,
            )
          : line(
              `Pending — Defender has queued it; the device starts it when it next checks in with Defender${health}.`,
            ),
      );
      break;
    }
    case 'InProgress':
      lines.push(line('Running on the device.', 'subtle'));
      break;
    case 'Succeeded':
      if (failedScripts.length > 0)
        lines.push(
          line(
            "Defender's action state: Succeeded (Defender reports that the commands ran; it does not judge a script's exit code).",
          ),
        );
      if (request.finishedAt) lines.push(line(`Finished at ${clock.format(request.finishedAt)}`, 'subtle'));
      break;
    case 'TimeOut':
      lines.push(line('The device did not finish in time (RunScript stops after 10 minutes).', 'attention'));
      break;
    case 'Expired':
      lines.push(line(`Expired — no decision by ${clock.format(request.expiresAt)}`));
      break;
    default:
      break;
  }
  lines.push(...nonZeroExitLines(failedScripts));

  if (cancellation) {
    const at = clock.format(cancellation.at);
    lines.push(
      state === 'Cancelled' || cancellation.confirmedAt
        ? line(`Cancelled by ${name(cancellation.by)} at ${at}`)
        : line(
            `Cancellation requested by ${name(cancellation.by)} at ${at} — waiting for Defender`,
            'warning',
          ),
    );
  } else if (state === 'Cancelled') {
    lines.push(line('Cancelled in Defender'));
  }

  if (failure) {
    lines.push(line(`${failure.code}: ${clip(failure.message, budget.freeTextChars)}`, 'attention'));
  } else if (state === 'Failed') {
    lines.push(line('Defender reported the action as failed.', 'attention'));
  }
  if (request.notice) lines.push(line(clip(request.notice, budget.freeTextChars), 'notice'));
  return lines;
}

/** "3rd in line — starts about 14:05 UTC": where an approved request stands and when the run budget lets it go. */
function queueLine(options: RequestCardOptions, clock: CardClock): string {
  const { queuePosition: place, queueStartsAt: startsAt } = options;
  if (place === undefined) return 'Waiting for a free live response session.';
  const where = `${ordinal(place)} in line`;
  if (!startsAt) return `${where} — waiting for Defender capacity.`;
  // A slot free within seconds: a time of day would read as already late.
  if (Date.parse(startsAt) - options.now.getTime() < 5_000) return `${where} — goes to Defender now.`;
  return `${where} — starts about ${clock.format(startsAt)} (Defender's live response rate limit).`;
}

interface FailedScript {
  scriptName: string;
  exitCode: number;
  hasErrors: boolean;
}

/** RunScript commands Defender completed whose script exited non-zero (an unknown exit code is not counted). */
function scriptsExitedNonZero(request: LiveResponseRequest, budget: CardBudget): FailedScript[] {
  const failed: FailedScript[] = [];
  request.commands.slice(0, budget.maxCommands).forEach((command, index) => {
    const progress = request.progress[index];
    const transcript = progress?.transcript;
    if (command.type !== 'RunScript' || progress?.status !== 'Completed' || !transcript) return;
    if (transcript.exitCode === null || transcript.exitCode === 0) return;
    failed.push({
      scriptName: clip(command.scriptName, budget.freeTextChars),
      exitCode: transcript.exitCode,
      hasErrors: transcript.errors !== '',
    });
  });
  return failed;
}

/**
 * Defender reports a RunScript as Completed (and the action as Succeeded) when the script itself exited non-zero:
 * the headline says the script failed, and a status line keeps Defender's own state in view.
 */
function scriptFailedBadge(failed: FailedScript[]): { text: string; style: ContainerStyle } {
  const text =
    failed.length === 1
      ? `Script failed (exit code ${failed[0]!.exitCode})`
      : `${failed.length} scripts failed`;
  return { text, style: 'attention' };
}

/** One line per script that exited non-zero, pointing at what to read. */
function nonZeroExitLines(failed: FailedScript[]): StatusLine[] {
  const lines = failed
    .slice(0, MAX_EXIT_CODE_LINES)
    .map((script) =>
      line(
        `${script.scriptName} exited with code ${script.exitCode} — check its ${script.hasErrors ? 'errors' : 'output'} below`,
        'attention',
      ),
    );
  const more = failed.length - MAX_EXIT_CODE_LINES;
  if (more > 0) {
    lines.push(
      line(
        `${more} more script${more === 1 ? '' : 's'} exited with a non-zero code — see below`,
        'attention',
      ),
    );
  }
  return lines;
}

/**
 * Defender's `lastSeen` is the time of the device's last *full report*, which a device sends about once a day
 * (Machine resource type, learn.microsoft.com/defender-endpoint/api/machine): a report some hours old is normal,
 * one more than a day old is not. `Inactive` means no report for more than 7 days.
 */
const STALE_REPORT_MS = 25 * 60 * 60_000;

interface DeviceConcern {
  /** For the approver, before the decision. */
  warning: string;
  /** Why a Pending action is probably waiting for the device. */
  pending: string;
}

/** Why the device may not pick the request up soon, from the facts Defender gave at request time; null if none. */
function deviceConcern(device: DeviceFacts, now: Date, clock: CardClock): DeviceConcern | null {
  const health = device.healthStatus ?? '';
  const lastSeenMs = device.lastSeen ? Date.parse(device.lastSeen) : Number.NaN;
  const report = Number.isFinite(lastSeenMs) ? `last full report ${clock.format(device.lastSeen!)}` : '';
  const afterReport = report ? `; ${report}` : '';
  if (health === 'Inactive')
    return {
      warning: `Defender lists this device as Inactive (no report for more than 7 days${afterReport}): it is probably offline, and an approved request waits in Defender until it connects.`,
      pending: `Defender lists it as Inactive${afterReport}`,
    };
  if (/ImpairedCommunication|NoSensorData/i.test(health))
    return {
      warning: `Defender reports ${health} for this device${afterReport}: live response may wait or fail.`,
      pending: `Defender reports ${health} for it${afterReport}`,
    };
  if (Number.isFinite(lastSeenMs) && now.getTime() - lastSeenMs > STALE_REPORT_MS)
    return {
      warning: `Defender's ${report} is more than a day old (devices report about daily): the device may be offline, and an approved request would wait until it connects.`,
      pending: `it may be offline (Defender's ${report})`,
    };
  return null;
}

type Tone = 'default' | 'subtle' | 'attention' | 'warning' | 'alert' | 'notice';

function line(text: string, tone: Tone = 'default'): StatusLine {
  return {
    text,
    color:
      tone === 'attention' ? 'Attention' : tone === 'warning' || tone === 'alert' ? 'Warning' : 'Default',
    isSubtle: tone === 'subtle' || tone === 'notice',
    italic: tone === 'notice',
    weight: tone === 'attention' || tone === 'alert' ? 'Bolder' : 'Default',
  };
}

function deviceFacts(request: LiveResponseRequest, clock: CardClock): { title: string; value: string }[] {
  const { device } = request;
  const unknown = 'Unknown';
  const os = [device.osPlatform, device.osVersion].filter(Boolean).join(' ');
  return [
    { title: 'Device', value: device.computerDnsName || device.machineId },
    { title: 'OS', value: os || unknown },
    { title: 'Health', value: device.healthStatus || unknown },
    { title: 'Risk', value: device.riskScore || unknown },
    { title: 'Exposure', value: device.exposureLevel || unknown },
    { title: 'Last seen', value: device.lastSeen ? clock.format(device.lastSeen) : unknown },
    ...(device.olderRecords?.length
      ? [{ title: 'Older records', value: olderRecordsText(device.olderRecords, device.machineId) }]
      : []),
    // What the pre-flight could check, and no more: portal sessions are not listed by machineactions.
    ...(request.state === 'AwaitingApproval'
      ? [
          {
            title: 'Other sessions',
            value:
              'No live response from the API is pending on this device; sessions opened in the portal are not visible to the bot',
          },
        ]
      : []),
  ];
}

/** "2 older Inactive records of this name were ignored (this request uses machine id …)". */
function olderRecordsText(records: readonly { healthStatus?: string }[], machineId: string): string {
  const byStatus = new Map<string, number>();
  for (const record of records) {
    const status = record.healthStatus ?? '';
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }
  const parts = [...byStatus].map(
    ([status, count]) => `${count} older ${status ? `${status} ` : ''}record${count === 1 ? '' : 's'}`,
  );
  return `${parts.join(' and ')} of this name ${records.length === 1 ? 'was' : 'were'} ignored (this request uses machine id ${machineId})`;
}

function commandView(
  request: LiveResponseRequest,
  index: number,
  options: RequestCardOptions,
  clock: CardClock,
  budget: CardBudget,
): CommandView {
  const command = request.commands[index]!;
  const progress: CommandProgress = request.progress[index] ?? { status: 'Created', errors: [] };
  const status = commandStatus(request, index, progress);
  // Defender's errors are short messages: blank ones carry nothing, and each is capped like any free text.
  const errors = cardLines(
    clip(progress.errors.filter((error) => error.trim() !== '').join('\n'), budget.commandErrorsChars),
    budget.commandErrorsChars,
    budget.commandErrorsLines,
  );

  const view: CommandView = {
    label: clip(describeCommand(command), budget.freeTextChars),
    statusText: status.text,
    statusColor: status.color,
    statusSubtle: status.subtle,
    hasNote: status.note !== '',
    note: status.note,
    hasErrors: errors.lines.length > 0,
    errorLines: errors.lines,
    hasTranscript: false,
    exitCodeText: '',
    exitCodeStyle: 'emphasis',
    hasOutput: false,
    outputLines: [],
    hasEmptyOutputNote: false,
    emptyOutputNote: '',
    hasTranscriptErrors: false,
    transcriptErrorLines: [],
    hasSizeNote: false,
    sizeNote: '',
    hasResultError: progress.resultError !== undefined,
    resultError: clip(progress.resultError ?? '', budget.freeTextChars),
    hasLink: false,
    downloadUrl: '',
    linkNote: '',
    linkNoteColor: 'Default',
    linkNoteSubtle: true,
    hasFileNote: false,
    fileNote: '',
    hasFileHash: false,
    fileHash: '',
  };

  const transcript = command.type === 'RunScript' ? progress.transcript : undefined;
  if (transcript) {
    const output = cardLines(transcript.output, budget.outputChars, budget.outputLines);
    const transcriptErrors = cardLines(
      transcript.errors,
      budget.transcriptErrorsChars,
      budget.transcriptErrorsLines,
    );
    const sizeNote = transcriptSizeNote(
      {
        shown: output,
        totalBytes: Math.max(transcript.outputBytes, byteLength(transcript.output)),
        summaryCut: transcript.outputTruncated,
      },
      {
        shown: transcriptErrors,
        totalBytes: Math.max(transcript.errorsBytes, byteLength(transcript.errors)),
        summaryCut: transcript.errorsTruncated,
      },
    );
    Object.assign(view, {
      hasTranscript: true,
      exitCodeText: transcript.exitCode === null ? 'Exit code unknown' : `Exit code ${transcript.exitCode}`,
      exitCodeStyle:
        transcript.exitCode === null ? 'warning' : transcript.exitCode === 0 ? 'good' : 'attention',
      hasOutput: output.lines.length > 0,
      outputLines: output.lines,
      hasEmptyOutputNote: transcript.output === '' && transcript.errors === '',
      emptyOutputNote: 'The script printed no output.',
      hasTranscriptErrors: transcriptErrors.lines.length > 0,
      transcriptErrorLines: transcriptErrors.lines,
      hasSizeNote: sizeNote !== '',
      sizeNote,
    } satisfies Partial<CommandView>);
  }

  if (progress.link) {
    const expired = options.now.getTime() >= new Date(progress.link.expiresAt).getTime();
    Object.assign(view, {
      hasLink: true,
      downloadUrl: options.tabDeepLink
        ? options.tabDeepLink(request.id)
        : downloadUrl(options.publicBaseUrl, request.id, index, progress.link.id),
      linkNote: expired
        ? 'Link expired — use Get fresh link'
        : `Link expires ${clock.format(progress.link.expiresAt)}`,
      linkNoteColor: expired ? 'Warning' : 'Default',
      linkNoteSubtle: !expired,
      hasFileNote: true,
      fileNote: progress.file
        ? `${clip(progress.file.name, budget.freeTextChars)} · ${formatByteSize(progress.file.sizeBytes)}`
        : 'Size and SHA-256 are shown here once the file has been downloaded.',
      hasFileHash: progress.file !== undefined,
      fileHash: progress.file ? `SHA-256 ${progress.file.sha256}` : '',
    } satisfies Partial<CommandView>);
  }
  return view;
}

interface CommandStatusView {
  text: string;
  color: TextColor;
  subtle: boolean;
  /** Why a command did not run; empty when the badge says enough. */
  note: string;
}

function commandStatus(
  request: LiveResponseRequest,
  index: number,
  progress: CommandProgress,
): CommandStatusView {
  const { state } = request;
  const final = isFinal(state);
  switch (progress.status) {
    case 'Completed':
      return { text: 'Completed', color: 'Good', subtle: false, note: '' };
    case 'Failed':
      return { text: 'Failed', color: 'Attention', subtle: false, note: '' };
    case 'InProgress':
      return final
        ? { text: 'Stopped', color: 'Warning', subtle: false, note: notRunReason(request, index) }
        : { text: 'Running', color: 'Accent', subtle: false, note: '' };
    case 'NotRun':
      return { text: 'Not run', color: 'Default', subtle: true, note: notRunReason(request, index) };
    default:
      if (final)
        return { text: 'Not run', color: 'Default', subtle: true, note: notRunReason(request, index) };
      if (state === 'AwaitingApproval')
        return { text: 'Not started', color: 'Default', subtle: true, note: '' };
      return { text: 'Queued', color: 'Default', subtle: true, note: '' };
  }
}

function notRunReason(request: LiveResponseRequest, index: number): string {
  if (request.progress.slice(0, index).some((p) => p.status === 'Failed')) {
    return 'Skipped because an earlier command failed.';
  }
  switch (request.state) {
    // The badge and decision line already say why nothing ran.
    case 'Rejected':
    case 'Expired':
      return '';
    case 'Cancelled':
      return 'Skipped because the request was cancelled.';
    case 'TimeOut':
      return 'Skipped because the action timed out.';
    default:
      return 'Skipped because the action ended first.';
  }
}

/** Device text as the card shows it: at most so many characters and lines, one CardLine per line. */
interface ShownLines {
  lines: CardLine[];
  /** UTF-8 size of the lines shown, newlines included. */
  shownBytes: number;
  /** Lines in the text the card was given (all of it, unless the summary was cut before). */
  givenLines: number;
  /** Whether the card left some of the text it was given out. */
  cut: boolean;
}

/**
 * Cuts `text` to `maxChars` on a line boundary and to `maxLines` lines. Trailing blank lines go; a blank line
 * inside stays as BLANK_LINE so paragraphs stay apart.
 */
function cardLines(text: string, maxChars: number, maxLines: number): ShownLines {
  const given = splitLines(text);
  const byChars = truncateOnLine(given.join('\n'), maxChars);
  const withinChars = splitLines(byChars.text);
  const kept = withinChars.slice(0, Math.max(0, maxLines));
  const cut = byChars.truncated || kept.length < withinChars.length;
  while (kept.length > 0 && kept[kept.length - 1]!.trim() === '') kept.pop();
  return {
    lines: kept.map((text) => ({ text: literalLine(text) })),
    shownBytes: byteLength(kept.join('\n')),
    givenLines: given.length,
    cut,
  };
}

/** Lines of device text; summaries use `\n`, but a caller may hand over raw `\r\n` text. */
function splitLines(text: string): string[] {
  return text === '' ? [] : text.split(/\r\n?|\n/);
}

/**
 * A line as a TextRun shows it literally. TextRun text is never markdown, but every renderer still expands the
 * `{{DATE(…)}}` / `{{TIME(…)}}` text functions in it; a word joiner between the braces keeps those as typed.
 */
function literalLine(line: string): string {
  if (line.trim() === '') return BLANK_LINE;
  return line.replace(/\{\{(?=(?:DATE|TIME)\()/g, '{\u2060{');
}

interface SizeNotePart {
  shown: ShownLines;
  /** Size of the whole cleaned text on the device side. */
  totalBytes: number;
  /** Whether summariseTranscript had already cut the text the card was given. */
  summaryCut: boolean;
}

/** "Showing 1.2 of 195 KB (first 40 lines)", for output and errors, or '' when everything is shown. */
function transcriptSizeNote(output: SizeNotePart, errors: SizeNotePart): string {
  const showOutput = output.shown.cut || output.summaryCut;
  const showErrors = errors.shown.cut || errors.summaryCut;
  if (!showOutput && !showErrors) return '';
  const outputPart = sizePart(output);
  const errorsPart = sizePart(errors, ' of errors');
  const shown =
    showOutput && showErrors
      ? `Showing ${sizePart(output, ' of output')}, ${errorsPart}`
      : showOutput
        ? `Showing ${outputPart}`
        : `Showing ${errorsPart}`;
  const cutForCard = output.shown.cut || errors.shown.cut;
  return cutForCard ? `${shown} — ${SHORTENED_NOTE}.` : shown;
}

/** `1.2 of 195 KB (first 40 lines)` when the summary was cut, `0.9 of 2.3 KB (40 of 75 lines)` when not. */
function sizePart(part: SizeNotePart, what = ''): string {
  const size = `${kilobytes(part.shown.shownBytes)} of ${kilobytes(part.totalBytes)} KB${what}`;
  const shownLines = part.shown.lines.length;
  if (shownLines === 0) return size;
  const lines = part.summaryCut
    ? shownLines === 1
      ? 'first line'
      : `first ${shownLines} lines`
    : `${shownLines} of ${part.shown.givenLines} lines`;
  return `${size} (${lines})`;
}

/** `0.4`, `1.5`, `195`: one decimal while it matters. */
function kilobytes(bytes: number): string {
  if (bytes === 0) return '0';
  const kb = bytes / 1024;
  if (kb < 0.1) return '0.1';
  return kb < 10 ? kb.toFixed(1) : String(Math.round(kb));
}

export function downloadUrl(publicBaseUrl: string, requestId: string, index: number, linkId: string): string {
  const base = publicBaseUrl.replace(/\/+$/, '');
  return `${base}/download/${encodeURIComponent(requestId)}/${index}/${encodeURIComponent(linkId)}`;
}

/** Angle brackets would break the `<at>` markup, so names lose them on the card. */
export function mentionText(person: Person): string {
  return `<at>${person.name.replace(/[<>]/g, '')}</at>`;
}

export function mentionEntity(person: Person): MentionEntity {
  return { type: 'mention', text: mentionText(person), mentioned: { id: person.teamsId, name: person.name } };
}

export function uniquePeople(people: readonly Person[]): Person[] {
  const seen = new Set<string>();
  return people.filter((person) => {
    if (!person.teamsId || seen.has(person.teamsId)) return false;
    seen.add(person.teamsId);
    return true;
  });
}

/** The requester first: they need their Cancel button even if the approver list were ever cut. */
function refreshUserIds(request: LiveResponseRequest): string[] {
  return uniquePeople([request.requester, ...request.approvers])
    .map((person) => person.teamsId)
    .slice(0, MAX_REFRESH_USERS);
}

function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 1)).trimEnd()}…`;
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
