// Tests of download file names and byte sizes.
import { describe, expect, it } from 'vitest';
import type { LiveResponseCommand } from './commands.js';
import { formatByteSize, resultFileName, safeFileName } from './result-file-name.js';

const device = {
  machineId: '1e5bc9d7e413ddd7902c2932e418702b84d0cc07',
  computerDnsName: 'desktop-test.contoso.local',
};
const request = (commands: LiveResponseCommand[]) => ({ device, commands });

describe('resultFileName', () => {
  it('names a transcript after the device and the script', () => {
    expect(resultFileName(request([{ type: 'RunScript', scriptName: 'minidump.ps1' }]), 0)).toBe(
      'desktop-test-minidump-transcript.json',
    );
  });

  it('names a collected file by its own name, Windows or POSIX, with .gz when Defender gzipped it', () => {
    const commands: LiveResponseCommand[] = [
      { type: 'GetFile', path: 'C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip' },
      { type: 'GetFile', path: '/var/log/syslog' },
    ];
    expect(resultFileName(request(commands), 0, true)).toBe('OfficeClickToRun.dmp.zip.gz');
    expect(resultFileName(request(commands), 1, false)).toBe('syslog');
  });

  it('numbers a second result of the same name', () => {
    const commands: LiveResponseCommand[] = [
      { type: 'RunScript', scriptName: 'whoami.ps1' },
      { type: 'RunScript', scriptName: 'whoami.ps1', args: '-All' },
    ];
    expect(resultFileName(request(commands), 1)).toBe('desktop-test-whoami-transcript-2.json');
  });

  it('uses the machine id when Defender gave no name', () => {
    const nameless = {
      device: { ...device, computerDnsName: '' },
      commands: [{ type: 'RunScript' as const, scriptName: 'a.ps1' }],
    };
    expect(resultFileName(nameless, 0)).toBe(`${device.machineId}-a-transcript.json`);
  });
});

describe('safeFileName', () => {
  it('replaces characters file systems refuse and leading dots', () => {
    expect(safeFileName('..\\a<b>:"c"|d?*\u0000.txt')).toBe('_a_b_c_d_.txt');
    expect(safeFileName('')).toBe('result');
  });
});

describe('formatByteSize', () => {
  it.each([
    [1, '1 byte'],
    [512, '512 bytes'],
    [1843, '1.8 KB'],
    [52_428_800, '50 MB'],
    [1_181_116_006, '1.1 GB'],
  ])('%d → %s', (bytes, text) => expect(formatByteSize(bytes)).toBe(text));
});
