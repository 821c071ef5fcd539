import { describe, expect, it } from 'vitest';
import { completeLockfile, platformOf } from './complete-lockfile.js';

describe('completeLockfile', () => {
  it('adds missing optional platform packages with their os and cpu', () => {
    const packages = {
      '': {},
      'node_modules/@biomejs/biome': {
        version: '2.6.8',
        optionalDependencies: { '@biomejs/cli-linux-x64': '2.6.8', '@biomejs/cli-win32-arm64': '2.6.8' },
      },
      'node_modules/@biomejs/cli-linux-x64': { version: '2.6.8', optional: true },
    };
    expect(completeLockfile(packages)).toBe(1);
    expect(packages).toHaveProperty(['node_modules/@biomejs/cli-win32-arm64'], {
      version: '2.6.8',
      optional: true,
      os: ['win32'],
      cpu: ['arm64'],
    });
  });

  it('reads the platform from package names', () => {
    expect(platformOf('@rollup/rollup-linux-arm-gnueabihf')).toEqual({ os: ['linux'], cpu: ['arm'] });
    expect(platformOf('@msgpackr-extract/msgpackr-extract-darwin-x64')).toEqual({
      os: ['darwin'],
      cpu: ['x64'],
    });
  });
});
