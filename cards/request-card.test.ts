// Tests for the request card: every state and view from fixtures, buttons, mentions, refresh, links and size.
import { describe, expect, it } from 'vitest';
import type { CommandProgress, LiveResponseRequest, Person, RequestState } from '../core/request.js';
import { summariseTranscript } from '../core/summarise-transcript.js';
import type { AdaptiveCard, JsonValue } from './adaptive-card.js';
import { CARD_VERBS } from './card-verbs.js';
import {
  ALL_STATES,
  APPROVERS,
  FIXTURE_BASE_URL,
  FIXTURE_NOW,
  fixtureOptions,
  fixtureRequest,
  REQUESTER,
} from './fixtures.js';
import { type CardViewer, cardSizeBytes, MAX_CARD_BYTES, renderRequestCard } from './request-card.js';

const VIEWERS: readonly CardViewer[] = ['everyone', 'approver', 'requester', 'other'];
const RUNNING: readonly RequestState[] = ['Approved', 'Submitting', 'Pending', 'InProgress'];
const FINAL: readonly RequestState[] = ['Succeeded', 'Failed', 'TimeOut', 'Cancelled', 'Rejected', 'Expired'];

type Node = { [key: string]: JsonValue | undefined };

function render(request: LiveResponseRequest, viewer: CardViewer = 'other', now = FIXTURE_NOW): AdaptiveCard {
  return renderRequestCard(request, fixtureOptions({ viewer, now }));
}

/** Every object in the card, depth first. */
function nodes(value: unknown): Node[] {
  if (Array.isArray(value)) return value.flatMap(nodes);
  if (typeof value !== 'object' || value === null) return [];
  return [value as Node, ...Object.values(value).flatMap(nodes)];
}

/** The visible text of TextBlocks and TextRuns, in order. */
function texts(card: AdaptiveCard): string[] {
  return nodes(card.body)
    .filter((node) => node.type === 'TextBlock' || node.type === 'TextRun')
    .map((node) => String(node.text));
}

/** Paragraph text: a RichTextBlock's runs joined, and each TextBlock on its own. */
function paragraphs(card: AdaptiveCard): string[] {
  return nodes(card.body).flatMap((node) => {
    if (node.type === 'TextBlock') return [String(node.text)];
    if (node.type === 'RichTextBlock' && Array.isArray(node.inlines)) {
      return [
        nodes(node.inlines)
          .map((run) => String(run.text))
          .join(''),
      ];
    }
    return [];
  });
}

function topButtons(card: AdaptiveCard): Map<string, { verb: string; node: Node }> {
  return new Map(
    (card.actions ?? []).map((action) => [action.title, { verb: String(action.verb), node: action }]),
  );
}

function findText(card: AdaptiveCard, text: string): Node | undefined {
  return nodes(card.body).find(
    (node) => (node.type === 'TextBlock' || node.type === 'TextRun') && node.text === text,
  );
}

/** The text runs of the per-line blocks in a command's `style` container (emphasis = output, attention = errors). */
function linesIn(container: Node | undefined, style: 'emphasis' | 'attention'): Node[] {
  const block = (container?.items as Node[] | undefined)?.find(
    (item) => item.type === 'Container' && item.style === style,
  );
  return ((block?.items as Node[] | undefined) ?? []).map((element) => {
    expect(element).toMatchObject({ type: 'RichTextBlock', spacing: 'None' });
    expect(element.inlines).toHaveLength(1);
    return (element.inlines as Node[])[0]!;
  });
}

/** A Succeeded request whose first command (a RunScript) printed `output` and `errors`. */
function withTranscript(output: string, errors = '', exitCode = 0): LiveResponseRequest {
  const request = fixtureRequest('Succeeded');
  request.progress[0] = {
    ...request.progress[0]!,
    transcript: summariseTranscript(
      JSON.stringify({ exit_code: exitCode, script_output: output, script_errors: errors }),
    ),
  };
  return request;
}

/** The command containers (the ones that hold a command's header row), in order. */
function commandContainers(card: AdaptiveCard): Node[] {
  return card.body.filter(
    (element) =>
      element.type === 'Container' &&
      Array.isArray(element.items) &&
      (element.items[0] as Node | undefined)?.type === 'ColumnSet',
  );
}

