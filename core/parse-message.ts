// Reads one chat message into one typed intent (help, scripts, status, cancel, a live response
// request) or a refusal the user can act on. Pure and linear-time: it sees hostile text first.
import { CHAT_COMMANDS, type LiveResponseCommand, SEQUENCE_EXAMPLE } from './commands.js';
import { normaliseRequestId } from './request-id.js';
import {
  type Checked,
  exampleFor,
  inlineCode,
  MAX_MESSAGE_LENGTH,
  RUN_EXAMPLE,
  showInput,
  validateCommand,
  validateCommandCount,
  validateCommandOrder,
  validateDevice,
  validateGetFilePath,
  validateLibraryFileName,
  validateReason,
  validateScriptArgs,
  validateScriptName,
} from './validate-command.js';

export type ParsedMessage =
  | { kind: 'help' }
  | { kind: 'scripts' }
  | { kind: 'status'; requestId?: string }
  | { kind: 'cancel'; requestId: string }
  | { kind: 'audit'; requestId: string }
  | {
      kind: 'request';
      commands: LiveResponseCommand[];
      /** The device as typed, or the devices of a fan-out as one text (`a, b, c`, `tag:finance-laptops`). */
      device: string;
      reason?: string;
      /** Several devices in one request (a comma-separated list, or a Defender machine tag): one approval for all. */
      fanOut?: FanOutTarget;
    }
  | { kind: 'invalid'; problem: string; example: string };

/** The devices of a fan-out as typed: two or more names (each a device name), or one machine tag. */
export type FanOutTarget = { kind: 'devices'; names: string[] } | { kind: 'tag'; tag: string };

type Invalid = Extract<ParsedMessage, { kind: 'invalid' }>;

export const FANOUT_EXAMPLE = 'run collect.ps1 on desktop-test, laptop-22, web02';
export const TAG_EXAMPLE = 'run collect.ps1 on tag:finance-laptops';
/** Defender machine tags are free text; the bot takes the characters tags are written with in practice (no quotes). */
const TAG_NAME = /^[A-Za-z0-9 _.-]{1,200}$/;

/** Raw text longer than this is refused before any work; Teams markup rarely quadruples a message. */
const MAX_RAW_LENGTH = 4 * MAX_MESSAGE_LENGTH;

const QUOTED_EXAMPLE = 'run collect.ps1 "-Path C:\\Program Files\\x" -Verbose on desktop-test';
const REQUEST_VERBS = ['run', 'getfile', 'putfile'] as const;
type RequestVerb = (typeof REQUEST_VERBS)[number];

function invalid(problem: string, example: string): Invalid {
  return { kind: 'invalid', problem, example };
}

function fromChecked(checked: Extract<Checked<unknown>, { ok: false }>): Invalid {
  return invalid(checked.problem, checked.example);
}

