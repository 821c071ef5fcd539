import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DefenderSimulator, startDefenderSimulator } from '../simulator/defender-simulator.js';
import { machineIdFor } from '../simulator/seed-data.js';
import {
  buildCorrelationTag,
  buildMachineActionsFilter,
  createDefenderClient,
  type DefenderApi,
  findCorrelatedAction,
} from './defender-client.js';
import { DefenderApiError } from './defender-errors.js';
import { createStaticTokenProvider, TokenAcquisitionError } from './token-provider.js';
import type { RunLiveResponseBody } from './types.js';

const DESKTOP = machineIdFor('desktop-test.contoso.local');
const DESKTOP2 = machineIdFor('desktop-test2.contoso.local');
const KIOSK = machineIdFor('kiosk-nogroup.contoso.local');
const MINUTE = 60_000;

let sim: DefenderSimulator;
let client: DefenderApi;

beforeAll(async () => {
  sim = await startDefenderSimulator();
  client = createDefenderClient({ baseUrl: `${sim.url}/`, tokens: createStaticTokenProvider('sim-token') });
});
afterAll(async () => {
  await sim.close();
});
afterEach(() => {
  sim.control.reset();
});

function whoami(comment = 'test'): RunLiveResponseBody {
  return {
    Commands: [{ type: 'RunScript', params: [{ key: 'ScriptName', value: 'whoami.ps1' }] }],
    Comment: comment,
  };
}

async function failure(promise: Promise<unknown>): Promise<DefenderApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DefenderApiError);
  return error as DefenderApiError;
}

const lastQuery = (path: RegExp) => sim.control.calls({ path }).at(-1)?.query ?? {};

describe('machines and library', () => {
  it('finds machines by id, FQDN or short name in one filter, by prefix, and treats 404 as no machines', async () => {
    const found = await client.findMachines({ devices: [DESKTOP, 'srv-db01.contoso.local', 'web01'] });
    expect(found.map((m) => m.computerDnsName).sort()).toEqual([
      'desktop-test.contoso.local',
      'srv-db01.contoso.local',
      'web01.contoso.local',
      'web01.fabrikam.local',
    ]);
    expect(found.find((m) => m.id === DESKTOP)).toMatchObject({
      osPlatform: 'Windows11',
      riskScore: 'Medium',
    });
    const prefix = await client.findMachines({ dnsNameStartsWith: 'web01' });
    expect(prefix.map((m) => m.computerDnsName)).toEqual(['web01.contoso.local', 'web01.fabrikam.local']);
    expect(await client.findMachines({ devices: ["o'brien.contoso.local"] })).toEqual([]);
    expect(lastQuery(/\/api\/machines$/).$filter).toBe("computerDnsName eq 'o''brien.contoso.local'");
    expect(await client.findMachines({ top: 3 })).toHaveLength(3);
  });

  it('lists the library', async () => {
    const files = await client.listLibraryFiles();
    expect(files.find((f) => f.fileName === 'minidump.ps1')).toMatchObject({ hasParameters: true });
  });
});

describe('live response actions', () => {
  it('creates an action, reads it back, polls it in a list and cancels it', async () => {
    const action = await client.runLiveResponse(DESKTOP, whoami(`by alice ${buildCorrelationTag('LR-1')}`));
    expect(action).toMatchObject({ status: 'Pending', machineId: DESKTOP, type: 'LiveResponse' });
    expect(action.commands[0]).toMatchObject({
      index: 0,
      commandStatus: 'Created',
      startTime: null,
      errors: [],
    });

    const other = await client.runLiveResponse(DESKTOP2, whoami());
    const listed = await client.listMachineActions({ ids: [action.id, other.id] });
    expect(listed.map((a) => a.id).sort()).toEqual([action.id, other.id].sort());
    expect(lastQuery(/\/api\/machineactions$/).$filter).toBe(`id in ('${action.id}','${other.id}')`);
    expect(findCorrelatedAction(listed, 'LR-1')?.id).toBe(action.id);

    sim.control.advance(6_000);
    expect((await client.getMachineAction(action.id))?.status).toBe('InProgress');
    const cancelled = await client.cancelMachineAction(action.id, 'wrong device');
    expect(cancelled).toMatchObject({ status: 'Cancelled', cancellationComment: 'wrong device' });
    expect(await client.getMachineAction('00000000-0000-0000-0000-000000000000')).toBeNull();
  });

  it('builds one filter from machine, statuses, type and creation time', async () => {
    await client.runLiveResponse(DESKTOP, whoami());
    const since = new Date(sim.control.now() - MINUTE).toISOString();
    const found = await client.listMachineActions({
      machineId: DESKTOP,
      statuses: ['Pending', 'InProgress'],
      type: 'LiveResponse',
      createdSince: since,
      top: 50,
    });
    expect(found).toHaveLength(1);
    expect(lastQuery(/\/api\/machineactions$/)).toEqual({
      $filter: `machineId eq '${DESKTOP}' and (status eq 'Pending' or status eq 'InProgress') and type eq 'LiveResponse' and creationDateTimeUtc ge ${since}`,
      $top: '50',
    });
    sim.control.clearCalls();
    expect(await client.listMachineActions({ ids: [] })).toEqual([]);
    expect(sim.control.calls()).toHaveLength(0);
    expect(() => buildMachineActionsFilter({ createdSince: 'yesterday' })).toThrow(DefenderApiError);
  });

  it('normalises the older lastUpdateTimeUtc field', async () => {
    const old = await startDefenderSimulator({ lastUpdateFields: 'old' });
    try {
      const oldClient = createDefenderClient({
        baseUrl: old.url,
        tokens: createStaticTokenProvider('sim-token'),
      });
      const action = await oldClient.runLiveResponse(DESKTOP, whoami());
      expect(action.lastUpdateDateTimeUtc).toBe(action.lastUpdateTimeUtc);
      expect(action.lastUpdateDateTimeUtc).toMatch(/Z$/);
    } finally {
      await old.close();
    }
  });

  it('accepts status values and fields it does not know', async () => {
    const action = await client.runLiveResponse(DESKTOP, whoami());
    sim.control.injectFault({
      method: 'GET',
      path: '^/api/machineactions/',
      kind: 'status',
      status: 200,
      body: {
        ...action,
        status: 'Queued',
        newField: { nested: true },
        requestorComment: null,
        commands: null,
      },
    });
    const read = await client.getMachineAction(action.id);
    expect(read).toMatchObject({ status: 'Queued', requestorComment: '', commands: [] });
  });
});

