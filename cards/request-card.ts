// The live response request card: computes the card's data from a request, binds it to the template, keeps it small.
import { describeCommand } from '../core/commands.js';
import type { CommandProgress, LiveResponseRequest, Person, RequestState } from '../core/request.js';
import { isFinal } from '../core/request.js';
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

/** Whose view of the card to render; Teams' refresh asks for each approver's and the requester's own. */
export type CardViewer = 'approver' | 'requester' | 'other';

export interface RequestCardOptions {
  /** Which user-specific view to render. */
  viewer: CardViewer;
  /** Reference time for "today", link expiry and the like. */
  now: Date;
  /** The bot's public URL; download buttons point at `${publicBaseUrl}/download/…`, never at Defender. */
  publicBaseUrl: string;
  /** Position in the submit queue, shown while the request is Approved and waiting. */
  queuePosition?: number;
  /** IANA time zone the card's times are written in and labelled with. Default `UTC`. */
  timeZoneLabel?: string;
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

export interface ButtonView {
  visible: boolean;
  enabled: boolean;
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
  errors: string;
  hasTranscript: boolean;
  exitCodeText: string;
  exitCodeStyle: ContainerStyle;
  hasOutput: boolean;
  output: string;
  hasEmptyOutputNote: boolean;
  emptyOutputNote: string;
  hasTranscriptErrors: boolean;
  transcriptErrors: string;
  hasSizeNote: boolean;
  sizeNote: string;
  hasResultError: boolean;
  resultError: string;
  hasLink: boolean;
  downloadUrl: string;
  linkNote: string;
  linkNoteColor: TextColor;
  linkNoteSubtle: boolean;
}

/** What `templates/request-card.json` binds to. All wording and formatting is done before binding. */
export interface RequestCardData {
  requestId: string;
  verbs: typeof CARD_VERBS;
  badge: { text: string; style: ContainerStyle };
  title: string;
  createdText: string;
  requesterName: string;
  hasReason: boolean;
  reason: string;
  statusLines: StatusLine[];
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
  };
  approve: ButtonView;
  reject: ButtonView;
  cancel: ButtonView;
  freshLinks: ButtonView;
  mentions: MentionEntity[];
  hasRefresh: boolean;
  refreshUserIds: string[];
}

/** How much free text the card may carry; tightened step by step until the card fits. */
export interface CardBudget {
  /** Characters of transcript output per command. */
  outputChars: number;
  /** Characters of transcript errors per command. */
  transcriptErrorsChars: number;
  /** Characters of Defender's command errors per command. */
  commandErrorsChars: number;
  /** Characters of any other free text (reason, labels, notices, failure messages). */
  freeTextChars: number;
  /** Commands drawn on the card; the rest are counted in one line. */
  maxCommands: number;
}

