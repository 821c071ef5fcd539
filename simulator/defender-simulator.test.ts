import { gunzipSync } from 'node:zlib';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MachineAction, ScriptTranscript } from '../defender/types.js';
import { type DefenderSimulator, startDefenderSimulator } from './defender-simulator.js';
import { machineIdFor } from './seed-data.js';

const DESKTOP = machineIdFor('desktop-test.contoso.local');
const DESKTOP2 = machineIdFor('desktop-test2.contoso.local');
const OFFLINE = machineIdFor('laptop-offline.contoso.local');
const KIOSK = machineIdFor('kiosk-nogroup.contoso.local');
const MINUTE = 60_000;

let sim: DefenderSimulator;

beforeAll(async () => {
  sim = await startDefenderSimulator();
});
afterAll(async () => {
  await sim.close();
});
afterEach(() => {
  sim.control.reset();
});

async function api(path: string, init: RequestInit & { token?: string | null } = {}) {
  const { token = 'sim-token', ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== null) headers.set('Authorization', `Bearer ${token}`);
  if (rest.body !== undefined) headers.set('Content-Type', 'application/json');
  const response = await fetch(`${sim.url}${path}`, { ...rest, headers });
  const text = await response.text();
  const json: unknown = text ? JSON.parse(text) : undefined;
  return { status: response.status, headers: response.headers, json, text };
}

function runScript(scriptName: string, args?: string) {
  return {
    type: 'RunScript',
    params: [{ key: 'ScriptName', value: scriptName }, ...(args ? [{ key: 'Args', value: args }] : [])],
  };
}
const getFile = (path: string) => ({ type: 'GetFile', params: [{ key: 'Path', value: path }] });

async function run(machineId: string, commands: unknown[], comment = 'test') {
  return api(`/api/machines/${machineId}/runliveresponse`, {
    method: 'POST',
    body: JSON.stringify({ Commands: commands, Comment: comment }),
  });
}
async function created(machineId: string, commands: unknown[], comment = 'test'): Promise<MachineAction> {
  const response = await run(machineId, commands, comment);
  expect(response.status).toBe(201);
  return response.json as MachineAction;
}
async function getAction(id: string): Promise<MachineAction> {
  const response = await api(`/api/machineactions/${id}`);
  expect(response.status).toBe(200);
  return response.json as MachineAction;
}
const errorCode = (json: unknown) => (json as { error: { code: string } }).error.code;

