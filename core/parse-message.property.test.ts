// Property tests of the parser: it never throws, stays fast on hostile input, everything it accepts
// obeys the validation rules, everything it refuses says why, and valid requests read back exactly.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMAND_ORDER, type LiveResponseCommand } from './commands.js';
import { type ParsedMessage, parseMessage } from './parse-message.js';
import { isRequestId } from './request-id.js';
import {
  FORBIDDEN_ARG_CHARACTERS,
  MAX_ARGS_LENGTH,
  MAX_COMMANDS,
  MAX_PATH_LENGTH,
  MAX_POSIX_PATH_LENGTH,
  MAX_REASON_LENGTH,
  SCRIPT_EXTENSIONS,
  validateCommand,
  validateDevice,
} from './validate-command.js';

const SEED = 20_251_123;
const RUNS = 3000;
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}]/u;
const LIBRARY_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const KEYWORDS = ['on', 'from', 'then', 'because'];

function expectLibraryName(name: string): void {
  expect(name).toMatch(LIBRARY_NAME);
  expect(name).not.toContain('..');
}

function expectValidCommand(command: LiveResponseCommand): void {
  // Parsing and validation agree: what the parser returns is already normalised.
  expect(validateCommand(command)).toEqual({ ok: true, value: command });
  switch (command.type) {
    case 'RunScript':
      expectLibraryName(command.scriptName);
      expect(SCRIPT_EXTENSIONS.some((ext) => command.scriptName.toLowerCase().endsWith(ext))).toBe(true);
      if (command.args !== undefined) {
        expect(command.args).not.toBe('');
        expect(command.args.length).toBeLessThanOrEqual(MAX_ARGS_LENGTH);
        expect(command.args).not.toMatch(INVISIBLE);
        for (const c of FORBIDDEN_ARG_CHARACTERS) expect(command.args).not.toContain(c);
      }
      break;
    case 'GetFile': {
      const { path } = command;
      expect(path).not.toMatch(INVISIBLE);
      if (path.startsWith('/')) {
        // Linux and macOS: kept as typed, never rewritten into a Windows path.
        expect(path.length).toBeLessThanOrEqual(MAX_POSIX_PATH_LENGTH);
        expect(path).not.toMatch(/["\\]/);
        for (const segment of path.slice(1).split('/')) expect(segment).not.toMatch(/^\.{0,2}$/);
        break;
      }
      expect(path).toMatch(/^[A-Za-z]:\\/);
      expect(path.length).toBeLessThanOrEqual(MAX_PATH_LENGTH);
      expect(path).not.toMatch(/[<>"|?*/]/);
      expect(path.slice(2)).not.toContain(':');
      for (const segment of path.slice(3).split('\\')) expect(segment).not.toMatch(/^\.*$/);
      break;
    }
    case 'PutFile':
      expectLibraryName(command.fileName);
      break;
  }
}

function expectWellFormed(parsed: ParsedMessage): void {
  switch (parsed.kind) {
    case 'invalid':
      expect(parsed.problem.trim()).not.toBe('');
      expect(parsed.example.trim()).not.toBe('');
      break;
    case 'request':
      expect(parsed.commands.length).toBeGreaterThanOrEqual(1);
      expect(parsed.commands.length).toBeLessThanOrEqual(MAX_COMMANDS);
      if (parsed.fanOut?.kind === 'devices') {
        expect(parsed.fanOut.names.length).toBeGreaterThanOrEqual(2);
        for (const name of parsed.fanOut.names)
          expect(validateDevice(name)).toEqual({ ok: true, value: name });
        expect(parsed.device).toBe(parsed.fanOut.names.join(', '));
      } else if (parsed.fanOut?.kind === 'tag') {
        expect(parsed.device).toBe(`tag:${parsed.fanOut.tag}`);
        expect(parsed.fanOut.tag).toMatch(/^[A-Za-z0-9 _.-]{1,200}$/);
      } else expect(validateDevice(parsed.device)).toEqual({ ok: true, value: parsed.device });
      for (const command of parsed.commands) expectValidCommand(command);
      if (parsed.reason !== undefined) {
        expect(parsed.reason.trim()).toBe(parsed.reason);
        expect(parsed.reason.length).toBeGreaterThan(0);
        expect(parsed.reason.length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
        expect(parsed.reason).not.toMatch(INVISIBLE);
      }
      break;
    case 'status':
      if (parsed.requestId !== undefined) expect(isRequestId(parsed.requestId)).toBe(true);
      break;
    case 'cancel':
      expect(isRequestId(parsed.requestId)).toBe(true);
      break;
    case 'help':
    case 'scripts':
      break;
  }
}

// Pieces of plausible and hostile messages, so that random text often gets deep into the grammar.
const FRAGMENTS = [
  ...['run', 'getfile', 'putfile', 'status', 'cancel', 'help', 'scripts', 'RUN', 'GetFile', '?'],
  ...['then', 'THEN', ';', 'on', 'from', 'because', 'On', '"', "'", '“', ' ', '  '],
  ...[
    'minidump.ps1',
    'collect.ps1',
    'x.sh',
    'tool.exe',
    'mіni.ps1',
    '../x.ps1',
    'OfficeClickToRun',
    '-Verbose',
  ],
  ...[
    '"-Path C:\\Program Files\\x"',
    'C:\\windows\\TEMP\\x.zip',
    'C:/a/b.txt',
    'C:\\..\\x',
    'C:\\a b\\c.txt',
  ],
  ...[
    '\\\\?\\C:\\x',
    '\\\\srv\\share\\x',
    'C:\\x.txt:ads',
    'C:\\con',
    'desktop-test',
    'desktop-test.contoso.local',
  ],
  ...['dеsktop', 'PC1.', 'a..b', 'LR-7K3F9Q', 'lr-7k3f9q', '<at>Bot</at>', '<p>', '</p>', '<br>', '&nbsp;'],
  ...[
    '&amp;',
    '&quot;',
    '&#0;',
    '@Bot',
    '$',
    '&',
    '|',
    '!',
    '(',
    ')',
    '`',
    '\u0000',
    '\u202e',
    '；',
    '..',
    '\\',
  ],
  ...['/', ':', '*', '<', '>', '\n', '\t', '\u00a0', '😀'],
];

const fragmentMessage = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ unit: 'grapheme-ascii', maxLength: 8 })),
      fc.constantFrom(' ', '', ' '),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.map(([fragment, gap]) => fragment + gap).join(''));

// Requests shaped like the grammar, mostly good parts with some bad ones mixed in.
const roughDevice = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('desktop-test', 'PC1', 'desktop-test.contoso.local', 'pc1.') },
  fc.constantFrom('dеsktop', 'a..b', 'x_y'),
);
const roughCommand = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('minidump.ps1', 'collect.ps1', 'x.sh', 'a.exe', 'mіni.ps1'),
      fc.array(
        fc.oneof(
          {
            weight: 4,
            arbitrary: fc.constantFrom('OfficeClickToRun', '-Verbose', '"-P C:\\a b"', "'q r'", '-N 5'),
          },
          fc.constantFrom('on', 'because', '$x', '"a;b"', '(1)', '"'),
          fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 6 }),
        ),
        { maxLength: 3 },
      ),
    )
    .map(([script, args]) => ['run', script, ...args].join(' ')),
  fc
    .constantFrom(
      'C:\\x.txt',
      '"C:\\Program Files\\a.log"',
      'C:\\Program Files\\a.log',
      'C:\\..\\x',
      '\\\\srv\\x',
      'x.txt',
      '/var/log/syslog',
      '"/Users/x y/a.log"',
      '/var/../etc/shadow',
      '//srv/x',
    )
    .map((path) => `getfile ${path}`),
  fc
    .constantFrom('procdump64.exe', 'procdump64.exe', 'a..b', 'tools\\x.exe')
    .map((file) => `putfile ${file}`),
);
const roughRequest = fc
  .record({
    commands: fc.array(fc.tuple(roughCommand, fc.constantFrom('none', 'none', 'same', 'other')), {
      minLength: 1,
      maxLength: 4,
    }),
    joiner: fc.constantFrom(' then ', '; ', ';', ' THEN '),
    keyword: fc.constantFrom('on', 'on', 'ON', 'from'),
    device: roughDevice,
    reason: fc.option(fc.string({ maxLength: 40 })),
  })
  .map(({ commands, joiner, keyword, device, reason }) => {
    // The last command gets the device at the end; the others may name it (or another) too.
    const body = commands.map(([command, own], index) =>
      own === 'none' || index === commands.length - 1
        ? command
        : `${command} on ${own === 'same' ? device : 'other-pc'}`,
    );
    return `${body.join(joiner)} ${keyword} ${device}${reason === null ? '' : ` because ${reason}`}`;
  });

