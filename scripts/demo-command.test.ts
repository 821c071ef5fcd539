import { describe, expect, it } from 'vitest';
import { parseDemoCommand } from './demo-command.js';

describe('parseDemoCommand', () => {
  it('approves the latest request when no id is given', () => {
    expect(parseDemoCommand('approve')).toEqual({ kind: 'approve' });
    expect(parseDemoCommand('  Approve  ')).toEqual({ kind: 'approve' });
  });

  it('reads a request id in any case', () => {
    expect(parseDemoCommand('approve lr-7k3f9q')).toEqual({ kind: 'approve', requestId: 'LR-7K3F9Q' });
  });

  it('refuses an approve followed by something that is not a request id', () => {
    expect(parseDemoCommand('approve everything')).toEqual({ kind: 'unknown', text: 'approve everything' });
  });

  it('takes the words after reject as the reason', () => {
    expect(parseDemoCommand('reject not needed any more')).toEqual({
      kind: 'reject',
      reason: 'not needed any more',
    });
  });

  it('takes an id and a reason after reject', () => {
    expect(parseDemoCommand('reject LR-7K3F9Q use the EDR package')).toEqual({
      kind: 'reject',
      requestId: 'LR-7K3F9Q',
      reason: 'use the EDR package',
    });
    expect(parseDemoCommand('reject LR-7K3F9Q')).toEqual({ kind: 'reject', requestId: 'LR-7K3F9Q' });
    expect(parseDemoCommand('reject')).toEqual({ kind: 'reject' });
  });

  it('knows list, help and quit, and ignores blank lines', () => {
    expect(parseDemoCommand('list')).toEqual({ kind: 'list' });
    expect(parseDemoCommand('help')).toEqual({ kind: 'help' });
    expect(parseDemoCommand('?')).toEqual({ kind: 'help' });
    expect(parseDemoCommand('quit')).toEqual({ kind: 'quit' });
    expect(parseDemoCommand('exit')).toEqual({ kind: 'quit' });
    expect(parseDemoCommand('   ')).toEqual({ kind: 'empty' });
  });

  it('takes everything after ask as the message for the bot, as typed', () => {
    expect(
      parseDemoCommand('ask run collect.ps1 "-Path C:\\Program Files\\x"  -Verbose on desktop-test'),
    ).toEqual({
      kind: 'ask',
      text: 'run collect.ps1 "-Path C:\\Program Files\\x"  -Verbose on desktop-test',
    });
    expect(parseDemoCommand('ask')).toEqual({ kind: 'unknown', text: 'ask' });
  });

  it('reports anything else as unknown', () => {
    expect(parseDemoCommand('run whoami.ps1 on desktop-test')).toEqual({
      kind: 'unknown',
      text: 'run whoami.ps1 on desktop-test',
    });
  });
});
