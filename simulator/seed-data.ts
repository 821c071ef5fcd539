// The simulator's default tenant: devices and library files chosen so every path of the bot can be exercised
// (happy path, offline device, device group without automation, ambiguous short name, a re-imaged device with older
// records, Linux and macOS devices, failing/hanging scripts, Bash scripts). The machine tag `finance-laptops` holds a
// device a tag fan-out includes (fin-laptop07, with its older records), an Inactive one and a macOS one it leaves out.
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
  /**
   * How the result file spells its fields. Microsoft's "Get live response result" page disagrees with itself:
   * its example file says `script_name`/`script_errors` ('example', the default), its table `name`/`script_error`
   * ('table'). Varying it per script lets tests cover both through HTTP.
   */
  fieldNames?: 'example' | 'table';
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
    /** Another record of the same name (a re-imaged device) needs an id of its own. */
    record = 0,
  ): SimMachine => ({
    id: machineIdFor(record === 0 ? computerDnsName : `${computerDnsName}#${record}`),
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
        machineTags: ['finance-laptops'],
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
    // Re-imaged twice: Defender keeps the old records under the same name, Inactive, until they age out. Only the
    // Active one is the machine on the desk; the others never pick up an action.
    ...[0, 1, 2].map((record) =>
      machine(
        'fin-laptop07.contoso.local',
        {
          osPlatform: 'Windows11',
          osVersion: '10.0.22631',
          version: '23H2',
          healthStatus: record === 0 ? 'Active' : 'Inactive',
          riskScore: 'Low',
          exposureLevel: 'Low',
          lastIpAddress: `10.0.4.${17 + record}`,
          rbacGroupName: 'Workstations',
          machineTags: ['finance', 'finance-laptops'],
          ...(record === 0 ? {} : { online: false }),
        },
        record === 0 ? 7 * MINUTE : record * 40 * 24 * HOUR,
        record,
      ),
    ),
    // Defender reports osPlatform `Linux` and `macOS` for these (its machine and device-health APIs).
    machine(
      'linux-web02.contoso.local',
      {
        osPlatform: 'Linux',
        osVersion: '22.04',
        version: 'Ubuntu',
        healthStatus: 'Active',
        riskScore: 'Medium',
        exposureLevel: 'Medium',
        lastIpAddress: '10.0.2.32',
        rbacGroupName: 'Servers',
        machineTags: ['dmz'],
      },
      3 * MINUTE,
    ),
    machine(
      'mac-design01.contoso.local',
      {
        osPlatform: 'macOS',
        osVersion: '14.5',
        version: 'Sonoma',
        healthStatus: 'Active',
        riskScore: 'Low',
        exposureLevel: 'Low',
        lastIpAddress: '10.0.5.41',
        rbacGroupName: 'Workstations',
        machineTags: ['design', 'finance-laptops'],
      },
      12 * MINUTE,
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
    libraryFile(
      'collect-logs.sh',
      'Linux and macOS: archives the system logs to /tmp/collect-logs.tar.gz',
      '[--since <date>]',
      '2024-05-06T11:00:00.0000000Z',
    ),
    libraryFile(
      'whoami.sh',
      'Linux and macOS: prints the account the live response session runs as',
      null,
      '2024-05-06T11:05:00.0000000Z',
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
    // Bash has no Start-Transcript: no banner. This one writes its result file in the docs' table spelling.
    'collect-logs.sh': {
      durationMs: 30_000,
      transcriptBanner: false,
      fieldNames: 'table',
      output: ({ args, computerDnsName }) =>
        [
          `Collecting logs on ${computerDnsName}${args ? ` (${args})` : ''}`,
          'Archived 14 files, 23 MB',
          'Archive: /tmp/collect-logs.tar.gz',
        ].join('\n'),
      errors: 'tar: /var/log/btmp: Cannot open: Permission denied',
    },
    'whoami.sh': { durationMs: 3_000, transcriptBanner: false, output: 'root' },
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
