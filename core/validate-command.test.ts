// Tests of the input rules, each validator on its own (the parser's tests cover them in context).
import { describe, expect, it } from 'vitest';
import {
  type Checked,
  describeCharacter,
  FORBIDDEN_ARG_CHARACTERS,
  isMachineId,
  pathFlavourOf,
  platformFamilyOf,
  SCRIPT_EXTENSIONS,
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

function problemOf<T>(checked: Checked<T>): string {
  if (checked.ok) throw new Error(`expected a refusal, got ${JSON.stringify(checked.value)}`);
  expect(checked.example).not.toBe('');
  return checked.problem;
}

describe('validateDevice', () => {
  it.each([
    ['desktop-test', 'desktop-test'],
    ['  desktop-test  ', 'desktop-test'],
    ['desktop-test.contoso.local', 'desktop-test.contoso.local'],
    ['desktop-test.contoso.local.', 'desktop-test.contoso.local'],
    ['DESKTOP-TEST', 'DESKTOP-TEST'],
    ['1e5c3b7f0a9d8e2c4b6a1f3e5d7c9b0a2e4f6d8c', '1e5c3b7f0a9d8e2c4b6a1f3e5d7c9b0a2e4f6d8c'],
    [`${'a'.repeat(63)}.b`, `${'a'.repeat(63)}.b`],
  ])('accepts %s', (input, value) => {
    expect(validateDevice(input)).toEqual({ ok: true, value });
  });

  it.each([
    ['', 'missing'],
    ['.', 'missing'],
    ['dеsktop-test', 'U+0435'],
    ['desktop-test.cоntoso.local', '`о` (U+043E, Cyrillic, looks like `o`)'],
    ['ԁesktop', 'U+0501'],
    ['desk top', '(U+0020)'],
    ['desk\\top', '`\\`'],
    ['desk\u0000top', 'U+0000'],
    ['a..b', 'empty part'],
    ['.a', 'empty part'],
    ['-a', 'starts or ends'],
    ['a-', 'starts or ends'],
    [`${'a'.repeat(64)}`, '63'],
    [`${'a.'.repeat(128)}a`, '255'],
    ['😀', 'U+1F600'],
  ])('refuses %s', (input, problem) => {
    expect(problemOf(validateDevice(input))).toContain(problem);
  });

  it('suggests the ASCII name for a look-alike', () => {
    const checked = validateDevice('dеsktop-tеst');
    expect(checked).toMatchObject({
      ok: false,
      example: 'run minidump.ps1 OfficeClickToRun on desktop-test',
    });
  });

  it('tells machine ids from names', () => {
    expect(isMachineId('1e5c3b7f0a9d8e2c4b6a1f3e5d7c9b0a2e4f6d8c')).toBe(true);
    expect(isMachineId('desktop-test')).toBe(false);
    expect(isMachineId('1e5c3b7f0a9d8e2c4b6a1f3e5d7c9b0a2e4f6d8')).toBe(false);
  });
});

describe('validateScriptName and validateLibraryFileName', () => {
  it.each(SCRIPT_EXTENSIONS.map((ext) => `collect${ext}`))('accepts the script %s', (name) => {
    expect(validateScriptName(name)).toEqual({ ok: true, value: name });
  });

  it.each(['Collect.PS1', 'a_b-c.1.sh', 'x.cmd'])('accepts the script %s', (name) => {
    expect(validateScriptName(name).ok).toBe(true);
  });

  it.each([
    ['', 'missing'],
    ['x.exe', 'is not a script'],
    ['.ps1', 'is not a script'],
    ['ps1', 'is not a script'],
    ['C:\\x.ps1', 'is a path'],
    ['../x.ps1', 'is a path'],
    ['a..ps1', '`..`'],
    ['my script.ps1', '(U+0020)'],
    ['x$.ps1', '`$`'],
    ['mіnidump.ps1', 'did you mean `minidump.ps1`'],
    [`${'a'.repeat(125)}.ps1`, '128'],
  ])('refuses the script %s', (input, problem) => {
    expect(problemOf(validateScriptName(input))).toContain(problem);
  });

  it('accepts any library file for putfile and refuses paths', () => {
    expect(validateLibraryFileName('procdump64.exe')).toEqual({ ok: true, value: 'procdump64.exe' });
    expect(problemOf(validateLibraryFileName('tools/procdump64.exe'))).toContain('is a path');
  });
});

describe('validateScriptArgs', () => {
  it.each(['OfficeClickToRun', '"-Path C:\\Program Files\\x" -Verbose', '-Name São', "-Name 'a b'", ''])(
    'accepts %s',
    (args) => {
      expect(validateScriptArgs(args)).toEqual({ ok: true, value: args });
    },
  );

  it.each(FORBIDDEN_ARG_CHARACTERS)('refuses %s and names it', (c) => {
    const problem = problemOf(validateScriptArgs(`-A x${c}y`));
    expect(problem).toContain(`contain \`${c}\``);
    expect(problem).toContain(`Remove the \`${c}\``);
  });

  it.each([
    ['a\u0000b', 'U+0000'],
    ['a\nb', 'U+000A'],
    ['a\u202eb', 'U+202E'],
    ['a＄b', 'U+FF04'],
    ['a¥b', 'U+00A5'],
    ['`calc`', 'backtick'],
    ['"a', 'closing quote'],
    ['a'.repeat(1025), '1024'],
  ])('refuses %j', (args, problem) => {
    expect(problemOf(validateScriptArgs(args))).toContain(problem);
  });
});

describe('validateGetFilePath', () => {
  it.each([
    ['C:\\Windows\\Temp\\x.zip', 'C:\\Windows\\Temp\\x.zip'],
    ['c:/windows/temp/x.zip', 'c:\\windows\\temp\\x.zip'],
    ['D:\\Program Files (x86)\\App\\a b.log', 'D:\\Program Files (x86)\\App\\a b.log'],
    ['C:\\Users\\Jürgen\\%TEMP%\\x.txt', 'C:\\Users\\Jürgen\\%TEMP%\\x.txt'],
    ['C:\\a;b&c$d.txt', 'C:\\a;b&c$d.txt'],
    ['C:\\x\\console.log', 'C:\\x\\console.log'],
    ['  C:\\x\\a.txt  ', 'C:\\x\\a.txt'],
    [`C:\\${'a'.repeat(257)}`, `C:\\${'a'.repeat(257)}`],
  ])('accepts %s', (input, value) => {
    expect(validateGetFilePath(input)).toEqual({ ok: true, value });
  });

  it.each([
    ['', 'missing'],
    ['x.txt', 'not an absolute'],
    ['\\Windows\\x.txt', 'not an absolute'],
    ['C:x.txt', 'after the drive letter'],
    ['C:\\..\\x.txt', '`..`'],
    ['C:\\a\\...\\x.txt', '`...`'],
    ['C:\\a\\.\\x.txt', '`.`'],
    ['C:\\a\\\\x.txt', 'empty folder name'],
    ['\\\\?\\C:\\x.txt', 'extended-length'],
    ['\\\\.\\C:', 'device'],
    ['//?/C:/x.txt', 'extended-length'],
    ['\\\\server\\share\\x.txt', 'UNC'],
    ['C:\\x.txt::$DATA', 'alternate data streams'],
    ['C:\\a"b.txt', '`"`'],
    ['C:\\a\u0000b.txt', 'U+0000'],
    ['C:\\a\u200bb.txt', 'U+200B'],
    ['C:\\a＼b.txt', 'U+FF3C'],
    ['C:\\Windows\\', 'is a folder'],
    ['C:\\x\\NUL', 'reserved'],
    ['C:\\x\\com1.txt', 'reserved'],
    ['C:\\x \\a.txt', 'ends with a dot or space'],
    [`C:\\${'a'.repeat(258)}`, '260'],
  ])('refuses %j', (input, problem) => {
    expect(problemOf(validateGetFilePath(input))).toContain(problem);
  });
});

describe('validateGetFilePath for Linux and macOS', () => {
  it.each([
    ['/var/log/syslog'],
    ['/Users/jane doe/Library/Logs/x.log'],
    ['/tmp/a:b;c$d.txt'],
    ['  /etc/hosts  '],
  ])('keeps %j as typed, never as a Windows path', (input) => {
    expect(validateGetFilePath(input)).toEqual({ ok: true, value: input.trim() });
    expect(pathFlavourOf(input)).toBe('posix');
  });

  it.each([
    ['/var/log/../../etc/shadow', '`..`'],
    ['/var/./log', '`.`'],
    ['/var//log', 'empty folder name'],
    ['/var/log/', 'is a folder'],
    ['/var/log\\syslog', 'mixes'],
    ['/tmp/a"b', '`"`'],
    ['/tmp/a\u0000b', 'U+0000'],
    [`/${'a'.repeat(1024)}`, '1024'],
  ])('refuses %j', (input, problem) => {
    expect(problemOf(validateGetFilePath(input))).toContain(problem);
  });

  it('reads a path starting with two slashes as a Windows network path', () => {
    expect(pathFlavourOf('//server/share/x')).toBe('windows');
    expect(problemOf(validateGetFilePath('//server/share/x'))).toContain('UNC');
  });
});

describe('platformFamilyOf', () => {
  it.each([
    ['Windows10', 'windows'],
    ['WindowsServer2022', 'windows'],
    ['Linux', 'posix'],
    ['macOS', 'posix'],
    ['Ubuntu', 'posix'],
    ['RedHatEnterpriseLinux', 'posix'],
    [undefined, 'unknown'],
    ['iOS', 'unknown'],
  ])('reads %s as %s', (osPlatform, family) => {
    expect(platformFamilyOf(osPlatform)).toBe(family);
  });
});

describe('validateCommandOrder', () => {
  const run = { type: 'RunScript', scriptName: 'minidump.ps1', args: 'OfficeClickToRun' } as const;
  const get = { type: 'GetFile', path: 'C:\\Program Files\\x.log' } as const;
  const put = { type: 'PutFile', fileName: 'procdump64.exe' } as const;

  it('takes PutFile → RunScript → GetFile with repeats', () => {
    const commands = [put, put, run, run, get, get];
    expect(validateCommandOrder(commands, 'pc1')).toEqual({ ok: true, value: commands });
  });

  it('refuses another order, explaining the rule and offering the reordered request ready to send', () => {
    const checked = validateCommandOrder([get, run, put], 'pc1', 'INC-42');
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.problem).toContain('in the order `putfile`, then `run`, then `getfile`');
    expect(checked.problem).toContain('`run` comes after `getfile`');
    expect(checked.example).toBe(
      'putfile procdump64.exe then run minidump.ps1 OfficeClickToRun then getfile "C:\\Program Files\\x.log" on pc1 because INC-42',
    );
  });
});