/** Lower-cases ASCII only, so that no other letter (e.g. the Kelvin sign) can turn into a keyword. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

// ---------------------------------------------------------------------------------------------
// Cleaning what Teams sends

// Markup Teams puts around message text. Other `<...>` is left alone (it may be part of an argument).
const BLOCK_TAGS = new Set(
  'p div br hr li ul ol blockquote pre table thead tbody tr td th h1 h2 h3 h4 h5 h6'.split(' '),
);
const INLINE_TAGS = new Set(
  'at span b i u s em strong strike del ins code a font sub sup mark small img emoji'.split(' '),
);
// Bounded attribute text keeps each match short, so scanning stays linear on hostile input.
const TAG = /<(\/?)([A-Za-z][A-Za-z0-9]{0,15})(?:\s[^<>]{0,500})?\/?>/y;
const AT_CLOSE = /<\/at\s*>/gi;
const ENTITY = /&(#[xX][0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[A-Za-z]{2,8});/g;
const NAMED_ENTITIES = new Map([
  ['nbsp', ' '],
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
]);
// Line breaks, tabs and Unicode spaces all separate words; anything else invisible stays and is refused.
const SPACES = /[\t\n\v\f\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/g;
// Phone keyboards type curly double quotes; PowerShell reads them as quotes too.
const CURLY_DOUBLE_QUOTES = /[\u201c\u201d\u201e]/g;

function stripMarkup(text: string): string {
  let out = '';
  let i = 0;
  // The next `</at>` at or after the last search point (null: none left), cached so that many
  // unclosed `<at>` cost one scan in total.
  let atClose: { index: number; end: number } | null | undefined;
  // Whether any text came before, i.e. whether an `<at>` is still the leading mention.
  let sawText = false;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    if (lt === -1) {
      out += text.slice(i);
      break;
    }
    const before = text.slice(i, lt);
    out += before;
    sawText ||= /\S/.test(before);
    TAG.lastIndex = lt;
    const tag = TAG.exec(text);
    if (tag === null) {
      out += '<';
      sawText = true;
      i = lt + 1;
      continue;
    }
    i = lt + tag[0].length;
    const name = asciiLower(tag[2]!);
    if (name === 'at' && tag[1] === '' && !sawText) {
      // A mention before the command is the bot's own name: drop it with its text.
      if (atClose === undefined || (atClose !== null && atClose.index < i)) {
        AT_CLOSE.lastIndex = i;
        const found = AT_CLOSE.exec(text);
        atClose = found === null ? null : { index: found.index, end: found.index + found[0].length };
      }
      if (atClose !== null) i = atClose.end;
      if (!out.endsWith(' ')) out += ' ';
    } else if (BLOCK_TAGS.has(name)) {
      if (!out.endsWith(' ')) out += ' ';
    } else if (!INLINE_TAGS.has(name)) {
      out += tag[0];
      sawText = true;
    }
  }
  return out;
}

function decodeEntities(text: string): string {
  return text.replace(ENTITY, (whole, body: string) => {
    if (body.startsWith('#')) {
      const cp =
        body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number(body.slice(1));
      const valid = cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
      return valid ? String.fromCodePoint(cp) : whole;
    }
    return NAMED_ENTITIES.get(body) ?? whole;
  });
}

const MENTION_WORD = / *(\S+)/y;

/** Every word that can start a message, used to tell where a plain-text `@Bot Name` ends. */
const LEADING_WORDS = new Set(
  CHAT_COMMANDS.flatMap((spec) => [spec.verb, ...(spec.aliases ?? [])].map((w) => w.split(' ')[0]!)),
);

/** `@LR Bot run …` → `run …`; the mention may be up to four words, ending before the first known verb. */
function stripLeadingMention(text: string): string {
  if (!text.startsWith('@')) return text;
  const words: { start: number; end: number; word: string }[] = [];
  MENTION_WORD.lastIndex = 0;
  while (words.length < 5) {
    const start = MENTION_WORD.lastIndex;
    const match = MENTION_WORD.exec(text);
    if (match === null) break;
    words.push({
      start: start + match[0].length - match[1]!.length,
      end: MENTION_WORD.lastIndex,
      word: match[1]!,
    });
  }
  const verbAt = words.findIndex((w, index) => index > 0 && LEADING_WORDS.has(asciiLower(w.word)));
  if (verbAt > 0) return text.slice(words[verbAt]!.start);
  return text.slice(words[0]?.end ?? text.length).trim();
}

/**
 * The text a user typed, from what Teams delivered: mention and HTML markup removed, entities
 * decoded, line breaks and Unicode spaces turned into plain spaces, curly double quotes into `"`.
 */
export function cleanMessageText(text: string): string {
  const plain = decodeEntities(stripMarkup(text))
    .replace(SPACES, ' ')
    .replace(CURLY_DOUBLE_QUOTES, '"')
    .trim();
  return stripLeadingMention(plain).trim();
}

// ---------------------------------------------------------------------------------------------
// Top level

/** Reads one message. Never throws; anything it does not understand is `invalid`. */
export function parseMessage(text: string): ParsedMessage {
  if (text.length > MAX_RAW_LENGTH) return tooLong(text.length);
  const clean = cleanMessageText(text);
  if (clean.length > MAX_MESSAGE_LENGTH) return tooLong(clean.length);
  if (clean === '') return invalid('The message is empty.', RUN_EXAMPLE);

  const words = clean.split(' ').filter((word) => word !== '');
  const phrase = asciiLower(words.join(' '));
  const bare = phrase.replace(/[.!?]+$/, '');
  const first = asciiLower(words[0]!).replace(/[.!?]+$/, '');

  for (const spec of CHAT_COMMANDS) {
    if (spec.verb !== 'help' && spec.verb !== 'scripts') continue;
    const names = [spec.verb, ...(spec.aliases ?? [])];
    if (names.includes(phrase) || names.includes(bare)) {
      return spec.verb === 'help' ? { kind: 'help' } : { kind: 'scripts' };
    }
  }
  // "help run", "help me": someone asking for help gets it.
  if (first === 'help') return { kind: 'help' };
  if (first === 'scripts') return invalid(`\`scripts\` takes nothing after it.`, 'scripts');
  if (first === 'status') return parseStatus(words);
  if (first === 'cancel') return parseCancel(words);
  if (first === 'audit') return parseAudit(words);
  if ((REQUEST_VERBS as readonly string[]).includes(asciiLower(words[0]!))) return parseRequest(clean);
  return unknownCommand(words[0]!);
}

