// The chat commands as data: one spec drives the parser's help, the help reply and the manifest's command list.

/** One live response command as the user asked for it, validated. */
export type LiveResponseCommand =
  | { type: 'RunScript'; scriptName: string; args?: string }
  | { type: 'GetFile'; path: string }
  | { type: 'PutFile'; fileName: string };

export interface ChatCommandSpec {
  /** The word that starts the message. */
  verb: string;
  usage: string;
  example: string;
  description: string;
  /** Other ways to say the same thing (whole message, case-insensitive), e.g. `?` for help. */
  aliases?: readonly string[];
}

export const CHAT_COMMANDS: readonly ChatCommandSpec[] = [
  {
    verb: 'run',
    usage: 'run <script> [args…] on <device> [because <reason>]',
    example: 'run minidump.ps1 OfficeClickToRun on desktop-test because suspicious Office child process',
    description:
      'Run a library script on a device, a list (a, b, c) or tag:<name>: .ps1 on Windows, .sh on Linux/macOS (needs approval)',
  },
  {
    verb: 'getfile',
    usage: 'getfile <path> from <device>',
    example: 'getfile "C:\\Program Files\\App\\app.log" from desktop-test',
    description: 'Collect a file: C:\\… on Windows, /var/log/… on Linux and macOS (needs approval)',
  },
  {
    verb: 'putfile',
    usage: 'putfile <library file> on <device>',
    example: 'putfile procdump64.exe on desktop-test',
    description: 'Copy a library file to the device (needs approval)',
  },
  {
    verb: 'status',
    usage: 'status [request id]',
    example: 'status LR-7K3F9Q',
    description: 'Show a request, or the recent requests here',
  },
  {
    verb: 'cancel',
    usage: 'cancel <request id>',
    example: 'cancel LR-7K3F9Q',
    description: 'Cancel a request that has not finished',
  },
  {
    verb: 'audit',
    usage: 'audit <request id>',
    example: 'audit LR-7K3F9Q',
    description: 'Show who asked, decided and ran a request, and when (requester and approvers only)',
  },
  {
    verb: 'scripts',
    usage: 'scripts',
    example: 'scripts',
    description: 'List the live response library',
    aliases: ['list scripts', 'library'],
  },
  {
    verb: 'help',
    usage: 'help',
    example: 'help',
    description: 'Show what the bot understands',
    aliases: ['?'],
  },
];

/** Example of a sequence, shown in help; Defender takes every putfile, then every run, then every getfile. */
export const SEQUENCE_EXAMPLE =
  'run minidump.ps1 OfficeClickToRun then getfile C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip on desktop-test';

/** The order `runliveresponse` takes commands in (repeats allowed, never backwards). */
export const COMMAND_ORDER: readonly LiveResponseCommand['type'][] = ['PutFile', 'RunScript', 'GetFile'];

/** A chat word for each command type, as the user types it. */
export const VERB_OF: Record<LiveResponseCommand['type'], string> = {
  PutFile: 'putfile',
  RunScript: 'run',
  GetFile: 'getfile',
};

/**
 * One command as chat text the parser reads back to the same command: a path with a space, a `;` or a keyword
 * is quoted (args are kept as the user wrote them, quotes included).
 */
export function commandText(command: LiveResponseCommand): string {
  if (command.type !== 'GetFile') return describeCommand(command);
  const needsQuotes = /[\s;']/.test(command.path) || /^(on|from|then|because)$/i.test(command.path);
  return `getfile ${needsQuotes ? `"${command.path}"` : command.path}`;
}

/** A whole request as chat text, ready to send: `<command> then <command> … on <device> [because <reason>]`. */
export function requestText(
  commands: readonly LiveResponseCommand[],
  device: string,
  reason?: string,
): string {
  const because = reason ? ` because ${reason}` : '';
  return `${commands.map(commandText).join(' then ')} on ${device}${because}`;
}

/** A short human label for a command, e.g. `run minidump.ps1 OfficeClickToRun`. */
export function describeCommand(command: LiveResponseCommand): string {
  switch (command.type) {
    case 'RunScript':
      return command.args ? `run ${command.scriptName} ${command.args}` : `run ${command.scriptName}`;
    case 'GetFile':
      return `getfile ${command.path}`;
    case 'PutFile':
      return `putfile ${command.fileName}`;
  }
}
