// Table-driven tests of the chat grammar: every example in the brief, Teams markup, and hostile input.
import { describe, expect, it } from 'vitest';
import { CHAT_COMMANDS, type LiveResponseCommand, SEQUENCE_EXAMPLE } from './commands.js';
import { cleanMessageText, type ParsedMessage, parseMessage } from './parse-message.js';

const run = (scriptName: string, args?: string): LiveResponseCommand =>
  args === undefined ? { type: 'RunScript', scriptName } : { type: 'RunScript', scriptName, args };
const getfile = (path: string): LiveResponseCommand => ({ type: 'GetFile', path });
const putfile = (fileName: string): LiveResponseCommand => ({ type: 'PutFile', fileName });
const request = (device: string, commands: LiveResponseCommand[], reason?: string): ParsedMessage =>
  reason === undefined
    ? { kind: 'request', commands, device }
    : { kind: 'request', commands, device, reason };

const DUMP = run('minidump.ps1', 'OfficeClickToRun');
const DUMP_FILE = getfile('C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip');

describe('parseMessage accepts', () => {
  it.each<[string, ParsedMessage]>([
    // The brief's examples, verbatim
    ['@LR Bot run minidump.ps1 OfficeClickToRun on desktop-test', request('desktop-test', [DUMP])],
    [
      'run collect.ps1 "-Path C:\\Program Files\\x" -Verbose on desktop-test',
      request('desktop-test', [run('collect.ps1', '"-Path C:\\Program Files\\x" -Verbose')]),
    ],
    [
      'run minidump.ps1 OfficeClickToRun then getfile C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip on desktop-test',
      request('desktop-test', [DUMP, DUMP_FILE]),
    ],
    [
      'run minidump.ps1 OfficeClickToRun on desktop-test because suspicious Office child process',
      request('desktop-test', [DUMP], 'suspicious Office child process'),
    ],
    [
      'run minidump.ps1 OfficeClickToRun on desktop-test.contoso.local',
      request('desktop-test.contoso.local', [DUMP]),
    ],
    [
      'run minidump.ps1 OfficeClickToRun on 1e5c3b7f0a9d8e2c4b6a1f3e5d7c9b0a2e4f6d8c',
      request('1e5c3b7f0a9d8e2c4b6a1f3e5d7c9b0a2e4f6d8c', [DUMP]),
    ],
    ['status', { kind: 'status' }],
    ['status LR-7K3F9Q', { kind: 'status', requestId: 'LR-7K3F9Q' }],
    ['cancel LR-7K3F9Q', { kind: 'cancel', requestId: 'LR-7K3F9Q' }],
    ['scripts', { kind: 'scripts' }],
    ['help', { kind: 'help' }],
    // getfile: from/on, quoting, paths with spaces taken whole
    [
      'getfile "C:\\Program Files\\App\\app.log" from desktop-test',
      request('desktop-test', [getfile('C:\\Program Files\\App\\app.log')]),
    ],
    [
      'getfile C:\\Program Files\\App\\app.log from desktop-test',
      request('desktop-test', [getfile('C:\\Program Files\\App\\app.log')]),
    ],
    [
      'getfile C:\\Program Files\\App\\app.log on desktop-test',
      request('desktop-test', [getfile('C:\\Program Files\\App\\app.log')]),
    ],
    [
      'getfile C:\\Data\\on call\\from home.txt from pc1',
      request('pc1', [getfile('C:\\Data\\on call\\from home.txt')]),
    ],
    ["getfile 'C:\\Program Files\\x.log' from pc1", request('pc1', [getfile('C:\\Program Files\\x.log')])],
    [
      "getfile C:\\Users\\o'neil\\notes.txt from pc1",
      request('pc1', [getfile("C:\\Users\\o'neil\\notes.txt")]),
    ],
    ['getfile "C:\\a then b\\x;y.txt" from pc1', request('pc1', [getfile('C:\\a then b\\x;y.txt')])],
    ['getfile C:/Windows/Temp/x.zip from pc1', request('pc1', [getfile('C:\\Windows\\Temp\\x.zip')])],
    [
      'getfile C:\\Program Files (x86)\\App\\a.log from pc1',
      request('pc1', [getfile('C:\\Program Files (x86)\\App\\a.log')]),
    ],
    // putfile
    ['putfile procdump64.exe on desktop-test', request('desktop-test', [putfile('procdump64.exe')])],
    ['putfile procdump64.exe on desktop-test.', request('desktop-test', [putfile('procdump64.exe')])],
    // sequences: `then` and `;`, device after each command when it is the same one
    ['run a.ps1; getfile C:\\x.txt on pc1', request('pc1', [run('a.ps1'), getfile('C:\\x.txt')])],
    ['run a.ps1;getfile C:\\x.txt from pc1', request('pc1', [run('a.ps1'), getfile('C:\\x.txt')])],
    [
      'run a.ps1 on pc1 then getfile C:\\x.txt from pc1',
      request('pc1', [run('a.ps1'), getfile('C:\\x.txt')]),
    ],
    ['run a.ps1 on PC1; getfile C:\\x.txt on pc1', request('pc1', [run('a.ps1'), getfile('C:\\x.txt')])],
    ['run a.ps1 on pc1;', request('pc1', [run('a.ps1')])],
    [
      'putfile tool.exe then run wrap.ps1 -Target C:\\x then getfile C:\\out\\result.zip on pc1',
      request('pc1', [putfile('tool.exe'), run('wrap.ps1', '-Target C:\\x'), getfile('C:\\out\\result.zip')]),
    ],
    [
      `${Array.from({ length: 10 }, (_, i) => `run s${i}.ps1`).join(' then ')} on pc1`,
      request(
        'pc1',
        Array.from({ length: 10 }, (_, i) => run(`s${i}.ps1`)),
      ),
    ],
    // arguments: raw text, quoted keywords, `on` inside
    ['run x.ps1 -Mode on on pc1', request('pc1', [run('x.ps1', '-Mode on')])],
    ['run x.ps1 "then" \'because\' "on" on pc1', request('pc1', [run('x.ps1', '"then" \'because\' "on"')])],
    ['run x.ps1   -A   1   on pc1', request('pc1', [run('x.ps1', '-A   1')])],
    ['run check.sh --from C:\\x on pc1', request('pc1', [run('check.sh', '--from C:\\x')])],
    ['run x.ps1 -Name São on pc1', request('pc1', [run('x.ps1', '-Name São')])],
    // reasons
    [
      "run x.ps1 on pc1 because it's odd; then ran (twice)",
      request('pc1', [run('x.ps1')], "it's odd; then ran (twice)"),
    ],
    ['getfile C:\\x.txt from pc1 because   INC-42  ', request('pc1', [getfile('C:\\x.txt')], 'INC-42')],
    ['run x.ps1 on pc1 because bad\u0007 thing\u200b', request('pc1', [run('x.ps1')], 'bad thing')],
    [
      'run x.ps1 -Note "because" on pc1 because why',
      request('pc1', [run('x.ps1', '-Note "because"')], 'why'),
    ],
    // case
    ['RUN X.PS1 On Desktop-Test', request('Desktop-Test', [run('X.PS1')])],
    ['GetFile C:\\x.txt FROM pc1 BECAUSE Why', request('pc1', [getfile('C:\\x.txt')], 'Why')],
    ['Status lr-7k3f9q', { kind: 'status', requestId: 'LR-7K3F9Q' }],
    ['CANCEL lr-7k3f9q.', { kind: 'cancel', requestId: 'LR-7K3F9Q' }],
    ['Help', { kind: 'help' }],
    ['help run', { kind: 'help' }],
    ['?', { kind: 'help' }],
    ['list scripts', { kind: 'scripts' }],
    ['List   Scripts?', { kind: 'scripts' }],
    ['LIBRARY', { kind: 'scripts' }],
    // Teams wrappers
    ['<p>run minidump.ps1 OfficeClickToRun on desktop-test</p>', request('desktop-test', [DUMP])],
    [
      '<div><div><at>LR Bot</at>&nbsp;run minidump.ps1 OfficeClickToRun on desktop-test</div></div>',
      request('desktop-test', [DUMP]),
    ],
    ['<at>LR Bot</at> <at>LR Bot</at> status', { kind: 'status' }],
    ['@LRBot help', { kind: 'help' }],
    ['@LR Live Response Bot scripts', { kind: 'scripts' }],
    ['run x.ps1 -Filter &quot;a b&quot; on pc1', request('pc1', [run('x.ps1', '-Filter "a b"')])],
    ['run x.ps1 on pc1 because Tom &amp; Jerry &lt;3', request('pc1', [run('x.ps1')], 'Tom & Jerry <3')],
    ['run x.ps1 on pc1 because <at>Alice</at> asked', request('pc1', [run('x.ps1')], 'Alice asked')],
    [
      '<p>run minidump.ps1 OfficeClickToRun</p><p>then getfile C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip<br/>on desktop-test</p>',
      request('desktop-test', [DUMP, DUMP_FILE]),
    ],
    ['run a.ps1\r\nthen getfile C:\\x.txt\non pc1', request('pc1', [run('a.ps1'), getfile('C:\\x.txt')])],
    ['<span style="color:red">run</span> <b>a.ps1</b> on <i>pc1</i>', request('pc1', [run('a.ps1')])],
    [
      'run collect.ps1 “-Path C:\\Program Files\\x” on pc1',
      request('pc1', [run('collect.ps1', '"-Path C:\\Program Files\\x"')]),
    ],
    ['run x.ps1 <Name> on pc1', request('pc1', [run('x.ps1', '<Name>')])],
  ])('%s', (text, expected) => {
    expect(parseMessage(text)).toEqual(expected);
  });

  it('reads every example in the command spec', () => {
    for (const spec of CHAT_COMMANDS) {
      const kind = ['run', 'getfile', 'putfile'].includes(spec.verb) ? 'request' : spec.verb;
      expect(parseMessage(spec.example).kind, spec.example).toBe(kind);
      for (const alias of spec.aliases ?? []) expect(parseMessage(alias).kind, alias).toBe(kind);
    }
    expect(parseMessage(SEQUENCE_EXAMPLE)).toEqual(request('desktop-test', [DUMP, DUMP_FILE]));
  });
});