describe('results', () => {
  it('mints a download link and downloads the transcript without a bearer token', async () => {
    const action = await client.runLiveResponse(DESKTOP, {
      Commands: [
        {
          type: 'RunScript',
          params: [
            { key: 'ScriptName', value: 'minidump.ps1' },
            { key: 'Args', value: 'OfficeClickToRun' },
          ],
        },
        { type: 'GetFile', params: [{ key: 'Path', value: 'C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip' }] },
      ],
      Comment: 'test',
    });
    sim.control.advance(5 * MINUTE);
    const url = await client.getResultDownloadLink(action.id, 0);
    expect(url).toContain('sig=');
    const transcript = await client.downloadResult(url, 1_000_000);
    expect(JSON.parse(transcript.bytes.toString())).toMatchObject({
      script_name: 'minidump.ps1',
      exit_code: 0,
    });
    expect(transcript.totalBytes).toBe(transcript.bytes.length);
    expect(transcript.truncated).toBe(false);

    const file = await client.downloadResult(await client.getResultDownloadLink(action.id, 1), 1_000_000);
    expect(gunzipSync(file.bytes).toString()).toContain('OfficeClickToRun.dmp.zip');
  });

  it('stops reading at maxBytes and still reports the whole size', async () => {
    const action = await client.runLiveResponse(DESKTOP, {
      Commands: [{ type: 'RunScript', params: [{ key: 'ScriptName', value: 'bigoutput.ps1' }] }],
      Comment: 'test',
    });
    sim.control.advance(MINUTE);
    const result = await client.downloadResult(await client.getResultDownloadLink(action.id, 0), 10_000);
    expect(result.bytes.length).toBe(10_000);
    expect(result.totalBytes).toBeGreaterThan(150_000);
    expect(result.truncated).toBe(true);
  });

  it('refuses links for unfinished commands and expired links, never showing the signature', async () => {
    const action = await client.runLiveResponse(DESKTOP, whoami());
    const early = await failure(client.getResultDownloadLink(action.id, 0));
    expect(early).toMatchObject({ kind: 'badRequest', status: 400 });
    sim.control.advance(MINUTE);
    const url = await client.getResultDownloadLink(action.id, 0);
    sim.control.advance(31 * MINUTE);
    const expired = await failure(client.downloadResult(url, 1000));
    expect(expired).toMatchObject({ kind: 'unauthorized', status: 403, code: 'AuthenticationFailed' });
    expect(expired.message).not.toContain('sig=');
    expect(expired.message).not.toContain('?');

    sim.control.injectFault({ path: '^/blob/', kind: 'reset' });
    const reset = await failure(client.downloadResult(url, 1000));
    expect(reset.kind).toBe('network');
    expect(`${reset.message} ${String(reset.cause)}`).not.toContain('sig=');
    await expect(client.getResultDownloadLink(action.id, -1)).rejects.toThrow(DefenderApiError);
  });
});