describe('auth', () => {
  it('refuses /api calls without the bearer token, with a Defender error body', async () => {
    for (const token of [null, 'wrong']) {
      const response = await api('/api/machines', { token });
      expect(response.status).toBe(401);
      const body = response.json as { error: { code: string; message: string; target: string } };
      expect(body.error.code).toBe('Unauthorized');
      expect(body.error.target).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('issues client-credential tokens from the token endpoint', async () => {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: 'app',
      client_secret: 's',
      scope: 'https://api.securitycenter.microsoft.com/.default',
    });
    const response = await fetch(`${sim.url}/tenant-1/oauth2/v2.0/token`, { method: 'POST', body: form });
    expect(response.status).toBe(200);
    const issued = (await response.json()) as {
      token_type: string;
      expires_in: number;
      access_token: string;
    };
    expect(issued).toMatchObject({ token_type: 'Bearer', expires_in: 3599 });
    expect(decodeJwt(issued.access_token)).toMatchObject({
      aud: 'https://api.securitycenter.microsoft.com',
      tid: 'tenant-1',
      appid: 'app',
      roles: ['Machine.LiveResponse', 'Machine.Read.All', 'Library.Manage', 'Machine.ReadWrite.All'],
    });
    expect((await api('/api/machines', { token: issued.access_token })).status).toBe(200);

    sim.control.setTokenFailure({
      status: 401,
      error: 'invalid_client',
      description: 'AADSTS7000215: Invalid client secret provided.',
    });
    const failed = await fetch(`${sim.url}/tenant-1/oauth2/v2.0/token`, { method: 'POST', body: form });
    expect(failed.status).toBe(401);
    expect(await failed.json()).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
  });
});

describe('token audience and roles', () => {
  const signIn = async (target: DefenderSimulator, scope: string, clientId = 'app') => {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: 's',
      scope,
    });
    const response = await fetch(`${target.url}/tenant-1/oauth2/v2.0/token`, { method: 'POST', body: form });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const call = async (target: DefenderSimulator, token: string, path: string, init: RequestInit = {}) => {
    const response = await fetch(`${target.url}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    });
    return {
      status: response.status,
      json: (await response.json()) as { error?: { code: string; message: string } },
    };
  };

  it('issues a token for another known resource, which the API then refuses with 403', async () => {
    const issued = await signIn(sim, 'https://api.security.microsoft.com/.default');
    expect(issued.status).toBe(200);
    const token = String(issued.body.access_token);
    expect(decodeJwt(token).aud).toBe('https://api.security.microsoft.com');
    expect(decodeJwt(token).roles).toBeUndefined();
    const refused = await call(sim, token, '/api/machines');
    expect(refused.status).toBe(403);
    expect(refused.json.error).toMatchObject({ code: 'Forbidden' });
    expect(refused.json.error?.message).toMatch(
      /scope https:\/\/api\.securitycenter\.microsoft\.com\/\.default/,
    );
  });

  it('refuses a scope naming a resource the tenant does not have (a regional host) with AADSTS500011', async () => {
    const issued = await signIn(sim, 'https://eu.api.security.microsoft.com/.default');
    expect(issued.status).toBe(400);
    expect(issued.body).toMatchObject({ error: 'invalid_resource', error_codes: [500011] });
  });

  it('accepts only its own cloud: a GCC API refuses a commercial token', async () => {
    const gcc = await startDefenderSimulator({ audience: 'https://api-gcc.securitycenter.microsoft.us' });
    try {
      const commercial = await signIn(gcc, 'https://api.securitycenter.microsoft.com/.default');
      expect((await call(gcc, String(commercial.body.access_token), '/api/machines')).status).toBe(403);
      const own = await signIn(gcc, 'https://api-gcc.securitycenter.microsoft.us/.default');
      expect((await call(gcc, String(own.body.access_token), '/api/machines')).status).toBe(200);
    } finally {
      await gcc.close();
    }
  });

  it('answers 403 naming the permission when a route needs a role the app was not granted', async () => {
    const partial = await startDefenderSimulator({
      grantedRoles: ['Machine.Read.All', 'Machine.LiveResponse'],
    });
    try {
      const issued = await signIn(partial, 'https://api.securitycenter.microsoft.com/.default');
      const token = String(issued.body.access_token);
      expect(decodeJwt(token).roles).toEqual(['Machine.Read.All', 'Machine.LiveResponse']);
      expect((await call(partial, token, '/api/machines')).status).toBe(200);
      const library = await call(partial, token, '/api/libraryfiles');
      expect(library.status).toBe(403);
      expect(library.json.error).toMatchObject({
        code: 'Forbidden',
        message:
          'The application does not have any of the required application permissions (Library.Manage) to access the resource.',
      });
      partial.control.setGrantedRoles(['Machine.Read.All']);
      const noLive = await call(partial, 'sim-token', `/api/machines/${DESKTOP}/runliveresponse`, {
        method: 'POST',
        body: JSON.stringify({ Commands: [runScript('whoami.ps1')], Comment: 'x' }),
      });
      expect(noLive.status).toBe(403);
      expect(noLive.json.error?.message).toMatch(/\(Machine\.LiveResponse\)/);
      expect(partial.control.actions()).toHaveLength(0);
    } finally {
      await partial.close();
    }
  });

  it('changes the granted roles over its HTTP control too', async () => {
    const set = await fetch(`${sim.url}/_sim/roles`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ roles: ['Library.Manage'] }),
    });
    expect(set.status).toBe(204);
    expect((await api('/api/libraryfiles')).status).toBe(200);
    expect((await api('/api/machines')).status).toBe(403);
    sim.control.reset();
    expect((await api('/api/machines')).status).toBe(200);
  });

  it('refuses a token it did not issue', async () => {
    const issued = await signIn(sim, 'https://api.securitycenter.microsoft.com/.default');
    const [header, , signature] = String(issued.body.access_token).split('.');
    const forged = Buffer.from(
      JSON.stringify({ aud: 'https://api.securitycenter.microsoft.com', exp: 9e9 }),
    ).toString('base64url');
    expect((await call(sim, `${header}.${forged}.${signature}`, '/api/machines')).status).toBe(401);
  });
});

describe('OData limits', () => {
  it("answers 400 with ASP.NET OData's message when $filter has more than 100 nodes", async () => {
    // 20 `eq` clauses: 20 × 4 + 19 `or` = 99 nodes; a 21st makes 104.
    const clauses = (n: number) =>
      Array.from({ length: n }, (_, i) => `computerDnsName eq 'host${i}.contoso.local'`).join(' or ');
    expect((await api(`/api/machines?$filter=${encodeURIComponent(clauses(20))}`)).status).toBe(404);
    const refused = await api(`/api/machines?$filter=${encodeURIComponent(clauses(21))}`);
    expect(refused.status).toBe(400);
    expect((refused.json as { error: { message: string } }).error.message).toContain(
      "The node count limit of '100' has been exceeded. To increase the limit, set the 'MaxNodeCount' property on EnableQueryAttribute or ODataValidationSettings.",
    );
  });

  it('counts an in (...) list once, whatever its length', async () => {
    const names = Array.from({ length: 60 }, (_, i) => `'h${i}'`).join(',');
    expect(
      (await api(`/api/machines?$filter=${encodeURIComponent(`computerDnsName in (${names})`)}`)).status,
    ).toBe(404);
  });

  it('answers 414 to a query string over 2048 characters, before authentication', async () => {
    // Measured as sent: the URL parser writes `'` as %27 in a query.
    const urlFor = (length: number) =>
      new URL(
        `${sim.url}/api/machines?$filter=${encodeURIComponent(`computerDnsName eq '${'a'.repeat(length)}'`)}`,
      );
    const fits = 2048 - (urlFor(0).search.length - 1);
    expect(urlFor(fits).search.length - 1).toBe(2048);
    expect((await api(`${urlFor(fits).pathname}${urlFor(fits).search}`)).status).toBe(404);
    const tooLong = await fetch(urlFor(fits + 1));
    expect(tooLong.status).toBe(414);
    expect(await tooLong.text()).toContain('HTTP Error 414. The request URL is too long.');
  });
});

