import { describe, expect, it } from 'vitest';
import {
  exitCodeOf,
  formatResults,
  judgeDefenderClaims,
  judgeRedis,
  parseRedisInfo,
} from './doctor-checks.js';

const ALL_ROLES = ['Machine.LiveResponse', 'Machine.Read.All', 'Library.Manage'];

describe('judgeRedis', () => {
  const good = { version: '7.2.4', aofEnabled: true, save: '', maxmemoryPolicy: 'noeviction' };

  it('passes a persistent Redis 6.2+ that never evicts', () => {
    expect(judgeRedis(good).map((r) => r.status)).toEqual(['pass', 'pass', 'pass']);
    expect(judgeRedis({ ...good, aofEnabled: false, save: '3600 1' })[1]?.status).toBe('pass');
  });

  it('fails Redis older than BullMQ accepts, without persistence, or evicting', () => {
    expect(judgeRedis({ ...good, version: '4.0.9' })[0]?.status).toBe('fail');
    expect(judgeRedis({ ...good, version: '6.0.16' })[0]?.status).toBe('warn');
    expect(judgeRedis({ ...good, aofEnabled: false, save: '' })[1]).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('appendonly yes'),
    });
    expect(judgeRedis({ ...good, aofEnabled: false, save: null })[1]?.status).toBe('warn');
    expect(judgeRedis({ ...good, maxmemoryPolicy: 'volatile-lru' })[2]?.status).toBe('fail');
  });

  it('reads INFO fields', () => {
    expect(parseRedisInfo('# Server\r\nredis_version:7.0.15\r\nmaxmemory_policy:noeviction\r\n')).toEqual({
      redis_version: '7.0.15',
      maxmemory_policy: 'noeviction',
    });
  });
});

describe('judgeDefenderClaims', () => {
  it('takes the commercial audience for a regional host', () => {
    const results = judgeDefenderClaims(
      { aud: 'https://api.securitycenter.microsoft.com', roles: ALL_ROLES },
      'https://eu.api.security.microsoft.com',
      'https://api.securitycenter.microsoft.com/.default',
    );
    expect(results.map((r) => r.status)).toEqual(['pass', 'pass']);
  });

  it("refuses a commercial token for GCC High and names that cloud's scope", () => {
    const [audience] = judgeDefenderClaims(
      { aud: 'https://api.securitycenter.microsoft.com', roles: ALL_ROLES },
      'https://api-gov.securitycenter.microsoft.us',
      'https://api.securitycenter.microsoft.com/.default',
    );
    expect(audience).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('DEFENDER_SCOPE=https://api-gov.securitycenter.microsoft.us/.default'),
    });
  });

  it('accepts Machine.ReadWrite.All for reading and lists every missing permission', () => {
    const ok = judgeDefenderClaims(
      {
        aud: 'https://api.securitycenter.microsoft.com',
        roles: ['Machine.LiveResponse', 'Machine.ReadWrite.All', 'Library.Manage'],
      },
      'https://api.securitycenter.microsoft.com',
      'https://api.securitycenter.microsoft.com/.default',
    );
    expect(ok[1]?.status).toBe('pass');
    const none = judgeDefenderClaims({ aud: 'https://api.securitycenter.microsoft.com' }, 'https://x', 's');
    expect(none[1]?.detail).toBe(
      'missing Machine.LiveResponse; Machine.Read.All or Machine.ReadWrite.All; Library.Manage (the token has: no roles)',
    );
    expect(exitCodeOf(none)).toBe(1);
    expect(formatResults(none)).toMatch(
      /FAIL {2}Defender permissions: .*\n {6}fix: .*\n1 of 2 checks failed\./,
    );
  });
});