describe('errors', () => {
  it('reports a busy device, a disallowed device group, an unknown device and a bad request', async () => {
    await client.runLiveResponse(DESKTOP, whoami());
    expect(await failure(client.runLiveResponse(DESKTOP, whoami()))).toMatchObject({
      kind: 'busy',
      status: 400,
      code: 'ActiveRequestAlreadyExists',
      retryable: false,
    });
    const disallowed = await failure(client.runLiveResponse(KIOSK, whoami()));
    expect(disallowed).toMatchObject({ kind: 'disallowed', status: 403, retryable: false });
    expect(disallowed.target).toMatch(/^[0-9a-f-]{36}$/);
    expect(await failure(client.runLiveResponse('0'.repeat(40), whoami()))).toMatchObject({
      kind: 'notFound',
    });
    const bad = await failure(
      client.runLiveResponse(DESKTOP2, {
        Commands: [
          {
            type: 'RunScript',
            params: [
              { key: 'ScriptName', value: 'collect.ps1' },
              { key: 'Args', value: 'a|b' },
            ],
          },
        ],
        Comment: '',
      }),
    );
    expect(bad).toMatchObject({ kind: 'badRequest', code: 'InvalidRequestBody' });
  });

  it('reports throttling with Retry-After and never retries runliveresponse itself', async () => {
    sim.control.injectFault({
      method: 'POST',
      path: 'runliveresponse$',
      kind: 'status',
      status: 429,
      retryAfterSeconds: 3,
    });
    expect(await failure(client.runLiveResponse(DESKTOP, whoami()))).toMatchObject({
      kind: 'throttled',
      status: 429,
      retryAfterMs: 3_000,
      retryable: true,
    });
    sim.control.injectFault({ method: 'POST', path: 'runliveresponse$', kind: 'status', status: 500 });
    expect(await failure(client.runLiveResponse(DESKTOP, whoami()))).toMatchObject({
      kind: 'server',
      retryable: true,
    });
    expect(sim.control.calls({ method: 'POST', path: 'runliveresponse$' })).toHaveLength(2);
  });

  it('honours the simulator rate limit Retry-After', async () => {
    const devices = sim.control.machines().filter((m) => m.online !== false && !m.disallowed);
    for (let i = 0; i < 10; i++)
      await client.runLiveResponse(devices[i % devices.length]!.id, whoami()).catch(() => undefined);
    const throttled = await failure(client.runLiveResponse(DESKTOP, whoami()));
    expect(throttled.kind).toBe('throttled');
    expect(throttled.retryAfterMs).toBeGreaterThan(0);
    expect(throttled.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('reports a reset connection as network and a lost response as network', async () => {
    sim.control.injectFault({ path: 'libraryfiles', kind: 'reset' });
    expect(await failure(client.listLibraryFiles())).toMatchObject({
      kind: 'network',
      status: 0,
      retryable: true,
    });
    sim.control.injectFault({ method: 'POST', path: 'runliveresponse$', kind: 'loseResponse' });
    expect(await failure(client.runLiveResponse(DESKTOP, whoami(buildCorrelationTag('LR-9'))))).toMatchObject(
      {
        kind: 'network',
      },
    );
    // The action exists: the bot finds it by its tag instead of sending a second request.
    const actions = await client.listMachineActions({ machineId: DESKTOP });
    expect(findCorrelatedAction(actions, 'LR-9')).toBeDefined();
  });

  it('reports a connection refused as network', async () => {
    const closed = await startDefenderSimulator();
    await closed.close();
    const nowhere = createDefenderClient({ baseUrl: closed.url, tokens: createStaticTokenProvider('x') });
    expect(await failure(nowhere.listLibraryFiles())).toMatchObject({
      kind: 'network',
      code: 'ECONNREFUSED',
    });
  });

  it('times out a call that gets no answer', async () => {
    const impatient = createDefenderClient({
      baseUrl: sim.url,
      tokens: createStaticTokenProvider('sim-token'),
      timeoutMs: 200,
    });
    sim.control.injectFault({ path: 'machineactions', kind: 'hang' });
    const error = await failure(impatient.getMachineAction('x'));
    expect(error).toMatchObject({ kind: 'timeout', status: 0, retryable: true });
    expect(error.message).toMatch(/timed out after 200 ms/);
  });

  it('reports a wrong token as unauthorized and a failing token provider without retry when it is configuration', async () => {
    const wrong = createDefenderClient({ baseUrl: sim.url, tokens: createStaticTokenProvider('nope') });
    expect(await failure(wrong.listLibraryFiles())).toMatchObject({ kind: 'unauthorized', status: 401 });
    const broken = createDefenderClient({
      baseUrl: sim.url,
      tokens: {
        getToken: () =>
          Promise.reject(new TokenAcquisitionError('Could not get a Defender API token: check it', false)),
      },
    });
    expect(await failure(broken.listLibraryFiles())).toMatchObject({
      kind: 'unauthorized',
      code: 'TokenAcquisitionFailed',
      retryable: false,
    });
  });

  it('reports a response it cannot read as a server error', async () => {
    sim.control.injectFault({ path: 'libraryfiles', kind: 'status', status: 200, body: 'not json at all' });
    expect(await failure(client.listLibraryFiles())).toMatchObject({
      kind: 'server',
      code: 'InvalidResponse',
    });
    sim.control.injectFault({
      path: 'libraryfiles',
      kind: 'status',
      status: 200,
      body: { value: [{ nope: 1 }] },
    });
    const invalid = await failure(client.listLibraryFiles());
    expect(invalid.message).toContain('value.0.fileName');
  });

  it('never puts a query string in an error message', async () => {
    sim.control.injectFault({ path: 'machines$', kind: 'status', status: 500 });
    const error = await failure(client.findMachines({ devices: ['secret-name.contoso.local'] }));
    expect(error.message).toContain('/api/machines');
    expect(error.message).not.toContain('secret-name');
  });
});
