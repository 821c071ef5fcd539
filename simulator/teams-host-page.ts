// A local stand-in for the Teams client around the tab: embeds /tab/ in an iframe and answers teams-js's host
// messages (initialize, getContext with the conversation and user, authentication.getAuthToken with a token
// minted by the local Entra simulator). Used by `npm run demo` and the browser tests; clearly labelled as local.
// The message shapes follow @microsoft/teams-js 2.x (communication.ts: requests `{id, uuidAsString, func, args}`,
// responses `{id, uuidAsString, args}`; getContext answers the flat v1 context that teams-js maps to v2).

export interface LocalPerson {
  key: string;
  name: string;
  aadObjectId: string;
  upn: string;
  tenantId: string;
}

export interface LocalPlace {
  key: string;
  label: string;
  /** `channel` sets channelId (+ teamId), `chat` sets chatId, `personal` opens the "My requests" tab. */
  kind: 'channel' | 'chat' | 'personal';
  conversationId?: string;
  teamId?: string;
}

export interface LocalHostSettings {
  /** The local Entra simulator (mints the SSO tokens). */
  entraUrl: string;
  /** App ID URI the tokens are for: `api://<public host>/<app id>`. */
  audience: string;
  people: LocalPerson[];
  places: LocalPlace[];
}

function escapeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** The page; `query` picks the person (`as`), the place (`where`), `theme` and a request to open (`request`). */
export function renderLocalHostPage(settings: LocalHostSettings, query: Record<string, unknown>): string {
  const pick = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : '');
  const initial = {
    as: pick('as') || settings.people[0]?.key || '',
    where: pick('where') || settings.places[0]?.key || '',
    theme: ['default', 'dark', 'contrast'].includes(pick('theme')) ? pick('theme') : 'default',
    request: pick('request'),
    width: pick('width'),
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Local Teams host — LR Bot tab</title>
<style>
body{margin:0;font-family:'Segoe UI',system-ui,sans-serif;background:#ebebeb;color:#242424}
header{display:flex;flex-wrap:wrap;gap:12px;align-items:center;padding:8px 16px;background:#5b5fc7;color:#fff}
header strong{font-size:15px} header .local{background:#fff;color:#5b5fc7;border-radius:4px;padding:2px 8px;font-weight:700;font-size:12px}
header label{font-size:13px} header select{margin-left:4px}
#frame{display:block;border:0;width:100%;height:calc(100vh - 48px);background:#fff}
</style></head>
<body>
<header role="banner">
  <strong>Local Teams host</strong><span class="local">LOCAL — not Microsoft Teams</span>
  <label>Signed in as<select id="as"></select></label>
  <label>Place<select id="where"></select></label>
  <label>Theme<select id="theme"><option value="default">Light</option><option value="dark">Dark</option><option value="contrast">High contrast</option></select></label>
</header>
<iframe id="frame" title="LR Bot tab" src="about:blank"></iframe>
<script id="settings" type="application/json">${escapeJson({ settings, initial })}</script>
<script>
(() => {
  const { settings, initial } = JSON.parse(document.getElementById('settings').textContent);
  const state = { ...initial };
  const frame = document.getElementById('frame');
  const tokens = new Map();
  const person = () => settings.people.find((p) => p.key === state.as) || settings.people[0];
  const place = () => settings.places.find((p) => p.key === state.where) || settings.places[0];
  for (const [id, items, label] of [['as', settings.people, (p) => p.name], ['where', settings.places, (p) => p.label]]) {
    const select = document.getElementById(id);
    for (const item of items) select.add(new Option(label(item), item.key, false, item.key === state[id]));
    select.addEventListener('change', () => { state[id] = select.value; state.request = ''; load(); });
  }
  const themeSelect = document.getElementById('theme');
  themeSelect.value = state.theme;
  themeSelect.addEventListener('change', () => {
    state.theme = themeSelect.value;
    frame.contentWindow.postMessage({ func: 'themeChange', args: [state.theme] }, location.origin);
  });
  if (state.width) frame.style.width = state.width + 'px';

  function context() {
    const who = person(), where = place();
    return {
      locale: 'en-gb', theme: state.theme, frameContext: 'content', hostClientType: 'web', hostName: 'Teams',
      entityId: where.kind === 'personal' ? 'my-requests' : 'live-response',
      subEntityId: state.request || undefined,
      userObjectId: who.aadObjectId, userPrincipalName: who.upn, loginHint: who.upn, userDisplayName: who.name,
      tid: who.tenantId,
      channelId: where.kind === 'channel' ? where.conversationId : undefined,
      teamId: where.kind === 'channel' ? where.teamId : undefined,
      chatId: where.kind === 'chat' ? where.conversationId : undefined,
      appSessionId: 'local-session',
    };
  }

  async function token() {
    const who = person();
    if (!tokens.has(who.key)) {
      const response = await fetch(settings.entraUrl + '/_local/teams-sso-token', {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ oid: who.aadObjectId, tid: who.tenantId, name: who.name, upn: who.upn, aud: settings.audience }),
      });
      if (!response.ok) throw new Error('the local Entra simulator answered ' + response.status);
      tokens.set(who.key, (await response.json()).access_token);
    }
    return tokens.get(who.key);
  }

  const runtime = JSON.stringify({ apiVersion: 4, isLegacyTeams: false, hostVersionsInfo: { adaptiveCardSchemaVersion: { majorVersion: 1, minorVersion: 5 } },
    supports: { appInstallDialog: {}, pages: { appButton: {}, tabs: {}, config: {}, backStack: {}, currentApp: {} }, teamsCore: {}, dialog: { card: {}, url: {} } } });

  window.addEventListener('message', async (event) => {
    if (event.source !== frame.contentWindow || event.origin !== location.origin) return;
    const message = event.data || {};
    if (typeof message.func !== 'string') return;
    const reply = (args) => frame.contentWindow.postMessage({ id: message.id, uuidAsString: message.uuidAsString, args }, event.origin);
    switch (message.func) {
      case 'initialize': return reply(['content', 'web', runtime, '2.0.0']);
      case 'getContext': return reply([context()]);
      case 'authentication.getAuthToken':
        try { return reply([true, await token()]); } catch (error) { return reply([false, String(error)]); }
      default: return; // appInitialization.*, registerHandler and the like need no answer.
    }
  });

  function load() {
    const url = new URL(location.href);
    url.searchParams.set('as', state.as); url.searchParams.set('where', state.where);
    history.replaceState(null, '', url);
    frame.src = '/tab/?host=local&t=' + Date.now();
  }
  load();
})();
</script>
</body></html>`;
}
