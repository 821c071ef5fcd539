// Redis servers of the test's own (Debian's redis-server 7): a three-master cluster with one replica per master, made
// by `redis-cli --cluster create`, on free ports in a temporary directory; and single servers with a password or TLS
// (a throw-away CA and certificate made by openssl). Everything is removed by `close()`.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './bot-process.js';

const run = promisify(execFile);
const START_TIMEOUT_MS = 10_000;

export interface NodeOptions {
  password?: string;
  /** Serve TLS only (no plain port), with this certificate. */
  tls?: TlsFiles;
  cluster?: { nodeTimeoutMs: number };
}

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface RedisNode {
  readonly port: number;
  readonly running: boolean;
  /** A plain client to this node (TLS and password as the node needs). */
  client(): Redis;
  /** SIGKILL: what a crashed host looks like to the cluster. */
  kill(): Promise<void>;
  /** The server's log so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/** Servers still running: killed when the test process exits, even after a hook timed out before `close()`. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const server of live) server.kill('SIGKILL');
});

/** Ports handed out in this test process: a port free a moment ago can be handed out again to a node starting beside. */
const handedOut = new Set<number>();
async function uniquePort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** Starts one redis-server in `dir` and waits until it accepts connections. */
export async function startRedisNode(dir: string, options: NodeOptions = {}): Promise<RedisNode> {
  const port = await uniquePort();
  const args = ['--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  args.push('--dbfilename', `dump-${port}.rdb`);
  if (options.tls)
    args.push(
      ...['--port', '0', '--tls-port', String(port)],
      ...['--tls-cert-file', options.tls.cert, '--tls-key-file', options.tls.key],
      ...['--tls-ca-cert-file', options.tls.ca, '--tls-auth-clients', 'no'],
      ...(options.cluster ? ['--tls-cluster', 'yes', '--tls-replication', 'yes'] : []),
    );
  else args.push('--port', String(port));
  if (options.password) args.push('--requirepass', options.password, '--masterauth', options.password);
  if (options.cluster)
    args.push(
      ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`)],
      // The bus port defaults to port + 10000, which is past 65535 for many free ports: pick a free one (Redis 7).
      ...['--cluster-port', String(await uniquePort())],
      ...['--cluster-node-timeout', String(options.cluster.nodeTimeoutMs)],
    );

  let child: ChildProcess | undefined = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const spawned = child;
  live.add(spawned);
  const exited = new Promise<void>((resolve) => {
    child?.once('exit', () => {
      live.delete(spawned);
      child = undefined;
      resolve();
    });
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start within ${START_TIMEOUT_MS} ms:\n${output}`)),
      START_TIMEOUT_MS,
    );
    const watch = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child?.stdout?.on('data', watch);
    child?.stderr?.on('data', watch);
    child?.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with code ${code}:\n${output}`));
    });
  });
  const end = async (signal: NodeJS.Signals) => {
    child?.kill(signal);
    await exited;
  };
  return {
    port,
    get running() {
      return child !== undefined;
    },
    client: () =>
      new Redis({
        host: '127.0.0.1',
        port,
        maxRetriesPerRequest: 1,
        ...(options.password ? { password: options.password } : {}),
        ...(options.tls ? { tls: { ca: readFileSync(options.tls.ca, 'utf8') } } : {}),
      }),
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
    output: () => output,
  };
}

/** A CA and a certificate for 127.0.0.1/localhost signed by it; `ca` etc. are file paths, `caPem` the CA itself. */
export async function makeTlsFiles(dir: string): Promise<TlsFiles & { caPem: string }> {
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args);
  await openssl(
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=LR Bot test CA'],
    ...['-keyout', path('ca.key'), '-out', path('ca.crt')],
  );
  await openssl(
    ...['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost'],
    ...['-keyout', path('redis.key'), '-out', path('redis.csr')],
  );
  await writeFile(path('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await openssl(
    ...['x509', '-req', '-in', path('redis.csr'), '-CA', path('ca.crt'), '-CAkey', path('ca.key')],
    ...['-CAcreateserial', '-days', '1', '-extfile', path('san.ext'), '-out', path('redis.crt')],
  );
  return {
    ca: path('ca.crt'),
    cert: path('redis.crt'),
    key: path('redis.key'),
    caPem: await readFile(path('ca.crt'), 'utf8'),
  };
}

/** A temporary directory removed with everything in it by `remove`. */
export async function tempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lr-redis-cluster-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface RedisCluster {
  /** `host:port,…` of every node, as REDIS_CLUSTER_NODES takes it. */
  readonly seeds: string;
  readonly nodes: readonly RedisNode[];
  /** The node serving `key`'s slot as master now. */
  masterOf(key: string): Promise<RedisNode>;
  /**
   * Fails the master of `key`'s slot over to its replica with `CLUSTER FAILOVER` (run on the replica: the master
   * stops taking writes, the replica catches up, then takes over), and waits until the cluster agrees.
   */
  failover(key: string): Promise<{ from: number; to: number }>;
  close(): Promise<void>;
}

interface SlotOwner {
  master: number;
  replicas: number[];
}

export async function startRedisCluster(
  options: { password?: string; tls?: boolean; nodeTimeoutMs?: number } = {},
): Promise<RedisCluster & { tlsFiles?: TlsFiles & { caPem: string } }> {
  const temp = await tempDir();
  const nodes: RedisNode[] = [];
  try {
    const tlsFiles = options.tls ? await makeTlsFiles(temp.dir) : undefined;
    const nodeOptions: NodeOptions = {
      cluster: { nodeTimeoutMs: options.nodeTimeoutMs ?? 1_000 },
      ...(options.password ? { password: options.password } : {}),
      ...(tlsFiles ? { tls: tlsFiles } : {}),
    };
    nodes.push(
      ...(await Promise.all(Array.from({ length: 6 }, () => startRedisNode(temp.dir, nodeOptions)))),
    );
    const cliAuth = [
      ...(options.password ? ['-a', options.password, '--no-auth-warning'] : []),
      ...(tlsFiles ? ['--tls', '--cacert', tlsFiles.ca] : []),
    ];
    await run(
      'redis-cli',
      [
        ...cliAuth,
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    const cluster = createHandle(nodes, temp);
    await cluster.waitHealthy({ replicated: true });
    return { ...cluster, ...(tlsFiles ? { tlsFiles } : {}) };
  } catch (error) {
    await Promise.all(nodes.map((n) => n.kill()));
    await temp.remove();
    const logs = nodes.map((n) => `--- redis ${n.port}\n${n.output().split('\n').slice(-8).join('\n')}`);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs.join('\n')}`);
  }
}