describe('machines', () => {
  it('finds a machine by id or by DNS name, case-insensitively, and 404s otherwise', async () => {
    expect((await api(`/api/machines/${DESKTOP}`)).json).toMatchObject({
      computerDnsName: 'desktop-test.contoso.local',
      osPlatform: 'Windows11',
      healthStatus: 'Active',
      riskScore: 'Medium',
    });
    expect((await api('/api/machines/DESKTOP-TEST.contoso.local')).json).toMatchObject({ id: DESKTOP });
    const missing = await api('/api/machines/nope.contoso.local');
    expect(missing.status).toBe(404);
    expect(errorCode(missing.json)).toBe('ResourceNotFound');
  });

  it('filters with eq, startswith and or, and answers 404 when nothing matches', async () => {
    const names = async (filter: string) =>
      (
        (await api(`/api/machines?$filter=${encodeURIComponent(filter)}`)).json as {
          value: { computerDnsName: string }[];
        }
      ).value.map((m) => m.computerDnsName);
    expect(await names("startswith(computerDnsName,'web01')")).toEqual([
      'web01.contoso.local',
      'web01.fabrikam.local',
    ]);
    expect(await names("computerDnsName eq 'SRV-DB01.contoso.local'")).toEqual(['srv-db01.contoso.local']);
    expect(await names(`id eq '${DESKTOP}' or computerDnsName eq 'srv-db01.contoso.local'`)).toHaveLength(2);
    const top = await api(`/api/machines?$top=2`);
    expect((top.json as { value: unknown[] }).value).toHaveLength(2);
    const none = await api(`/api/machines?$filter=${encodeURIComponent("computerDnsName eq 'ghost'")}`);
    expect(none.status).toBe(404);
    const bad = await api(`/api/machines?$filter=${encodeURIComponent('computerDnsName eq')}`);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('computerDnsName eq');
  });

  it('lists the library', async () => {
    const response = await api('/api/libraryfiles');
    const files = (response.json as { value: { fileName: string; hasParameters: boolean }[] }).value;
    expect(files.map((f) => f.fileName)).toEqual(
      expect.arrayContaining(['minidump.ps1', 'collect.ps1', 'whoami.ps1', 'hang.ps1', 'procdump64.exe']),
    );
    expect(files.find((f) => f.fileName === 'minidump.ps1')?.hasParameters).toBe(true);
  });
});

