// The simulator's Defender tenant without HTTP: devices, library, live response actions and their results.
// The HTTP layer (defender-simulator.ts) adds auth, rate limits, OData and fault injection on top.
import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type {
  LibraryFile,
  Machine,
  MachineAction,
  ScriptTranscript,
  WireCommand,
} from '../defender/types.js';
import {
  computeActionProgress,
  FINAL_STATUSES,
  type LastUpdateFields,
  type PlannedCommand,
  type ProgressTimings,
  renderMachineAction,
  type SimAction,
} from './action-progress.js';
import { validateRunLiveResponseBody } from './live-response-validation.js';
import { createSasSigner } from './sas-signer.js';
import type { ScriptBehaviour, SimMachine } from './seed-data.js';
import type { SimClock } from './sim-clock.js';

/** Simulated durations (ms). */
export interface SimTimings extends ProgressTimings {
  /** A RunScript whose behaviour names no duration. Default 20 s. */
  runScriptMs: number;
  /** Each GetFile. Default 15 s. */
  getFileMs: number;
  /** Each PutFile. Default 5 s. */
  putFileMs: number;
  /** How long a result link works. Defender: 30 minutes. */
  linkValidityMs: number;
}

export const DEFAULT_TIMINGS: SimTimings = {
  pickupDelayMs: 5_000,
  runScriptMs: 20_000,
  getFileMs: 15_000,
  putFileMs: 5_000,
  runScriptTimeoutMs: 10 * 60_000,
  linkValidityMs: 30 * 60_000,
};

export interface TenantOptions {
  machines: SimMachine[];
  library: LibraryFile[];
  scripts: Record<string, ScriptBehaviour>;
  timings: SimTimings;
  /** `requestor` of actions created through the API (an app token's actions carry the app's name). */
  requestor: string;
  /** Concurrent live response sessions (Pending or InProgress actions). */
  maxSessions: number;
  lastUpdateFields: LastUpdateFields;
  /** A new action is missing from GET for this long (simulated ms), as Defender sometimes does. */
  invisibleAfterCreateMs: number;
  /** The bytes a GetFile collects (before gzip). */
  getFileContent: (path: string, machine: Machine) => Buffer;
}

/** An API failure in Defender's terms; `retryAfterMs` is simulated time. */
export interface SimError {
  status: number;
  code: string;
  message: string;
  retryAfterMs?: number;
}

export type SimResult<T> = { ok: true; value: T } | { ok: false; error: SimError };

export interface BlobResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

/** A RunScript result file as the device writes it, in either of the spellings Microsoft documents. */
type ResultFile =
  | ScriptTranscript
  | { name: string; exit_code: number; script_output: string; script_error: string };

type CommandResult = { kind: 'transcript'; transcript: ResultFile } | { kind: 'file'; gzip: Buffer } | null;

interface ActionRecord {
  action: SimAction;
  results: CommandResult[];
}

export const BLOB_CONTAINER_PATH = '/blob/investigation-actions-data';

const TRANSCRIPT_DIRECTORY =
  'C:\\ProgramData\\Microsoft\\Windows Defender Advanced Threat Protection\\Temp\\PSScriptOutputs';