function createHandle(
  nodes: RedisNode[],
  temp: { remove(): Promise<void> },
): RedisCluster & { waitHealthy(options?: { replicated?: boolean }): Promise<void> } {
  const byPort = (port: number) => {
    const node = nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no node on port ${port}`);
    return node;
  };

  /** Asks any running node; a node that is down or has not heard of the change yet is skipped. */
  async function ask<T>(question: (client: Redis) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (const node of nodes.filter((n) => n.running)) {
      const client = node.client();
      client.on('error', () => undefined);
      try {
        return await question(client);
      } catch (error) {
        lastError = error;
      } finally {
        client.disconnect();
      }
    }
    throw lastError ?? new Error('no node running');
  }

  async function ownerOf(key: string, via?: RedisNode): Promise<SlotOwner> {
    const read = async (client: Redis) => {
      const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
      const ranges = (await client.call('CLUSTER', 'SLOTS')) as [
        number,
        number,
        ...[string, number, string][],
      ][];
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      const [, , master, ...replicas] = range ?? [];
      if (!master) throw new Error(`slot ${slot} has no owner`);
      return { master: master[1], replicas: replicas.map((r) => r[1]) };
    };
    if (!via) return ask(read);
    const client = via.client();
    client.on('error', () => undefined);
    try {
      return await read(client);
    } finally {
      client.disconnect();
    }
  }

  async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await probe().catch(() => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`Redis Cluster: timed out waiting for ${what}`);
  }

  /** Every running node says cluster_state:ok; `replicated`: and every master has a replica in sync. */
  async function waitHealthy(options: { replicated?: boolean } = {}): Promise<void> {
    if (options.replicated)
      await waitUntil('every master to have a replica', async () => {
        const ranges = await ask(async (client) => (await client.call('CLUSTER', 'SLOTS')) as unknown[][]);
        return ranges.length > 0 && ranges.every((range) => range.length >= 4);
      });
    await waitUntil('every node to report cluster_state:ok', async () => {
      const states = await Promise.all(
        nodes
          .filter((n) => n.running)
          .map(async (node) => {
            const client = node.client();
            client.on('error', () => undefined);
            try {
              return String(await client.call('CLUSTER', 'INFO')).includes('cluster_state:ok');
            } finally {
              client.disconnect();
            }
          }),
      );
      return states.every(Boolean);
    });
  }

  async function promoted(key: string, from: number): Promise<{ from: number; to: number }> {
    let to = from;
    await waitUntil(`a replica to take over from ${from}`, async () => {
      const views = await Promise.all(nodes.filter((n) => n.running).map((n) => ownerOf(key, n)));
      to = views[0]?.master ?? from;
      return to !== from && views.every((v) => v.master === to);
    });
    await waitHealthy();
    return { from, to };
  }

  return {
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    nodes,
    waitHealthy,
    async masterOf(key) {
      return byPort((await ownerOf(key)).master);
    },
    async failover(key) {
      const owner = await ownerOf(key);
      const replica = owner.replicas[0];
      if (replica === undefined) throw new Error(`the master on ${owner.master} has no replica`);
      const client = byPort(replica).client();
      try {
        await client.call('CLUSTER', 'FAILOVER');
      } finally {
        client.disconnect();
      }
      return promoted(key, owner.master);
    },
    async close() {
      await Promise.all(nodes.map((n) => n.kill()));
      await temp.remove();
    },
  };
}