describe('runliveresponse', () => {
  it('answers 201 with a Pending action whose commands are all Created', async () => {
    const response = await run(
      DESKTOP,
      [runScript('minidump.ps1', 'OfficeClickToRun'), getFile('C:\\x.zip')],
      'why',
    );
    expect(response.status).toBe(201);
    const action = response.json as MachineAction;
    expect(action).toMatchObject({
      type: 'LiveResponse',
      status: 'Pending',
      machineId: DESKTOP,
      computerDnsName: 'desktop-test.contoso.local',
      requestor: 'LR Bot',
      requestorComment: 'why',
    });
    expect(action.lastUpdateDateTimeUtc).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
    expect(action.lastUpdateTimeUtc).toBeUndefined();
    expect(action.commands.map((c) => [c.index, c.commandStatus, c.startTime])).toEqual([
      [0, 'Created', null],
      [1, 'Created', null],
    ]);
  });

  it.each([
    [{ commands: [runScript('whoami.ps1')] }, 'MissingRequiredParameter'],
    [{ Commands: [] }, 'InvalidRequestBody'],
    [{ Commands: [{ Type: 'RunScript', params: [] }] }, 'MissingRequiredParameter'],
    [
      { Commands: [{ type: 'RunScript', params: [{ Key: 'ScriptName', value: 'whoami.ps1' }] }] },
      'InvalidRequestBody',
    ],
    [{ Commands: [{ type: 'runscript', params: [] }] }, 'InvalidRequestBody'],
    [{ Commands: [{ type: 'RunScript', params: [] }] }, 'MissingRequiredParameter'],
    [{ Commands: [runScript('nope.ps1')] }, 'InvalidRequestBody'],
    [{ Commands: [runScript('collect.ps1', 'a; b')] }, 'InvalidRequestBody'],
    [{ Commands: [runScript('collect.ps1', '$(evil)')] }, 'InvalidRequestBody'],
    [{ Commands: [{ type: 'GetFile', params: [] }] }, 'MissingRequiredParameter'],
    [
      { Commands: [{ type: 'PutFile', params: [{ key: 'FileName', value: 'nope.exe' }] }] },
      'InvalidRequestBody',
    ],
  ])('refuses %j with 400 %s', async (body, code) => {
    const response = await api(`/api/machines/${DESKTOP}/runliveresponse`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(400);
    expect(errorCode(response.json)).toBe(code);
  });

  it('refuses malformed JSON, unknown devices and device groups without automation', async () => {
    const malformed = await api(`/api/machines/${DESKTOP}/runliveresponse`, {
      method: 'POST',
      body: '{"Commands":',
    });
    expect(errorCode(malformed.json)).toBe('InvalidRequestBody');
    expect((await run('0'.repeat(40), [runScript('whoami.ps1')])).status).toBe(404);
    const kiosk = await run(KIOSK, [runScript('whoami.ps1')]);
    expect(kiosk.status).toBe(403);
    expect(errorCode(kiosk.json)).toBe('DisallowedOperation');
  });

  it('refuses a second live response on a busy device, or merges it into the active one when told to', async () => {
    const first = await created(DESKTOP, [runScript('whoami.ps1')]);
    const busy = await run(DESKTOP, [runScript('whoami.ps1')]);
    expect(busy.status).toBe(400);
    expect(errorCode(busy.json)).toBe('ActiveRequestAlreadyExists');

    sim.control.setMerge(1);
    const merged = await run(DESKTOP, [runScript('collect.ps1')], 'other');
    expect(merged.status).toBe(201);
    expect((merged.json as MachineAction).id).toBe(first.id);
    expect((await run(DESKTOP, [runScript('whoami.ps1')])).status).toBe(400);
    expect(sim.control.calls({ method: 'POST', path: /runliveresponse$/ })).toHaveLength(4);
  });
});

describe('progression', () => {
  it('goes Pending → InProgress → Succeeded with per-command times', async () => {
    const action = await created(DESKTOP, [runScript('whoami.ps1'), getFile('C:\\windows\\TEMP\\a.txt')]);
    sim.control.advance(6_000);
    let now = await getAction(action.id);
    expect(now.status).toBe('InProgress');
    expect(now.commands.map((c) => c.commandStatus)).toEqual(['InProgress', 'Created']);
    expect(now.commands[0]!.startTime).not.toBeNull();
    sim.control.advance(10_000);
    now = await getAction(action.id);
    expect(now.commands.map((c) => c.commandStatus)).toEqual(['Completed', 'InProgress']);
    expect(now.commands[0]!.endTime).not.toBeNull();
    sim.control.advance(MINUTE);
    now = await getAction(action.id);
    expect(now.status).toBe('Succeeded');
    expect(now.commands.map((c) => c.commandStatus)).toEqual(['Completed', 'Completed']);
  });

  it('stops after a failing command: later commands stay Created and the action Fails', async () => {
    const action = await created(DESKTOP, [runScript('crash.ps1'), getFile('C:\\a.txt')]);
    sim.control.advance(5 * MINUTE);
    const now = await getAction(action.id);
    expect(now.status).toBe('Failed');
    expect(now.commands.map((c) => c.commandStatus)).toEqual(['Failed', 'Created']);
    expect(now.commands[0]!.errors[0]).toMatch(/failed/);
  });

  it('fails a GetFile of a path the device does not have', async () => {
    const action = await created(DESKTOP, [getFile('C:\\missing\\file.txt')]);
    sim.control.advance(5 * MINUTE);
    const now = await getAction(action.id);
    expect(now.status).toBe('Failed');
    expect(now.commands[0]!.errors[0]).toMatch(/not found/);
  });

  it('times a hanging script out at 10 minutes', async () => {
    const action = await created(DESKTOP, [runScript('hang.ps1')]);
    sim.control.advance(9 * MINUTE);
    expect((await getAction(action.id)).status).toBe('InProgress');
    sim.control.advance(2 * MINUTE);
    const now = await getAction(action.id);
    expect(now.status).toBe('TimeOut');
    expect(now.commands[0]!.commandStatus).toBe('Failed');
  });

  it('keeps an offline device Pending until it comes online', async () => {
    const action = await created(OFFLINE, [runScript('whoami.ps1')]);
    sim.control.advance(24 * 60 * MINUTE);
    expect((await getAction(action.id)).status).toBe('Pending');
    sim.control.setOnline(OFFLINE, true);
    sim.control.advance(MINUTE);
    expect((await getAction(action.id)).status).toBe('Succeeded');
  });

  it('hides a just-created action from GET when the quirk is on', async () => {
    sim.control.setInvisibleAfterCreate(3_000);
    const action = await created(DESKTOP, [runScript('whoami.ps1')]);
    expect((await api(`/api/machineactions/${action.id}`)).status).toBe(404);
    sim.control.advance(3_000);
    expect((await api(`/api/machineactions/${action.id}`)).status).toBe(200);
  });
});

describe('machine action queries', () => {
  it('filters by id in (...), or, machineId, status and creation time', async () => {
    const a = await created(DESKTOP, [runScript('whoami.ps1')]);
    const b = await created(DESKTOP2, [runScript('whoami.ps1')]);
    const c = await created(OFFLINE, [runScript('whoami.ps1')]);
    sim.control.advance(MINUTE);
    const ids = async (filter: string) =>
      (
        (await api(`/api/machineactions?$filter=${encodeURIComponent(filter)}`)).json as {
          value: MachineAction[];
        }
      ).value
        .map((x) => x.id)
        .sort();
    expect(await ids(`id in ('${a.id}','${c.id}')`)).toEqual([a.id, c.id].sort());
    expect(await ids(`id eq '${a.id}' or id eq '${b.id}'`)).toEqual([a.id, b.id].sort());
    expect(await ids(`machineId eq '${DESKTOP2}' and status eq 'Succeeded'`)).toEqual([b.id]);
    expect(await ids(`status eq 'Pending' and type eq 'LiveResponse' and requestor eq 'LR Bot'`)).toEqual([
      c.id,
    ]);
    const since = new Date(sim.control.now() - 30_000).toISOString();
    expect(await ids(`creationDateTimeUtc ge ${since}`)).toEqual([]);
    expect(
      await ids(
        `(status eq 'Pending' or status eq 'Succeeded') and creationDateTimeUtc ge '2000-01-01T00:00:00Z'`,
      ),
    ).toHaveLength(3);
    const top = await api('/api/machineactions?$top=1');
    expect((top.json as { value: unknown[] }).value).toHaveLength(1);
    expect((await api('/api/machineactions?$top=10001')).status).toBe(400);
    const bad = await api(`/api/machineactions?$filter=${encodeURIComponent("id in ('a'")}`);
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/Invalid \$filter/);
  });

  it('cancels a running action and refuses to cancel a finished one', async () => {
    const action = await created(DESKTOP, [runScript('collect.ps1'), getFile('C:\\a.txt')]);
    sim.control.advance(10_000);
    const cancel = await api(`/api/machineactions/${action.id}/cancel`, {
      method: 'POST',
      body: JSON.stringify({ Comment: 'wrong device' }),
    });
    expect(cancel.status).toBe(200);
    expect(cancel.json).toMatchObject({
      status: 'Cancelled',
      cancellationComment: 'wrong device',
      cancellationRequestor: 'LR Bot',
    });
    expect((cancel.json as MachineAction).cancellationDateTimeUtc).toBeTruthy();
    sim.control.advance(MINUTE);
    expect((await getAction(action.id)).status).toBe('Cancelled');
    const again = await api(`/api/machineactions/${action.id}/cancel`, {
      method: 'POST',
      body: JSON.stringify({ Comment: 'again' }),
    });
    expect(again.status).toBe(400);
    // A cancelled action frees the device.
    expect((await run(DESKTOP, [runScript('whoami.ps1')])).status).toBe(201);
  });
});

