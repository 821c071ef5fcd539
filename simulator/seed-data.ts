// The simulator's default tenant: devices and library files chosen so every path of the bot can be exercised
// (happy path, offline device, device group without automation, ambiguous short name, failing/hanging scripts).
import { createHash } from 'node:crypto';
import type { LibraryFile, Machine } from '../defender/types.js';

/** A device as the simulator keeps it; the extra fields drive behaviour and never appear on the wire. */
export interface SimMachine extends Machine {
  /** Whether the device picks up live response actions now. Default true; offline keeps actions `Pending`. */
  online?: boolean;
  /** The device group has no automation level: runliveresponse answers 403 `DisallowedOperation`. */
  disallowed?: boolean;
  /** GetFile of a path containing any of these (case-insensitive) fails as "file not found". Default `['missing']`. */
  absentPaths?: string[];
}

export interface ScriptContext {
  scriptName: string;
  /** The `Args` value, or '' when none. */
  args: string;
  computerDnsName: string;
}

/** How a library script behaves when RunScript runs it. Durations are simulated milliseconds. */
export interface ScriptBehaviour {
  /** `exit_code` in the transcript. Default 0. */
  exitCode?: number;
  /** `script_output` without the transcript banner and trailing NULs (those are added unless turned off). */
  output?: string | ((context: ScriptContext) => string);
  /** `script_errors`. Default ''. */
  errors?: string;
  /** How long the script runs. Over the RunScript timeout (10 minutes) the action ends `TimeOut`. */
  durationMs?: number;
  /** `Failed` = Defender itself could not run the command: the command fails with `commandErrors`. */
  outcome?: 'Completed' | 'Failed';
  commandErrors?: string[];
  /** Start the output with PowerShell's "Transcript started, output file is ..." line. Default true. */
  transcriptBanner?: boolean;
  /** NUL characters appended to the output, as real transcripts have. Default 16. */
  trailingNuls?: number;
}

