// The simulator's live response rules that real tenants enforce and the bot must not trip over, over HTTP: the
// PutFile → RunScript → GetFile order, Linux and macOS devices, re-imaged devices' older records, sessions opened in
// the portal, and both spellings of a RunScript result file.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Machine, MachineAction } from '../defender/types.js';
import { type DefenderSimulator, startDefenderSimulator } from './defender-simulator.js';
import { machineIdFor } from './seed-data.js';

const DESKTOP = machineIdFor('desktop-test.contoso.local');
const LINUX = machineIdFor('linux-web02.contoso.local');
const MAC = machineIdFor('mac-design01.contoso.local');
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

async function api(path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set('Authorization', 'Bearer sim-token');
  if (init.body !== undefined) headers.set('Content-Type', 'application/json');
  const response = await fetch(`${sim.url}${path}`, { ...init, headers });
  const text = await response.text();
  return { status: response.status, json: (text ? JSON.parse(text) : undefined) as unknown };
}

const runScript = (value: string) => ({ type: 'RunScript', params: [{ key: 'ScriptName', value }] });
const getFile = (value: string) => ({ type: 'GetFile', params: [{ key: 'Path', value }] });
const putFile = (value: string) => ({ type: 'PutFile', params: [{ key: 'FileName', value }] });

function run(machineId: string, commands: unknown[]) {
  return api(`/api/machines/${machineId}/runliveresponse`, {
    method: 'POST',
    body: JSON.stringify({ Commands: commands, Comment: 'test' }),
  });
}

async function finished(machineId: string, commands: unknown[]): Promise<MachineAction> {
  const response = await run(machineId, commands);
  expect(response.status).toBe(201);
  sim.control.advance(5 * MINUTE);
  const now = await api(`/api/machineactions/${(response.json as MachineAction).id}`);
  return now.json as MachineAction;
}

async function resultOf(actionId: string, index: number): Promise<unknown> {
  const link = await api(`/api/machineactions/${actionId}/GetLiveResponseResultDownloadLink(index=${index})`);
  expect(link.status).toBe(200);
  return (await fetch((link.json as { value: string }).value)).json();
}

const error = (json: unknown) => (json as { error: { code: string; message: string; target: string } }).error;

describe('command order', () => {
  it.each([
    ['GetFile before RunScript', [getFile('C:\\a.txt'), runScript('whoami.ps1')]],
    ['RunScript before PutFile', [runScript('whoami.ps1'), putFile('procdump64.exe')]],
    ['GetFile before PutFile', [putFile('procdump64.exe'), getFile('C:\\a.txt'), putFile('procdump64.exe')]],
  ])('answers 400 InvalidRequestBody to %s and creates no action', async (_name, commands) => {
    const response = await run(DESKTOP, commands);
    expect(response.status).toBe(400);
    expect(error(response.json).code).toBe('InvalidRequestBody');
    expect(error(response.json).message).toMatch(/order PutFile, RunScript, GetFile/);
    expect(error(response.json).target).toMatch(/^[0-9a-f-]{36}$/);
    expect(sim.control.actions()).toHaveLength(0);
  });

  it('takes any number of repeats in order', async () => {
    const commands = [
      putFile('procdump64.exe'),
      putFile('procdump64.exe'),
      runScript('whoami.ps1'),
      runScript('whoami.ps1'),
      getFile('C:\\a.txt'),
      getFile('C:\\b.txt'),
    ];
    expect((await run(DESKTOP, commands)).status).toBe(201);
  });
});

describe('Linux and macOS devices', () => {
  it('lists them with the osPlatform Defender reports', async () => {
    const response = await api(`/api/machines?$filter=${encodeURIComponent("osPlatform eq 'Linux'")}`);
    const linux = (response.json as { value: Machine[] }).value.map((m) => m.computerDnsName);
    expect(linux).toEqual(['linux-web02.contoso.local']);
    expect(((await api(`/api/machines/${MAC}`)).json as Machine).osPlatform).toBe('macOS');
  });

  it('collects a POSIX path on Linux and runs a .sh script there', async () => {
    const action = await finished(LINUX, [runScript('whoami.sh'), getFile('/var/log/syslog')]);
    expect(action.status).toBe('Succeeded');
    expect(action.commands[1]!.command.params[0]!.value).toBe('/var/log/syslog');
  });

  it.each([
    ['a PowerShell script on Linux', LINUX, runScript('whoami.ps1'), /PowerShell .* Windows devices only/],
    ['a Windows path on macOS', MAC, getFile('C:\\Windows\\Temp\\a.txt'), /not found/],
    ['a Bash script on Windows', DESKTOP, runScript('whoami.sh'), /Bash scripts run on Linux and macOS/],
    ['a POSIX path on Windows', DESKTOP, getFile('/var/log/syslog'), /not found/],
  ])('accepts %s, then fails the command on the device', async (_name, machineId, command, message) => {
    const action = await finished(machineId, [command]);
    expect(action.status).toBe('Failed');
    expect(action.commands[0]!.commandStatus).toBe('Failed');
    expect(action.commands[0]!.errors.join(' ')).toMatch(message);
  });

  it('writes Bash results without a PowerShell transcript banner', async () => {
    const action = await finished(LINUX, [runScript('whoami.sh')]);
    const result = (await resultOf(action.id, 0)) as { script_output: string };
    expect(result.script_output).toMatch(/^root/);
  });
});

describe('result file spellings', () => {
  it('writes the docs’ example spelling by default and the table spelling where the script says so', async () => {
    const windows = await finished(DESKTOP, [runScript('fail.ps1')]);
    expect(Object.keys((await resultOf(windows.id, 0)) as object).sort()).toEqual(
      ['exit_code', 'script_errors', 'script_name', 'script_output'].sort(),
    );
    const linux = await finished(LINUX, [runScript('collect-logs.sh')]);
    const table = (await resultOf(linux.id, 0)) as Record<string, unknown>;
    expect(Object.keys(table).sort()).toEqual(['exit_code', 'name', 'script_error', 'script_output'].sort());
    expect(table.script_error).toMatch(/Permission denied/);
  });
});

describe('re-imaged devices', () => {
  it('keeps one Active and two Inactive records under the same name', async () => {
    const filter = encodeURIComponent("computerDnsName eq 'fin-laptop07.contoso.local'");
    const records = ((await api(`/api/machines?$filter=${filter}`)).json as { value: Machine[] }).value;
    expect(records.map((m) => m.healthStatus).sort()).toEqual(['Active', 'Inactive', 'Inactive']);
    expect(new Set(records.map((m) => m.id)).size).toBe(3);
  });
});

describe('sessions opened in the portal', () => {
  it('are not listed by machineactions but still hold the device', async () => {
    sim.control.setPortalSession('desktop-test.contoso.local', true);
    const listed = await api('/api/machineactions');
    expect((listed.json as { value: MachineAction[] }).value).toEqual([]);
    const refused = await run(DESKTOP, [runScript('whoami.ps1')]);
    expect(refused.status).toBe(400);
    expect(error(refused.json).code).toBe('ActiveRequestAlreadyExists');

    sim.control.setPortalSession('desktop-test.contoso.local', false);
    expect((await run(DESKTOP, [runScript('whoami.ps1')])).status).toBe(201);
  });
});
