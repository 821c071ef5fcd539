// Wire types of the Defender for Endpoint API as the bot uses them (see shared BRIEF and seeds).

/** Machine action status. The last four are final. */
export type ActionStatus = 'Pending' | 'InProgress' | 'Succeeded' | 'Failed' | 'TimeOut' | 'Cancelled';
export const FINAL_ACTION_STATUSES: readonly ActionStatus[] = ['Succeeded', 'Failed', 'TimeOut', 'Cancelled'];

/** Per-command status. Unknown values are treated as "not finished". */
export type CommandStatus = 'Created' | 'InProgress' | 'Completed' | 'Failed';

export type LiveResponseCommandType = 'PutFile' | 'RunScript' | 'GetFile';

export interface CommandParam {
  key: 'ScriptName' | 'Args' | 'Path' | 'FileName';
  value: string;
}

export interface WireCommand {
  type: LiveResponseCommandType;
  params: CommandParam[];
}

export interface RunLiveResponseBody {
  Commands: WireCommand[];
  Comment: string;
}

export interface ActionCommand {
  index: number;
  startTime: string | null;
  endTime: string | null;
  /** A CommandStatus, or a value this client does not know yet. */
  commandStatus: string;
  errors: string[];
  command: WireCommand;
}

export interface MachineAction {
  id: string;
  type: string;
  requestor: string;
  requestorComment: string;
  /** An ActionStatus, or a value this client does not know yet. */
  status: string;
  machineId: string;
  computerDnsName: string;
  creationDateTimeUtc: string;
  /** Current payloads. */
  lastUpdateDateTimeUtc?: string;
  /** Older payloads. */
  lastUpdateTimeUtc?: string;
  cancellationRequestor?: string | null;
  cancellationComment?: string | null;
  cancellationDateTimeUtc?: string | null;
  errorHResult?: number;
  troubleshootInfo?: string | null;
  commands: ActionCommand[];
}

export interface Machine {
  id: string;
  computerDnsName: string;
  osPlatform?: string;
  osVersion?: string | null;
  version?: string;
  healthStatus?: string;
  riskScore?: string;
  exposureLevel?: string;
  lastSeen?: string;
  lastIpAddress?: string;
  rbacGroupName?: string;
  machineTags?: string[];
}

export interface LibraryFile {
  fileName: string;
  sha256?: string;
  description?: string;
  hasParameters?: boolean;
  parametersDescription?: string | null;
  createdBy?: string;
  creationTime?: string;
  lastUpdatedTime?: string;
}

/** `{"error":{"code","message","target"}}` */
export interface DefenderErrorBody {
  error: { code: string; message: string; target?: string };
}

/** RunScript result file. */
export interface ScriptTranscript {
  script_name: string;
  exit_code: number;
  script_output: string;
  script_errors: string;
}

export interface ODataList<T> {
  '@odata.context'?: string;
  value: T[];
}