/** The first step shows a summary as summariseTranscript made it; later steps trade output for fitting. */
export const CARD_BUDGETS: readonly CardBudget[] = [
  {
    outputChars: DEFAULT_TRANSCRIPT_LIMITS.outputChars,
    transcriptErrorsChars: DEFAULT_TRANSCRIPT_LIMITS.errorsChars,
    commandErrorsChars: 1000,
    freeTextChars: 1000,
    maxCommands: 50,
  },
  {
    outputChars: 1000,
    transcriptErrorsChars: 500,
    commandErrorsChars: 600,
    freeTextChars: 600,
    maxCommands: 50,
  },
  {
    outputChars: 600,
    transcriptErrorsChars: 300,
    commandErrorsChars: 400,
    freeTextChars: 400,
    maxCommands: 50,
  },
  {
    outputChars: 300,
    transcriptErrorsChars: 200,
    commandErrorsChars: 300,
    freeTextChars: 300,
    maxCommands: 50,
  },
  {
    outputChars: 120,
    transcriptErrorsChars: 100,
    commandErrorsChars: 200,
    freeTextChars: 200,
    maxCommands: 50,
  },
  { outputChars: 0, transcriptErrorsChars: 0, commandErrorsChars: 150, freeTextChars: 150, maxCommands: 30 },
  { outputChars: 0, transcriptErrorsChars: 0, commandErrorsChars: 80, freeTextChars: 100, maxCommands: 15 },
];

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

  return {
    requestId: request.id,
    verbs: CARD_VERBS,
    badge: BADGES[state],
    title: `Live response request ${request.id}`,
    createdText: clock.format(request.createdAt),
    requesterName: clip(request.requester.name, budget.freeTextChars),
    hasReason: Boolean(request.reason),
    reason: clip(request.reason ?? '', budget.freeTextChars),
    statusLines: statusLines(request, options, clock, budget),
    deviceFacts: deviceFacts(request, clock),
    commandsHeading: request.commands.length === 1 ? 'Command' : `Commands (${request.commands.length})`,
    commands: shown.map((_, index) => commandView(request, index, options, clock, budget)),
    hasOmittedCommands: omitted > 0,
    omittedCommandsText: `${omitted} more command${omitted === 1 ? '' : 's'} not shown to fit the card.`,
    approval: {
      visible: awaiting,
      waitingText:
        approvers.length > 0
          ? `Waiting for approval from ${approvers.map(mentionText).join(', ')}`
          : 'Waiting for approval from a configured approver',
      expiresText: `Expires ${clock.format(request.expiresAt)}`,
      showRejectReason: awaiting && options.viewer === 'approver',
      rejectReasonId: REJECT_REASON_INPUT_ID,
      rejectReasonMaxLength: REJECT_REASON_MAX_LENGTH,
    },
    approve: { visible: awaiting, enabled: options.viewer === 'approver' },
    reject: { visible: awaiting, enabled: options.viewer === 'approver' },
    cancel: {
      visible: awaiting || running,
      // Before the decision approvers reject rather than cancel; afterwards either side may stop it.
      enabled: awaiting ? options.viewer === 'requester' : options.viewer !== 'other',
    },
    freshLinks: { visible: hasResults, enabled: true },
    mentions: awaiting ? approvers.map(mentionEntity) : [],
    hasRefresh: !final,
    refreshUserIds: refreshUserIds(request),
  };
}