function tooLong(length: number): Invalid {
  return invalid(
    `The message is ${length} characters; I read at most ${MAX_MESSAGE_LENGTH}. Split it into several requests.`,
    SEQUENCE_EXAMPLE,
  );
}

function requestIdFrom(word: string): string | undefined {
  return normaliseRequestId(word.replace(/[.!?]+$/, ''));
}

function parseStatus(words: string[]): ParsedMessage {
  if (words.length === 1) return { kind: 'status' };
  const requestId = words.length === 2 ? requestIdFrom(words[1]!) : undefined;
  if (requestId === undefined) {
    return invalid(
      `${showInput(words.slice(1).join(' '))} is not a request id; they look like \`LR-7K3F9Q\`.`,
      exampleFor('status'),
    );
  }
  return { kind: 'status', requestId };
}

function parseCancel(words: string[]): ParsedMessage {
  if (words.length === 1) return invalid('Which request? `cancel` needs its id.', exampleFor('cancel'));
  const requestId = words.length === 2 ? requestIdFrom(words[1]!) : undefined;
  if (requestId === undefined) {
    return invalid(
      `${showInput(words.slice(1).join(' '))} is not a request id; \`cancel\` takes one id like \`LR-7K3F9Q\`.`,
      exampleFor('cancel'),
    );
  }
  return { kind: 'cancel', requestId };
}

const AUDIT_EXAMPLE = 'audit LR-7K3F9Q';

function parseAudit(words: string[]): ParsedMessage {
  if (words.length === 1) return invalid('Which request? `audit` needs its id.', AUDIT_EXAMPLE);
  const requestId = words.length === 2 ? requestIdFrom(words[1]!) : undefined;
  if (requestId === undefined) {
    return invalid(
      `${showInput(words.slice(1).join(' '))} is not a request id; \`audit\` takes one id like \`LR-7K3F9Q\`.`,
      AUDIT_EXAMPLE,
    );
  }
  return { kind: 'audit', requestId };
}

/** Edit distance counting a swap of neighbours as one edit (`rnu` → `run`); callers bound the length. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i]!;
      const above = rows[i - 1]!;
      row[j] = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
      }
    }
  }
  return rows[a.length]![b.length]!;
}

function unknownCommand(word: string): Invalid {
  const lower = asciiLower(word);
  if (validateScriptName(word).ok) {
    return invalid(
      `Start with a command: to run ${inlineCode(word)}, write \`run ${word} … on <device>\`.`,
      RUN_EXAMPLE,
    );
  }
  if (lower.length <= 20) {
    // One slip in a short verb, two in a longer one; more than that is a different word.
    const close = CHAT_COMMANDS.find(
      (spec) => editDistance(lower, spec.verb) <= (spec.verb.length <= 4 ? 1 : 2),
    );
    if (close !== undefined) {
      return invalid(
        `I don't know the command ${showInput(word)}. Did you mean \`${close.verb}\`?`,
        close.example,
      );
    }
  }
  return invalid(
    `I don't know the command ${showInput(word)}. Requests start with \`run\`, \`getfile\` or \`putfile\`.`,
    RUN_EXAMPLE,
  );
}

// ---------------------------------------------------------------------------------------------
// Requests: `<command> [then|; <command>]… on <device> [because <reason>]`

interface Token {
  /** The word with its quotes removed. */
  value: string;
  /** Offsets in the cleaned text, so arguments can be passed on exactly as written. */
  start: number;
  end: number;
  /** Quotes appeared in it: never a keyword. */
  quoted: boolean;
  /** An unquoted `;`. */
  separator: boolean;
}

type Tokenized = { ok: true; tokens: Token[]; reason?: string } | { ok: false; invalid: Invalid };

function isKeyword(token: Token | undefined, ...words: string[]): boolean {
  return token !== undefined && !token.separator && !token.quoted && words.includes(asciiLower(token.value));
}

