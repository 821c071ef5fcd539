// Tests for summariseTranscript: real Defender result files, padded, huge, empty and broken ones.
import { describe, expect, it } from 'vitest';
import {
  cleanTranscriptText,
  readScriptResult,
  summariseTranscript,
  truncateOnLine,
} from './summarise-transcript.js';

// The "File Content Example" of GetLiveResponseResultDownloadLink in shared/seeds.
const SEED_EXAMPLE = `{
  "script_name": "minidump.ps1",
  "exit_code": 0,
  "script_output": "Transcript started, output file is C:\\\\ProgramData\\\\Microsoft\\\\Windows Defender Advanced Threat Protection\\\\Temp\\\\PSScriptOutputs\\\\PSScript_Transcript_{TRANSCRIPT_ID}.txt\\nC:\\\\windows\\\\TEMP\\\\OfficeClickToRun.dmp.zip\\n51 MB",
  "script_errors": ""
}`;

function resultFile(fields: Record<string, unknown>): string {
  return JSON.stringify({
    script_name: 'collect.ps1',
    exit_code: 0,
    script_output: '',
    script_errors: '',
    ...fields,
  });
}

describe('summariseTranscript', () => {
  it('keeps the meaningful lines of the seed example and drops the transcript banner', () => {
    const summary = summariseTranscript(SEED_EXAMPLE);
    expect(summary).toEqual({
      exitCode: 0,
      output: 'C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip\n51 MB',
      outputBytes: Buffer.byteLength('C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip\n51 MB'),
      outputTruncated: false,
      errors: '',
      errorsBytes: 0,
      errorsTruncated: false,
    });
  });

  it('reads a Buffer with a UTF-8 BOM', () => {
    const summary = summariseTranscript(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SEED_EXAMPLE)]),
    );
    expect(summary.exitCode).toBe(0);
    expect(summary.output).toContain('51 MB');
  });

  it('reads a UTF-16 file with a BOM', () => {
    const summary = summariseTranscript(
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SEED_EXAMPLE, 'utf16le')]),
    );
    expect(summary.output).toContain('OfficeClickToRun.dmp.zip');
  });

  it('removes NUL padding inside the output and after the JSON', () => {
    const raw = `${resultFile({ script_output: `done\r\n${'\u0000'.repeat(4096)}` })}${'\u0000'.repeat(512)}`;
    const summary = summariseTranscript(raw);
    expect(summary.output).toBe('done');
    expect(summary.outputBytes).toBe(4);
  });

  it('removes control characters and colour codes but keeps tabs and non-ASCII text', () => {
    const summary = summariseTranscript(
      resultFile({ script_output: 'name\tvalue\u0007\nbell\u001b[31m red\u001b[0m\nZürich ✓' }),
    );
    expect(summary.output).toBe('name\tvalue\nbell red\nZürich ✓');
    expect(summary.outputBytes).toBe(Buffer.byteLength('name\tvalue\nbell red\nZürich ✓', 'utf8'));
  });

  it('removes Windows PowerShell transcript start and end blocks', () => {
    const output = [
      '**********************',
      'Windows PowerShell transcript start',
      'Start time: 20240112140203',
      'Username: CONTOSO\\SYSTEM',
      'Machine: DESKTOP-TEST (Microsoft Windows NT 10.0.22631.0)',
      'Host Application: powershell.exe -ExecutionPolicy Bypass',
      'Process ID: 4242',
      'PSVersion: 5.1.22621.2506',
      '**********************',
      'Transcript started, output file is C:\\ProgramData\\x.txt',
      '',
      'Id  ProcessName',
      '--  -----------',
      '42  OfficeClickToRun    ',
      '',
      '',
      '',
      '**********************',
      'Windows PowerShell transcript end',
      'End time: 20240112140209',
      '**********************',
      '',
    ].join('\r\n');
    expect(summariseTranscript(resultFile({ script_output: output })).output).toBe(
      'Id  ProcessName\n--  -----------\n42  OfficeClickToRun',
    );
  });

  it('removes per-command invocation headers and PowerShell 7 blocks', () => {
    const output = [
      '**********************',
      'PowerShell transcript start',
      'Start time: 20240112140203',
      '**********************',
      '**********************',
      'Command start time: 20240112140204',
      '**********************',
      'PS>Get-Date',
      'Friday, 12 January 2024 14:02:04',
    ].join('\n');
    expect(cleanTranscriptText(output)).toBe('PS>Get-Date\nFriday, 12 January 2024 14:02:04');
  });

  it('keeps a rule of stars that is part of the script output', () => {
    expect(cleanTranscriptText('header\n**********\nbody\nend')).toBe('header\n**********\nbody\nend');
  });

  it('truncates huge output on a line boundary and records the full size', () => {
    const line = 'x'.repeat(99);
    const output = Array.from({ length: 3000 }, () => line).join('\n');
    const summary = summariseTranscript(resultFile({ script_output: output, script_errors: output }));
    expect(summary.outputTruncated).toBe(true);
    expect(summary.output.length).toBeLessThanOrEqual(1500);
    expect(summary.output.split('\n').every((l) => l === line)).toBe(true);
    expect(summary.outputBytes).toBe(Buffer.byteLength(output));
    expect(summary.errorsTruncated).toBe(true);
    expect(summary.errors.length).toBeLessThanOrEqual(800);
    expect(summary.errorsBytes).toBe(Buffer.byteLength(output));
  });

  it('honours custom limits', () => {
    const summary = summariseTranscript(resultFile({ script_output: 'one\ntwo\nthree' }), {
      outputChars: 8,
      errorsChars: 800,
    });
    expect(summary).toMatchObject({ output: 'one\ntwo', outputTruncated: true, outputBytes: 13 });
  });

  it('returns an empty summary for a script that printed nothing', () => {
    expect(summariseTranscript(resultFile({ exit_code: 0 }))).toEqual({
      exitCode: 0,
      output: '',
      outputBytes: 0,
      outputTruncated: false,
      errors: '',
      errorsBytes: 0,
      errorsTruncated: false,
    });
  });

  it('tolerates missing fields and an exit code written as a string', () => {
    expect(summariseTranscript('{"script_output":"ok"}')).toMatchObject({
      exitCode: null,
      output: 'ok',
      errors: '',
    });
    expect(summariseTranscript('{"exit_code":"1"}').exitCode).toBe(1);
  });

  it('keeps a failing exit code and the errors', () => {
    const summary = summariseTranscript(
      resultFile({
        exit_code: 1,
        script_errors: 'Get-Process : Cannot find a process with the name "x".\r\n',
      }),
    );
    expect(summary.exitCode).toBe(1);
    expect(summary.errors).toBe('Get-Process : Cannot find a process with the name "x".');
  });

  it('reads the spelling of the docs’ table (`name`, `script_error`) as well as their example’s', () => {
    const table = JSON.stringify({
      name: 'collect-logs.sh',
      exit_code: 2,
      script_output: 'collected 3 files',
      script_error: 'tar: /var/log/secure: Permission denied',
    });
    const summary = summariseTranscript(table);
    expect(summary.exitCode).toBe(2);
    expect(summary.output).toBe('collected 3 files');
    expect(summary.errors).toBe('tar: /var/log/secure: Permission denied');
    expect(readScriptResult(table)).toMatchObject({ scriptName: 'collect-logs.sh' });
    expect(readScriptResult(SEED_EXAMPLE)).toMatchObject({ scriptName: 'minidump.ps1' });
  });

  it('prefers the non-empty field when a file carries both spellings', () => {
    const both = JSON.stringify({ script_errors: '', script_error: 'denied', exit_code: 1 });
    expect(summariseTranscript(both).errors).toBe('denied');
  });

  it.each([
    ['an empty file', '', 'empty'],
    ['only NULs', '\u0000\u0000\u0000', 'empty'],
    ['text that is not JSON', 'Access is denied.', 'not valid JSON'],
    ['truncated JSON', '{"script_name":"x.ps1","script_output":"abc', 'not valid JSON'],
    ['a JSON array', '[1,2]', 'not a script result object'],
    ['JSON null', 'null', 'not a script result object'],
  ])('says the transcript could not be read for %s', (_name, raw, reason) => {
    const summary = summariseTranscript(raw);
    expect(summary.exitCode).toBeNull();
    expect(summary.output).toBe('');
    expect(summary.errors).toContain('The transcript could not be read');
    expect(summary.errors).toContain(reason);
  });
});

describe('truncateOnLine', () => {
  it('cuts inside a line when no line ends in the second half of the budget', () => {
    expect(truncateOnLine(`short\n${'y'.repeat(100)}`, 50)).toEqual({
      text: `short\n${'y'.repeat(44)}`,
      truncated: true,
    });
  });

  it('never splits a surrogate pair', () => {
    const result = truncateOnLine('😀😀😀', 3);
    expect(result.text).toBe('😀');
  });
});
