// Opens the bot's Redis connections from RedisConfig: a standalone Redis (optionally over TLS, with a password) or a
// Redis Cluster from its seed nodes, which BullMQ accepts as a connection too.
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from './redis-config.js';

export type RedisPurpose =
  /** State, budgets, locks: commands fail fast after a couple of retries while Redis is away (health says so). */
  | 'state'
  /** BullMQ: its blocking commands wait on Redis, so it needs unlimited retries (BullMQ refuses anything else). */
  | 'queues';

/**
 * After a MOVED or a failover, wait this long before asking the cluster again. ioredis's default (100 ms) with its 16
 * redirections gives up within about 2 s, less than a replica takes to be promoted after its master dies (Redis waits
 * cluster-node-timeout, 15 s by default, before it starts the election).
 */
const CLUSTER_RETRY_DELAY_MS = 300;
/** Redirections and CLUSTERDOWN retries per command: ~30 s at the delay above, longer than a default failover. */
const CLUSTER_MAX_REDIRECTIONS = 100;

function tlsOptions(config: RedisConfig): TlsOptions | undefined {
  if (!config.tls) return undefined;
  return config.tlsCa ? { ca: config.tlsCa } : {};
}

function nodeOptions(config: RedisConfig, purpose: RedisPurpose): RedisOptions {
  const tls = tlsOptions(config);
  return {
    maxRetriesPerRequest: purpose === 'queues' ? null : 2,
    ...(tls ? { tls } : {}),
    ...(config.username ? { username: config.username } : {}),
    ...(config.password ? { password: config.password } : {}),
  };
}

/**
 * One connection for `purpose`. A cluster comes back typed as `Redis`: ioredis's `Cluster` has the same command methods
 * and routes each command by its key's slot; the bot's code only sends keyed commands whose keys share the
 * deployment's hash tag (see redis-keys.ts), so a script, MULTI or pipeline always lands on one node.
 */
/**
 * One direct connection to one server, with the same TLS and credentials as the bot's: the standalone Redis, or the
 * first seed of a cluster (per-server facts such as INFO and CONFIG are read there, as `npm run doctor` does).
 */
export function createRedisServerConnection(config: RedisConfig, options: RedisOptions): Redis {
  const seed = config.clusterNodes[0];
  const own = { ...nodeOptions(config, 'state'), ...options };
  return seed ? new Redis({ ...own, host: seed.host, port: seed.port }) : new Redis(config.url, own);
}

export function createRedisConnection(config: RedisConfig, purpose: RedisPurpose): Redis {
  const options = nodeOptions(config, purpose);
  if (config.clusterNodes.length === 0) {
    // Options after the URL win: REDIS_PASSWORD/REDIS_USERNAME over the URL's, REDIS_TLS/REDIS_TLS_CA_FILE added to it.
    return new Redis(config.url, { ...options, enableOfflineQueue: true });
  }
  const cluster = new Cluster(config.clusterNodes, {
    redisOptions: options,
    enableOfflineQueue: true,
    retryDelayOnFailover: CLUSTER_RETRY_DELAY_MS,
    retryDelayOnClusterDown: CLUSTER_RETRY_DELAY_MS,
    retryDelayOnTryAgain: CLUSTER_RETRY_DELAY_MS,
    maxRedirections: CLUSTER_MAX_REDIRECTIONS,
  });
  // ioredis's Cluster and Redis share the command interface the bot uses (see above); only the class differs.
  return cluster as unknown as Redis;
}
