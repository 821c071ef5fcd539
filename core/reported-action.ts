// What the lifecycle needs to know about an action as Defender reports it: core's own view, so it depends on no edge.
// defender/ maps its wire type onto this by shape (a MachineAction is a ReportedAction).

/** Action statuses the lifecycle understands; the last four are final. Others count as "not finished". */
export type ReportedActionStatus =
  | 'Pending'
  | 'InProgress'
  | 'Succeeded'
  | 'Failed'
  | 'TimeOut'
  | 'Cancelled';

export interface ReportedCommand {
  index: number;
  /** `Created`, `InProgress`, `Completed`, `Failed`, or a value not known yet. */
  commandStatus: string;
  errors?: string[];
  startTime: string | null;
  endTime: string | null;
}

export interface ReportedAction {
  id: string;
  /** A ReportedActionStatus, or a value not known yet. */
  status: string;
  commands: ReportedCommand[];
  cancellationRequestor?: string | null;
  cancellationDateTimeUtc?: string | null;
  troubleshootInfo?: string | null;
}
