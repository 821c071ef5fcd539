import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from './config.js';

const minimal = { DEFENDER_ACCESS_TOKEN: 'sim-token' };
const GROUP = '7c1e9a52-3b4d-4e6f-8a0b-1c2d3e4f5a6b';
const BOT = {
  MicrosoftAppId: '00000000-0000-0000-0000-0000000000b0',
  MicrosoftAppPassword: 'bot-secret',
  MicrosoftAppTenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  PUBLIC_BASE_URL: 'https://lrbot.contoso.com',
};

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    readConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('on-call approver settings', () => {
  it('needs no Graph for object ids and UPNs', () => {
    const config = readConfig({
      ...minimal,
      APPROVERS: '3F2B8C1E-8A4D-4D5E-9C1F-2B7A6E0D4C11, Alex.Lead@contoso.com',
    });
    expect(config.approval.approvers).toEqual([
      '3f2b8c1e-8a4d-4d5e-9c1f-2b7a6e0d4c11',
      'alex.lead@contoso.com',
    ]);
    expect(config.onCall.graph).toBeNull();
    expect(config.onCall.escalateAfterMs).toBeNull();
  });

  it('reads group:, tag: and shifts: entries (names may hold spaces) with a Graph token', () => {
    const config = readConfig({
      ...minimal,
      APPROVERS: `alex.lead@contoso.com,group:${GROUP},tag:oncall,shifts:SOC Tier 1`,
      GRAPH_ACCESS_TOKEN: 'graph-token',
    });
    expect(config.onCall.tiers).toEqual([
      [
        { kind: 'person', id: 'alex.lead@contoso.com' },
        { kind: 'group', groupId: GROUP },
        { kind: 'tag', name: 'oncall' },
        { kind: 'shifts', name: 'SOC Tier 1' },
      ],
    ]);
    expect(config.approval.approvers).toEqual(['alex.lead@contoso.com']);
    expect(config.onCall.graph).toEqual({
      apiUrl: 'https://graph.microsoft.com',
      auth: { kind: 'token', accessToken: 'graph-token' },
    });
  });

  it('stops at start-up when a group/tag/shifts entry is set without Graph credentials, saying what to set', () => {
    const problems = problemsOf({ ...minimal, APPROVERS: 'shifts:SOC Tier 1' });
    expect(problems).toEqual([
      expect.stringContaining('use shifts: entries, which are looked up in Microsoft Graph'),
    ]);
    expect(problems[0]).toContain('GRAPH_CLIENT_SECRET');
  });

  it("uses the bot registration's credentials for Graph by default", () => {
    const config = readConfig({ ...minimal, ...BOT, APPROVERS: `group:${GROUP}` });
    expect(config.onCall.graph?.auth).toEqual({
      kind: 'secret',
      tenantId: BOT.MicrosoftAppTenantId,
      clientId: BOT.MicrosoftAppId,
      clientSecret: BOT.MicrosoftAppPassword,
      authorityHost: 'https://login.microsoftonline.com',
    });
  });

  it('names a malformed entry with the accepted forms', () => {
    const problems = problemsOf({ ...minimal, APPROVERS: 'group:soc-leads,oncall' });
    expect(problems).toEqual([
      expect.stringContaining(`"group:soc-leads": group: takes the group's Entra object id (a GUID)`),
      expect.stringContaining(
        '"oncall" is neither an Entra object id (GUID), a UPN, group:<object id>, tag:<name> nor shifts:<name>',
      ),
    ]);
  });

  it('takes an escalation tier with ESCALATE_AFTER shorter than APPROVAL_TIMEOUT', () => {
    const config = readConfig({
      ...minimal,
      APPROVERS: 'alex.lead@contoso.com',
      APPROVERS_ESCALATION: 'sam.oncall@contoso.com',
      ESCALATE_AFTER: '10m',
    });
    expect(config.onCall.tiers[1]).toEqual([{ kind: 'person', id: 'sam.oncall@contoso.com' }]);
    expect(config.onCall.escalateAfterMs).toBe(600_000);

    expect(
      problemsOf({
        ...minimal,
        APPROVERS: 'alex.lead@contoso.com',
        APPROVERS_ESCALATION: 'sam.oncall@contoso.com',
      }),
    ).toEqual([expect.stringMatching(/^ESCALATE_AFTER is required when APPROVERS_ESCALATION is set/)]);
    expect(
      problemsOf({
        ...minimal,
        APPROVERS: 'alex.lead@contoso.com',
        APPROVERS_ESCALATION: 'sam.oncall@contoso.com',
        ESCALATE_AFTER: '30m',
      }),
    ).toEqual([expect.stringMatching(/^ESCALATE_AFTER must be shorter than APPROVAL_TIMEOUT/)]);
    expect(problemsOf({ ...minimal, APPROVERS: 'alex.lead@contoso.com', ESCALATE_AFTER: '5m' })).toEqual([
      expect.stringMatching(/^ESCALATE_AFTER is set but APPROVERS_ESCALATION .* is empty/),
    ]);
  });
});
