/// <reference lib="dom" />
// The "Live response" tab in Teams: a conversation's requests (channel or chat tab) or "My requests" (personal tab),
// a request's detail with its trail and downloads, approve/reject for approvers. Signs in with Teams SSO; shows
// nothing without a token the bot verified. Outside Teams it only says how to open it in Teams.
import {
  accentBaseColor,
  baseLayerLuminance,
  fluentBadge,
  fluentButton,
  fluentDivider,
  fluentOption,
  fluentProgressRing,
  fluentSelect,
  fluentTextArea,
  fluentTextField,
  provideFluentDesignSystem,
  StandardLuminance,
  SwatchRGB,
} from '@fluentui/web-components';
import { app, authentication, pages } from '@microsoft/teams-js';
import {
  ApiError,
  createTabApi,
  type RequestDetail,
  type RequestRow,
  type TabApi,
} from './tab-api-client.js';
import { h, relativeTime, stateTone, when } from './tab-dom.js';

provideFluentDesignSystem().register(
  fluentBadge(),
  fluentButton(),
  fluentDivider(),
  fluentOption(),
  fluentProgressRing(),
  fluentSelect(),
  fluentTextArea(),
  fluentTextField(),
);

/** How often an open view asks for changes while something may still move. */
const POLL_MS = 3_000;
/** A request that is final changes rarely (a download, fresh links): check it less often. */
const POLL_IDLE_MS = 15_000;
/** teams-js waits for a host that never answers (a plain browser tab): give up after this. */
const INIT_TIMEOUT_MS = 4_000;

type Theme = 'default' | 'dark' | 'contrast';

function applyTheme(theme: string): void {
  const known: Theme = theme === 'dark' || theme === 'contrast' ? theme : 'default';
  document.documentElement.dataset.theme = known;
  // Teams' brand purple (#5b5fc7), lighter on dark backgrounds (#7f85f5) as Teams draws it.
  const accent = known === 'default' ? [0x5b, 0x5f, 0xc7] : [0x7f, 0x85, 0xf5];
  accentBaseColor.setValueFor(
    document.body,
    SwatchRGB.create(accent[0]! / 255, accent[1]! / 255, accent[2]! / 255),
  );
  baseLayerLuminance.setValueFor(
    document.body,
    known === 'default' ? StandardLuminance.LightMode : StandardLuminance.DarkMode,
  );
}

const root = (): HTMLElement => document.getElementById('app')!;

function show(...nodes: Node[]): void {
  root().replaceChildren(...nodes);
}

function outsideTeams(): void {
  show(
    h(
      'section',
      { class: 'notice', role: 'status' },
      h('h1', {}, 'Open this in Microsoft Teams'),
      h(
        'p',
        {},
        'The Live response tab shows requests and evidence only to people Teams has signed in. Open it in Teams: in the incident channel or chat, select + (Add a tab) and choose LR Bot, or open the LR Bot app and go to “My requests”.',
      ),
      h('p', {}, 'Links on LR Bot’s cards open this tab in Teams at the right request.'),
    ),
  );
}

function failure(message: string): Node {
  return h('div', { class: 'error', role: 'alert' }, message);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms)),
  ]);
}

interface Place {
  kind: 'conversation' | 'personal';
  conversationId?: string;
  /** A request to open first (deep link). */
  requestId?: string;
}

async function start(): Promise<void> {
  if (window.parent === window) return outsideTeams();
  try {
    await withTimeout(app.initialize(), INIT_TIMEOUT_MS);
  } catch {
    return outsideTeams();
  }
  const context = await app.getContext();
  applyTheme(context.app.theme);
  app.registerOnThemeChangeHandler(applyTheme);
  app.notifySuccess();

  if (context.page.frameContext === 'settings') return configure();

  const api = createTabApi(() => authentication.getAuthToken());
  const conversationId = context.chat?.id ?? context.channel?.id;
  const place: Place =
    context.page.id === 'my-requests' || !conversationId
      ? { kind: 'personal' }
      : { kind: 'conversation', conversationId };
  if (context.page.subPageId) place.requestId = context.page.subPageId;
  new TabView(api, place).start();
}

/** The configurable tab's settings page: one tab per conversation, nothing to choose. */
function configure(): void {
  show(
    h(
      'section',
      { class: 'notice' },
      h('h1', {}, 'Live response'),
      h(
        'p',
        {},
        'This tab lists the live responses asked for in this conversation, with their trail and evidence.',
      ),
    ),
  );
  pages.config.registerOnSaveHandler((save) => {
    const base = `${window.location.origin}/tab/`;
    pages.config
      .setConfig({
        entityId: 'live-response',
        contentUrl: base,
        websiteUrl: base,
        suggestedDisplayName: 'Live response',
      })
      .then(() => save.notifySuccess())
      .catch((error: unknown) => save.notifyFailure(String(error)));
  });
  pages.config.setValidityState(true);
}

