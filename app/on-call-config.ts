// The on-call settings (approver tiers, escalation, Microsoft Graph access), read with the rest of the configuration by
// readConfig: same rules — a bad value is a problem naming the setting with an example.

import { parseDuration } from '../core/durations.js';
import { type ApproverSource, isDirectorySource, parseApproverEntry } from '../core/on-call.js';
import { GUID, settingsReader } from './settings.js';

export interface OnCallConfig {
  /**
   * Tier 1 = APPROVERS, tier 2 = APPROVERS_ESCALATION (when set). Each entry a person (object id or UPN),
   * `group:<object id>`, `tag:<name>` or `shifts:<name>`.
   */
  tiers: ApproverSource[][];
  /** ESCALATE_AFTER: no decision this long after the card, tier 2 is asked. null = no escalation (the default). */
  escalateAfterMs: number | null;
  /** ON_CALL_CACHE: how long a source's answer is shared between requests. Default 1m. */
  cacheMs: number;
  /** Microsoft Graph, when any tier has a group/tag/shifts entry; null otherwise (plain ids/UPNs need no Graph). */
  graph: {
    /** GRAPH_API_URL, default https://graph.microsoft.com. */
    apiUrl: string;
    auth:
      | { kind: 'token'; accessToken: string }
      | { kind: 'secret'; tenantId: string; clientId: string; clientSecret: string; authorityHost: string };
  } | null;
}

export const ON_CALL_SETTINGS = {
  APPROVERS_ESCALATION: {
    default: '',
    example: 'shifts:SOC Tier 2,group:7c1e9a52-3b4d-4e6f-8a0b-1c2d3e4f5a6b',
  },
  ESCALATE_AFTER: { default: '', example: '10m' },
  ON_CALL_CACHE: { default: '1m', example: '1m' },
  GRAPH_API_URL: { default: 'https://graph.microsoft.com', example: 'https://graph.microsoft.us' },
  // Empty = the bot registration's own (MicrosoftAppTenantId, MicrosoftAppId, MicrosoftAppPassword).
  GRAPH_TENANT_ID: { default: '', example: '72f988bf-86f1-41af-91ab-2d7cd011db47' },
  GRAPH_CLIENT_ID: { default: '', example: '00000000-0000-0000-0000-000000000000' },
  GRAPH_CLIENT_SECRET: { default: '', example: '<client secret with Graph application permissions>' },
  GRAPH_AUTHORITY_HOST: {
    default: 'https://login.microsoftonline.com',
    example: 'https://login.microsoftonline.us',
  },
  GRAPH_ACCESS_TOKEN: { default: '', example: '<bearer token, for simulators and tests>' },
} as const;

export function readOnCallConfig(
  env: NodeJS.ProcessEnv,
  problems: string[],
  context: { approvalTimeoutMs: number; bot: { appId: string; appPassword: string; appTenantId: string } },
): OnCallConfig {
  const { get, bad } = settingsReader(ON_CALL_SETTINGS, env, problems);
  const entries = (name: string, text: string, example: string): ApproverSource[] =>
    text
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean)
      .flatMap((item) => {
        const parsed = parseApproverEntry(item);
        if (parsed.ok) return [parsed.source];
        problems.push(`${name} has ${parsed.error}, e.g. ${name}=${example}`);
        return [];
      });

  const tier1 = entries(
    'APPROVERS',
    env.APPROVERS ?? '',
    '3f2b8c1e-8a4d-4d5e-9c1f-2b7a6e0d4c11,alex.lead@contoso.com,shifts:SOC Tier 1',
  );
  const tier2 = entries(
    'APPROVERS_ESCALATION',
    get('APPROVERS_ESCALATION'),
    ON_CALL_SETTINGS.APPROVERS_ESCALATION.example,
  );
  const tiers = tier2.length > 0 ? [tier1, tier2] : [tier1];

  let escalateAfterMs: number | null = null;
  if (get('ESCALATE_AFTER')) {
    escalateAfterMs = parseDuration(get('ESCALATE_AFTER'));
    if (escalateAfterMs === null || escalateAfterMs <= 0)
      bad('ESCALATE_AFTER', `must be a duration like 30s, 10m or 1h (got "${get('ESCALATE_AFTER')}")`);
    else if (escalateAfterMs >= context.approvalTimeoutMs)
      bad(
        'ESCALATE_AFTER',
        'must be shorter than APPROVAL_TIMEOUT (the card would expire before it escalates)',
      );
    if (tier2.length === 0)
      bad('ESCALATE_AFTER', 'is set but APPROVERS_ESCALATION (the tier to escalate to) is empty');
  } else if (tier2.length > 0) bad('ESCALATE_AFTER', 'is required when APPROVERS_ESCALATION is set');

  const cacheMs = parseDuration(get('ON_CALL_CACHE'));
  if (cacheMs === null || cacheMs <= 0)
    bad('ON_CALL_CACHE', `must be a duration like 30s or 1m (got "${get('ON_CALL_CACHE')}")`);

  let graph: OnCallConfig['graph'] = null;
  const directoryEntries = tiers.flat().filter(isDirectorySource);
  if (directoryEntries.length > 0) {
    const apiUrl = get('GRAPH_API_URL').replace(/\/+$/, '');
    let url: URL | null = null;
    try {
      url = new URL(apiUrl);
    } catch {
      bad('GRAPH_API_URL', `must be a URL (got "${apiUrl}")`);
    }
    if (url && url.protocol !== 'https:' && !/^(127\.0\.0\.1|localhost|\[::1\])$/.test(url.hostname))
      bad('GRAPH_API_URL', 'must use https (plain http is only for a local simulator)');
    const accessToken = get('GRAPH_ACCESS_TOKEN');
    const tenantId = get('GRAPH_TENANT_ID') || context.bot.appTenantId;
    const clientId = get('GRAPH_CLIENT_ID') || context.bot.appId;
    const clientSecret =
      get('GRAPH_CLIENT_SECRET') || (get('GRAPH_CLIENT_ID') ? '' : context.bot.appPassword);
    if (accessToken) graph = { apiUrl, auth: { kind: 'token', accessToken } };
    else if (GUID.test(tenantId) && GUID.test(clientId) && clientSecret)
      graph = {
        apiUrl,
        auth: {
          kind: 'secret',
          tenantId,
          clientId,
          clientSecret,
          authorityHost: get('GRAPH_AUTHORITY_HOST'),
        },
      };
    else {
      const named = directoryEntries.map((s) => `${s.kind}:`).filter((v, i, all) => all.indexOf(v) === i);
      problems.push(
        `APPROVERS/APPROVERS_ESCALATION use ${named.join(', ')} entries, which are looked up in Microsoft Graph, but no Graph credentials are set: ` +
          'set GRAPH_TENANT_ID, GRAPH_CLIENT_ID and GRAPH_CLIENT_SECRET (an app with the Graph application permissions the README lists), ' +
          'or give the bot registration a secret (MicrosoftAppId, MicrosoftAppPassword, MicrosoftAppTenantId) to use its app, ' +
          'e.g. GRAPH_CLIENT_SECRET=<client secret>',
      );
    }
  }

  return { tiers, escalateAfterMs, cacheMs: cacheMs ?? 60_000, graph };
}
