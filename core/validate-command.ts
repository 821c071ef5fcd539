// Validation of everything a user types into a live response request, before anything is stored.
// Each refusal names the exact offending input and carries an example the user can copy.
import { CHAT_COMMANDS, COMMAND_ORDER, type LiveResponseCommand, requestText, VERB_OF } from './commands.js';

/** Longest message the parser reads (after Teams markup is removed). */
export const MAX_MESSAGE_LENGTH = 4000;
/** Commands in one request, i.e. in one live response session. */
export const MAX_COMMANDS = 10;
export const MAX_REASON_LENGTH = 500;
export const MAX_ARGS_LENGTH = 1024;
/** Classic Windows MAX_PATH: Defender's GetFile does not take long-path forms. */
export const MAX_PATH_LENGTH = 260;
/** macOS's PATH_MAX (Linux allows 4096): the shorter of the two POSIX systems live response reaches. */
export const MAX_POSIX_PATH_LENGTH = 1024;
export const MAX_FILE_NAME_LENGTH = 128;
export const MAX_DEVICE_LENGTH = 255;
export const MAX_DEVICE_LABEL_LENGTH = 63;
/** What RunScript can run; anything else in the library is for PutFile. */
export const SCRIPT_EXTENSIONS: readonly string[] = ['.ps1', '.sh', '.py', '.bat', '.cmd'];
/** Defender refuses these in RunScript `Args`. */
export const FORBIDDEN_ARG_CHARACTERS: readonly string[] = [';', '&', '|', '!', '$', '(', ')'];
/** Not allowed in Windows file names (the colon is handled separately: only after the drive letter). */
export const FORBIDDEN_PATH_CHARACTERS: readonly string[] = ['<', '>', '"', '|', '?', '*'];

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string; example: string };

function refuse<T>(problem: string, example: string): Checked<T> {
  return { ok: false, problem, example };
}

/** The example of a chat command from the spec, so refusals teach the same syntax as `help`. */
export function exampleFor(verb: string): string {
  return CHAT_COMMANDS.find((spec) => spec.verb === verb)?.example ?? 'help';
}

export const RUN_EXAMPLE = 'run minidump.ps1 OfficeClickToRun on desktop-test';
export const GETFILE_EXAMPLE = 'getfile C:\\Windows\\Temp\\OfficeClickToRun.dmp.zip from desktop-test';
export const POSIX_GETFILE_EXAMPLE = 'getfile /var/log/syslog from linux-web02';

// ---------------------------------------------------------------------------------------------
// Showing characters and input back to the user

const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;
const OTHER_SPACE = /\p{Zs}/u;

function isInvisible(ch: string): boolean {
  return INVISIBLE.test(ch) || (ch !== ' ' && OTHER_SPACE.test(ch));
}