describe('result links', () => {
  async function link(actionId: string, index: number) {
    return api(`/api/machineactions/${actionId}/GetLiveResponseResultDownloadLink(index=${index})`);
  }

  it('mints a fresh SAS-shaped link per call to a transcript with the documented shape', async () => {
    const action = await created(DESKTOP, [runScript('minidump.ps1', 'OfficeClickToRun')]);
    expect((await link(action.id, 0)).status).toBe(400); // not completed yet
    sim.control.advance(5 * MINUTE);
    const first = await link(action.id, 0);
    expect(first.status).toBe(200);
    const url = (first.json as { value: string }).value;
    expect(url).toMatch(
      new RegExp(
        `^${sim.url}/blob/investigation-actions-data/${action.id}/CustomPlaybookCommandOutput/[0-9a-f]{32}\\?se=[^&]+&sp=r&sv=2019-07-07&sr=b&sig=`,
      ),
    );
    expect((await link(action.id, 0)).json).not.toEqual(first.json);

    const blob = await fetch(url);
    expect(blob.status).toBe(200);
    const transcript = (await blob.json()) as ScriptTranscript;
    expect(Object.keys(transcript).sort()).toEqual([
      'exit_code',
      'script_errors',
      'script_name',
      'script_output',
    ]);
    expect(transcript.script_name).toBe('minidump.ps1');
    expect(transcript.exit_code).toBe(0);
    expect(transcript.script_output).toMatch(
      /^Transcript started, output file is C:\\ProgramData\\.+\\PSScript_Transcript_\{[0-9A-F-]+\}\.txt\n/,
    );
    expect(transcript.script_output).toContain('C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip');
    expect(transcript.script_output.endsWith('\u0000')).toBe(true);
  });

  it('refuses a tampered signature and an expired link', async () => {
    const action = await created(DESKTOP, [runScript('whoami.ps1')]);
    sim.control.advance(MINUTE);
    const url = ((await link(action.id, 0)).json as { value: string }).value;
    const tampered = url.replace(/sig=([^&]+)/, 'sig=AAAA$1');
    const bad = await fetch(tampered);
    expect(bad.status).toBe(403);
    expect(await bad.text()).toContain('AuthenticationFailed');
    expect((await fetch(url.replace(/&sig=.*/, ''))).status).toBe(403);
    sim.control.advance(29 * MINUTE);
    expect((await fetch(url)).status).toBe(200);
    sim.control.advance(2 * MINUTE);
    const expired = await fetch(url);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('AuthenticationFailed');
  });

  it('serves GetFile results gzip-compressed and reports exit codes of failing scripts', async () => {
    const action = await created(DESKTOP, [runScript('fail.ps1'), getFile('C:\\windows\\TEMP\\a.txt')]);
    sim.control.advance(5 * MINUTE);
    expect((await getAction(action.id)).status).toBe('Succeeded');
    const transcript = (await (
      await fetch(((await link(action.id, 0)).json as { value: string }).value)
    ).json()) as ScriptTranscript;
    expect(transcript.exit_code).toBe(1);
    expect(transcript.script_errors).toContain('Access to the path');
    const file = await fetch(((await link(action.id, 1)).json as { value: string }).value);
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(gunzipSync(bytes).toString()).toContain('C:\\windows\\TEMP\\a.txt');
  });

  it('has no result for PutFile and 404s for an index out of range', async () => {
    const action = await created(DESKTOP, [
      { type: 'PutFile', params: [{ key: 'FileName', value: 'procdump64.exe' }] },
    ]);
    sim.control.advance(MINUTE);
    const putFile = await link(action.id, 0);
    expect(putFile.status).toBe(400);
    expect(putFile.text).toContain('PutFile');
    expect((await link(action.id, 3)).status).toBe(404);
    expect((await link('00000000-0000-0000-0000-000000000000', 0)).status).toBe(404);
  });

  it('serves about 200 KB for bigoutput.ps1', async () => {
    const action = await created(DESKTOP, [runScript('bigoutput.ps1')]);
    sim.control.advance(MINUTE);
    const transcript = (await (
      await fetch(((await link(action.id, 0)).json as { value: string }).value)
    ).json()) as ScriptTranscript;
    expect(transcript.script_output.length).toBeGreaterThan(150_000);
  });
});