function fail<T>(status: number, code: string, message: string, retryAfterMs?: number): SimResult<T> {
  return {
    ok: false,
    error: { status, code, message, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
  };
}

/** A Machine as the API shows it: the simulator's behaviour flags stripped. */
export function toWireMachine(machine: SimMachine): Machine {
  const { online: _online, disallowed: _disallowed, absentPaths: _absentPaths, ...wire } = machine;
  return wire;
}

export function defaultGetFileContent(path: string, machine: Machine): Buffer {
  const line = `Simulated content of ${path} collected from ${machine.computerDnsName}\r\n`;
  return Buffer.from(line.repeat(Math.ceil(8192 / line.length)));
}

/** Windows devices report `Windows10`, `WindowsServer2022`…; the rest (`Linux`, `macOS`) run Bash, not PowerShell. */
function isWindows(machine: Machine): boolean {
  return (machine.osPlatform ?? 'Windows').toLowerCase().startsWith('windows');
}

/**
 * Why a command cannot work on the device's operating system, as the device would report it. Live response runs
 * "PowerShell and Bash scripts" (Microsoft Learn, live response page); neither shell exists on the other platform,
 * and a path of the other platform's form names no file. Defender accepts such an action and the command fails.
 */
function platformMismatch(command: WireCommand, machine: Machine): string | undefined {
  const windows = isWindows(machine);
  if (command.type === 'RunScript') {
    const script = (param(command, 'ScriptName') ?? '').toLowerCase();
    if (!windows && /\.(ps1|bat|cmd)$/.test(script))
      return `Script ${param(command, 'ScriptName')} cannot run on ${machine.osPlatform}: PowerShell and cmd scripts run on Windows devices only`;
    if (windows && script.endsWith('.sh'))
      return `Script ${param(command, 'ScriptName')} cannot run on ${machine.osPlatform}: Bash scripts run on Linux and macOS devices only`;
  }
  if (command.type === 'GetFile') {
    const path = param(command, 'Path') ?? '';
    const posixPath = path.startsWith('/') && !path.startsWith('//');
    if (windows === posixPath) return `File ${path} was not found on the device`;
  }
  return undefined;
}

function param(command: WireCommand, key: string): string | undefined {
  return command.params.find((p) => p.key === key)?.value;
}

function azureError(code: string, message: string): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${randomUUID()}\nTime:${new Date().toISOString()}</Message></Error>`,
  );
}

function resultFile(
  spelling: 'example' | 'table',
  fields: { name: string; exitCode: number; output: string; errors: string },
): ResultFile {
  return spelling === 'table'
    ? {
        name: fields.name,
        exit_code: fields.exitCode,
        script_output: fields.output,
        script_error: fields.errors,
      }
    : {
        script_name: fields.name,
        exit_code: fields.exitCode,
        script_output: fields.output,
        script_errors: fields.errors,
      };
}

export type SimulatedTenant = ReturnType<typeof createSimulatedTenant>;

export function createSimulatedTenant(options: TenantOptions, clock: SimClock) {
  let machines = new Map<string, SimMachine>();
  let library: LibraryFile[] = [];
  let scripts: Record<string, ScriptBehaviour> = {};
  let actions = new Map<string, ActionRecord>();
  let links = new Map<string, { actionId: string; index: number }>();
  let mergesLeft = 0;
  let invisibleAfterCreateMs = options.invisibleAfterCreateMs;
  /**
   * Devices with a live response session open in the Defender portal. "Live response actions initiated from the
   * Device page aren't available in the machineactions API" (Microsoft Learn, Run live response commands), so they
   * are never listed; they still hold the device ("Multiple live response sessions can't be executed on the same
   * machine", 400 ActiveRequestAlreadyExists) and count as concurrent sessions — the stricter reading.
   */
  let portalSessions = new Set<string>();
  const signer = createSasSigner();
  const timings = options.timings;

  const reset = (): void => {
    machines = new Map(options.machines.map((m) => [m.id.toLowerCase(), { ...m }]));
    library = options.library.map((f) => ({ ...f }));
    scripts = { ...options.scripts };
    actions = new Map();
    links = new Map();
    mergesLeft = 0;
    invisibleAfterCreateMs = options.invisibleAfterCreateMs;
    portalSessions = new Set();
  };
  reset();

  const findMachine = (idOrName: string): SimMachine | undefined => {
    const key = idOrName.toLowerCase();
    return machines.get(key) ?? [...machines.values()].find((m) => m.computerDnsName.toLowerCase() === key);
  };
  const progressOf = (record: ActionRecord, now = clock.now()) =>
    computeActionProgress(record.action, now, timings);
  const render = (record: ActionRecord, now = clock.now()): MachineAction =>
    renderMachineAction(record.action, progressOf(record, now), options.lastUpdateFields);
  const isActive = (record: ActionRecord, now: number): boolean =>
    !FINAL_STATUSES.includes(progressOf(record, now).status);
  const behaviourOf = (scriptName: string): ScriptBehaviour =>
    Object.entries(scripts).find(([name]) => name.toLowerCase() === scriptName.toLowerCase())?.[1] ?? {};

  const plan = (
    command: WireCommand,
    machine: SimMachine,
  ): { planned: PlannedCommand; result: CommandResult } => {
    const mismatch = platformMismatch(command, machine);
    if (mismatch !== undefined) {
      return {
        planned: { command, durationMs: 1_000, outcome: 'Failed', errors: [mismatch], timesOut: false },
        result: null,
      };
    }
    if (command.type === 'RunScript') {
      const scriptName = param(command, 'ScriptName') ?? '';
      const args = param(command, 'Args') ?? '';
      const b = behaviourOf(scriptName);
      const durationMs = b.durationMs ?? timings.runScriptMs;
      const body =
        typeof b.output === 'function'
          ? b.output({ scriptName, args, computerDnsName: machine.computerDnsName })
          : (b.output ?? `${scriptName} completed on ${machine.computerDnsName}`);
      // Start-Transcript is PowerShell's: other scripts have no banner unless their behaviour says so.
      const banner =
        (b.transcriptBanner ?? scriptName.toLowerCase().endsWith('.ps1')) === false
          ? ''
          : `Transcript started, output file is ${TRANSCRIPT_DIRECTORY}\\PSScript_Transcript_{${randomUUID().toUpperCase()}}.txt\n`;
      const outcome = b.outcome ?? 'Completed';
      return {
        planned: {
          command,
          durationMs,
          outcome,
          errors: outcome === 'Failed' ? (b.commandErrors ?? [`Script ${scriptName} failed to run`]) : [],
          timesOut: durationMs > timings.runScriptTimeoutMs,
        },
        result: {
          kind: 'transcript',
          transcript: resultFile(b.fieldNames ?? 'example', {
            name: scriptName,
            exitCode: b.exitCode ?? 0,
            output: `${banner}${body}${'\u0000'.repeat(b.trailingNuls ?? 16)}`,
            errors: b.errors ?? '',
          }),
        },
      };
    }
    if (command.type === 'GetFile') {
      const path = param(command, 'Path') ?? '';
      const absent = (machine.absentPaths ?? ['missing']).some((p) =>
        path.toLowerCase().includes(p.toLowerCase()),
      );
      return {
        planned: {
          command,
          durationMs: timings.getFileMs,
          outcome: absent ? 'Failed' : 'Completed',
          errors: absent ? [`File ${path} was not found on the device`] : [],
          timesOut: false,
        },
        result: absent
          ? null
          : { kind: 'file', gzip: gzipSync(options.getFileContent(path, toWireMachine(machine))) },
      };
    }
    return {
      planned: { command, durationMs: timings.putFileMs, outcome: 'Completed', errors: [], timesOut: false },
      result: null,
    };
  };

  return {
    machines: (): Machine[] => [...machines.values()].map(toWireMachine),
    simMachines: (): SimMachine[] => [...machines.values()].map((m) => ({ ...m })),
    getMachine: (idOrName: string): Machine | undefined => {
      const m = findMachine(idOrName);
      return m && toWireMachine(m);
    },
    library: (): LibraryFile[] => library.map((f) => ({ ...f })),

    runLiveResponse(machineId: string, body: unknown): SimResult<{ action: MachineAction; merged: boolean }> {
      const now = clock.now();
      const machine = machines.get(machineId.toLowerCase());
      if (!machine) return fail(404, 'ResourceNotFound', `Machine ${machineId} was not found`);
      const checked = validateRunLiveResponseBody(body, library);
      if (!checked.ok) return fail(400, checked.code, checked.message);
      if (machine.disallowed) {
        return fail(
          403,
          'DisallowedOperation',
          `Live response is not allowed on ${machine.computerDnsName}: its device group has no automation level`,
        );
      }
      if (portalSessions.has(machine.id)) {
        return fail(
          400,
          'ActiveRequestAlreadyExists',
          `A live response session is already running on machine ${machine.id}`,
        );
      }
      const active = [...actions.values()].find((r) => r.action.machineId === machine.id && isActive(r, now));
      if (active) {
        if (mergesLeft > 0) {
          // Defender folds near-simultaneous requests for one device into the action already there.
          mergesLeft--;
          return { ok: true, value: { action: render(active, now), merged: true } };
        }
        return fail(
          400,
          'ActiveRequestAlreadyExists',
          `Action ${active.action.id} of type LiveResponse is already pending or in progress on machine ${machine.id}`,
        );
      }
      const running = [...actions.values()].filter((r) => isActive(r, now));
      if (running.length + portalSessions.size >= options.maxSessions) {
        const ends = running.map((r) => progressOf(r, now).endsAt).filter((t): t is number => t !== null);
        const retryAfterMs = ends.length > 0 ? Math.max(1_000, Math.min(...ends) - now) : 60_000;
        return fail(
          429,
          'TooManyRequests',
          `The limit of ${options.maxSessions} concurrent live response sessions has been reached`,
          retryAfterMs,
        );
      }
      const planned = checked.commands.map((c) => plan(c, machine));
      const record: ActionRecord = {
        action: {
          id: randomUUID(),
          machineId: machine.id,
          computerDnsName: machine.computerDnsName,
          requestor: options.requestor,
          requestorComment: checked.comment,
          createdAt: now,
          availableAt: machine.online === false ? null : now,
          commands: planned.map((p) => p.planned),
        },
        results: planned.map((p) => p.result),
      };
      actions.set(record.action.id, record);
      return { ok: true, value: { action: render(record, now), merged: false } };
    },

    /** What GET machineactions/{id} shows (a just-created action may still be invisible). */
    getAction(id: string): MachineAction | undefined {
      const record = actions.get(id.toLowerCase());
      const now = clock.now();
      if (!record || now < record.action.createdAt + invisibleAfterCreateMs) return undefined;
      return render(record, now);
    },
    /** What GET machineactions lists, before filtering. */
    visibleActions(): MachineAction[] {
      const now = clock.now();
      return [...actions.values()]
        .filter((r) => now >= r.action.createdAt + invisibleAfterCreateMs)
        .map((r) => render(r, now));
    },
    /** Every action regardless of the visibility quirk (for tests). */
    allActions(): MachineAction[] {
      const now = clock.now();
      return [...actions.values()].map((r) => render(r, now));
    },

    cancelAction(id: string, body: unknown): SimResult<MachineAction> {
      const record = actions.get(id.toLowerCase());
      if (!record) return fail(404, 'ResourceNotFound', `Machine action ${id} was not found`);
      const comment =
        typeof body === 'object' && body !== null && 'Comment' in body && typeof body.Comment === 'string'
          ? body.Comment
          : undefined;
      if (comment === undefined || comment.trim() === '') {
        return fail(400, 'MissingRequiredParameter', "Missing required parameter 'Comment'");
      }
      const now = clock.now();
      const status = progressOf(record, now).status;
      if (FINAL_STATUSES.includes(status)) {
        return fail(400, 'BadRequest', `Action ${id} is already ${status} and cannot be cancelled`);
      }
      record.action.cancellation = { at: now, requestor: options.requestor, comment };
      return { ok: true, value: render(record, now) };
    },

    /** A fresh SAS-style link to a completed command's result; each call mints a new one. */
    mintResultLink(actionId: string, indexText: string, baseUrl: string): SimResult<string> {
      const record = actions.get(actionId.toLowerCase());
      if (!record) return fail(404, 'ResourceNotFound', `Machine action ${actionId} was not found`);
      if (!/^\d+$/.test(indexText)) return fail(400, 'BadRequest', `index must be a non-negative integer`);
      const index = Number(indexText);
      const planned = record.action.commands[index];
      if (!planned) {
        return fail(404, 'ResourceNotFound', `Action ${actionId} has no command with index ${index}`);
      }
      if (planned.command.type === 'PutFile') {
        return fail(400, 'BadRequest', `Command ${index} is PutFile, which has no result to download`);
      }
      const status = progressOf(record).commands[index]!.status;
      if (status !== 'Completed') {
        return fail(
          400,
          'BadRequest',
          `Command ${index} is ${status}; results exist only for completed commands`,
        );
      }
      const blobId = randomBytes(16).toString('hex');
      links.set(blobId, { actionId: record.action.id, index });
      const path = `${BLOB_CONTAINER_PATH}/${record.action.id}/CustomPlaybookCommandOutput/${blobId}`;
      return {
        ok: true,
        value: `${baseUrl}${path}?${signer.sign(path, clock.now() + timings.linkValidityMs)}`,
      };
    },

    /** Serves a result link; the signature in the query is the only credential, as with Azure Blob SAS. */
    readBlob(path: string, query: URLSearchParams): BlobResponse {
      const blobId = path.split('/').pop() ?? '';
      const link = links.get(blobId);
      if (!link || !path.includes(`/${link.actionId}/`)) {
        return {
          status: 404,
          contentType: 'application/xml',
          body: azureError('BlobNotFound', 'The specified blob does not exist.'),
        };
      }
      const check = signer.verify(path, query, clock.now());
      if (check !== 'ok') {
        const message =
          check === 'expired'
            ? `Signed expiry time [${query.get('se')}] must be after the current time [${new Date(clock.now()).toUTCString()}]`
            : 'Signature did not match. String to sign used was r';
        return {
          status: 403,
          contentType: 'application/xml',
          body: azureError(
            'AuthenticationFailed',
            `Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature. ${message}`,
          ),
        };
      }
      const result = actions.get(link.actionId)?.results[link.index] ?? null;
      if (result?.kind === 'transcript') {
        return {
          status: 200,
          contentType: 'application/json',
          body: Buffer.from(JSON.stringify(result.transcript)),
        };
      }
      if (result?.kind === 'file')
        return { status: 200, contentType: 'application/octet-stream', body: result.gzip };
      return {
        status: 404,
        contentType: 'application/xml',
        body: azureError('BlobNotFound', 'The specified blob does not exist.'),
      };
    },

    /** Brings a device online (its Pending actions start after the pickup delay) or takes it offline. */
    setOnline(idOrName: string, online: boolean): void {
      const machine = findMachine(idOrName);
      if (!machine) throw new Error(`No simulated machine ${idOrName}`);
      machine.online = online;
      const now = clock.now();
      for (const record of actions.values()) {
        if (record.action.machineId !== machine.id || progressOf(record, now).status !== 'Pending') continue;
        // Only actions the device has not picked up yet are affected; a running action keeps running.
        record.action.availableAt = online ? (record.action.availableAt ?? now) : null;
      }
    },
    /**
     * Defender's `healthStatus` of a device changes (Machine resource type: Active, Inactive, ImpairedCommunication,
     * NoSensorData, …). Inactive means no report for 7 days (same page), so the device is also taken offline: its
     * actions stay Pending, as the seed's Inactive records never pick one up.
     */
    setHealth(idOrName: string, healthStatus: string): void {
      const machine = findMachine(idOrName);
      if (!machine) throw new Error(`No simulated machine ${idOrName}`);
      machine.healthStatus = healthStatus;
      if (healthStatus === 'Inactive') this.setOnline(machine.id, false);
    },
    /** Opens (or closes) a live response session on a device from the portal: invisible to machineactions. */
    setPortalSession(idOrName: string, open: boolean): void {
      const machine = findMachine(idOrName);
      if (!machine) throw new Error(`No simulated machine ${idOrName}`);
      if (open) portalSessions.add(machine.id);
      else portalSessions.delete(machine.id);
    },
    setMerge(mode: number | 'always' | 'off'): void {
      mergesLeft = mode === 'always' ? Number.POSITIVE_INFINITY : mode === 'off' ? 0 : mode;
    },
    setInvisibleAfterCreate(simMs: number): void {
      invisibleAfterCreateMs = simMs;
    },
    addMachine(machine: SimMachine): void {
      machines.set(machine.id.toLowerCase(), {
        ...machine,
        computerDnsName: machine.computerDnsName.toLowerCase(),
      });
    },
    addLibraryFile(file: LibraryFile, behaviour?: ScriptBehaviour): void {
      library = [...library.filter((f) => f.fileName.toLowerCase() !== file.fileName.toLowerCase()), file];
      if (behaviour) scripts[file.fileName] = behaviour;
    },
    setScriptBehaviour(fileName: string, behaviour: ScriptBehaviour): void {
      scripts[fileName] = behaviour;
    },
    reset,
  };
}
