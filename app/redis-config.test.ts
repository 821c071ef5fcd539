import { describe, expect, it } from 'vitest';
import { describeRedis, hashTaggedPrefix, readRedisConfig } from './redis-config.js';

function read(env: Record<string, string>) {
  const problems: string[] = [];
  return { config: readRedisConfig(env, problems), problems };
}

describe('readRedisConfig', () => {
  it('keeps a standalone Redis and its prefix as they were by default', () => {
    const { config, problems } = read({});
    expect(problems).toEqual([]);
    expect(config).toEqual({
      url: 'redis://127.0.0.1:6379',
      clusterNodes: [],
      prefix: 'lr',
      tls: false,
      requestRetentionMs: 30 * 24 * 3600 * 1000,
    });
  });

  it('selects a cluster from REDIS_CLUSTER_NODES and makes the prefix one hash tag', () => {
    const { config, problems } = read({
      REDIS_CLUSTER_NODES: 'redis-0:6379, redis-1:6380',
      REDIS_PREFIX: 'soc',
    });
    expect(problems).toEqual([]);
    expect(config.clusterNodes).toEqual([
      { host: 'redis-0', port: 6379 },
      { host: 'redis-1', port: 6380 },
    ]);
    expect(config.prefix).toBe('{soc}');
    expect(read({ REDIS_CLUSTER_NODES: 'r:1', REDIS_PREFIX: 'lr:{prod}' }).config.prefix).toBe('lr:{prod}');
  });

  it('refuses seeds without a port and a prefix with a broken hash tag, naming the setting with an example', () => {
    expect(read({ REDIS_CLUSTER_NODES: 'redis-0' }).problems).toEqual([
      'REDIS_CLUSTER_NODES must be comma-separated host:port seeds (got "redis-0"), e.g. REDIS_CLUSTER_NODES=redis-0.internal:6379,redis-1.internal:6379',
    ]);
    expect(read({ REDIS_PREFIX: 'lr:{}' }).problems[0]).toMatch(/^REDIS_PREFIX may hold one hash tag/);
    expect(read({ REDIS_TLS: 'yes' }).problems[0]).toMatch(/^REDIS_TLS must be true or false/);
    expect(read({ REQUEST_RETENTION: '30' }).problems[0]).toMatch(/^REQUEST_RETENTION must be a duration/);
  });

  it('turns TLS on for rediss:// and takes credentials from the URL unless REDIS_USERNAME/REDIS_PASSWORD are set', () => {
    const fromUrl = read({ REDIS_URL: 'rediss://bot:s%40cret@cache.example.net:6380' }).config;
    expect(fromUrl).toMatchObject({ tls: true, username: 'bot', password: 's@cret' });
    const overridden = read({ REDIS_URL: 'redis://:old@127.0.0.1:6379', REDIS_PASSWORD: 'new' }).config;
    expect(overridden).toMatchObject({ tls: false, password: 'new' });
  });

  it('describes Redis without its credentials', () => {
    expect(describeRedis(read({ REDIS_URL: 'rediss://:s3cret@cache.example.net:6380' }).config)).toBe(
      'rediss://***@cache.example.net:6380',
    );
    expect(
      describeRedis(read({ REDIS_CLUSTER_NODES: 'a:1,b:2', REDIS_TLS: 'true', REDIS_PASSWORD: 'x' }).config),
    ).toBe('cluster a:1,b:2 (TLS)');
  });

  it('leaves a prefix that already has a hash tag alone', () => {
    expect(hashTaggedPrefix('{lr}')).toBe('{lr}');
    expect(hashTaggedPrefix('lr')).toBe('{lr}');
  });
});