describe('parseMessage on arbitrary input', () => {
  it('never throws on arbitrary text and always returns a well-formed result', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), fragmentMessage), (text) => {
        expectWellFormed(parseMessage(text));
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('keeps every accepted grammar-shaped request within the rules', () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(roughRequest, (text) => {
        const parsed = parseMessage(text);
        seen.set(parsed.kind, (seen.get(parsed.kind) ?? 0) + 1);
        expectWellFormed(parsed);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // The generator reaches both sides of the grammar, not only refusals.
    expect(seen.get('request') ?? 0).toBeGreaterThan(RUNS / 20);
    expect(seen.get('invalid') ?? 0).toBeGreaterThan(RUNS / 2);
  });

  // Speed on long input is measured by `npm run bench`; tests never assert wall-clock time.
  it('answers long hostile input with a well-formed result', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('', 'run ', 'getfile ', 'run x.ps1 ', 'run x.ps1 on pc1 because '),
        fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 6 }),
        // Up to the raw limit the parser does real work; beyond it, it must refuse at once.
        fc.oneof(fc.integer({ min: 1_000, max: 16_000 }), fc.integer({ min: 16_000, max: 110_000 })),
        (prefix, unit, length) => {
          const text = (prefix + unit.join('').repeat(Math.ceil(length / unit.join('').length))).slice(
            0,
            length,
          );
          expectWellFormed(parseMessage(text));
        },
      ),
      { numRuns: 300, seed: SEED },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Round trip: requests written the way a user would, with their parts generated

const notKeyword = (word: string) => !KEYWORDS.includes(word.toLowerCase());
const caseOf = (word: string) =>
  fc.constantFrom(word, word.toUpperCase(), word[0]!.toUpperCase() + word.slice(1));

const scriptName = fc
  .tuple(fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/), fc.constantFrom(...SCRIPT_EXTENSIONS))
  .map(([base, ext]) => base + ext);
