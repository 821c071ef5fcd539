import { describe, expect, it } from 'vitest';
import type { LiveResponseCommand } from './commands.js';
import { findFollowUpPaths, isOfferedFollowUp } from './find-followup-paths.js';
import type { LiveResponseRequest } from './request.js';

function finished(
  outputs: string[],
  osPlatform = 'Windows11',
  extra: LiveResponseCommand[] = [],
): LiveResponseRequest {
  const commands: LiveResponseCommand[] = [
    ...outputs.map((_, i): LiveResponseCommand => ({ type: 'RunScript', scriptName: `s${i}.ps1` })),
    ...extra,
  ];
  return {
    id: 'LR-ABC123',
    version: 9,
    tenantId: 't',
    conversationId: 'c',
    conversationRef: {},
    requester: { teamsId: '29:r', name: 'Riley' },
    device: { machineId: 'm'.repeat(40), computerDnsName: 'desktop-test.contoso.local', osPlatform },
    commands,
    state: 'Succeeded',
    createdAt: '2025-01-01T00:00:00Z',
    expiresAt: '2025-01-01T00:30:00Z',
    approvers: [],
    progress: commands.map((_, i) => ({
      status: 'Completed',
      errors: [],
      ...(i < outputs.length
        ? {
            transcript: {
              exitCode: 0,
              output: outputs[i]!,
              outputBytes: outputs[i]!.length,
              outputTruncated: false,
              errors: 'At C:\\ProgramData\\Downloads\\s0.ps1:3 char:1',
              errorsBytes: 40,
              errorsTruncated: false,
            },
          }
        : {}),
    })),
  };
}

describe('findFollowUpPaths', () => {
  it('finds the file minidump.ps1 reports writing', () => {
    expect(findFollowUpPaths(finished(['C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip\r\n51 MB']))).toEqual([
      'C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip',
    ]);
  });

  it('reads paths inside sentences: folders with spaces, trailing punctuation, quotes around names with spaces', () => {
    const output = [
      'Archive: C:\\Program Files\\Contoso Agent\\logs\\agent.log (38 MB).',
      'Copied C:\\Users\\riley\\AppData\\Local\\Temp\\a.txt to D:\\evidence\\b.txt, done',
      'Wrote "C:\\Users\\riley\\My Report.docx"',
    ].join('\n');
    expect(findFollowUpPaths(finished([output]), 4)).toEqual([
      'C:\\Program Files\\Contoso Agent\\logs\\agent.log',
      'C:\\Users\\riley\\AppData\\Local\\Temp\\a.txt',
      'D:\\evidence\\b.txt',
      'C:\\Users\\riley\\My Report.docx',
    ]);
  });

  it('offers at most three, each once (Windows paths without case), in the order the output names them', () => {
    const output = ['C:\\a\\1.zip', 'c:\\A\\1.ZIP', 'C:\\a\\2.zip', 'C:\\a\\3.zip', 'C:\\a\\4.zip'].join(
      '\n',
    );
    expect(findFollowUpPaths(finished([output]))).toEqual(['C:\\a\\1.zip', 'C:\\a\\2.zip', 'C:\\a\\3.zip']);
  });

  it('leaves out folders, relative paths, UNC and device paths, streams and files the request already collected', () => {
    const output = [
      'Scanned C:\\Windows\\System32',
      'Relative: logs\\x.zip and .\\y.zip',
      'Share: \\\\server\\share\\z.zip',
      'Device: \\\\?\\C:\\x\\w.zip',
      'Stream C:\\x\\v.txt:secret',
      'Up: C:\\x\\..\\u.zip',
      'Reserved: C:\\x\\con.txt',
      'Already: C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip',
    ].join('\n');
    const request = finished([output], 'Windows11', [
      { type: 'GetFile', path: 'C:\\Windows\\Temp\\OfficeClickToRun.dmp.zip' },
    ]);
    expect(findFollowUpPaths(request)).toEqual([]);
  });

  it('takes POSIX paths on Linux and macOS, not URLs, relative paths or Windows paths', () => {
    const output = [
      'Archived 14 files from /var/log',
      'Archive: /tmp/collect-logs.tar.gz.',
      'See https://contoso.example/docs/readme.txt or ./local.txt or a/b.txt',
      'Also C:\\windows\\TEMP\\x.zip',
      'History: /root/.bash_history',
    ].join('\n');
    expect(findFollowUpPaths(finished([output], 'Linux'))).toEqual([
      '/tmp/collect-logs.tar.gz',
      '/root/.bash_history',
    ]);
    // And on Windows the POSIX ones are not paths of the device.
    expect(findFollowUpPaths(finished([output], 'Windows11'))).toEqual(['C:\\windows\\TEMP\\x.zip']);
  });

  it('reads only script output, not the errors (which name the script itself)', () => {
    expect(findFollowUpPaths(finished(['nt authority\\system']))).toEqual([]);
  });

  it('checks a clicked path against what the card offers', () => {
    const request = finished(['C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip']);
    expect(isOfferedFollowUp(request, 'C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip')).toBe(true);
    expect(isOfferedFollowUp(request, 'C:\\Windows\\System32\\config\\SAM')).toBe(false);
  });
});