function statusLines(
  request: LiveResponseRequest,
  options: RequestCardOptions,
  clock: CardClock,
  budget: CardBudget,
): StatusLine[] {
  const lines: StatusLine[] = [];
  const { state, decision, cancellation, failure } = request;
  const name = (person: Person) => clip(person.name, budget.freeTextChars);

  if (decision?.kind === 'approved') {
    const queued = state === 'Approved' ? ' — queued' : '';
    lines.push(line(`Approved by ${name(decision.by)} at ${clock.format(decision.at)}${queued}`));
  }
  if (decision?.kind === 'rejected') {
    const reason = decision.reason ? `: ${clip(decision.reason, budget.freeTextChars)}` : '';
    lines.push(line(`Rejected by ${name(decision.by)}${reason}`));
  }

  switch (state) {
    case 'Approved':
      lines.push(
        line(
          options.queuePosition !== undefined
            ? `Position ${options.queuePosition} in the queue — waiting for Defender capacity.`
            : 'Waiting for a free live response session.',
          'subtle',
        ),
      );
      break;
    case 'Submitting':
      lines.push(line('Sending the request to Defender…', 'subtle'));
      break;
    case 'Pending':
      lines.push(
        line(
          'Pending on the device — it may be offline. Defender keeps the request queued and runs it when the device connects.',
        ),
      );
      break;
    case 'InProgress':
      lines.push(line('Running on the device.', 'subtle'));
      break;
    case 'Succeeded':
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

type Tone = 'default' | 'subtle' | 'attention' | 'warning' | 'notice';

function line(text: string, tone: Tone = 'default'): StatusLine {
  return {
    text,
    color: tone === 'attention' ? 'Attention' : tone === 'warning' ? 'Warning' : 'Default',
    isSubtle: tone === 'subtle' || tone === 'notice',
    italic: tone === 'notice',
    weight: tone === 'attention' ? 'Bolder' : 'Default',
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
  ];
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
  const errors = clip(progress.errors.join('\n'), budget.commandErrorsChars);

  const view: CommandView = {
    label: clip(describeCommand(command), budget.freeTextChars),
    statusText: status.text,
    statusColor: status.color,
    statusSubtle: status.subtle,
    hasNote: status.note !== '',
    note: status.note,
    hasErrors: errors !== '',
    errors,
    hasTranscript: false,
    exitCodeText: '',
    exitCodeStyle: 'emphasis',
    hasOutput: false,
    output: '',
    hasEmptyOutputNote: false,
    emptyOutputNote: '',
    hasTranscriptErrors: false,
    transcriptErrors: '',
    hasSizeNote: false,
    sizeNote: '',
    hasResultError: progress.resultError !== undefined,
    resultError: clip(progress.resultError ?? '', budget.freeTextChars),
    hasLink: false,
    downloadUrl: '',
    linkNote: '',
    linkNoteColor: 'Default',
    linkNoteSubtle: true,
  };

  const transcript = command.type === 'RunScript' ? progress.transcript : undefined;
  if (transcript) {
    const output = truncateOnLine(transcript.output, budget.outputChars);
    const transcriptErrors = truncateOnLine(transcript.errors, budget.transcriptErrorsChars);
    const sizeNote = transcriptSizeNote(
      output,
      Math.max(transcript.outputBytes, byteLength(transcript.output)),
      transcript.outputTruncated,
      transcriptErrors,
      Math.max(transcript.errorsBytes, byteLength(transcript.errors)),
      transcript.errorsTruncated,
    );
    Object.assign(view, {
      hasTranscript: true,
      exitCodeText: transcript.exitCode === null ? 'Exit code unknown' : `Exit code ${transcript.exitCode}`,
      exitCodeStyle:
        transcript.exitCode === null ? 'warning' : transcript.exitCode === 0 ? 'good' : 'attention',
      hasOutput: output.text !== '',
      output: output.text,
      hasEmptyOutputNote: transcript.output === '' && transcript.errors === '',
      emptyOutputNote: 'The script printed no output.',
      hasTranscriptErrors: transcriptErrors.text !== '',
      transcriptErrors: transcriptErrors.text,
      hasSizeNote: sizeNote !== '',
      sizeNote,
    } satisfies Partial<CommandView>);
  }

  if (progress.link) {
    const expired = options.now.getTime() >= new Date(progress.link.expiresAt).getTime();
    Object.assign(view, {
      hasLink: true,
      downloadUrl: downloadUrl(options.publicBaseUrl, request.id, index, progress.link.id),
      linkNote: expired
        ? 'Link expired — use Get fresh link'
        : `Link expires ${clock.format(progress.link.expiresAt)}`,
      linkNoteColor: expired ? 'Warning' : 'Default',
      linkNoteSubtle: !expired,
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

function transcriptSizeNote(
  output: { text: string; truncated: boolean },
  outputBytes: number,
  summaryCutOutput: boolean,
  errors: { text: string; truncated: boolean },
  errorsBytes: number,
  summaryCutErrors: boolean,
): string {
  const showOutput = output.truncated || summaryCutOutput;
  const showErrors = errors.truncated || summaryCutErrors;
  if (!showOutput && !showErrors) return '';
  const outputPart = `${kilobytes(byteLength(output.text))} of ${kilobytes(outputBytes)} KB`;
  const errorsPart = `${kilobytes(byteLength(errors.text))} of ${kilobytes(errorsBytes)} KB of errors`;
  const shown =
    showOutput && showErrors
      ? `Showing ${outputPart} of output, ${errorsPart}`
      : showOutput
        ? `Showing ${outputPart}`
        : `Showing ${errorsPart}`;
  const cutForCard = output.truncated || errors.truncated;
  return cutForCard ? `${shown} — ${SHORTENED_NOTE}.` : shown;
}

/** `0.4`, `1.5`, `195`: one decimal while it matters. */
function kilobytes(bytes: number): string {
  if (bytes === 0) return '0';
  const kb = bytes / 1024;
  if (kb < 0.1) return '0.1';
  return kb < 10 ? kb.toFixed(1) : String(Math.round(kb));
}

function downloadUrl(publicBaseUrl: string, requestId: string, index: number, linkId: string): string {
  const base = publicBaseUrl.replace(/\/+$/, '');
  return `${base}/download/${encodeURIComponent(requestId)}/${index}/${encodeURIComponent(linkId)}`;
}

/** Angle brackets would break the `<at>` markup, so names lose them on the card. */
function mentionText(person: Person): string {
  return `<at>${person.name.replace(/[<>]/g, '')}</at>`;
}

function mentionEntity(person: Person): MentionEntity {
  return { type: 'mention', text: mentionText(person), mentioned: { id: person.teamsId, name: person.name } };
}

function uniquePeople(people: readonly Person[]): Person[] {
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