describe('parseMessage refuses', () => {
  const longPath = `C:\\${'a\\'.repeat(130)}x.txt`;
  it.each<[string, string, string | RegExp]>([
    ['an empty message', '', 'empty'],
    ['only spaces', '  \t \n ', 'empty'],
    ['only a mention', '<at>LR Bot</at>', 'empty'],
    ['only a typed mention', '@LRBot', 'empty'],
    ['100 KB of text', 'run x.ps1 '.repeat(10_000), '100000 characters'],
    [
      'a cleaned message over 4000 characters',
      `run x.ps1 on pc1 because ${'x'.repeat(4000)}`,
      'at most 4000',
    ],
    ['an unknown verb', 'hello there', "I don't know the command `hello`"],
    ['a typo of run', 'rnu x.ps1 on pc1', 'Did you mean `run`?'],
    ['a script without run', 'minidump.ps1 on pc1', 'write `run minidump.ps1'],
    ['a verb in quotes', '"run" x.ps1 on pc1', "I don't know"],
    ['NUL in the verb', 'run\u0000 x.ps1 on pc1', '⟨U+0000⟩'],
    ['NUL in a script name', 'run x.ps1\u0000 on pc1', 'U+0000'],
    ['NUL in args', 'run x.ps1 a\u0000b on pc1', 'U+0000'],
    ['an escape character in args', 'run x.ps1 \u001b[31m on pc1', 'U+001B'],
    ['a control character in a path', 'getfile C:\\x\u0001.txt from pc1', 'U+0001'],
    ['a right-to-left override in args', 'run x.ps1 -Name \u202efdp.exe on pc1', 'U+202E'],
    ['a zero-width space in the device', 'run x.ps1 on desk\u200btop', 'U+200B'],
    [
      'a Cyrillic look-alike in the device',
      'run x.ps1 on dеsktop-test',
      /`е` \(U\+0435, Cyrillic, looks like `e`\).*did you mean `desktop-test`/,
    ],
    ['a Cyrillic о in the device', 'run x.ps1 on desktop-test.cоntoso.local', 'U+043E'],
    ['a Greek look-alike in the device', 'run x.ps1 on desktοp', 'U+03BF'],
    ['an en dash in the device', 'run x.ps1 on desktop–test', /U\+2013.*did you mean `desktop-test`/],
    [
      'a Cyrillic look-alike in the script',
      'run mіnidump.ps1 on pc1',
      /U\+0456.*did you mean `minidump.ps1`/,
    ],
    ['a full-width semicolon in args', 'run x.ps1 a；b on pc1', 'U+FF1B'],
    ['a full-width backslash in a path', 'getfile C:\\x＼..＼y.txt from pc1', 'U+FF3C'],
    ['a device with an underscore', 'run x.ps1 on desk_top', '`_`'],
    ['a device label over 63 characters', `run x.ps1 on ${'a'.repeat(64)}.contoso.local`, '63'],
    ['a device over 255 characters', `run x.ps1 on ${'abcdefgh.'.repeat(30)}local`, '255'],
    ['a device starting with a dash', 'run x.ps1 on -pc1', 'starts or ends with `-`'],
    ['a device with an empty label', 'run x.ps1 on pc1..contoso', 'empty part'],
    ['.. traversal', 'getfile C:\\..\\..\\Windows\\System32\\config\\SAM from pc1', '`..`'],
    ['.. traversal in the middle', 'getfile C:\\Windows\\Temp\\..\\..\\x.txt from pc1', '`..`'],
    ['a relative traversal', 'getfile ..\\..\\x.txt from pc1', 'not an absolute Windows path'],
    ['a forward-slash traversal', 'getfile C:/Windows/../x.txt from pc1', '`..`'],
    ['an extended-length path', 'getfile \\\\?\\C:\\x from pc1', 'extended-length'],
    ['a device path', 'getfile \\\\.\\PhysicalDrive0 from pc1', 'device'],
    ['an NT object path', 'getfile \\??\\C:\\x from pc1', 'device'],
    ['a UNC path', 'getfile \\\\server\\share\\x.txt from pc1', 'UNC'],
    ['a forward-slash UNC path', 'getfile //server/share/x.txt from pc1', 'UNC'],
    ['a drive-relative path', 'getfile C:x.txt from pc1', 'after the drive letter'],
    ['an alternate data stream', 'getfile C:\\x.txt:secret from pc1', 'alternate data streams'],
    ['a folder', 'getfile C:\\Windows\\ from pc1', 'is a folder'],
    ['a reserved device name', 'getfile C:\\x\\con.txt from pc1', 'reserved'],
    ['a trailing dot in a path', 'getfile C:\\x\\evil.txt. from pc1', 'ends with a dot'],
    ['a path over 260 characters', `getfile ${longPath} from pc1`, '260'],
    ...['<', '>', '|', '?', '*'].map((c): [string, string, string] => [
      `${c} in a path`,
      `getfile C:\\a${c}b.txt from pc1`,
      `\`${c}\``,
    ]),
    ['two quoted paths', 'getfile "C:\\a b" "c.txt" on pc1', 'one pair of quotes'],
    ...['&', '|', '!', '$', '(', ')'].map((c): [string, string, string] => [
      `${c} in args`,
      `run x.ps1 a${c}b on pc1`,
      `contain \`${c}\``,
    ]),
    ['a quoted ; in args', 'run x.ps1 "a;b" on pc1', 'contain `;`'],
    ['an unquoted ; in args', 'run x.ps1 a;b on pc1', '`b on pc1` after `;`'],
    ['a backtick in args', 'run x.ps1 `calc` on pc1', 'backtick'],
    ['args over 1024 characters', `run x.ps1 ${'a'.repeat(1025)} on pc1`, '1024'],
    ['an unbalanced double quote', 'run x.ps1 "abc on pc1', 'never closed'],
    ['an unbalanced single quote', "getfile 'C:\\x.txt from pc1", 'never closed'],
    ['an unbalanced quote in a later command', 'run a.ps1 then run b.ps1 -X "y on pc1', 'never closed'],
    [
      '11 commands',
      `${Array.from({ length: 11 }, (_, i) => `run s${i}.ps1`).join(' then ')} on pc1`,
      'at most 10',
    ],
    ['11 commands with ;', `${'run a.ps1;'.repeat(11)} on pc1`, 'at most 10'],
    ['two devices', 'run a.ps1 on pc1 then getfile C:\\x.txt on pc2', /two devices, `pc1` and `pc2`/],
    ['two devices with ;', 'run a.ps1 on pc1; run b.ps1 on pc2', 'two devices'],
    ['because with no reason', 'run x.ps1 on pc1 because', 'needs a reason'],
    ['because with only spaces', 'run x.ps1 on pc1 because   \u0000 ', 'needs a reason'],
    ['a reason over 500 characters', `run x.ps1 on pc1 because ${'r'.repeat(501)}`, '500'],
    [
      'a reason before the device',
      'run x.ps1 because it is odd on pc1',
      '`because` must come after the device',
    ],
    ['; rm -rf after the device', 'run x.ps1 on desktop-test; rm -rf', '`rm -rf` after `;`'],
    ['&& after the device', 'run x.ps1 on desktop-test && calc', 'I found `&& calc`'],
    ['| after the device', 'run x.ps1 on desktop-test | calc', 'Only the device goes there'],
    ['$() in args', 'run x.ps1 $(Invoke-Evil) on desktop-test', 'contain `$`'],
    ['a then with another verb', 'run x.ps1 on pc1 then format C:', '`format C:` after `then`'],
    ['HTML-encoded injection', 'run x.ps1 a&amp;&amp;b on pc1', 'contain `&`'],
    ['a non-script with run', 'run x.exe on pc1', 'is not a script'],
    ['a script path', 'run C:\\scripts\\x.ps1 on pc1', 'is a path'],
    ['a script traversal', 'run ..\\x.ps1 on pc1', 'is a path'],
    ['a putfile traversal', 'putfile ../../etc/passwd on pc1', 'is a path'],
    ['.. in a library name', 'putfile a..b on pc1', '`..`'],
    ['two putfile names', 'putfile a.exe b.exe on pc1', 'one library file name'],
    ['run without a script', 'run on pc1', 'needs a script name'],
    ['getfile without a path', 'getfile from pc1', 'needs a file path'],
    ['putfile without a file', 'putfile on pc1', 'needs a library file name'],
    ['no device', 'run x.ps1', 'Which device?'],
    ['a bare verb', 'GETFILE', '`getfile` needs more: `getfile <path> from <device>`'],
    ['on without a device', 'run x.ps1 on', 'needs the device name'],
    ['from with run', 'run x.ps1 from pc1', 'Use `on` with `run`'],
    ['words after the device', 'run x.ps1 on pc1 please', 'I found `please`'],
    ['a dangling then', 'run x.ps1 on pc1 then', 'Nothing follows the last `then`'],
    [
      'an empty command between separators',
      'run x.ps1 then ; getfile C:\\x.txt on pc1',
      'no command between',
    ],
    ['a leading ;', '; run x.ps1 on pc1', "I don't know the command `;`"],
    ['status with a bad id', 'status foo', '`foo` is not a request id'],
    ['status with a non-Crockford id', 'status LR-7K3F9U', 'not a request id'],
    ['status with a dotless ı look-alike', 'status lr-7k3f9ı', 'not a request id'],
    ['cancel without an id', 'cancel', 'needs its id'],
    ['cancel with extra words', 'cancel LR-7K3F9Q now', 'takes one id'],
    ['scripts with extra words', 'scripts please', 'takes nothing after it'],
  ])('%s', (_name, text, problem) => {
    const parsed = parseMessage(text);
    expect(parsed.kind).toBe('invalid');
    if (parsed.kind !== 'invalid') return;
    if (typeof problem === 'string') expect(parsed.problem).toContain(problem);
    else expect(parsed.problem).toMatch(problem);
    expect(parsed.example).not.toBe('');
    // The example is something the parser itself accepts.
    expect(parseMessage(parsed.example).kind).not.toBe('invalid');
  });
});