const argWord = fc.stringMatching(/^[A-Za-z0-9_.:\\=,+-][A-Za-z0-9_.:\\=,+'-]{0,11}$/).filter(notKeyword);
const quotedArg = fc.stringMatching(/^[A-Za-z0-9 _.:\\=,+'-]{0,20}$/).map((inside) => `"${inside}"`);
const args = fc.array(fc.oneof(argWord, quotedArg), { maxLength: 5 }).map((words) => words.join(' '));
const segment = fc
  .stringMatching(/^[A-Za-z0-9_()%~-][A-Za-z0-9 _()%~.-]{0,14}[A-Za-z0-9_()%~-]$|^[A-Za-z0-9_-]$/)
  .filter((s) => !/^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i.test(s.split('.')[0]!.trimEnd()));
const windowsPath = fc
  .tuple(fc.constantFrom('C', 'd', 'E'), fc.array(segment, { minLength: 1, maxLength: 6 }))
  .map(([drive, segments]) => `${drive}:\\${segments.join('\\')}`);
const posixSegment = fc
  .stringMatching(/^[A-Za-z0-9_()%~.:-][A-Za-z0-9 _()%~.:-]{0,14}$/)
  .filter((s) => s !== '.' && s !== '..' && s.trim() === s);
const posixPath = fc
  .array(posixSegment, { minLength: 1, maxLength: 6 })
  .map((segments) => `/${segments.join('/')}`);
const libraryFile = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}\.[a-z]{2,3}$/);
const deviceName = fc
  .stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]{1,8}){0,2}$/)
  .filter(notKeyword);