const KEYWORDS = ['on', 'from', 'then', 'because'];

/** True when the tokens end with `on|from <device> because`. */
function endsWithReasonStart(tokens: Token[]): boolean {
  const n = tokens.length;
  if (!isKeyword(tokens[n - 1], 'because') || n < 3) return false;
  const start = deviceListStart(tokens, n - 2);
  const devices = tokens.slice(start, n - 1);
  return (
    isKeyword(tokens[start - 1], 'on', 'from') &&
    devices.length > 0 &&
    devices.every((device) => !device.separator && !isKeyword(device, ...KEYWORDS))
  );
}

/**
 * Where the device position ending at `last` starts: a device list (`a, b, c` or `a,b , c`) spans the tokens joined
 * by commas, so walk back while the token before ends with `,` or this one starts with it.
 */
function deviceListStart(tokens: Token[], last: number): number {
  let k = last;
  while (k > 0) {
    const before = tokens[k - 1]!;
    const current = tokens[k]!;
    if (before.separator || current.separator || before.quoted) break;
    if (!before.value.endsWith(',') && !current.value.startsWith(',')) break;
    k--;
  }
  return k;
}

/**
 * Splits into words and `;`. `"` quotes anywhere in a word; `'` only at its start, so that
 * `O'Brien` or `C:\Users\o'neil` stay words. The reason (after `on <device> because`) is raw text:
 * free prose with apostrophes, never tokenized.
 */
function tokenize(text: string): Tokenized {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === ' ') {
      i++;
      continue;
    }
    if (text[i] === ';') {
      tokens.push({ value: ';', start: i, end: i + 1, quoted: false, separator: true });
      i++;
      continue;
    }
    const start = i;
    let value = '';
    let quoted = false;
    while (i < text.length) {
      const c = text[i]!;
      if (c === ' ' || c === ';') break;
      if (c === '"' || (c === "'" && i === start)) {
        const close = text.indexOf(c, i + 1);
        if (close === -1) {
          return {
            ok: false,
            invalid: invalid(
              `The quote \`${c}\` at ${showInput(text.slice(i, i + 30))} is never closed.`,
              QUOTED_EXAMPLE,
            ),
          };
        }
        value += text.slice(i + 1, close);
        quoted = true;
        i = close + 1;
        continue;
      }
      value += c;
      i++;
    }
    tokens.push({ value, start, end: i, quoted, separator: false });
    if (endsWithReasonStart(tokens)) return { ok: true, tokens: tokens.slice(0, -1), reason: text.slice(i) };
  }
  return { ok: true, tokens };
}

interface Segment {
  tokens: Token[];
  /** What came before it: the start of the message, `then` or `;`. */
  joiner: string;
}

function splitSegments(tokens: Token[]): Segment[] {
  const segments: Segment[] = [];
  let current: Segment = { tokens: [], joiner: '' };
  for (const token of tokens) {
    if (token.separator || isKeyword(token, 'then')) {
      segments.push(current);
      current = { tokens: [], joiner: token.separator ? ';' : 'then' };
    } else current.tokens.push(token);
  }
  segments.push(current);
  return segments;
}

interface Shape {
  verb: RequestVerb;
  body: Token[];
  /** The device position's tokens (several for a comma-separated list). */
  device?: Token[];
  tokens: Token[];
}

function rawText(text: string, tokens: Token[]): string {
  const first = tokens[0];
  const last = tokens[tokens.length - 1];
  return first === undefined || last === undefined ? '' : text.slice(first.start, last.end);
}

/** Device keywords per verb: `from` reads naturally only for getfile, and keeping it out of run keeps args unambiguous. */
function deviceKeywords(verb: RequestVerb): string[] {
  return verb === 'getfile' ? ['on', 'from'] : ['on'];
}

