// Realistic requests in every state, for card tests and the README pictures (scripts/render-cards.ts).
import { createHash } from 'node:crypto';
import type { CommandProgress, LiveResponseRequest, Person, RequestState } from '../core/request.js';
import { summariseTranscript } from '../core/summarise-transcript.js';
import type { RequestCardOptions } from './request-card.js';

/** "Now" for every fixture: a few minutes after the request was made. */
export const FIXTURE_NOW = new Date('2024-05-14T09:20:00Z');
export const FIXTURE_BASE_URL = 'https://lr-bot.contoso.com';

export const REQUESTER: Person = {
  teamsId: '29:1Hq4mS3dYkq0XbBq8pFZ-requester',
  aadObjectId: '6c1f5e2a-8d0b-4c7e-9a51-1f2e3d4c5b6a',
  name: 'Riya Patel',
  upn: 'riya.patel@contoso.com',
};

export const APPROVERS: Person[] = [
  {
    teamsId: '29:1kT9wQ2cVn7LmZr5Jx3-oncall-lead',
    aadObjectId: '0b7d3c1e-2f4a-4b8c-9d6e-7a1b2c3d4e5f',
    name: 'Marcus Chen',
    upn: 'marcus.chen@contoso.com',
  },
  {
    teamsId: '29:1pB6yH8uRe4GsDf2Kc1-sec-manager',
    aadObjectId: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b',
    name: 'Ana Souza',
    upn: 'ana.souza@contoso.com',
  },
];

// The seed's "File Content Example": minidump.ps1 reporting the zip it wrote.
const MINIDUMP_RESULT = JSON.stringify({
  script_name: 'minidump.ps1',
  exit_code: 0,
  script_output:
    'Transcript started, output file is C:\\ProgramData\\Microsoft\\Windows Defender Advanced Threat Protection\\Temp\\PSScriptOutputs\\PSScript_Transcript_{TRANSCRIPT_ID}.txt\nC:\\windows\\TEMP\\OfficeClickToRun.dmp.zip\n51 MB',
  script_errors: '',
});

const MINIDUMP_FAILED_RESULT = JSON.stringify({
  script_name: 'minidump.ps1',
  exit_code: 1,
  script_output:
    'Transcript started, output file is C:\\ProgramData\\Microsoft\\Windows Defender Advanced Threat Protection\\Temp\\PSScriptOutputs\\PSScript_Transcript_{TRANSCRIPT_ID}.txt\nLooking for process OfficeClickToRun\n\u0000\u0000\u0000',
  script_errors:
    'Get-Process : Cannot find a process with the name "OfficeClickToRun". Verify the process name and call the cmdlet again.\r\n    + CategoryInfo          : ObjectNotFound: (OfficeClickToRun:String) [Get-Process], ProcessCommandException',
});

const at = (minutes: number) => new Date(Date.UTC(2024, 4, 14, 9, minutes)).toISOString();

const created = (): CommandProgress => ({ status: 'Created', errors: [] });

function baseRequest(): LiveResponseRequest {
  return {
    id: 'LR-7K3F9Q',
    version: 1,
    tenantId: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
    conversationId: '19:3f1c2b4a5d6e7f8091a2b3c4d5e6f7a8@thread.tacv2;messageid=1715678520000',
    conversationRef: { conversation: { id: '19:3f1c2b4a5d6e7f8091a2b3c4d5e6f7a8@thread.tacv2' } },
    requester: REQUESTER,
    device: {
      machineId: '1e5bc9d7e413ddd7902c2932e418702b84d0cc07',
      computerDnsName: 'desktop-test.contoso.local',
      osPlatform: 'Windows11',
      osVersion: '23H2',
      healthStatus: 'Active',
      riskScore: 'Medium',
      exposureLevel: 'Low',
      lastSeen: at(12),
    },
    commands: [
      { type: 'RunScript', scriptName: 'minidump.ps1', args: 'OfficeClickToRun' },
      { type: 'GetFile', path: 'C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip' },
    ],
    reason: 'suspicious Office child process (incident 4711)',
    state: 'AwaitingApproval',
    createdAt: at(2),
    expiresAt: at(32),
    approvers: APPROVERS,
    progress: [created(), created()],
  };
}

const approved = { kind: 'approved' as const, by: APPROVERS[0]!, at: at(5) };