describe('renderRequestCard', () => {
  describe.each(ALL_STATES)('in state %s', (state) => {
    it.each(VIEWERS)('binds every field for the %s view and stays small', (viewer) => {
      const card = render(fixtureRequest(state), viewer);
      const json = JSON.stringify(card);
      expect(json).not.toContain('${');
      expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.5', msteams: { width: 'Full' } });
      expect(cardSizeBytes(card)).toBeLessThanOrEqual(MAX_CARD_BYTES);
      expect(texts(card)).toContain('Live response request LR-7K3F9Q');
      expect(paragraphs(card)).toContain('Requested by Riya Patel at 09:02 UTC');
      expect(paragraphs(card)).toContain('Reason: suspicious Office child process (incident 4711)');
    });

    it('shows the device facts and one block per command', () => {
      const card = render(fixtureRequest(state));
      const facts = nodes(card.body).find((node) => node.type === 'FactSet')?.facts;
      expect(facts).toEqual([
        { title: 'Device', value: 'desktop-test.contoso.local' },
        { title: 'OS', value: 'Windows11 23H2' },
        { title: 'Health', value: 'Active' },
        { title: 'Risk', value: 'Medium' },
        { title: 'Exposure', value: 'Low' },
        { title: 'Last seen', value: '09:12 UTC' },
        ...(state === 'AwaitingApproval'
          ? [
              {
                title: 'Other sessions',
                value: expect.stringContaining('opened in the portal are not visible'),
              },
            ]
          : []),
      ]);
      expect(commandContainers(card)).toHaveLength(2);
      expect(texts(card)).toContain('run minidump.ps1 OfficeClickToRun');
      expect(texts(card)).toContain('getfile C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip');
    });

    it('never carries a Defender URL or a SAS signature', () => {
      const request = fixtureRequest(state, {
        device: { ...fixtureRequest(state).device, machineId: 'https://api.securitycenter.microsoft.com/x' },
      });
      for (const viewer of VIEWERS) {
        const json = JSON.stringify(render(request, viewer));
        expect(json).not.toMatch(/sig=|blob\.core\.windows\.net|securitycenter|api\.security\.microsoft/i);
        for (const node of nodes(render(request, viewer))) {
          if (node.type === 'Action.OpenUrl')
            expect(String(node.url)).toMatch(/^https:\/\/lr-bot\.contoso\.com\/download\//);
        }
      }
    });
  });

  describe('buttons', () => {
    it('never draws a disabled button: Teams ignores isEnabled and other clients honour it', () => {
      for (const state of ALL_STATES)
        for (const viewer of VIEWERS)
          for (const action of render(fixtureRequest(state), viewer).actions ?? [])
            expect(action).not.toHaveProperty('isEnabled');
    });

    it.each([
      ['everyone', ['Approve', 'Reject', 'Cancel']],
      ['approver', ['Approve', 'Reject']],
      ['requester', ['Cancel']],
      ['other', []],
    ] as const)('while awaiting approval, the %s view offers %o', (viewer, titles) => {
      const buttons = topButtons(render(fixtureRequest('AwaitingApproval'), viewer));
      expect([...buttons.keys()]).toEqual(titles);
      if (buttons.has('Approve')) {
        expect(buttons.get('Approve')?.node.style).toBe('positive');
        expect(buttons.get('Reject')?.node.style).toBe('destructive');
      }
    });

    it.each(RUNNING)(
      'in %s offers Cancel on the posted card and to the approver and the requester',
      (state) => {
        for (const viewer of VIEWERS) {
          const buttons = topButtons(render(fixtureRequest(state), viewer));
          expect([...buttons.keys()]).toEqual(viewer === 'other' ? [] : ['Cancel']);
        }
      },
    );

    it.each(FINAL)('in %s shows no Approve, Reject or Cancel', (state) => {
      for (const viewer of VIEWERS) {
        const titles = [...topButtons(render(fixtureRequest(state), viewer)).keys()];
        expect(titles).not.toContain('Approve');
        expect(titles).not.toContain('Reject');
        expect(titles).not.toContain('Cancel');
      }
    });

    it("shows why a click was refused, first and in attention colour, in the clicker's view", () => {
      const card = renderRequestCard(
        fixtureRequest('AwaitingApproval'),
        fixtureOptions({ viewer: 'other', refusal: 'Only the on-call approvers can decide on LR-7K3F9Q.' }),
      );
      const refusal = findText(card, 'Only the on-call approvers can decide on LR-7K3F9Q.');
      expect(refusal).toMatchObject({ color: 'Attention', weight: 'Bolder' });
      expect(topButtons(card).size).toBe(0);
    });

    it('offers Get fresh link to everyone once a command has a result link', () => {
      for (const state of ['Succeeded', 'Failed'] as const) {
        for (const viewer of VIEWERS) {
          const button = topButtons(render(fixtureRequest(state), viewer)).get('Get fresh link');
          expect(button).toMatchObject({ verb: CARD_VERBS.freshLinks });
        }
      }
      expect(topButtons(render(fixtureRequest('InProgress'))).has('Get fresh link')).toBe(false);
    });

    it('offers Get fresh link when fetching a result failed', () => {
      const request = fixtureRequest('InProgress', {
        progress: [
          {
            status: 'Completed',
            errors: [],
            resultError: 'Defender did not return a download link; try again.',
          },
          { status: 'InProgress', errors: [] },
        ],
      });
      const card = render(request, 'other');
      expect(topButtons(card).get('Get fresh link')?.verb).toBe(CARD_VERBS.freshLinks);
      const warning = findText(card, 'Defender did not return a download link; try again.');
      expect(warning?.color).toBe('Warning');
    });

    it('gives every button the request id and its verb, ready for an Action.Submit fallback', () => {
      const card = render(fixtureRequest('AwaitingApproval'), 'everyone');
      const verbs = (card.actions ?? []).map((action) => {
        expect(action).toMatchObject({ type: 'Action.Execute', data: { requestId: 'LR-7K3F9Q' } });
        return action.type === 'Action.Execute' ? action.verb : undefined;
      });
      expect(verbs).toEqual([CARD_VERBS.approve, CARD_VERBS.reject, CARD_VERBS.cancel]);
    });

    it('gives the reject reason input to approvers and on the posted card, labelled for whom it is', () => {
      const input = (viewer: CardViewer, state: RequestState = 'AwaitingApproval') =>
        nodes(render(fixtureRequest(state), viewer).body).find((node) => node.type === 'Input.Text');
      expect(input('approver')).toEqual({
        type: 'Input.Text',
        id: 'rejectReason',
        placeholder: 'Reason (optional, shown on the card)',
        maxLength: 500,
        spacing: 'Medium',
      });
      expect(input('everyone')?.placeholder).toBe(
        'Reason if an approver rejects (optional, shown on the card)',
      );
      expect(input('requester')).toBeUndefined();
      expect(input('other')).toBeUndefined();
      expect(input('approver', 'Approved')).toBeUndefined();
      expect(input('everyone', 'Approved')).toBeUndefined();
    });
  });

  describe('approvers', () => {
    it('mentions every approver while waiting for a decision', () => {
      const card = render(fixtureRequest('AwaitingApproval'));
      expect(texts(card)).toContain('Waiting for approval from <at>Marcus Chen</at>, <at>Ana Souza</at>');
      expect(card.msteams?.entities).toEqual(
        APPROVERS.map((approver) => ({
          type: 'mention',
          text: `<at>${approver.name}</at>`,
          mentioned: { id: approver.teamsId, name: approver.name },
        })),
      );
      expect(texts(card)).toContain('Expires 09:32 UTC');
    });

    it('stops mentioning once decided', () => {
      for (const state of ['Approved', 'Rejected', 'Succeeded'] as const) {
        const card = render(fixtureRequest(state));
        expect(card.msteams?.entities ?? []).toEqual([]);
        expect(JSON.stringify(card)).not.toContain('<at>');
      }
    });

    it('mentions each approver once', () => {
      const card = render(fixtureRequest('AwaitingApproval', { approvers: [...APPROVERS, APPROVERS[0]!] }));
      expect(card.msteams?.entities).toHaveLength(2);
    });
  });

  describe('refresh', () => {
    it.each([...['AwaitingApproval'], ...RUNNING] as RequestState[])(
      'in %s asks Teams for the requester’s and approvers’ own views',
      (state) => {
        const card = render(fixtureRequest(state));
        expect(card.refresh).toEqual({
          action: {
            type: 'Action.Execute',
            verb: CARD_VERBS.refresh,
            title: 'Refresh',
            data: { requestId: 'LR-7K3F9Q', verb: CARD_VERBS.refresh },
          },
          userIds: [REQUESTER.teamsId, ...APPROVERS.map((approver) => approver.teamsId)],
        });
      },
    );

    it.each(FINAL)('is dropped in %s', (state) => {
      const card = render(fixtureRequest(state));
      expect(card).not.toHaveProperty('refresh');
    });

    it('lists each user once and at most 60', () => {
      const many: Person[] = Array.from({ length: 80 }, (_, i) => ({
        teamsId: `29:approver-${i}`,
        name: `A ${i}`,
      }));
      const selfApprover = { ...REQUESTER };
      const card = render(fixtureRequest('AwaitingApproval', { approvers: [selfApprover, ...many] }));
      const userIds = card.refresh?.userIds ?? [];
      expect(userIds).toHaveLength(60);
      expect(new Set(userIds).size).toBe(60);
      expect(userIds[0]).toBe(REQUESTER.teamsId);
    });
  });

  describe('status and decision lines', () => {
    it.each([
      ['AwaitingApproval', 'Awaiting approval', 'accent'],
      ['Approved', 'Approved — queued', 'accent'],
      ['Submitting', 'Submitting', 'accent'],
      ['Pending', 'Pending', 'accent'],
      ['InProgress', 'Running', 'accent'],
      ['Succeeded', 'Succeeded', 'good'],
      ['Failed', 'Failed', 'attention'],
      ['TimeOut', 'Timed out', 'attention'],
      ['Cancelled', 'Cancelled', 'warning'],
      ['Rejected', 'Rejected', 'attention'],
      ['Expired', 'Expired', 'warning'],
    ] as const)('badges %s as "%s" in %s', (state, text, style) => {
      const card = render(fixtureRequest(state));
      const badge = nodes(card.body).find(
        (node) => node.type === 'Column' && JSON.stringify(node.items).includes(`"text":"${text}"`),
      );
      expect(badge?.style).toBe(style);
    });

    it('says who approved and when, and the queue position while waiting', () => {
      const card = renderRequestCard(fixtureRequest('Approved'), fixtureOptions({ queuePosition: 3 }));
      expect(texts(card)).toContain('Approved by Marcus Chen at 09:05 UTC — queued');
      expect(texts(card)).toContain('3rd in line — waiting for Defender capacity.');
      expect(texts(render(fixtureRequest('InProgress')))).toContain('Approved by Marcus Chen at 09:05 UTC');
    });

    it('says when a waiting request starts by the budget, or that it goes now when its slot is free', () => {
      const later = renderRequestCard(
        fixtureRequest('Approved'),
        fixtureOptions({ queuePosition: 12, queueStartsAt: '2024-05-14T09:24:10Z' }),
      );
      expect(texts(later)).toContain(
        "12th in line — starts about 09:24 UTC (Defender's live response rate limit).",
      );
      const now = renderRequestCard(
        fixtureRequest('Approved'),
        fixtureOptions({ queuePosition: 2, queueStartsAt: FIXTURE_NOW.toISOString() }),
      );
      expect(texts(now)).toContain('2nd in line — goes to Defender now.');
    });

    it('says a pending action waits for the device to check in, without calling an active device offline', () => {
      const text = texts(render(fixtureRequest('Pending'))).join('\n');
      expect(text).toContain(
        'Pending — Defender has queued it; the device starts it when it next checks in with Defender; Active when requested.',
      );
      expect(text).not.toMatch(/offline/);
    });

    it('says a pending action on an Inactive or long-unreported device is probably waiting for it to connect', () => {
      const inactive = fixtureRequest('Pending', {
        device: {
          ...fixtureRequest('Pending').device,
          healthStatus: 'Inactive',
          lastSeen: '2024-05-11T09:00:00Z',
        },
      });
      expect(texts(render(inactive)).join('\n')).toContain(
        'Pending on the device — Defender lists it as Inactive; last full report 11 May 09:00 UTC. Defender keeps the request queued and runs it when the device connects.',
      );
      const stale = fixtureRequest('Pending', {
        device: { ...fixtureRequest('Pending').device, lastSeen: '2024-05-13T06:00:00Z' },
      });
      expect(texts(render(stale)).join('\n')).toContain(
        "Pending on the device — it may be offline (Defender's last full report 13 May 06:00 UTC).",
      );
    });

    it('warns the approver about an Inactive, impaired or long-unreported device, and not about a report hours old', () => {
      const withDevice = (facts: Partial<LiveResponseRequest['device']>) =>
        fixtureRequest('AwaitingApproval', {
          device: { ...fixtureRequest('AwaitingApproval').device, ...facts },
        });
      const warning = (request: LiveResponseRequest) =>
        render(request, 'approver')
          .body.flatMap((element) => (element.type === 'RichTextBlock' ? (element.inlines as Node[]) : []))
          .find((run) => run.color === 'Warning');
      expect(warning(withDevice({ healthStatus: 'Inactive', lastSeen: '2024-05-04T09:00:00Z' }))?.text).toBe(
        'Defender lists this device as Inactive (no report for more than 7 days; last full report 4 May 09:00 UTC): it is probably offline, and an approved request waits in Defender until it connects.',
      );
      expect(warning(withDevice({ healthStatus: 'ImpairedCommunication' }))?.text).toMatch(
        /^Defender reports ImpairedCommunication for this device; last full report 09:12 UTC: live response may wait or fail\.$/,
      );
      expect(warning(withDevice({ lastSeen: '2024-05-13T07:00:00Z' }))?.text).toMatch(
        /last full report 13 May 07:00 UTC is more than a day old .*may be offline/,
      );
      // Devices send a full report about once a day: ten hours is normal and gets no warning.
      expect(warning(withDevice({ lastSeen: '2024-05-13T23:20:00Z' }))).toBeUndefined();
      expect(warning(fixtureRequest('AwaitingApproval'))).toBeUndefined();
    });

    it('says who rejected and why', () => {
      expect(texts(render(fixtureRequest('Rejected')))).toContain(
        'Rejected by Ana Souza: Collect with the EDR package instead',
      );
      const noReason = fixtureRequest('Rejected', {
        decision: { kind: 'rejected', by: APPROVERS[1]!, at: FIXTURE_NOW.toISOString() },
      });
      expect(texts(render(noReason))).toContain('Rejected by Ana Souza');
    });

    it('says when an undecided request expired', () => {
      expect(texts(render(fixtureRequest('Expired')))).toContain('Expired — no decision by 09:32 UTC');
    });

    it('says who cancelled, and that a cancellation is still being confirmed', () => {
      expect(texts(render(fixtureRequest('Cancelled')))).toContain('Cancelled by Riya Patel at 09:09 UTC');
      const pending = fixtureRequest('InProgress', {
        cancellation: { by: REQUESTER, at: '2024-05-14T09:19:00Z' },
      });
      const line = findText(
        render(pending),
        'Cancellation requested by Riya Patel at 09:19 UTC — waiting for Defender',
      );
      expect(line?.color).toBe('Warning');
    });

    it('shows a failure as code: message in attention colour', () => {
      const line = findText(
        render(fixtureRequest('Failed')),
        'CommandFailed: run minidump.ps1 OfficeClickToRun failed on the device.',
      );
      expect(line?.color).toBe('Attention');
    });

    it('shows a notice in subtle italics', () => {
      const line = findText(
        render(fixtureRequest('Succeeded', { notice: 'Fetching fresh links…' })),
        'Fetching fresh links…',
      );
      expect(line).toMatchObject({ isSubtle: true, italic: true });
    });
  });

  describe('commands', () => {
    const statuses = (card: AdaptiveCard) =>
      commandContainers(card).map((container) => {
        const columns = (container.items as Node[])[0]?.columns as Node[];
        return texts({
          type: 'AdaptiveCard',
          version: '1.5',
          body: [columns[columns.length - 1] as Node & { type: string }],
        })[0];
      });

    it('shows each command’s progress', () => {
      expect(statuses(render(fixtureRequest('AwaitingApproval')))).toEqual(['Not started', 'Not started']);
      expect(statuses(render(fixtureRequest('Pending')))).toEqual(['Queued', 'Queued']);
      expect(statuses(render(fixtureRequest('InProgress')))).toEqual(['Running', 'Queued']);
      expect(statuses(render(fixtureRequest('Succeeded')))).toEqual(['Completed', 'Completed']);
      expect(statuses(render(fixtureRequest('Cancelled')))).toEqual(['Not run', 'Not run']);
    });

    it('marks the commands after a failure as not run, with the errors of the failed one', () => {
      const card = render(fixtureRequest('Failed'));
      expect(statuses(card)).toEqual(['Failed', 'Not run']);
      expect(findText(card, 'Script execution failed with exit code 1')?.color).toBe('Attention');
      expect(texts(card)).toContain('Skipped because an earlier command failed.');
    });

    it('shows the exit code as a good or attention badge', () => {
      const badge = (card: AdaptiveCard) =>
        nodes(card.body).find(
          (node) => node.type === 'Column' && JSON.stringify(node.items).includes('Exit code'),
        );
      const ok = badge(render(fixtureRequest('Succeeded')));
      expect(ok).toMatchObject({ style: 'good' });
      expect(JSON.stringify(ok)).toContain('"Exit code 0"');
      const failed = badge(render(fixtureRequest('Failed')));
      expect(failed).toMatchObject({ style: 'attention' });
      expect(JSON.stringify(failed)).toContain('"Exit code 1"');

      const unknown = fixtureRequest('Succeeded');
      unknown.progress[0]!.transcript!.exitCode = null;
      expect(badge(render(unknown))).toMatchObject({ style: 'warning' });
    });

    it('shows the cleaned output in monospace and the errors in attention colour, one line per element', () => {
      const [minidump] = commandContainers(render(fixtureRequest('Succeeded')));
      const output = linesIn(minidump, 'emphasis');
      expect(output.map((run) => run.text)).toEqual(['C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip', '51 MB']);
      for (const run of output) expect(run).toMatchObject({ type: 'TextRun', fontType: 'Monospace' });

      const [failed] = commandContainers(render(fixtureRequest('Failed')));
      const errors = linesIn(failed, 'attention');
      expect(errors.map((run) => run.text)).toEqual([
        'Get-Process : Cannot find a process with the name "OfficeClickToRun". Verify the process name and call the cmdlet again.',
        '    + CategoryInfo          : ObjectNotFound: (OfficeClickToRun:String) [Get-Process], ProcessCommandException',
      ]);
      for (const run of errors) expect(run).toMatchObject({ fontType: 'Monospace', color: 'Attention' });
      expect(JSON.stringify(render(fixtureRequest('Succeeded')))).not.toContain('Transcript started');
    });

    it('draws a multi-line output one line per element, in order, with blank lines kept', () => {
      const output = ['Name      Id', '----      --', 'svchost  812', '', 'Total: 1', '', ''].join('\r\n');
      const card = render(withTranscript(output));
      const runs = linesIn(commandContainers(card)[0], 'emphasis');
      expect(runs.map((run) => run.text)).toEqual([
        'Name      Id',
        '----      --',
        'svchost  812',
        '\u00a0',
        'Total: 1',
      ]);
      for (const run of runs) {
        expect(String(run.text)).not.toMatch(/[\r\n]/);
        expect(run).toMatchObject({ type: 'TextRun', fontType: 'Monospace', size: 'Small' });
      }
      expect(JSON.stringify(card)).not.toContain('${');
    });

    it('shows markdown-looking output and errors literally, in runs that are never read as markdown', () => {
      const markdown = [
        '- item',
        '* star item',
        '+ plus item',
        '1. x',
        '2) y',
        '**bold** and __strong__',
        '_under_ and *single*',
        '[link](http://x)',
        '<http://auto.link>',
        '# heading',
        '> quote',
        '`code`',
        '---',
        '<at>Marcus Chen</at>',
        'C:\\temp\\*.log & <b>not html</b>',
      ];
      const card = render(withTranscript(markdown.join('\n'), markdown.join('\n'), 1));
      const [container] = commandContainers(card);
      expect(linesIn(container, 'emphasis').map((run) => run.text)).toEqual(markdown);
      expect(linesIn(container, 'attention').map((run) => run.text)).toEqual(markdown);
      // TextBlocks are markdown in Teams; none may carry device text.
      const blockTexts = nodes(card.body)
        .filter((node) => node.type === 'TextBlock')
        .map((node) => String(node.text));
      for (const line of markdown) expect(blockTexts).not.toContain(line);
    });

    it('keeps the card text functions {{DATE()}} and {{TIME()}} in output as typed', () => {
      const line = 'Due {{DATE(2024-05-14T09:00:00Z, SHORT)}} at {{TIME(2024-05-14T09:00:00Z)}}';
      const [run] = linesIn(commandContainers(render(withTranscript(line)))[0], 'emphasis');
      expect(run?.text).toBe(line.replaceAll('{{', '{\u2060{'));
      expect(String(run?.text).replaceAll('\u2060', '')).toBe(line);
    });

    it("draws each of Defender's command errors on its own line", () => {
      const request = fixtureRequest('Failed');
      request.progress[0] = {
        ...request.progress[0]!,
        errors: ['Script execution failed with exit code 1', '', '- see the transcript'],
      };
      const container = commandContainers(render(request))[0];
      const errorBlock = ((container?.items as Node[] | undefined) ?? []).find(
        (item) => item.type === 'Container' && item.style === undefined,
      );
      const runs = nodes(errorBlock).filter((node) => node.type === 'TextRun');
      expect(runs.map((run) => run.text)).toEqual([
        'Script execution failed with exit code 1',
        '- see the transcript',
      ]);
      for (const run of runs) expect(run.color).toBe('Attention');
    });

    it('says how much of a long output is shown, in KB and lines', () => {
      const long = Array.from({ length: 4000 }, (_, i) => `line ${i}`).join('\n');
      const card = render(withTranscript(long));
      const note = texts(card).find((text) => text.startsWith('Showing '));
      const shown = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n');
      expect(note).toBe(
        `Showing ${(Buffer.byteLength(shown) / 1024).toFixed(1)} of ${Math.round(Buffer.byteLength(long) / 1024)} KB (first 40 lines) — output shortened to fit the card; download the transcript for the full text.`,
      );
      expect(linesIn(commandContainers(card)[0], 'emphasis')).toHaveLength(40);
    });

    it('counts the lines when the card shows fewer than the whole (short) output', () => {
      const output = Array.from({ length: 60 }, (_, i) => `${i}`).join('\n');
      const note = texts(render(withTranscript(output))).find((text) => text.startsWith('Showing '));
      expect(note).toMatch(/^Showing 0\.1 of 0\.2 KB \(40 of 60 lines\) — output shortened to fit the card/);
    });

    it('links downloads through the bot with the expiry time', () => {
      const card = render(fixtureRequest('Succeeded'));
      const containers = commandContainers(card);
      containers.forEach((container, index) => {
        const actionSet = (container.items as Node[]).find((item) => item.type === 'ActionSet');
        expect(actionSet?.actions).toEqual([
          {
            type: 'Action.OpenUrl',
            title: 'Download result',
            url: `${FIXTURE_BASE_URL}/download/LR-7K3F9Q/${index}/k${index + 1}`,
          },
        ]);
      });
      expect(texts(card).filter((text) => text === 'Link expires 09:48 UTC')).toHaveLength(2);
    });

    it("shows a result file's name, size and SHA-256 under its link, or that they come with the first download", () => {
      const request = fixtureRequest('Succeeded');
      const sha256 = 'a'.repeat(64);
      request.progress[0]!.file = { name: 'desktop-test-minidump-transcript.json', sizeBytes: 1843, sha256 };
      const shown = texts(render(request));
      expect(shown).toContain('desktop-test-minidump-transcript.json · 1.8 KB');
      expect(findText(render(request), `SHA-256 ${sha256}`)).toMatchObject({ fontType: 'Monospace' });
      expect(shown).toContain('Size and SHA-256 are shown here once the file has been downloaded.');
    });

    it('builds download URLs from a base URL with a trailing slash and escapes link ids', () => {
      const request = fixtureRequest('Succeeded');
      request.progress[1] = {
        ...request.progress[1]!,
        link: { id: 'a/b c', expiresAt: '2024-05-14T09:48:00Z' },
      };
      const card = renderRequestCard(request, fixtureOptions({ publicBaseUrl: `${FIXTURE_BASE_URL}/` }));
      const urls = nodes(card.body)
        .filter((node) => node.type === 'Action.OpenUrl')
        .map((node) => node.url);
      expect(urls).toEqual([
        `${FIXTURE_BASE_URL}/download/LR-7K3F9Q/0/k1`,
        `${FIXTURE_BASE_URL}/download/LR-7K3F9Q/1/a%2Fb%20c`,
      ]);
    });

    it('says an expired link needs a fresh one', () => {
      const card = render(fixtureRequest('Succeeded'), 'other', new Date('2024-05-14T09:48:00Z'));
      const note = findText(card, 'Link expired — use Get fresh link');
      expect(note?.color).toBe('Warning');
      expect(texts(card)).not.toContain('Link expires 09:48 UTC');
    });

    it('writes times in the requested time zone and dates other days', () => {
      const card = renderRequestCard(
        fixtureRequest('Succeeded'),
        fixtureOptions({ timeZoneLabel: 'Europe/Berlin', now: new Date('2024-05-15T08:00:00Z') }),
      );
      expect(texts(card)).toContain('Approved by Marcus Chen at 14 May 11:05 Europe/Berlin');
    });
  });

  describe('a script that exits non-zero in a succeeded action', () => {
    const statusRuns = (card: AdaptiveCard) =>
      card.body
        .filter((element) => element.type === 'RichTextBlock' && element.spacing === 'Small')
        .flatMap((element) => element.inlines as Node[]);

    it("headlines the script's failure and keeps Defender's Succeeded state in view", () => {
      const card = render(withTranscript('Looking for process OfficeClickToRun', 'Access is denied.', 1));
      const badge = nodes(card.body).find(
        (node) =>
          node.type === 'Column' &&
          JSON.stringify(node.items).includes('"text":"Script failed (exit code 1)"'),
      );
      expect(badge?.style).toBe('attention');
      expect(texts(card)).not.toContain('Succeeded');
      expect(texts(card).join('\n')).toContain("Defender's action state: Succeeded");
      const warning = findText(card, 'minidump.ps1 exited with code 1 — check its errors below');
      expect(warning).toMatchObject({ type: 'TextRun', color: 'Attention', weight: 'Bolder' });
      expect(statusRuns(card)).toContain(warning);
      expect(texts(card)).toContain('Exit code 1');
    });

    it('points at the output when the script wrote no errors', () => {
      const card = render(withTranscript('nothing found', '', 3));
      expect(findText(card, 'minidump.ps1 exited with code 3 — check its output below')?.color).toBe(
        'Attention',
      );
    });

    it('says nothing extra for exit code 0, an unknown exit code, or a command Defender marked failed', () => {
      const clean = (card: AdaptiveCard) => expect(JSON.stringify(card)).not.toContain('exited with code');
      clean(render(fixtureRequest('Succeeded')));
      const unknown = fixtureRequest('Succeeded');
      unknown.progress[0]!.transcript!.exitCode = null;
      clean(render(unknown));
      clean(render(fixtureRequest('Failed')));
      expect(texts(render(fixtureRequest('Succeeded')))).toContain('Succeeded');
    });

    it('names three scripts and counts the rest', () => {
      const commands = Array.from({ length: 5 }, (_, i) => ({
        type: 'RunScript' as const,
        scriptName: `check-${i}.ps1`,
      }));
      const progress: CommandProgress[] = commands.map(() => ({
        status: 'Completed',
        errors: [],
        transcript: summariseTranscript(JSON.stringify({ exit_code: 2, script_errors: 'failed' })),
      }));
      const lines = texts(render(fixtureRequest('Succeeded', { commands, progress }))).filter((text) =>
        /exited with/.test(text),
      );
      expect(texts(render(fixtureRequest('Succeeded', { commands, progress })))).toContain(
        '5 scripts failed',
      );
      expect(lines).toEqual([
        'check-0.ps1 exited with code 2 — check its errors below',
        'check-1.ps1 exited with code 2 — check its errors below',
        'check-2.ps1 exited with code 2 — check its errors below',
        '2 more scripts exited with a non-zero code — see below',
      ]);
    });
  });

  describe('size', () => {
    const bigRequest = (transcriptFor: (i: number) => CommandProgress['transcript']) => {
      const commands = Array.from({ length: 10 }, (_, i) => ({
        type: 'RunScript' as const,
        scriptName: `collect-${i}.ps1`,
        args: '-Verbose',
      }));
      const progress: CommandProgress[] = commands.map((_, i) => ({
        status: 'Completed',
        errors: [],
        transcript: transcriptFor(i),
        link: { id: `k${i}`, expiresAt: '2024-05-14T09:48:00Z' },
      }));
      return fixtureRequest('Succeeded', { commands, progress });
    };
    const bigOutput = (i: number) =>
      Array.from(
        { length: 3700 },
        (_, n) => `C:\\Users\\Public\\evidence-${i}\\file-${n}.log\t"quoted" 12345`,
      ).join('\r\n');

    it('fits 10 commands of 200 KB output each into 28 KB and says the output was shortened', () => {
      const request = bigRequest((i) =>
        summariseTranscript(
          JSON.stringify({ exit_code: i % 2, script_output: bigOutput(i), script_errors: bigOutput(i) }),
        ),
      );
      expect(Buffer.byteLength(bigOutput(0))).toBeGreaterThan(200 * 1024);
      for (const viewer of VIEWERS) {
        const card = render(request, viewer);
        expect(cardSizeBytes(card)).toBeLessThanOrEqual(MAX_CARD_BYTES);
        expect(JSON.stringify(card)).toContain(
          'output shortened to fit the card; download the transcript for the full text',
        );
        expect(commandContainers(card)).toHaveLength(10);
        expect(nodes(card.body).filter((node) => node.type === 'Action.OpenUrl')).toHaveLength(10);
      }
    });

    it('fits even when a caller hands over unsummarised 200 KB transcripts', () => {
      const request = bigRequest((i) => ({
        exitCode: 0,
        output: bigOutput(i),
        outputBytes: Buffer.byteLength(bigOutput(i)),
        outputTruncated: false,
        errors: bigOutput(i),
        errorsBytes: Buffer.byteLength(bigOutput(i)),
        errorsTruncated: false,
      }));
      const card = render(request, 'approver');
      expect(cardSizeBytes(card)).toBeLessThanOrEqual(MAX_CARD_BYTES);
      expect(JSON.stringify(card)).not.toContain('${');
    });

    it('fits a single command with thousands of lines, showing at most 40 of them', () => {
      const lines = Array.from({ length: 5000 }, (_, n) => (n % 7 === 0 ? '' : `- entry ${n} **x**`));
      const card = render(withTranscript(lines.join('\n'), lines.join('\n'), 1), 'approver');
      expect(cardSizeBytes(card)).toBeLessThanOrEqual(MAX_CARD_BYTES);
      expect(JSON.stringify(card)).not.toContain('${');
      const [container] = commandContainers(card);
      expect(linesIn(container, 'emphasis').length).toBeLessThanOrEqual(40);
      expect(linesIn(container, 'emphasis').length).toBeGreaterThan(20);
      expect(linesIn(container, 'attention').length).toBeLessThanOrEqual(20);
      expect(texts(card).find((text) => text.startsWith('Showing '))).toMatch(
        /^Showing [\d.]+ of \d+ KB of output \(first \d+ lines\), [\d.]+ of \d+ KB of errors \(first \d+ lines\) — output shortened/,
      );
    });

    it('fits 10 commands of one-character lines, where the per-line JSON outweighs the text', () => {
      const request = bigRequest(() => ({
        exitCode: 1,
        output: 'x\n'.repeat(5000),
        outputBytes: 10000,
        outputTruncated: false,
        errors: 'y\n'.repeat(5000),
        errorsBytes: 10000,
        errorsTruncated: false,
      }));
      for (const viewer of VIEWERS) {
        const card = render(request, viewer);
        expect(cardSizeBytes(card)).toBeLessThanOrEqual(MAX_CARD_BYTES);
        expect(JSON.stringify(card)).not.toContain('${');
        expect(commandContainers(card)).toHaveLength(10);
        expect(JSON.stringify(card)).toContain('output shortened to fit the card');
      }
    });

    it('leaves a card that already fits untouched', () => {
      expect(JSON.stringify(render(fixtureRequest('Succeeded')))).not.toContain('shortened');
    });
  });
});