describe('cleanMessageText', () => {
  it.each<[string, string]>([
    ['<at>LR Bot</at> run x', 'run x'],
    ['<p>a</p><p>b</p>', 'a b'],
    ['a&nbsp;b &amp;amp; &#36; &#x28;', 'a b &amp; $ ('],
    ['&unknown; &#xFFFFFF;', '&unknown; &#xFFFFFF;'],
    ['x < y > z', 'x < y > z'],
    ['<custom>kept</custom>', '<custom>kept</custom>'],
    ['@LR Bot status', 'status'],
    ['@someone hello', 'hello'],
    ['“quoted”', '"quoted"'],
    ['a\u3000b\u00a0c', 'a b c'],
  ])('%s → %s', (raw, clean) => {
    expect(cleanMessageText(raw)).toBe(clean);
  });

  it('stays linear on many unclosed tags and mentions', () => {
    const started = performance.now();
    cleanMessageText('<at>'.repeat(50_000));
    cleanMessageText('<p '.repeat(50_000));
    cleanMessageText('<'.repeat(100_000));
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('parseMessage: audit', () => {
  it('reads `audit <request id>`, normalising the id', () => {
    expect(parseMessage('audit lr-7k3f9q')).toEqual({ kind: 'audit', requestId: 'LR-7K3F9Q' });
  });

  it('asks for the id, with an example, when it is missing or malformed', () => {
    expect(parseMessage('audit')).toMatchObject({ kind: 'invalid', example: 'audit LR-7K3F9Q' });
    expect(parseMessage('audit everything')).toMatchObject({
      kind: 'invalid',
      problem: expect.stringMatching(/is not a request id; `audit` takes one id/),
    });
  });
});

describe('parseMessage: several devices in one request', () => {
  const fanOut = (names: string[], commands: LiveResponseCommand[], reason?: string): ParsedMessage => ({
    kind: 'request',
    commands,
    device: names.join(', '),
    ...(reason === undefined ? {} : { reason }),
    fanOut: { kind: 'devices', names },
  });

  it.each<[string, ParsedMessage]>([
    [
      'run collect.ps1 on desktop-test, laptop-22, web02',
      fanOut(['desktop-test', 'laptop-22', 'web02'], [run('collect.ps1')]),
    ],
    [
      'run collect.ps1 on desktop-test,laptop-22',
      fanOut(['desktop-test', 'laptop-22'], [run('collect.ps1')]),
    ],
    [
      'run collect.ps1 -Names a,b on pc1 , pc2 because beaconing',
      fanOut(['pc1', 'pc2'], [run('collect.ps1', '-Names a,b')], 'beaconing'),
    ],
    [
      'run minidump.ps1 OfficeClickToRun then getfile C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip on pc1, pc2',
      fanOut(['pc1', 'pc2'], [DUMP, DUMP_FILE]),
    ],
    ['run collect.ps1 on pc1, PC1, pc2', fanOut(['pc1', 'pc2'], [run('collect.ps1')])],
    ['run collect.ps1 on pc1, pc1', request('pc1', [run('collect.ps1')])],
    [
      'run collect.ps1 on tag:finance-laptops',
      {
        kind: 'request',
        commands: [run('collect.ps1')],
        device: 'tag:finance-laptops',
        fanOut: { kind: 'tag', tag: 'finance-laptops' },
      },
    ],
    [
      'run collect.ps1 on "tag:Finance laptops" because audit',
      {
        kind: 'request',
        commands: [run('collect.ps1')],
        device: 'tag:Finance laptops',
        reason: 'audit',
        fanOut: { kind: 'tag', tag: 'Finance laptops' },
      },
    ],
  ])('%s', (text, expected) => {
    expect(parseMessage(text)).toEqual(expected);
  });

  it.each<[string, string, string]>([
    ['an empty place in the list', 'run collect.ps1 on pc1,, pc2', 'empty place between commas'],
    ['a tag listed with devices', 'run collect.ps1 on tag:finance, pc2', 'A tag stands alone'],
    ['a tag without a name', 'run collect.ps1 on tag:', 'needs the Defender machine tag'],
    ['a tag with a quote', "run collect.ps1 on tag:fin'ance", 'cannot be looked up'],
    ['a bad name in the list', 'run collect.ps1 on pc1, pc_2', '`_`'],
  ])('refuses %s', (_what, text, problem) => {
    const parsed = parseMessage(text);
    expect(parsed.kind).toBe('invalid');
    if (parsed.kind === 'invalid') {
      expect(parsed.problem).toContain(problem);
      expect(parseMessage(parsed.example).kind).toBe('request');
    }
  });
});