describe('limits', () => {
  it('allows 10 runliveresponse calls per minute, then 429 with Retry-After', async () => {
    const devices = sim.control.machines().filter((m) => m.online !== false && !m.disallowed);
    for (let i = 0; i < 10; i++) {
      // Busy refusals still count against the rate, as they do in Defender.
      const response = await run(devices[i % devices.length]!.id, [runScript('whoami.ps1')]);
      expect(response.status).not.toBe(429);
    }
    const throttled = await run(DESKTOP, [runScript('whoami.ps1')]);
    expect(throttled.status).toBe(429);
    expect(errorCode(throttled.json)).toBe('TooManyRequests');
    const retryAfter = Number(throttled.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    sim.control.advance(MINUTE);
    expect((await run(DESKTOP, [runScript('whoami.ps1')])).status).not.toBe(429);
  });

  it('caps concurrent sessions', async () => {
    const small = await startDefenderSimulator({ limits: { maxSessions: 2 } });
    try {
      const post = (machineId: string) =>
        fetch(`${small.url}/api/machines/${machineId}/runliveresponse`, {
          method: 'POST',
          headers: { Authorization: 'Bearer sim-token', 'Content-Type': 'application/json' },
          body: JSON.stringify({ Commands: [runScript('whoami.ps1')], Comment: '' }),
        });
      expect((await post(DESKTOP)).status).toBe(201);
      expect((await post(OFFLINE)).status).toBe(201);
      const third = await post(DESKTOP2);
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
      small.control.advance(MINUTE); // DESKTOP's action finishes; the offline one still holds a session
      expect((await post(DESKTOP2)).status).toBe(201);
    } finally {
      await small.close();
    }
  });

  it('limits the other calls to 100 per minute', async () => {
    for (let i = 0; i < 100; i++) expect((await api('/api/libraryfiles')).status).toBe(200);
    const throttled = await api('/api/libraryfiles');
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('fault injection and the call log', () => {
  it('answers an injected status once, with Retry-After', async () => {
    sim.control.injectFault({
      method: 'GET',
      path: '^/api/libraryfiles$',
      kind: 'status',
      status: 503,
      retryAfterSeconds: 7,
    });
    const failed = await api('/api/libraryfiles');
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('7');
    expect((await api('/api/libraryfiles')).status).toBe(200);
  });

  it('resets the connection', async () => {
    sim.control.injectFault({ path: 'libraryfiles', kind: 'reset' });
    await expect(
      fetch(`${sim.url}/api/libraryfiles`, { headers: { Authorization: 'Bearer sim-token' } }),
    ).rejects.toThrow();
    expect(sim.control.calls({ path: 'libraryfiles' })[0]).toMatchObject({ status: null, fault: 'reset' });
  });

  it('performs the operation but loses the response', async () => {
    sim.control.injectFault({ method: 'POST', path: 'runliveresponse$', kind: 'loseResponse' });
    await expect(run(DESKTOP, [runScript('whoami.ps1')], 'lost [lr:R1]')).rejects.toThrow();
    expect(sim.control.actions()).toHaveLength(1);
    expect(sim.control.actions()[0]!.requestorComment).toBe('lost [lr:R1]');
    expect(sim.control.calls({ method: 'POST', path: 'runliveresponse' })).toHaveLength(1);
  });

  it('delays a response', async () => {
    sim.control.injectFault({ path: 'libraryfiles', kind: 'hang', delayMs: 150 });
    const started = Date.now();
    expect((await api('/api/libraryfiles')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('exposes the same control over HTTP', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${sim.url}/_sim${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(
      (await post('/faults', { path: 'libraryfiles', kind: 'status', status: 500, times: 2 })).status,
    ).toBe(201);
    expect((await api('/api/libraryfiles')).status).toBe(500);
    expect((await api('/api/libraryfiles')).status).toBe(500);
    expect((await api('/api/libraryfiles')).status).toBe(200);
    await post('/machines/laptop-offline.contoso.local/online', { online: true });
    expect(sim.control.machines().find((m) => m.id === OFFLINE)?.online).toBe(true);
    const before = sim.control.now();
    await post('/advance', { ms: MINUTE });
    expect(sim.control.now()).toBeGreaterThanOrEqual(before + MINUTE);
    const calls = (await (await fetch(`${sim.url}/_sim/calls?path=libraryfiles`)).json()) as {
      value: unknown[];
    };
    expect(calls.value).toHaveLength(3);
    expect((await post('/faults', { path: 'x', kind: 'explode' })).status).toBe(400);
  });
});

describe('compatibility options', () => {
  it('can send only the older lastUpdateTimeUtc field', async () => {
    const old = await startDefenderSimulator({ lastUpdateFields: 'old' });
    try {
      const response = await fetch(`${old.url}/api/machines/${DESKTOP}/runliveresponse`, {
        method: 'POST',
        headers: { Authorization: 'Bearer sim-token', 'Content-Type': 'application/json' },
        body: JSON.stringify({ Commands: [runScript('whoami.ps1')] }),
      });
      const action = (await response.json()) as MachineAction;
      expect(action.lastUpdateTimeUtc).toBeDefined();
      expect(action.lastUpdateDateTimeUtc).toBeUndefined();
    } finally {
      await old.close();
    }
  });

  it('runs on a compressed clock', async () => {
    const fast = await startDefenderSimulator({ speed: 600 });
    try {
      const a = fast.control.now();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(fast.control.now() - a).toBeGreaterThanOrEqual(50_000);
    } finally {
      await fast.close();
    }
  });
});