/** What each state adds to the request just awaiting approval. */
const STATE_CHANGES: Record<RequestState, Partial<LiveResponseRequest>> = {
  AwaitingApproval: {},
  Approved: { decision: approved },
  Submitting: { decision: approved, submission: { attempts: 1, lastAttemptAt: at(6) } },
  Pending: {
    decision: approved,
    submission: { attempts: 1, lastAttemptAt: at(6), submittedAt: at(6) },
    actionId: 'b89eb834-4578-496c-8be0-03f004061435',
    actionStatus: 'Pending',
  },
  InProgress: {
    decision: approved,
    submission: { attempts: 1, submittedAt: at(6) },
    actionId: 'b89eb834-4578-496c-8be0-03f004061435',
    actionStatus: 'InProgress',
    progress: [{ status: 'InProgress', errors: [], startedAt: at(14) }, created()],
  },
  Succeeded: {
    decision: approved,
    submission: { attempts: 1, submittedAt: at(6) },
    actionId: 'b89eb834-4578-496c-8be0-03f004061435',
    actionStatus: 'Succeeded',
    finishedAt: at(17),
    progress: [
      {
        status: 'Completed',
        errors: [],
        startedAt: at(14),
        endedAt: at(16),
        transcript: summariseTranscript(MINIDUMP_RESULT),
        link: { id: 'k1', expiresAt: at(48) },
        file: {
          name: 'desktop-test-minidump-transcript.json',
          sizeBytes: Buffer.byteLength(MINIDUMP_RESULT),
          sha256: createHash('sha256').update(MINIDUMP_RESULT).digest('hex'),
        },
      },
      {
        status: 'Completed',
        errors: [],
        startedAt: at(16),
        endedAt: at(17),
        link: { id: 'k2', expiresAt: at(48) },
      },
    ],
  },
  Failed: {
    decision: approved,
    submission: { attempts: 1, submittedAt: at(6) },
    actionId: 'b89eb834-4578-496c-8be0-03f004061435',
    actionStatus: 'Failed',
    finishedAt: at(16),
    failure: { code: 'CommandFailed', message: 'run minidump.ps1 OfficeClickToRun failed on the device.' },
    progress: [
      {
        status: 'Failed',
        errors: ['Script execution failed with exit code 1'],
        startedAt: at(14),
        endedAt: at(15),
        transcript: summariseTranscript(MINIDUMP_FAILED_RESULT),
        link: { id: 'k1', expiresAt: at(47) },
      },
      { status: 'NotRun', errors: [] },
    ],
  },
  TimeOut: {
    decision: approved,
    submission: { attempts: 1, submittedAt: at(6) },
    actionId: 'b89eb834-4578-496c-8be0-03f004061435',
    actionStatus: 'TimeOut',
    finishedAt: at(24),
    progress: [
      { status: 'Failed', errors: ['Command timed out'], startedAt: at(14), endedAt: at(24) },
      created(),
    ],
  },
  Cancelled: {
    decision: approved,
    submission: { attempts: 1, submittedAt: at(6) },
    actionId: 'b89eb834-4578-496c-8be0-03f004061435',
    actionStatus: 'Cancelled',
    cancellation: { by: REQUESTER, at: at(9), confirmedAt: at(10) },
    finishedAt: at(10),
  },
  Rejected: {
    decision: {
      kind: 'rejected',
      by: APPROVERS[1]!,
      at: at(7),
      reason: 'Collect with the EDR package instead',
    },
    finishedAt: at(7),
  },
  Expired: { finishedAt: at(32) },
};

/**
 * A request in `state` as the lifecycle would have left it. `overrides` replace whole top-level fields
 * (pass a full `progress` array, not a part of one).
 */
export function fixtureRequest(
  state: RequestState,
  overrides: Partial<LiveResponseRequest> = {},
): LiveResponseRequest {
  // A deep copy: tests change the progress of the request they get, which must not leak into the next one.
  return { ...baseRequest(), ...structuredClone(STATE_CHANGES[state]), state, ...overrides };
}

export function fixtureOptions(overrides: Partial<RequestCardOptions> = {}): RequestCardOptions {
  return { viewer: 'other', now: FIXTURE_NOW, publicBaseUrl: FIXTURE_BASE_URL, ...overrides };
}

export const ALL_STATES: readonly RequestState[] = [
  'AwaitingApproval',
  'Approved',
  'Submitting',
  'Pending',
  'InProgress',
  'Succeeded',
  'Failed',
  'TimeOut',
  'Cancelled',
  'Rejected',
  'Expired',
];

/** The minidump alone, finished: its output names the dump, which the card offers to collect (a follow-up). */
export function fixtureDumpWithoutGetFile(overrides: Partial<LiveResponseRequest> = {}): LiveResponseRequest {
  const finished = fixtureRequest('Succeeded');
  return {
    ...finished,
    commands: [finished.commands[0]!],
    progress: [finished.progress[0]!],
    ...overrides,
  };
}

