// The judgements `npm run doctor` makes, as pure functions over what it read: each returns pass, warn or fail with
// the fix an operator should apply. No I/O here, and nothing secret goes into a result.
import { audienceOfScope, defenderScopeFor } from '../defender/token-provider.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** What was found, in one line. */
  detail: string;
  /** What to change, for warn and fail. */
  fix?: string;
}

export const pass = (name: string, detail: string): CheckResult => ({ name, status: 'pass', detail });
export const warn = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: 'warn',
  detail,
  fix,
});
export const fail = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: 'fail',
  detail,
  fix,
});

/** What `INFO` and `CONFIG GET save` told about the Redis server. */
export interface RedisFacts {
  version: string;
  aofEnabled: boolean;
  /** The RDB snapshot schedule, or null when CONFIG is not allowed (managed Redis services disable it). */
  save: string | null;
  maxmemoryPolicy: string;
}

/** `INFO` text → its `key:value` fields. */
export function parseRedisInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  return fields;
}

function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < b.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/**
 * BullMQ refuses Redis older than 5.0.0 and recommends 6.2.0 or newer (its RedisConnection's minimumVersion and
 * recommendedMinimumVersion). Its docs require `maxmemory-policy noeviction`: an evicted key is a lost job or a lost
 * request record. Redis is the system of record, so it must persist (append-only file or RDB snapshots).
 */
export function judgeRedis(facts: RedisFacts): CheckResult[] {
  const results: CheckResult[] = [];
  if (!versionAtLeast(facts.version, '5.0.0'))
    results.push(
      fail('Redis version', `${facts.version}`, 'BullMQ needs Redis 5.0.0 or newer: upgrade (6.2 or newer)'),
    );
  else if (!versionAtLeast(facts.version, '6.2.0'))
    results.push(
      warn('Redis version', `${facts.version}`, 'BullMQ recommends Redis 6.2 or newer: plan an upgrade'),
    );
  else results.push(pass('Redis version', facts.version));

  if (facts.aofEnabled) results.push(pass('Redis persistence', 'append-only file on'));
  else if (facts.save) results.push(pass('Redis persistence', `RDB snapshots (save ${facts.save})`));
  else if (facts.save === null)
    results.push(
      warn(
        'Redis persistence',
        'append-only file off; the snapshot schedule could not be read (CONFIG is not allowed)',
        "check in your Redis service's settings that data persists across restarts (AOF or RDB)",
      ),
    );
  else
    results.push(
      fail(
        'Redis persistence',
        'neither the append-only file nor RDB snapshots are on: a restart loses every request',
        'set `appendonly yes` in redis.conf (or `CONFIG SET appendonly yes` and `CONFIG REWRITE`)',
      ),
    );

  if (facts.maxmemoryPolicy === 'noeviction') results.push(pass('Redis maxmemory-policy', 'noeviction'));
  else
    results.push(
      fail(
        'Redis maxmemory-policy',
        `${facts.maxmemoryPolicy}: Redis may evict queued jobs and request records when memory is full`,
        'set `maxmemory-policy noeviction` in redis.conf (or `CONFIG SET maxmemory-policy noeviction` and `CONFIG REWRITE`); BullMQ requires it',
      ),
    );
  return results;
}

/** The audiences Defender at `apiUrl` accepts: its cloud's resource (and the older alias of the commercial one). */
function acceptedDefenderAudiences(apiUrl: string): string[] {
  const audience = audienceOfScope(defenderScopeFor(apiUrl));
  return audience === 'https://api.securitycenter.microsoft.com'
    ? [audience, 'https://securitycenter.onmicrosoft.com/windowsatpservice']
    : [audience];
}

/**
 * The application permissions the bot uses: Machine.Read.All (or Machine.ReadWrite.All) for devices, actions and
 * result links, Machine.LiveResponse to run and cancel, Library.Manage to list the library.
 */
const REQUIRED_ROLE_GROUPS: readonly (readonly string[])[] = [
  ['Machine.LiveResponse'],
  ['Machine.Read.All', 'Machine.ReadWrite.All'],
  ['Library.Manage'],
];

/** Judges the `aud` and `roles` claims of the bot's Defender token (decoded, not verified: Defender verifies). */
export function judgeDefenderClaims(
  claims: { aud?: unknown; roles?: unknown },
  apiUrl: string,
  scope: string,
): CheckResult[] {
  const accepted = acceptedDefenderAudiences(apiUrl);
  const aud =
    typeof claims.aud === 'string' ? claims.aud : Array.isArray(claims.aud) ? claims.aud.join(',') : '';
  const expectedScope = `${accepted[0]}/.default`;
  const audience = accepted.includes(aud)
    ? pass('Defender token audience', aud)
    : fail(
        'Defender token audience',
        `the token is for "${aud || 'no audience'}", which ${apiUrl} refuses (403) (scope asked: ${scope})`,
        `set DEFENDER_SCOPE=${expectedScope} (or leave it empty: the default follows DEFENDER_API_URL's cloud)`,
      );
  const roles = Array.isArray(claims.roles)
    ? claims.roles.filter((r): r is string => typeof r === 'string')
    : [];
  const missing = REQUIRED_ROLE_GROUPS.filter((group) => !group.some((role) => roles.includes(role)));
  const permissions =
    missing.length === 0
      ? pass('Defender permissions', roles.join(', '))
      : fail(
          'Defender permissions',
          `missing ${missing.map((g) => g.join(' or ')).join('; ')} (the token has: ${roles.join(', ') || 'no roles'})`,
          'in Entra ID, App registrations → the Defender app → API permissions → Add → APIs my organization uses → WindowsDefenderATP → Application permissions: add them, then "Grant admin consent"',
        );
  return [audience, permissions];
}

/** PUBLIC_BASE_URL must be https: Teams users open download links and the app's pages from their own machines. */
export function judgePublicUrlScheme(url: string): CheckResult | null {
  if (url.startsWith('https://')) return null;
  return fail(
    'PUBLIC_BASE_URL',
    `${url} is not https`,
    'set PUBLIC_BASE_URL to the https address Teams users reach the bot on (behind your TLS reverse proxy or Azure App Service), e.g. https://lrbot.contoso.com',
  );
}

/** Exit code of the whole run: 1 when anything failed. */
export function exitCodeOf(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}

/** Lines an operator reads: one per check, its fix indented below. */
export function formatResults(results: readonly CheckResult[]): string {
  const label: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' };
  const lines = results.flatMap((r) => [
    `${label[r.status]}  ${r.name}: ${r.detail}`,
    ...(r.fix && r.status !== 'pass' ? [`      fix: ${r.fix}`] : []),
  ]);
  const failed = results.filter((r) => r.status === 'fail').length;
  lines.push(
    failed === 0
      ? `All ${results.length} checks passed${results.some((r) => r.status === 'warn') ? ' (see the warnings)' : ''}.`
      : `${failed} of ${results.length} checks failed.`,
  );
  return lines.join('\n');
}