/** `U+043E` */
export function codePointLabel(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

// Characters people paste by accident (autocorrect, other keyboards, spoofing) mapped to the ASCII
// character they look like. Used only to explain a refusal and suggest the fix, never to rewrite input.
const LOOKALIKES = new Map<string, string>(
  [
    'аa вB еe оo рp сc уy хx іi јj ѕs һh ԁd ԛq ԝw ӏl', // Cyrillic
    'АA ВB ЕE КK МM НH ОO РP СC ТT ХX УY ІI ЈJ ЅS',
    'οo αa νv ρp ιi κk τt ΑA ΒB ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX', // Greek
    'օo սu ıi ɡg', // Armenian, Latin extensions
    '\u2010- \u2011- \u2012- \u2013- \u2014- \u2212-', // dashes from word processors' autocorrect
    '¥\\ ₩\\ ∖\\ ﹨\\ ∕/ ⁄/ ″" ʺ" ˝"', // Windows "best fit" code pages turn these into ASCII
  ]
    .join(' ')
    .split(' ')
    .map((pair) => [pair.slice(0, -1), pair.slice(-1)] as const),
);

// Refused in arguments and paths: Windows may convert them to the ASCII character they resemble
// after validation (so `；` could become a `;` Defender never saw), and they mislead the approver.
const BEST_FIT_RISK = new Set(['¥', '₩', '∖', '﹨', '∕', '⁄', '″', 'ʺ', '˝']);

function isFullWidthAscii(ch: string): boolean {
  const cp = ch.codePointAt(0) ?? 0;
  return cp >= 0xff01 && cp <= 0xff5e;
}

function lookalikeOf(ch: string): string | undefined {
  if (isFullWidthAscii(ch)) return String.fromCodePoint((ch.codePointAt(0) ?? 0) - 0xfee0);
  return LOOKALIKES.get(ch);
}

function scriptOf(ch: string): string | undefined {
  if (/\p{Script=Cyrillic}/u.test(ch)) return 'Cyrillic';
  if (/\p{Script=Greek}/u.test(ch)) return 'Greek';
  if (/\p{Script=Armenian}/u.test(ch)) return 'Armenian';
  if (isFullWidthAscii(ch)) return 'full-width';
  return undefined;
}

/** How a refusal names one character: "`о` (U+043E, Cyrillic, looks like `o`)". */
export function describeCharacter(ch: string): string {
  const code = codePointLabel(ch);
  if (isInvisible(ch)) return `an invisible control character (${code})`;
  const lookalike = lookalikeOf(ch);
  const details = [
    code,
    scriptOf(ch),
    lookalike === undefined ? undefined : `looks like ${inlineCode(lookalike)}`,
  ];
  return `${inlineCode(ch)} (${details.filter((d) => d !== undefined).join(', ')})`;
}

/** A Markdown code span; a backtick inside would end it early, so it is shown as `'`. */
export function inlineCode(text: string): string {
  return `\`${text.replaceAll('`', "'")}\``;
}

/**
 * User input quoted for a reply: a Markdown code span, cut to `max` characters, with invisible
 * characters written as `⟨U+0000⟩` so the user can see what was wrong.
 */
export function showInput(text: string, max = 60): string {
  let shown = '';
  let count = 0;
  for (const ch of text) {
    if (count === max) {
      shown += '…';
      break;
    }
    shown += isInvisible(ch) ? `⟨${codePointLabel(ch)}⟩` : ch;
    count++;
  }
  return inlineCode(shown);
}

// ---------------------------------------------------------------------------------------------
// Devices

const MACHINE_ID = /^[0-9a-fA-F]{40}$/;

/** A Defender machine id (40 hex characters) rather than a name. */
export function isMachineId(device: string): boolean {
  return MACHINE_ID.test(device);
}

function deviceExample(device = 'desktop-test'): string {
  return `${RUN_EXAMPLE.slice(0, RUN_EXAMPLE.lastIndexOf(' on ') + 4)}${device}`;
}

/** Replaces look-alikes with ASCII; undefined when some character has no known ASCII twin. */
function asciiTwin(text: string): string | undefined {
  let twin = '';
  for (const ch of text) {
    if (ch.charCodeAt(0) < 0x80) twin += ch;
    else {
      const lookalike = lookalikeOf(ch);
      if (lookalike === undefined) return undefined;
      twin += lookalike;
    }
  }
  return twin;
}

/**
 * A short name (`desktop-test`), an FQDN (`desktop-test.contoso.local`) or a 40-hex machine id.
 * Only ASCII letters, digits, `-` and `.`: Defender's names are DNS names, and anything else is a
 * typo or a look-alike meant to make an approver read the wrong device.
 */
export function validateDevice(input: string): Checked<string> {
  let device = input.trim();
  // A sentence-ending dot, or the DNS root: `desktop-test.` means `desktop-test`.
  if (device.endsWith('.')) device = device.slice(0, -1);
  if (device === '') return refuse('Which device? The device name is missing.', deviceExample());
  if (device.length > MAX_DEVICE_LENGTH) {
    return refuse(
      `The device name ${showInput(device)} is ${device.length} characters; names have at most ${MAX_DEVICE_LENGTH}.`,
      deviceExample(),
    );
  }
  for (const ch of device) {
    if (/[A-Za-z0-9.-]/.test(ch)) continue;
    const twin = asciiTwin(device);
    const suggestion = twin !== undefined && /^[A-Za-z0-9.-]+$/.test(twin) ? twin : undefined;
    return refuse(
      `The device name ${showInput(device)} contains ${describeCharacter(ch)}. Device names use only ASCII letters, digits, \`-\` and \`.\`${suggestion === undefined ? '' : ` — did you mean ${inlineCode(suggestion)}?`}`,
      deviceExample(suggestion),
    );
  }
  for (const label of device.split('.')) {
    if (label === '') {
      return refuse(`The device name ${showInput(device)} has an empty part between dots.`, deviceExample());
    }
    if (label.length > MAX_DEVICE_LABEL_LENGTH) {
      return refuse(
        `The part ${showInput(label)} of the device name is ${label.length} characters; each part between dots has at most ${MAX_DEVICE_LABEL_LENGTH}.`,
        deviceExample(),
      );
    }
    if (label.startsWith('-') || label.endsWith('-')) {
      return refuse(
        `The device name ${showInput(device)} has a part that starts or ends with \`-\`, which DNS names can't.`,
        deviceExample(),
      );
    }
  }
  return { ok: true, value: device };
}

// ---------------------------------------------------------------------------------------------
// Library file names (RunScript and PutFile)

function validateFileName(input: string, what: string, example: string): Checked<string> {
  const name = input.trim();
  if (name === '') return refuse(`The ${what} name is missing.`, example);
  if (name.includes('/') || name.includes('\\')) {
    return refuse(
      `${showInput(name)} is a path; give just the name of the file in the live response library.`,
      example,
    );
  }
  for (const ch of name) {
    if (/[A-Za-z0-9._-]/.test(ch)) continue;
    const twin = asciiTwin(name);
    return refuse(
      `The ${what} name ${showInput(name)} contains ${describeCharacter(ch)}. Library file names use only ASCII letters, digits, \`.\`, \`_\` and \`-\`${twin === undefined || twin === name ? '' : ` — did you mean ${inlineCode(twin)}?`}`,
      example,
    );
  }
  if (name.includes('..')) {
    return refuse(`The ${what} name ${showInput(name)} contains \`..\`; give the plain file name.`, example);
  }
  if (name.length > MAX_FILE_NAME_LENGTH) {
    return refuse(
      `The ${what} name ${showInput(name)} is ${name.length} characters; library names have at most ${MAX_FILE_NAME_LENGTH}.`,
      example,
    );
  }
  return { ok: true, value: name };
}

/** A RunScript script: a library file name ending in one of SCRIPT_EXTENSIONS. */
export function validateScriptName(input: string): Checked<string> {
  const checked = validateFileName(input, 'script', RUN_EXAMPLE);
  if (!checked.ok) return checked;
  const name = checked.value;
  const lower = name.toLowerCase();
  const extension = SCRIPT_EXTENSIONS.find((ext) => lower.endsWith(ext) && lower.length > ext.length);
  if (extension === undefined) {
    return refuse(
      `${showInput(name)} is not a script: \`run\` takes ${SCRIPT_EXTENSIONS.join(', ')} files. To copy another file to the device, use \`putfile\`.`,
      name.includes('.') ? `putfile ${name} on desktop-test` : RUN_EXAMPLE,
    );
  }
  return checked;
}

/** A PutFile source: any file name in the live response library. */
export function validateLibraryFileName(input: string): Checked<string> {
  return validateFileName(input, 'library file', exampleFor('putfile'));
}

// ---------------------------------------------------------------------------------------------
// Script arguments

/** Refused anywhere a user's text reaches Windows: invisible, or converted to something else later. */
function findUnsafeCharacter(text: string): string | undefined {
  for (const ch of text) {
    if (isInvisible(ch) || isFullWidthAscii(ch) || BEST_FIT_RISK.has(ch)) return ch;
  }
  return undefined;
}

function unsafeCharacterProblem(ch: string, where: string): string {
  return isInvisible(ch)
    ? `${where} contains ${describeCharacter(ch)}; remove it.`
    : `${where} contains ${describeCharacter(ch)}, which Windows may turn into a different character; type the plain ASCII character instead.`;
}

/**
 * RunScript `Args`, as the user wrote them (quotes included, passed on verbatim).
 * `input` is the whole argument text; an empty result means "no arguments".
 */
export function validateScriptArgs(input: string): Checked<string> {
  const args = input.trim();
  if (args.length > MAX_ARGS_LENGTH) {
    return refuse(
      `The script arguments are ${args.length} characters; Defender takes at most ${MAX_ARGS_LENGTH}.`,
      RUN_EXAMPLE,
    );
  }
  const unsafe = findUnsafeCharacter(args);
  if (unsafe !== undefined) {
    return refuse(unsafeCharacterProblem(unsafe, `The script arguments ${showInput(args)}`), RUN_EXAMPLE);
  }
  for (const ch of args) {
    if (FORBIDDEN_ARG_CHARACTERS.includes(ch)) {
      return refuse(
        `The script arguments ${showInput(args)} contain ${inlineCode(ch)}, which Defender refuses in script arguments (it refuses ${FORBIDDEN_ARG_CHARACTERS.map(inlineCode).join(' ')}). Remove the ${inlineCode(ch)}.`,
        RUN_EXAMPLE,
      );
    }
  }
  if (args.includes('`')) {
    // Not in Defender's list, but `sh` runs text between backticks as a command and the card
    // could not show the arguments faithfully inside a code span.
    return refuse(
      `The script arguments ${showInput(args)} contain a backtick, which shells run as a command; remove it.`,
      RUN_EXAMPLE,
    );
  }
  if ((args.match(/"/g)?.length ?? 0) % 2 !== 0) {
    return refuse(
      `The script arguments ${showInput(args)} have a \`"\` without its closing quote.`,
      RUN_EXAMPLE,
    );
  }
  return { ok: true, value: args };
}

// ---------------------------------------------------------------------------------------------
// GetFile paths

const RESERVED_DEVICE_NAMES = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;

/** Which operating system a path is written for: one `/` at the start is POSIX (Linux, macOS), anything else Windows. */
export type PathFlavour = 'windows' | 'posix';

export function pathFlavourOf(path: string): PathFlavour {
  // `//server/share` and `//?/C:/x` are Windows network and device paths written with forward slashes.
  return /^\/(?!\/)/.test(path.trim()) ? 'posix' : 'windows';
}

/**
 * An absolute path to a file on the device: a Windows path (`C:\Windows\Temp\x.zip`) or, for Linux and macOS
 * devices, a POSIX one (`/var/log/syslog`), kept as typed. Which of the two the device takes is checked once the
 * device is known (`validatePathForPlatform`): the parser must not rewrite one form into the other.
 */
export function validateGetFilePath(input: string): Checked<string> {
  return pathFlavourOf(input) === 'posix' ? validatePosixPath(input) : validateWindowsPath(input);
}

/**
 * An absolute POSIX path to a file, e.g. `/var/log/syslog`. Refuses `.`/`..` segments and empty ones (`//`),
 * backslashes (a Windows path half-converted, or a name the approver would misread), quotes and characters that
 * could turn into something else.
 */
export function validatePosixPath(input: string): Checked<string> {
  const path = input.trim();
  const shown = showInput(path);
  const unsafe = findUnsafeCharacter(path);
  if (unsafe !== undefined)
    return refuse(unsafeCharacterProblem(unsafe, `The path ${shown}`), POSIX_GETFILE_EXAMPLE);
  if (!path.startsWith('/')) {
    return refuse(
      `${shown} is not an absolute Linux or macOS path; start with \`/\`, like \`/var/log/syslog\`.`,
      POSIX_GETFILE_EXAMPLE,
    );
  }
  if (path.length > MAX_POSIX_PATH_LENGTH) {
    return refuse(
      `The path ${shown} is ${path.length} characters; at most ${MAX_POSIX_PATH_LENGTH}.`,
      POSIX_GETFILE_EXAMPLE,
    );
  }
  if (path.includes('\\')) {
    return refuse(
      `The path ${shown} mixes \`/\` and \`\\\`; Linux and macOS paths use \`/\` only, like \`/var/log/syslog\`.`,
      POSIX_GETFILE_EXAMPLE,
    );
  }
  if (path.includes('"')) {
    return refuse(
      `The path ${shown} contains \`"\`; quotes in file names aren't supported.`,
      POSIX_GETFILE_EXAMPLE,
    );
  }
  if (path.endsWith('/')) {
    return refuse(`${shown} is a folder; give the path of a file in it.`, POSIX_GETFILE_EXAMPLE);
  }
  for (const segment of path.slice(1).split('/')) {
    if (segment === '') {
      return refuse(`The path ${shown} has an empty folder name (\`//\`).`, POSIX_GETFILE_EXAMPLE);
    }
    if (segment === '.' || segment === '..') {
      return refuse(
        `The path ${shown} contains ${inlineCode(segment)}; relative segments like \`..\` aren't allowed, give the full path.`,
        POSIX_GETFILE_EXAMPLE,
      );
    }
  }
  return { ok: true, value: path };
}

/**
 * An absolute local Windows path to a file, e.g. `C:\Windows\Temp\x.zip`; `/` is read as `\`.
 * Refuses what could reach something other than the file the approver reads on the card:
 * `..` segments, UNC/device/extended paths, alternate data streams, reserved device names, and
 * segments ending in `.` or space (Windows silently drops those).
 */
export function validateWindowsPath(input: string): Checked<string> {
  const path = input.trim().replaceAll('/', '\\');
  const shown = showInput(path);
  if (path === '') return refuse('The file path is missing.', GETFILE_EXAMPLE);
  const unsafe = findUnsafeCharacter(path);
  if (unsafe !== undefined)
    return refuse(unsafeCharacterProblem(unsafe, `The path ${shown}`), GETFILE_EXAMPLE);
  if (/^\\\\[?.]\\|^\\\?\?\\/.test(path)) {
    return refuse(
      `${shown} is a device or extended-length path; give a normal path like \`C:\\Windows\\Temp\\file.zip\`.`,
      GETFILE_EXAMPLE,
    );
  }
  if (path.startsWith('\\\\')) {
    return refuse(
      `${shown} is a network (UNC) path; live response collects files from the device's own disks.`,
      GETFILE_EXAMPLE,
    );
  }
  if (path.length > MAX_PATH_LENGTH) {
    return refuse(
      `The path ${shown} is ${path.length} characters; at most ${MAX_PATH_LENGTH}.`,
      GETFILE_EXAMPLE,
    );
  }
  if (!/^[A-Za-z]:\\/.test(path)) {
    return refuse(
      /^[A-Za-z]:/.test(path)
        ? `${shown} has no \`\\\` after the drive letter; give the full path like \`C:\\Windows\\Temp\\file.zip\`.`
        : `${shown} is not an absolute Windows path; start with the drive, like \`C:\\Windows\\Temp\\file.zip\` (on Linux and macOS, start with \`/\`, like \`/var/log/syslog\`).`,
      GETFILE_EXAMPLE,
    );
  }
  for (const ch of path.slice(2)) {
    if (FORBIDDEN_PATH_CHARACTERS.includes(ch)) {
      return refuse(
        `The path ${shown} contains ${inlineCode(ch)}, which Windows paths can't contain.`,
        GETFILE_EXAMPLE,
      );
    }
    if (ch === ':') {
      return refuse(
        `The path ${shown} has a \`:\` after the drive letter; alternate data streams and other colons aren't supported.`,
        GETFILE_EXAMPLE,
      );
    }
  }
  if (path.endsWith('\\')) {
    return refuse(`${shown} is a folder; give the path of a file in it.`, GETFILE_EXAMPLE);
  }
  for (const segment of path.slice(3).split('\\')) {
    if (segment === '') {
      return refuse(`The path ${shown} has an empty folder name (\`\\\\\`).`, GETFILE_EXAMPLE);
    }
    if (/^\.+$/.test(segment)) {
      return refuse(
        `The path ${shown} contains ${inlineCode(segment)}; relative segments like \`..\` aren't allowed, give the full path.`,
        GETFILE_EXAMPLE,
      );
    }
    if (segment.endsWith('.') || segment.endsWith(' ')) {
      return refuse(
        `The name ${showInput(segment)} in the path ends with a dot or space, which Windows ignores; give the exact name.`,
        GETFILE_EXAMPLE,
      );
    }
    if (RESERVED_DEVICE_NAMES.test(segment.split('.')[0]!.trimEnd())) {
      return refuse(
        `The path ${shown} uses ${inlineCode(segment)}, a reserved Windows device name.`,
        GETFILE_EXAMPLE,
      );
    }
  }
  return { ok: true, value: path };
}

// ---------------------------------------------------------------------------------------------
// Reason

/** The optional reason (goes into the Defender Comment): control characters removed, then checked. */
export function validateReason(input: string): Checked<string> {
  const reason = input
    .replace(/[\t\n\v\f\r]+/g, ' ')
    .replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu, '')
    .trim();
  const example = `${RUN_EXAMPLE} because suspicious Office child process`;
  if (reason === '') return refuse('`because` needs a reason after it (or leave `because` out).', example);
  if (reason.length > MAX_REASON_LENGTH) {
    return refuse(
      `The reason is ${reason.length} characters; keep it to ${MAX_REASON_LENGTH} (details belong in the incident).`,
      example,
    );
  }
  return { ok: true, value: reason };
}

// ---------------------------------------------------------------------------------------------
// Whole commands

/** Validates and normalises one command (e.g. one rebuilt from storage or a card). */
export function validateCommand(command: LiveResponseCommand): Checked<LiveResponseCommand> {
  switch (command.type) {
    case 'RunScript': {
      const name = validateScriptName(command.scriptName);
      if (!name.ok) return name;
      if (command.args === undefined)
        return { ok: true, value: { type: 'RunScript', scriptName: name.value } };
      const args = validateScriptArgs(command.args);
      if (!args.ok) return args;
      return {
        ok: true,
        value:
          args.value === ''
            ? { type: 'RunScript', scriptName: name.value }
            : { type: 'RunScript', scriptName: name.value, args: args.value },
      };
    }
    case 'GetFile': {
      const path = validateGetFilePath(command.path);
      return path.ok ? { ok: true, value: { type: 'GetFile', path: path.value } } : path;
    }
    case 'PutFile': {
      const fileName = validateLibraryFileName(command.fileName);
      return fileName.ok ? { ok: true, value: { type: 'PutFile', fileName: fileName.value } } : fileName;
    }
  }
}

export function validateCommandCount(count: number): Checked<number> {
  if (count < 1) return refuse('There is no command to run.', RUN_EXAMPLE);
  if (count > MAX_COMMANDS) {
    return refuse(
      `That is ${count} commands; one request takes at most ${MAX_COMMANDS}. Split it into several requests.`,
      RUN_EXAMPLE,
    );
  }
  return { ok: true, value: count };
}

// ---------------------------------------------------------------------------------------------
// Command order

/**
 * `runliveresponse` takes "PutFile, RunScript, GetFile (must be in this order with no limit on repetitions)"
 * (Microsoft Learn, Run live response commands on a device, request body). A request out of that order is refused
 * with the reordered request as the example, never reordered silently: the responder may have meant the order
 * (collect a file before a script changes it), and only they can say whether the new order still does what they want.
 */
export function validateCommandOrder(
  commands: readonly LiveResponseCommand[],
  device: string,
  reason?: string,
): Checked<readonly LiveResponseCommand[]> {
  const rank = (command: LiveResponseCommand) => COMMAND_ORDER.indexOf(command.type);
  const late = commands.findIndex(
    (command, index) => index > 0 && rank(command) < rank(commands[index - 1]!),
  );
  if (late === -1) return { ok: true, value: commands };
  const before = commands[late - 1]!;
  const after = commands[late]!;
  // A stable sort keeps the user's order among commands of one type.
  const reordered = [...commands].sort((a, b) => rank(a) - rank(b));
  return refuse(
    `Defender runs the commands of one request in the order \`putfile\`, then \`run\`, then \`getfile\` (each as often as you like), and refuses any other order. Here \`${VERB_OF[after.type]}\` comes after \`${VERB_OF[before.type]}\`. If the order below still does what you need, send it; otherwise split the request in two.`,
    requestText(reordered, device, reason),
  );
}

// ---------------------------------------------------------------------------------------------
// Operating system of the device

/** How the device runs live response: Windows (PowerShell, `C:\` paths) or Linux/macOS (Bash, `/` paths). */
export type PlatformFamily = 'windows' | 'posix' | 'unknown';

/**
 * Defender's `osPlatform` for a machine: `Windows10`, `Windows11`, `WindowsServer2022`… for Windows, `Linux` and
 * `macOS` for the others (the values its machine and device-health APIs report). Some Linux machines carry their
 * distribution's name instead, so known distributions count as Linux too; anything else is unknown.
 */
export function platformFamilyOf(osPlatform: string | undefined): PlatformFamily {
  const platform = (osPlatform ?? '').toLowerCase().replace(/[\s_-]/g, '');
  if (platform.startsWith('windows')) return 'windows';
  if (
    /^(linux|macos|macosx|osx|mac|ubuntu|debian|redhat|rhel|centos|oracle|suse|sles|opensuse|amazon|fedora|almalinux|rocky|mariner)/.test(
      platform,
    )
  )
    return 'posix';
  return 'unknown';
}

/** What the family is called in a reply, with the device's own word for it when there is one. */
function platformName(osPlatform: string | undefined, family: PlatformFamily): string {
  if (osPlatform) return osPlatform;
  return family === 'windows' ? 'Windows' : family === 'posix' ? 'Linux or macOS' : 'an unknown OS';
}

/** A GetFile path written for the device's operating system (checked once the device is known). */
export function validatePathForPlatform(
  path: string,
  device: { computerDnsName: string; osPlatform?: string },
): Checked<string> {
  const family = platformFamilyOf(device.osPlatform);
  const flavour = pathFlavourOf(path);
  const name = device.computerDnsName;
  const os = platformName(device.osPlatform, family);
  if (family === 'posix' && flavour === 'windows') {
    return refuse(
      `${name} runs ${os}, but ${showInput(path)} is a Windows path. Give a ${os} path starting with \`/\`, like \`/var/log/syslog\`.`,
      `getfile /var/log/syslog from ${name}`,
    );
  }
  if (family === 'windows' && flavour === 'posix') {
    return refuse(
      `${name} runs ${os}, but ${showInput(path)} is a Linux/macOS path. Give a Windows path starting with the drive, like \`C:\\Windows\\Temp\\file.zip\`.`,
      `getfile C:\\Windows\\Temp\\file.zip from ${name}`,
    );
  }
  return { ok: true, value: path };
}

/** Scripts that only Windows runs (PowerShell and cmd). */
export const WINDOWS_SCRIPT_EXTENSIONS: readonly string[] = ['.ps1', '.bat', '.cmd'];
/** Scripts that only Linux and macOS run. */
export const POSIX_SCRIPT_EXTENSIONS: readonly string[] = ['.sh'];

/**
 * A RunScript script the device's operating system runs. Microsoft's live response page says "Live response
 * allows PowerShell and Bash scripts to run" and that signature checks apply to PowerShell only; PowerShell is not
 * part of Linux or macOS and Bash is not part of Windows, so a `.ps1` sent to a Linux device (or a `.sh` to a
 * Windows one) would be approved and then fail on the device. Refusing it here is the stricter reading.
 * `others` are the library's scripts for that OS, offered instead.
 */
export function validateScriptForPlatform(
  scriptName: string,
  device: { computerDnsName: string; osPlatform?: string },
  others: readonly string[],
): Checked<string> {
  const family = platformFamilyOf(device.osPlatform);
  const lower = scriptName.toLowerCase();
  const windowsOnly = WINDOWS_SCRIPT_EXTENSIONS.some((ext) => lower.endsWith(ext));
  const posixOnly = POSIX_SCRIPT_EXTENSIONS.some((ext) => lower.endsWith(ext));
  const name = device.computerDnsName;
  const os = platformName(device.osPlatform, family);
  const offer = (wanted: readonly string[]) => {
    const fitting = others.filter((other) => wanted.some((ext) => other.toLowerCase().endsWith(ext)));
    return fitting.length > 0
      ? ` The library has ${fitting
          .slice(0, 8)
          .map((f) => inlineCode(f))
          .join(', ')} for it.`
      : '';
  };
  if (family === 'posix' && windowsOnly) {
    const example = others.find((o) => POSIX_SCRIPT_EXTENSIONS.some((ext) => o.toLowerCase().endsWith(ext)));
    return refuse(
      `${name} runs ${os}, where live response runs Bash scripts (\`.sh\`); ${inlineCode(scriptName)} is a Windows script and would fail there.${offer(POSIX_SCRIPT_EXTENSIONS)}`,
      `run ${example ?? 'collect-logs.sh'} on ${name}`,
    );
  }
  if (family === 'windows' && posixOnly) {
    const example = others.find((o) => o.toLowerCase().endsWith('.ps1'));
    return refuse(
      `${name} runs ${os}, where live response runs PowerShell scripts (\`.ps1\`); ${inlineCode(scriptName)} is a Bash script and would fail there.${offer(WINDOWS_SCRIPT_EXTENSIONS)}`,
      `run ${example ?? 'whoami.ps1'} on ${name}`,
    );
  }
  return { ok: true, value: scriptName };
}