function shapeOf(segment: Segment, text: string): Shape | Invalid {
  const { tokens } = segment;
  const verbToken = tokens[0]!;
  const verb = REQUEST_VERBS.find((v) => isKeyword(verbToken, v));
  if (verb === undefined) {
    return invalid(
      `${showInput(rawText(text, tokens))} after \`${segment.joiner}\` isn't a command I know. Each command in a sequence starts with \`run\`, \`getfile\` or \`putfile\` (put a path or argument containing \`then\` or \`;\` in quotes).`,
      SEQUENCE_EXAMPLE,
    );
  }
  const n = tokens.length;
  const start = deviceListStart(tokens, n - 1);
  const hasDevice =
    start >= 2 &&
    isKeyword(tokens[start - 1], ...deviceKeywords(verb)) &&
    tokens.slice(start).every((token) => !isKeyword(token, ...KEYWORDS));
  const body = tokens.slice(1, hasDevice ? start - 1 : n);
  const because = body.find((token) => isKeyword(token, 'because'));
  if (because !== undefined) {
    return invalid(
      `\`because\` must come after the device: the reason goes last (quote it if it is part of a path or argument).`,
      `${RUN_EXAMPLE} because suspicious Office child process`,
    );
  }
  return hasDevice ? { verb, body, device: tokens.slice(start), tokens } : { verb, body, tokens };
}

function missingDevice(shape: Shape, text: string): Invalid {
  const { tokens, verb } = shape;
  const n = tokens.length;
  const example = verb === 'run' ? RUN_EXAMPLE : exampleFor(verb);
  const last = tokens[n - 1]!;
  if (n === 1) {
    const usage = CHAT_COMMANDS.find((spec) => spec.verb === verb)?.usage ?? verb;
    return invalid(`\`${verb}\` needs more: \`${usage}\`.`, example);
  }
  if (isKeyword(last, 'on', 'from')) {
    return invalid(`\`${asciiLower(last.value)}\` at the end needs the device name after it.`, example);
  }
  const keywords = deviceKeywords(verb);
  let k = n - 1;
  while (k > 0 && !isKeyword(tokens[k], ...keywords)) k--;
  if (k > 0 && k < n - 2) {
    const deviceWords = `${asciiLower(tokens[k]!.value)} ${tokens[k + 1]!.value}`;
    return invalid(
      `After ${showInput(deviceWords)} I found ${showInput(rawText(text, tokens.slice(k + 2)))}. Only the device goes there; put a reason after \`because\`.`,
      `${example.replace(/ because .*$/, '')} because suspicious Office child process`,
    );
  }
  if (n >= 3 && isKeyword(tokens[n - 2], 'from')) {
    return invalid(`Use \`on\` with \`${verb}\`: \`${verb} … on <device>\`.`, example);
  }
  return invalid(`Which device? End the request with \`on <device>\`.`, example);
}

function commandOf(shape: Shape, text: string): Checked<LiveResponseCommand> {
  const { verb, body } = shape;
  const usage = CHAT_COMMANDS.find((spec) => spec.verb === verb)?.usage ?? verb;
  if (body.length === 0) {
    const what =
      verb === 'run' ? 'a script name' : verb === 'getfile' ? 'a file path' : 'a library file name';
    return { ok: false, problem: `\`${verb}\` needs ${what}: \`${usage}\`.`, example: exampleFor(verb) };
  }
  switch (verb) {
    case 'run': {
      const scriptName = validateScriptName(body[0]!.value);
      if (!scriptName.ok) return scriptName;
      if (body.length === 1) return { ok: true, value: { type: 'RunScript', scriptName: scriptName.value } };
      const args = validateScriptArgs(rawText(text, body.slice(1)));
      if (!args.ok) return args;
      return { ok: true, value: { type: 'RunScript', scriptName: scriptName.value, args: args.value } };
    }
    case 'getfile': {
      let path: string;
      if (body.length === 1) path = body[0]!.value;
      else if (body.some((token) => token.quoted)) {
        return {
          ok: false,
          problem: `${showInput(rawText(text, body))} looks like more than one path; put the whole path in one pair of quotes.`,
          example: exampleFor('getfile'),
        };
      } else path = rawText(text, body);
      const checked = validateGetFilePath(path);
      return checked.ok ? { ok: true, value: { type: 'GetFile', path: checked.value } } : checked;
    }
    case 'putfile': {
      if (body.length > 1) {
        return {
          ok: false,
          problem: `\`putfile\` takes one library file name; found ${showInput(rawText(text, body))}.`,
          example: exampleFor('putfile'),
        };
      }
      const fileName = validateLibraryFileName(body[0]!.value);
      return fileName.ok ? { ok: true, value: { type: 'PutFile', fileName: fileName.value } } : fileName;
    }
  }
}