/** The follow-up a "Collect OfficeClickToRun.dmp.zip" click on `fixtureDumpWithoutGetFile` asked for. */
export function fixtureFollowUp(
  state: RequestState = 'AwaitingApproval',
  overrides: Partial<LiveResponseRequest> = {},
): LiveResponseRequest {
  const base = fixtureRequest(state);
  return {
    ...base,
    id: 'LR-Q8M2TD',
    requester: APPROVERS[1]!,
    approvers: [APPROVERS[0]!],
    createdAt: at(18),
    expiresAt: at(48),
    commands: [{ type: 'GetFile', path: 'C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip' }],
    progress: [base.progress[1] ?? created()],
    followUpOf: 'LR-7K3F9Q',
    ...overrides,
  };
}

/**
 * A fan-out of `collect.ps1` over `devices` names after approval, with its device requests: the first few
 * succeeded, one failed (exit code 1), one timed out, one is still running, and `unknown-pc` was left out at
 * pre-flight. `outputChars` of script output per device (long outputs must not grow the card: it links them).
 */
export function fixtureFanOut(
  deviceCount = 9,
  options: { outputChars?: number; state?: 'AwaitingApproval' | 'Running' | 'Finished' } = {},
): { parent: LiveResponseRequest; children: Map<string, LiveResponseRequest> } {
  const state = options.state ?? 'Finished';
  const output = 'x'.repeat(options.outputChars ?? 200);
  const command = { type: 'RunScript' as const, scriptName: 'collect.ps1', args: '-Quick' };
  const names = Array.from({ length: deviceCount }, (_, i) =>
    i === 0 ? 'unknown-pc' : `fin-laptop${String(i).padStart(2, '0')}.finance.contoso.local`,
  );
  const base = baseRequest();
  const targets = names.map((name, i) =>
    i === 0
      ? { name, excluded: 'Defender has no device called unknown-pc. Did you mean fin-laptop01?' }
      : {
          name,
          childId: `LR-C${String(i).padStart(5, '0')}`,
          device: {
            machineId: createHash('sha1').update(name).digest('hex'),
            computerDnsName: name,
            osPlatform: 'Windows11',
            healthStatus: 'Active',
            lastSeen: at(10),
          },
        },
  );
  const parent: LiveResponseRequest = {
    ...base,
    id: 'LR-F4N0UT',
    device: { machineId: '', computerDnsName: `${deviceCount - 1} devices` },
    commands: [command],
    progress: [created()],
    reason: 'beaconing to 203.0.113.7 from the finance VLAN (incident 4711)',
    fanOut: { source: { kind: 'devices' }, targets },
    ...(state === 'AwaitingApproval' ? {} : { state: 'Approved', decision: approved }),
  };
  const children = new Map<string, LiveResponseRequest>();
  if (state === 'AwaitingApproval') return { parent, children };
  const outcome = (i: number): LiveResponseRequest['state'] => {
    if (state === 'Running' && i > deviceCount / 2) return i % 2 ? 'InProgress' : 'Pending';
    if (i === deviceCount - 1) return state === 'Finished' ? 'TimeOut' : 'InProgress';
    if (i === deviceCount - 2 && deviceCount > 3) return 'Failed';
    return 'Succeeded';
  };
  for (const [i, target] of targets.entries()) {
    if (!('childId' in target) || !target.childId) continue;
    const childState = outcome(i);
    const exitCode = childState === 'Failed' ? 1 : 0;
    const finished = childState === 'Succeeded' || childState === 'Failed';
    children.set(target.childId, {
      ...base,
      id: target.childId,
      device: target.device,
      commands: [command],
      state: childState,
      decision: approved,
      parentId: parent.id,
      actionId: `a-${i}`,
      ...(childState === 'TimeOut'
        ? {
            failure: {
              code: 'TimeOut',
              message: 'Defender stopped the action: a command ran past its time limit.',
            },
          }
        : {}),
      progress: [
        finished
          ? {
              status: 'Completed',
              errors: [],
              transcript: summariseTranscript(
                JSON.stringify({
                  script_name: 'collect.ps1',
                  exit_code: exitCode,
                  script_output: `Collected 14 artefacts\n${output}`,
                  script_errors: exitCode ? 'Access to the path C:\\Windows\\Prefetch is denied.' : '',
                }),
              ),
              link: { id: `k${i}`, expiresAt: at(48) },
            }
          : { status: childState === 'TimeOut' ? 'NotRun' : 'InProgress', errors: [] },
      ],
    });
  }
  if (state === 'Finished') Object.assign(parent, { state: 'Failed', finishedAt: at(19) });
  return { parent, children };
}
