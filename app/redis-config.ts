// The Redis settings (standalone or cluster, TLS, credentials, key prefix, how long requests are kept), read with the rest of the configuration by
// readConfig: same rules — a bad value is a problem naming the setting with an example.
import { readFileSync } from 'node:fs';
import { parseDuration } from '../core/durations.js';
import { settingsReader } from './settings.js';

export interface RedisConfig {
  /** `REDIS_URL`: a standalone Redis (`rediss://` for TLS); not used when `clusterNodes` is set. Default redis://127.0.0.1:6379. */
  url: string;
  /** `REDIS_CLUSTER_NODES`: seed nodes of a Redis Cluster; empty = standalone at `url`. Default empty. */
  clusterNodes: { host: string; port: number }[];
  /**
   * `REDIS_PREFIX`, the start of every key (BullMQ's included). With a cluster it is always a hash tag (`lr` is read as
   * `{lr}`), so every key of the deployment lives in one slot and every script and MULTI stays on one shard. Default `lr`.
   */
  prefix: string;
  /** TLS to Redis: a `rediss://` URL or `REDIS_TLS=true` (the only way for a cluster). Default false. */
  tls: boolean;
  /** `REDIS_TLS_CA_FILE`: PEM of a private CA to trust beyond Node's own list; undefined = Node's list only. */
  tlsCa?: string;
  /** `REDIS_USERNAME` (ACL user), else the URL's user; undefined = the default user. */
  username?: string;
  /** `REDIS_PASSWORD`, else the URL's password; undefined = no AUTH. */
  password?: string;
  /**
   * `REQUEST_RETENTION`: how long a finished request's record stays in Redis (`status`, Get fresh link, the card's
   * context for its audit trail, which has its own AUDIT_RETENTION). Default 30d.
   */
  requestRetentionMs: number;
}

export const REDIS_SETTINGS = {
  REDIS_URL: {
    default: 'redis://127.0.0.1:6379',
    example: 'rediss://:secret@lrbot.redis.cache.windows.net:6380/0',
  },
  REDIS_CLUSTER_NODES: { default: '', example: 'redis-0.internal:6379,redis-1.internal:6379' },
  REDIS_PREFIX: { default: 'lr', example: 'lr' },
  REDIS_TLS: { default: 'false', example: 'true' },
  REDIS_TLS_CA_FILE: { default: '', example: '/etc/lrbot/redis-ca.pem' },
  REDIS_USERNAME: { default: '', example: 'lrbot' },
  REDIS_PASSWORD: { default: '', example: '<the Redis access key>' },
  REQUEST_RETENTION: { default: '30d', example: '90d' },
} as const;

/** A prefix with a hash tag: the first `{`, a non-empty tag, then `}` (Redis Cluster's rule). */
const HASH_TAGGED = /^[^{}]*\{[^{}]+\}[^{}]*$/;

/** The prefix as used in a cluster: a hash tag already, or the whole prefix made one. */
export function hashTaggedPrefix(prefix: string): string {
  return HASH_TAGGED.test(prefix) ? prefix : `{${prefix}}`;
}

export function readRedisConfig(env: NodeJS.ProcessEnv, problems: string[]): RedisConfig {
  const { get, bad } = settingsReader(REDIS_SETTINGS, env, problems);

  const url = get('REDIS_URL');
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    bad('REDIS_URL', `must be a URL (got "${url}")`);
  }
  if (parsed && parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    bad('REDIS_URL', `must start with redis:// or rediss:// (got "${parsed.protocol}")`);

  const clusterNodes: RedisConfig['clusterNodes'] = [];
  for (const seed of get('REDIS_CLUSTER_NODES')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(seed);
    const port = Number(match?.[2]);
    if (!match?.[1] || port < 1 || port > 65535)
      bad('REDIS_CLUSTER_NODES', `must be comma-separated host:port seeds (got "${seed}")`);
    else clusterNodes.push({ host: match[1].replace(/^\[|\]$/g, ''), port });
  }

  const prefix = get('REDIS_PREFIX');
  if (!/^[A-Za-z0-9_.:{}-]{1,64}$/.test(prefix))
    bad('REDIS_PREFIX', 'must be letters, digits, _ . : - (and one {tag})');
  else if (/[{}]/.test(prefix) && !HASH_TAGGED.test(prefix))
    bad('REDIS_PREFIX', `may hold one hash tag, written {tag} (got "${prefix}")`);

  const tlsFlag = get('REDIS_TLS').toLowerCase();
  if (!['true', 'false'].includes(tlsFlag)) bad('REDIS_TLS', `must be true or false (got "${tlsFlag}")`);

  let tlsCa: string | undefined;
  const caFile = get('REDIS_TLS_CA_FILE');
  if (caFile) {
    try {
      tlsCa = readFileSync(caFile, 'utf8');
      if (!tlsCa.includes('-----BEGIN CERTIFICATE-----'))
        bad('REDIS_TLS_CA_FILE', `holds no PEM certificate (${caFile})`);
    } catch (error) {
      bad(
        'REDIS_TLS_CA_FILE',
        `cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)} (${caFile})`,
      );
    }
  }

  const requestRetentionMs = parseDuration(get('REQUEST_RETENTION'));
  if (requestRetentionMs === null || requestRetentionMs < 60_000)
    bad(
      'REQUEST_RETENTION',
      `must be a duration of at least 1m like 30d (got "${get('REQUEST_RETENTION')}")`,
    );

  const decode = (part: string | undefined) => (part ? decodeURIComponent(part) : undefined);
  const username = get('REDIS_USERNAME') || decode(parsed?.username);
  const password = get('REDIS_PASSWORD') || decode(parsed?.password);
  const cluster = clusterNodes.length > 0;
  return {
    url,
    clusterNodes,
    prefix: cluster ? hashTaggedPrefix(prefix) : prefix,
    tls: tlsFlag === 'true' || (!cluster && parsed?.protocol === 'rediss:'),
    requestRetentionMs: requestRetentionMs ?? 30 * 86_400_000,
    ...(tlsCa ? { tlsCa } : {}),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  };
}

/** Where Redis is, safe to log: no credentials. */
export function describeRedis(config: RedisConfig): string {
  if (config.clusterNodes.length > 0)
    return `cluster ${config.clusterNodes.map((n) => `${n.host}:${n.port}`).join(',')}${config.tls ? ' (TLS)' : ''}`;
  return config.url.replace(/\/\/[^@/]*@/, '//***@');
}