function parseRequest(text: string): ParsedMessage {
  const tokenized = tokenize(text);
  if (!tokenized.ok) return tokenized.invalid;

  const segments = splitSegments(tokenized.tokens);
  // A trailing `;` is harmless punctuation; a trailing `then` promises a command that isn't there.
  while (segments.length > 1 && segments[segments.length - 1]!.tokens.length === 0) {
    const dropped = segments.pop()!;
    if (dropped.joiner === 'then') return invalid('Nothing follows the last `then`.', SEQUENCE_EXAMPLE);
  }
  if (segments.some((segment) => segment.tokens.length === 0)) {
    return invalid('There is no command between two separators (`then` or `;`).', SEQUENCE_EXAMPLE);
  }
  const count = validateCommandCount(segments.length);
  if (!count.ok) return fromChecked(count);

  const shapes: Shape[] = [];
  for (const segment of segments) {
    const shape = shapeOf(segment, text);
    if ('kind' in shape) return shape;
    shapes.push(shape);
  }
  const lastShape = shapes[shapes.length - 1]!;
  if (lastShape.device === undefined) return missingDevice(lastShape, text);

  let device = '';
  let fanOut: FanOutTarget | undefined;
  for (const shape of shapes) {
    if (shape.device === undefined) continue;
    const checked = deviceTarget(shape.device);
    if ('kind' in checked) return checked;
    if (device !== '' && asciiLower(device) !== asciiLower(checked.text)) {
      return invalid(
        `The request names two devices, ${inlineCode(device)} and ${inlineCode(checked.text)}; every command of a request runs on the same devices, so name them once at the end (if \`on\` is part of the script arguments, quote it).`,
        SEQUENCE_EXAMPLE,
      );
    }
    device = checked.text;
    fanOut = checked.fanOut;
  }

  const commands: LiveResponseCommand[] = [];
  for (const shape of shapes) {
    const command = commandOf(shape, text);
    if (!command.ok) return fromChecked(command);
    // Parsing and storage must agree on what is valid: re-check the assembled command.
    const checked = validateCommand(command.value);
    if (!checked.ok) return fromChecked(checked);
    commands.push(checked.value);
  }

  let reason: string | undefined;
  if (tokenized.reason !== undefined) {
    const checked = validateReason(tokenized.reason);
    if (!checked.ok) return fromChecked(checked);
    reason = checked.value;
  }
  const order = validateCommandOrder(commands, device, reason);
  if (!order.ok) return fromChecked(order);
  return {
    kind: 'request',
    commands,
    device,
    ...(reason === undefined ? {} : { reason }),
    ...(fanOut === undefined ? {} : { fanOut }),
  };
}

/**
 * The device position: one device name, a comma-separated list of them (two or more: a fan-out; a name listed twice
 * counts once), or `tag:<name>` (every device with that Defender machine tag).
 */
function deviceTarget(tokens: Token[]): { text: string; fanOut?: FanOutTarget } | Invalid {
  const parts = tokens
    .map((token) => token.value)
    .join(' ')
    .split(',')
    .map((part) => part.trim());
  if (parts.some((part) => part === '') && parts.length > 1)
    return invalid('The device list has an empty place between commas.', FANOUT_EXAMPLE);
  const tags = parts.filter((part) => asciiLower(part).startsWith('tag:'));
  if (tags.length > 0) {
    if (parts.length > 1)
      return invalid(
        `A tag stands alone in the device position: ${inlineCode(tags[0]!)} cannot be listed with other devices.`,
        TAG_EXAMPLE,
      );
    const tag = tags[0]!.slice('tag:'.length).trim();
    if (!TAG_NAME.test(tag))
      return invalid(
        tag === ''
          ? 'Which tag? `tag:` needs the Defender machine tag after it.'
          : `The tag ${showInput(tag)} has characters a machine tag cannot be looked up with; tags use letters, digits, spaces, \`-\`, \`_\` and \`.\` (quote a tag with spaces: \`"tag:Finance laptops"\`).`,
        TAG_EXAMPLE,
      );
    return { text: `tag:${tag}`, fanOut: { kind: 'tag', tag } };
  }
  const names: string[] = [];
  for (const part of parts) {
    const checked = validateDevice(part);
    if (!checked.ok) return fromChecked(checked);
    if (!names.some((name) => asciiLower(name) === asciiLower(checked.value))) names.push(checked.value);
  }
  if (names.length === 1) return { text: names[0]! };
  return { text: names.join(', '), fanOut: { kind: 'devices', names } };
}