const reasonText = fc
  .stringMatching(/^[ -%'-;=-~]{1,80}$/)
  .map((s) => s.trim())
  .filter((s) => s !== '');

interface Generated {
  text: string;
  command: LiveResponseCommand;
}

const generatedCommand: fc.Arbitrary<Generated> = fc.oneof(
  fc.tuple(caseOf('run'), scriptName, args).map(
    ([verb, name, a]): Generated => ({
      text: a === '' ? `${verb} ${name}` : `${verb} ${name} ${a}`,
      command:
        a === '' ? { type: 'RunScript', scriptName: name } : { type: 'RunScript', scriptName: name, args: a },
    }),
  ),
  fc
    .tuple(caseOf('getfile'), fc.oneof(windowsPath, posixPath), fc.boolean())
    .map(([verb, path, quote]): Generated => {
      // Unquoted paths are taken whole, unless a word in them is a keyword.
      const mustQuote = path.split(' ').some((word) => !notKeyword(word));
      return {
        text: `${verb} ${quote || mustQuote ? `"${path}"` : path}`,
        command: { type: 'GetFile', path },
      };
    }),
  fc.tuple(caseOf('putfile'), libraryFile).map(
    ([verb, file]): Generated => ({
      text: `${verb} ${file}`,
      command: { type: 'PutFile', fileName: file },
    }),
  ),
);

const rank = (generated: [Generated, boolean]) => COMMAND_ORDER.indexOf(generated[0].command.type);

describe('parseMessage reads back what a user writes', () => {
  it('returns exactly the commands, device and reason of a valid request', () => {
    fc.assert(
      fc.property(
        // Defender takes putfile → run → getfile only; requests out of that order have their own property below.
        fc
          .array(fc.tuple(generatedCommand, fc.boolean()), { minLength: 1, maxLength: MAX_COMMANDS })
          .map((commands) => [...commands].sort((a, b) => rank(a) - rank(b))),
        fc.constantFrom(' then ', '; ', ' ; ', ' THEN ', ';'),
        deviceName,
        fc.option(reasonText),
        fc.constantFrom('', '<at>LR Bot</at> ', '@LRBot ', '<p>'),
        (commands, joiner, device, reason, wrapper) => {
          const last = commands.length - 1;
          const body = commands
            .map(([generated, repeatDevice], index) =>
              // Saying the device after a command is allowed when it is the same device.
              index === last || repeatDevice ? `${generated.text} on ${device}` : generated.text,
            )
            .join(joiner);
          const text = `${wrapper}${body}${reason === null ? '' : ` because ${reason}`}`;
          const expected: ParsedMessage = {
            kind: 'request',
            commands: commands.map(([generated]) => generated.command),
            device,
            ...(reason === null ? {} : { reason }),
          };
          // `<` and `&` would be markup inside Teams HTML; the generators never produce them.
          expect(parseMessage(text)).toEqual(expected);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

describe('parseMessage and the order of commands', () => {
  it('refuses a request out of Defender’s order, offering the reordered request that reads back in order', () => {
    fc.assert(
      fc.property(
        fc
          .array(generatedCommand, { minLength: 2, maxLength: MAX_COMMANDS })
          .filter((commands) =>
            commands.some(
              (c, i) =>
                i > 0 &&
                COMMAND_ORDER.indexOf(c.command.type) < COMMAND_ORDER.indexOf(commands[i - 1]!.command.type),
            ),
          ),
        deviceName,
        fc.option(reasonText),
        (commands, device, reason) => {
          const text = `${commands.map((c) => c.text).join(' then ')} on ${device}${reason === null ? '' : ` because ${reason}`}`;
          const parsed = parseMessage(text);
          if (parsed.kind !== 'invalid') throw new Error(`accepted out of order: ${text}`);
          expect(parsed.problem).toContain('in the order `putfile`, then `run`, then `getfile`');
          const reordered = commands
            .map((c) => c.command)
            .sort((a, b) => COMMAND_ORDER.indexOf(a.type) - COMMAND_ORDER.indexOf(b.type));
          expect(parseMessage(parsed.example)).toEqual({
            kind: 'request',
            commands: reordered,
            device,
            ...(reason === null ? {} : { reason }),
          });
        },
      ),
      { numRuns: 1000, seed: SEED },
    );
  });
});

describe('parseMessage reads a device list or a machine tag in the device position', () => {
  it('returns every listed device once, in order, however the commas are spaced', () => {
    fc.assert(
      fc.property(
        fc
          .array(generatedCommand, { minLength: 1, maxLength: 3 })
          .map((commands) =>
            [...commands].sort(
              (a, b) => COMMAND_ORDER.indexOf(a.command.type) - COMMAND_ORDER.indexOf(b.command.type),
            ),
          ),
        fc.uniqueArray(deviceName, { minLength: 2, maxLength: 25, selector: (d) => d.toLowerCase() }),
        fc.constantFrom(', ', ',', ' , ', ' ,'),
        fc.option(reasonText),
        (commands, devices, comma, reason) => {
          const text = `${commands.map((c) => c.text).join(' then ')} on ${devices.join(comma)}${reason === null ? '' : ` because ${reason}`}`;
          expect(parseMessage(text)).toEqual({
            kind: 'request',
            commands: commands.map((c) => c.command),
            device: devices.join(', '),
            ...(reason === null ? {} : { reason }),
            fanOut: { kind: 'devices', names: devices },
          });
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('returns the tag of `tag:<name>` as written', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/),
        fc.constantFrom('tag:', 'TAG:', 'Tag:'),
        fc.option(reasonText),
        (tag, prefix, reason) => {
          const text = `run collect.ps1 on ${prefix}${tag}${reason === null ? '' : ` because ${reason}`}`;
          expect(parseMessage(text)).toEqual({
            kind: 'request',
            commands: [{ type: 'RunScript', scriptName: 'collect.ps1' }],
            device: `tag:${tag}`,
            ...(reason === null ? {} : { reason }),
            fanOut: { kind: 'tag', tag },
          });
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