describe('validateReason', () => {
  it('removes control characters and trims', () => {
    expect(validateReason('  a\u0000b\tc\u202e  ')).toEqual({ ok: true, value: 'ab c' });
  });

  it.each([
    ['', 'needs a reason'],
    ['\u0000\u0001', 'needs a reason'],
    ['r'.repeat(501), '500'],
  ])('refuses %j', (input, problem) => {
    expect(problemOf(validateReason(input))).toContain(problem);
  });

  it('accepts exactly 500 characters', () => {
    expect(validateReason('r'.repeat(500)).ok).toBe(true);
  });
});

describe('validateCommand', () => {
  it('normalises a command', () => {
    expect(validateCommand({ type: 'GetFile', path: ' C:/x.txt ' })).toEqual({
      ok: true,
      value: { type: 'GetFile', path: 'C:\\x.txt' },
    });
    expect(validateCommand({ type: 'RunScript', scriptName: 'a.ps1', args: '  ' })).toEqual({
      ok: true,
      value: { type: 'RunScript', scriptName: 'a.ps1' },
    });
    expect(validateCommand({ type: 'PutFile', fileName: 'a.exe' })).toEqual({
      ok: true,
      value: { type: 'PutFile', fileName: 'a.exe' },
    });
  });

  it('refuses what the validators refuse', () => {
    expect(validateCommand({ type: 'RunScript', scriptName: 'a.ps1', args: 'a|b' }).ok).toBe(false);
    expect(validateCommand({ type: 'RunScript', scriptName: 'a.exe' }).ok).toBe(false);
    expect(validateCommand({ type: 'GetFile', path: '\\\\srv\\x' }).ok).toBe(false);
    expect(validateCommand({ type: 'PutFile', fileName: '../a.exe' }).ok).toBe(false);
  });

  it('bounds the number of commands', () => {
    expect(validateCommandCount(10).ok).toBe(true);
    expect(problemOf(validateCommandCount(11))).toContain('at most 10');
    expect(validateCommandCount(0).ok).toBe(false);
  });
});

describe('showing input back', () => {
  it('makes invisible characters visible and cuts long input', () => {
    expect(showInput('a\u0000b')).toBe('`a⟨U+0000⟩b`');
    expect(showInput('x'.repeat(100), 5)).toBe('`xxxxx…`');
    expect(showInput('a`b')).toBe("`a'b`");
  });

  it('names characters with their code point', () => {
    expect(describeCharacter('о')).toBe('`о` (U+043E, Cyrillic, looks like `o`)');
    expect(describeCharacter('\u0007')).toBe('an invisible control character (U+0007)');
    expect(describeCharacter('；')).toBe('`；` (U+FF1B, full-width, looks like `;`)');
  });
});