/** A stable 40-hex machine id derived from the name, so ids are the same in every run. */
export function machineIdFor(computerDnsName: string): string {
  return createHash('sha1').update(computerDnsName.toLowerCase()).digest('hex');
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The default devices; `now` (simulated epoch ms) anchors `lastSeen`. */
export function createSeedMachines(now: number): SimMachine[] {
  const machine = (
    computerDnsName: string,
    facts: Omit<SimMachine, 'id' | 'computerDnsName' | 'lastSeen'>,
    lastSeenAgoMs: number,
  ): SimMachine => ({
    id: machineIdFor(computerDnsName),
    computerDnsName,
    lastSeen: new Date(now - lastSeenAgoMs).toISOString(),
    ...facts,
  });
  return [
    machine(
      'desktop-test.contoso.local',
      {
        osPlatform: 'Windows11',
        osVersion: '10.0.22631',
        version: '23H2',
        healthStatus: 'Active',
        riskScore: 'Medium',
        exposureLevel: 'Medium',
        lastIpAddress: '10.0.0.21',
        rbacGroupName: 'Workstations',
        machineTags: ['finance'],
      },
      4 * MINUTE,
    ),
    machine(
      'desktop-test2.contoso.local',
      {
        osPlatform: 'Windows10',
        osVersion: '10.0.19045',
        version: '22H2',
        healthStatus: 'Active',
        riskScore: 'Low',
        exposureLevel: 'Low',
        lastIpAddress: '10.0.0.22',
        rbacGroupName: 'Workstations',
        machineTags: [],
      },
      9 * MINUTE,
    ),
    machine(
      'srv-db01.contoso.local',
      {
        osPlatform: 'WindowsServer2022',
        osVersion: '10.0.20348',
        version: '21H2',
        healthStatus: 'Active',
        riskScore: 'High',
        exposureLevel: 'High',
        lastIpAddress: '10.0.1.10',
        rbacGroupName: 'Servers',
        machineTags: ['tier0'],
      },
      2 * MINUTE,
    ),
    machine(
      'laptop-offline.contoso.local',
      {
        osPlatform: 'Windows11',
        osVersion: '10.0.22631',
        version: '23H2',
        healthStatus: 'Inactive',
        riskScore: 'Low',
        exposureLevel: 'Medium',
        lastIpAddress: '192.168.1.40',
        rbacGroupName: 'Workstations',
        machineTags: [],
        online: false,
      },
      3 * 24 * HOUR,
    ),
    machine(
      'kiosk-nogroup.contoso.local',
      {
        osPlatform: 'Windows10',
        osVersion: '10.0.19044',
        version: '21H2',
        healthStatus: 'Active',
        riskScore: 'None',
        exposureLevel: 'Low',
        lastIpAddress: '10.0.3.5',
        rbacGroupName: 'Unassigned',
        machineTags: ['kiosk'],
        disallowed: true,
      },
      30 * MINUTE,
    ),
    machine(
      'web01.contoso.local',
      {
        osPlatform: 'WindowsServer2019',
        osVersion: '10.0.17763',
        version: '1809',
        healthStatus: 'Active',
        riskScore: 'Low',
        exposureLevel: 'Medium',
        lastIpAddress: '10.0.2.11',
        rbacGroupName: 'Servers',
        machineTags: ['dmz'],
      },
      6 * MINUTE,
    ),
    machine(
      'web01.fabrikam.local',
      {
        osPlatform: 'WindowsServer2019',
        osVersion: '10.0.17763',
        version: '1809',
        healthStatus: 'Active',
        riskScore: 'Medium',
        exposureLevel: 'High',
        lastIpAddress: '172.16.0.11',
        rbacGroupName: 'Fabrikam servers',
        machineTags: ['fabrikam'],
      },
      11 * MINUTE,
    ),
  ];
}

function libraryFile(
  fileName: string,
  description: string,
  parametersDescription: string | null,
  creationTime: string,
): LibraryFile {
  return {
    fileName,
    sha256: createHash('sha256').update(fileName).digest('hex'),
    description,
    hasParameters: parametersDescription !== null,
    parametersDescription,
    createdBy: 'secops-lead@contoso.com',
    creationTime,
    lastUpdatedTime: creationTime,
  };
}

/** The default live response library. */
export function createSeedLibrary(): LibraryFile[] {
  return [
    libraryFile(
      'minidump.ps1',
      'Writes a memory dump of a process to C:\\windows\\TEMP\\<process>.dmp.zip',
      'Process name, e.g. OfficeClickToRun',
      '2024-03-11T09:15:00.0000000Z',
    ),
    libraryFile(
      'collect.ps1',
      'Collects event logs, autoruns and network connections into a zip',
      '-Path <folder> [-Verbose]',
      '2024-03-11T09:20:00.0000000Z',
    ),
    libraryFile(
      'whoami.ps1',
      'Prints the account the live response session runs as',
      null,
      '2024-03-12T14:02:00.0000000Z',
    ),
    libraryFile(
      'fail.ps1',
      'Reads a protected registry hive (exits 1 with an access denied error)',
      null,
      '2024-04-02T08:00:00.0000000Z',
    ),
    libraryFile(
      'crash.ps1',
      'A script the live response host cannot run',
      null,
      '2024-04-02T08:05:00.0000000Z',
    ),
    libraryFile(
      'hang.ps1',
      'Waits on a lock that never frees (runs into the 10-minute timeout)',
      null,
      '2024-04-02T08:10:00.0000000Z',
    ),
    libraryFile(
      'bigoutput.ps1',
      'Dumps about 200 KB of process details',
      null,
      '2024-04-02T08:15:00.0000000Z',
    ),
    libraryFile('procdump64.exe', 'Sysinternals ProcDump (x64)', null, '2024-01-05T10:00:00.0000000Z'),
  ];
}

function bigOutput(): string {
  const lines: string[] = [];
  for (let i = 1; i <= 2500; i++) {
    const pid = 1000 + ((i * 7919) % 60000);
    lines.push(
      `${String(i).padStart(5, '0')} pid=${pid} name=svchost.exe session=0 handles=${(i * 37) % 4000} ws=${i * 13}K`,
    );
  }
  return lines.join('\r\n');
}

/** Default behaviour of the seed scripts, by file name. Scripts without an entry complete quickly with exit 0. */
export function createSeedScriptBehaviours(): Record<string, ScriptBehaviour> {
  return {
    'minidump.ps1': {
      durationMs: 45_000,
      output: ({ args }) => `C:\\windows\\TEMP\\${args.split(/\s+/)[0] || 'process'}.dmp.zip\r\n51 MB`,
    },
    'collect.ps1': {
      durationMs: 90_000,
      output: ({ args, computerDnsName }) =>
        [
          `Collecting from ${computerDnsName} with arguments: ${args || '(none)'}`,
          'Event logs: 4 files, 38 MB',
          'Autoruns: 212 entries',
          'Network connections: 57',
          'Archive: C:\\windows\\TEMP\\collect.zip',
        ].join('\r\n'),
    },
    'whoami.ps1': { durationMs: 5_000, output: 'nt authority\\system' },
    'fail.ps1': {
      durationMs: 8_000,
      exitCode: 1,
      output: 'Reading registry hive C:\\Windows\\System32\\config\\SAM',
      errors:
        "Copy-Item : Access to the path 'C:\\Windows\\System32\\config\\SAM' is denied.\r\n" +
        'At C:\\ProgramData\\Microsoft\\Windows Defender Advanced Threat Protection\\Downloads\\fail.ps1:3 char:1\r\n' +
        '    + CategoryInfo          : PermissionDenied: (SAM:FileInfo) [Copy-Item], UnauthorizedAccessException\r\n' +
        '    + FullyQualifiedErrorId : CopyFileInfoItemUnauthorizedAccessError,Microsoft.PowerShell.Commands.CopyItemCommand',
    },
    'crash.ps1': {
      durationMs: 12_000,
      outcome: 'Failed',
      commandErrors: ['Script execution failed: the PowerShell host exited unexpectedly (0x80131500)'],
    },
    'hang.ps1': { durationMs: 15 * MINUTE, output: 'Waiting for lock...' },
    'bigoutput.ps1': { durationMs: 20_000, output: bigOutput },
  };
}

/** A Windows workstation to add to the simulated tenant, e.g. to run several requests side by side. */
export function workstation(shortName: string): SimMachine {
  const computerDnsName = `${shortName}.contoso.local`;
  return {
    id: machineIdFor(computerDnsName),
    computerDnsName,
    osPlatform: 'Windows11',
    osVersion: '10.0.22631',
    healthStatus: 'Active',
    riskScore: 'Low',
    exposureLevel: 'Low',
    lastSeen: new Date().toISOString(),
    rbacGroupName: 'Workstations',
  };
}