interface Filters {
  state: string;
  device: string;
  person: string;
}

class TabView {
  private openId: string | undefined;
  private filters: Filters = { state: '', device: '', person: '' };
  private timer: number | undefined;
  private lastJson = '';
  private message: Node | null = null;
  /** The conversation's rows as last fetched, for filtering without a round trip. */
  private rows: RequestRow[] = [];

  constructor(
    private readonly api: TabApi,
    private readonly place: Place,
  ) {
    this.openId = place.requestId;
  }

  start(): void {
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') void this.refresh();
    });
    void this.refresh();
  }

  private schedule(ms: number): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.refresh(), ms);
  }

  private open(id: string | undefined): void {
    this.openId = id;
    this.lastJson = '';
    this.message = null;
    void this.refresh(true);
  }

  async refresh(focus = false): Promise<void> {
    window.clearTimeout(this.timer);
    if (document.visibilityState === 'hidden') return;
    try {
      if (this.openId) {
        const detail = await this.api.detail(this.openId);
        this.render(detail, () => this.detailView(detail), focus);
        this.schedule(detail.final ? POLL_IDLE_MS : POLL_MS);
      } else if (this.place.kind === 'personal') {
        const lists = await this.api.mine();
        this.render(lists, () => this.personalView(lists.mine, lists.awaitingMyApproval), focus);
        this.schedule(POLL_MS);
      } else {
        const rows = await this.api.conversation(this.place.conversationId ?? '');
        this.rows = rows;
        this.render(rows, () => this.conversationView(rows), focus);
        this.schedule(POLL_MS);
      }
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (error instanceof ApiError && error.status === 404 && this.openId) {
        this.openId = undefined;
        this.message = failure(text);
        return this.refresh();
      }
      show(failure(error instanceof ApiError ? text : `Could not reach LR Bot (${text}). Retrying…`));
      if (!(error instanceof ApiError && (error.status === 401 || error.status === 403)))
        this.schedule(POLL_IDLE_MS);
    }
  }

  /** Redraws only when the data changed, keeping focus and typed text while nothing did. */
  private render(data: unknown, view: () => Node, focus: boolean): void {
    const json = JSON.stringify(data) + JSON.stringify(this.filters);
    if (json === this.lastJson) return;
    const active = document.activeElement as HTMLElement | null;
    const activeKey = active?.dataset?.key;
    this.lastJson = json;
    show(...(this.message ? [this.message] : []), view());
    const again = activeKey
      ? document.querySelector<HTMLElement>(`[data-key="${CSS.escape(activeKey)}"]`)
      : null;
    if (again) again.focus();
    else if (focus) document.querySelector<HTMLElement>('h1, [data-key^="row:"]')?.focus();
  }

  private conversationView(rows: RequestRow[]): Node {
    const filtered = rows.filter((row) => this.matches(row));
    return h(
      'main',
      {},
      h('h1', { tabindex: '-1' }, 'Live response'),
      h('p', { class: 'sub' }, 'Requests made in this conversation, newest first. Updates by itself.'),
      this.filterBar(rows),
      this.table(
        filtered,
        rows.length === 0 ? 'No live response was asked for here yet.' : 'Nothing matches the filters.',
      ),
    );
  }

  private personalView(mine: RequestRow[], waiting: RequestRow[]): Node {
    return h(
      'main',
      {},
      h('h1', { tabindex: '-1' }, 'My requests'),
      ...(waiting.length > 0
        ? [h('h2', {}, `Waiting for your approval (${waiting.length})`), this.table(waiting, '')]
        : []),
      h('h2', {}, 'What you asked for'),
      this.table(mine, 'You have not asked for a live response yet.'),
    );
  }

  private matches(row: RequestRow): boolean {
    const { state, device, person } = this.filters;
    const has = (text: string | undefined, part: string) =>
      (text ?? '').toLowerCase().includes(part.toLowerCase());
    return (
      (!state || row.state === state) &&
      (!device || has(row.device, device)) &&
      (!person || has(row.requester, person) || has(row.approver, person))
    );
  }

  private filterBar(rows: RequestRow[]): Node {
    const states = [...new Set(rows.map((r) => r.state))].sort();
    const select = h(
      'fluent-select',
      { 'aria-label': 'Filter by state', 'data-key': 'filter:state', title: 'State' },
      h('fluent-option', { value: '' }, 'All states'),
      ...states.map((s) =>
        h('fluent-option', { value: s, ...(s === this.filters.state ? { selected: '' } : {}) }, s),
      ),
    ) as HTMLElement & { value: string };
    select.addEventListener('change', () => this.setFilter('state', select.value));
    const text = (key: 'device' | 'person', label: string) => {
      const field = h('fluent-text-field', {
        'aria-label': label,
        placeholder: label,
        'data-key': `filter:${key}`,
        value: this.filters[key],
      }) as HTMLElement & { value: string };
      field.addEventListener('input', () => this.setFilter(key, field.value));
      return field;
    };
    return h(
      'div',
      { class: 'filters', role: 'search' },
      select,
      text('device', 'Device'),
      text('person', 'Person'),
    );
  }

  private setFilter(key: keyof Filters, value: string): void {
    this.filters[key] = value;
    this.render(this.rows, () => this.conversationView(this.rows), false);
  }

  private table(rows: RequestRow[], empty: string): Node {
    if (rows.length === 0) return h('p', { class: 'empty' }, empty);
    const list = h(
      'ul',
      { class: 'rows', role: 'list' },
      ...rows.map((row, i) => {
        const item = h(
          'li',
          {
            class: 'row',
            tabindex: '0',
            role: 'link',
            'data-key': `row:${row.id}`,
            'aria-label': `${row.id}, ${row.state}, ${row.device}, asked by ${row.requester}`,
          },
          h(
            'div',
            { class: 'row-head' },
            h('span', { class: 'id' }, row.id),
            h('span', { class: `state tone-${stateTone(row.state)}` }, row.state),
            h('span', { class: 'device' }, row.device),
            h(
              'time',
              { class: 'when', datetime: row.createdAt, title: row.createdAt },
              relativeTime(row.createdAt),
            ),
          ),
          h('div', { class: 'commands' }, row.commands.join(' → ')),
          h(
            'div',
            { class: 'people' },
            `Asked by ${row.requester}`,
            ...when(
              row.approver,
              (name) => ` · ${row.decision === 'rejected' ? 'Rejected' : 'Approved'} by ${name}`,
            ),
            ...when(
              row.exitCodes.length > 0 ? row.exitCodes : undefined,
              (codes) => ` · exit ${codes.map((c) => (c === null ? '–' : String(c))).join(', ')}`,
            ),
            ...when(row.finishedAt, (at) => ` · finished ${relativeTime(at)}`),
          ),
        );
        item.addEventListener('click', () => this.open(row.id));
        item.addEventListener('keydown', (event) => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            this.open(row.id);
          } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
            event.preventDefault();
            const items = [...item.parentElement!.children] as HTMLElement[];
            items[Math.max(0, Math.min(items.length - 1, i + (event.key === 'ArrowDown' ? 1 : -1)))]?.focus();
          }
        });
        return item;
      }),
    );
    return list;
  }

  private detailView(d: RequestDetail): Node {
    const back = h('fluent-button', { appearance: 'stealth', 'data-key': 'back' }, '← All requests');
    back.addEventListener('click', () => this.open(undefined));
    const main = h(
      'main',
      {},
      back,
      h(
        'h1',
        { tabindex: '-1' },
        `${d.id} `,
        h('span', { class: `state tone-${stateTone(d.state)}` }, d.state),
      ),
      h(
        'dl',
        { class: 'facts' },
        ...fact('Device', [d.device, d.deviceFacts.os, d.deviceFacts.health].filter(Boolean).join(' · ')),
        ...fact('Asked by', `${d.requester}, ${relativeTime(d.createdAt)}`),
        ...fact('Reason', d.reason),
        ...fact(
          d.decision === 'rejected' ? 'Rejected by' : 'Approved by',
          d.approver && d.decidedAt ? `${d.approver}, ${relativeTime(d.decidedAt)}` : undefined,
        ),
        ...fact(
          'Approvers',
          d.state === 'AwaitingApproval'
            ? `${d.approvers.join(', ')} · open until ${new Date(d.expiresAt).toLocaleTimeString()}`
            : undefined,
        ),
        ...fact('Finished', d.finishedAt ? relativeTime(d.finishedAt) : undefined),
        ...fact('Failure', d.failure),
      ),
      ...(d.canDecide ? [this.decisionBar(d)] : []),
      h('h2', {}, 'Commands'),
      h('ol', { class: 'commands-detail' }, ...d.commandViews.map((c) => this.commandView(d, c))),
      ...(d.canRefreshLinks && d.commandViews.some((c) => c.download && !c.download.available)
        ? [this.freshLinksButton(d)]
        : []),
      h('h2', {}, 'Audit trail'),
      h(
        'table',
        { class: 'trail' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'When'),
            h('th', { scope: 'col' }, 'What'),
            h('th', { scope: 'col' }, 'Who'),
            h('th', { scope: 'col' }, 'Detail'),
          ),
        ),
        h(
          'tbody',
          {},
          ...d.trail.map((e) =>
            h(
              'tr',
              {},
              h('td', {}, h('time', { datetime: e.at, title: e.at }, new Date(e.at).toLocaleString())),
              h('td', {}, e.action),
              h('td', {}, e.by ?? 'LR Bot'),
              h('td', { class: 'detail' }, e.detail ?? ''),
            ),
          ),
        ),
      ),
    );
    main.addEventListener('keydown', (event) => {
      if ((event as KeyboardEvent).key === 'Escape') this.open(undefined);
    });
    return main;
  }

  private decisionBar(d: RequestDetail): Node {
    const reason = h('fluent-text-area', {
      placeholder: 'Reason (optional, shown on the card when you reject)',
      'aria-label': 'Reject reason',
      'data-key': 'reason',
      maxlength: '500',
      resize: 'vertical',
    }) as HTMLElement & { value: string };
    const act = async (decision: 'approve' | 'reject', button: HTMLElement) => {
      button.setAttribute('disabled', '');
      const result = await this.api.decide(d.id, decision, decision === 'reject' ? reason.value : undefined);
      this.message = result.ok ? null : failure(result.error ?? 'Refused.');
      this.lastJson = '';
      await this.refresh();
    };
    const approve = h('fluent-button', { appearance: 'accent', 'data-key': 'approve' }, 'Approve');
    const reject = h('fluent-button', { appearance: 'outline', 'data-key': 'reject' }, 'Reject');
    approve.addEventListener('click', () => void act('approve', approve));
    reject.addEventListener('click', () => void act('reject', reject));
    return h(
      'section',
      { class: 'decide', 'aria-label': 'Your decision' },
      h('p', {}, 'You are an on-call approver. Nothing runs on the device until someone approves.'),
      reason,
      h('div', { class: 'buttons' }, approve, reject),
    );
  }

  private commandView(d: RequestDetail, c: RequestDetail['commandViews'][number]): Node {
    const download = c.download;
    const parts: Node[] = [
      h(
        'div',
        { class: 'command-head' },
        h('code', {}, c.text),
        h('span', { class: `state tone-${stateTone(c.status)}` }, c.status),
        ...when(c.exitCode === undefined ? undefined : c.exitCode, (code) =>
          h('span', { class: `exit tone-${code === 0 ? 'ok' : 'bad'}` }, `Exit code ${code ?? '–'}`),
        ),
      ),
    ];
    if (c.errors.length > 0) parts.push(h('p', { class: 'error' }, c.errors.join(' ')));
    if (c.output) {
      parts.push(h('pre', { class: 'output', tabindex: '0', 'aria-label': 'Output' }, c.output));
      if (c.outputTruncated)
        parts.push(h('p', { class: 'sub' }, `Shortened; ${c.outputBytes} bytes in the transcript download.`));
    }
    if (c.scriptErrors)
      parts.push(h('pre', { class: 'output errors', tabindex: '0', 'aria-label': 'Errors' }, c.scriptErrors));
    if (c.resultError) parts.push(h('p', { class: 'error' }, c.resultError));
    if (download) {
      const button = h(
        'fluent-button',
        {
          appearance: download.available ? 'accent' : 'neutral',
          'data-key': `download:${download.index}`,
          ...(download.available ? {} : { disabled: '' }),
        },
        download.available ? `Download ${download.fileName}` : `${download.fileName}: link expired`,
      );
      button.addEventListener('click', async () => {
        try {
          const grant = await this.api.downloadGrant(d.id, download.index);
          const anchor = h('a', { href: grant.url, download: grant.fileName }) as HTMLAnchorElement;
          document.body.append(anchor);
          anchor.click();
          anchor.remove();
          this.lastJson = '';
          window.setTimeout(() => void this.refresh(), 1_500);
        } catch (error) {
          this.message = failure(error instanceof Error ? error.message : String(error));
          this.lastJson = '';
          void this.refresh();
        }
      });
      parts.push(
        h(
          'div',
          { class: 'download' },
          button,
          h(
            'span',
            { class: 'sub' },
            download.available ? `link valid until ${new Date(download.expiresAt).toLocaleTimeString()}` : '',
            ...when(download.sha256, (sha) => h('span', { class: 'sha' }, ` · SHA-256 ${sha}`)),
          ),
        ),
      );
    }
    return h('li', { class: 'command' }, ...parts);
  }

  private freshLinksButton(d: RequestDetail): Node {
    const button = h('fluent-button', { appearance: 'outline', 'data-key': 'fresh' }, 'Get fresh links');
    button.addEventListener('click', async () => {
      button.setAttribute('disabled', '');
      await this.api.freshLinks(d.id).catch(() => undefined);
      this.lastJson = '';
      await this.refresh();
    });
    return h('p', {}, button, ' Nothing runs on the device again.');
  }
}

function fact(label: string, value: string | undefined): Node[] {
  return value ? [h('dt', {}, label), h('dd', {}, value)] : [];
}

void start();
