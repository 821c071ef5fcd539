// A load balancer for tests: passes each HTTP request to the next of its upstreams in turn, like a round-robin
// balancer in front of several bot replicas. An upstream that refuses the connection is skipped for that request (as
// a balancer's health check would take it out): it received nothing, so sending the request elsewhere cannot run it
// twice. A connection that breaks after the request went out answers 502, as a balancer would.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';

export interface RoundRobinProxy {
  readonly url: string;
  /** Requests each upstream answered, by its URL. */
  served(): Record<string, number>;
  close(): Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startRoundRobinProxy(upstreams: readonly string[]): Promise<RoundRobinProxy> {
  let next = 0;
  const served: Record<string, number> = Object.fromEntries(upstreams.map((u) => [u, 0]));

  const server: Server = createServer(async (req, res) => {
    const body = await bodyOf(req);
    // Each upstream once at most, starting with the next in turn.
    const start = next++;
    for (let i = 0; i < upstreams.length; i++) {
      const upstream = upstreams[(start + i) % upstreams.length]!;
      const target = new URL(req.url ?? '/', upstream);
      const answered = await new Promise<boolean>((resolve) => {
        const forwarded = httpRequest(
          target,
          { method: req.method, headers: { ...req.headers, host: target.host } },
          (upstreamRes) => {
            served[upstream] = (served[upstream] ?? 0) + 1;
            res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
            upstreamRes.pipe(res);
            upstreamRes.once('end', () => resolve(true));
            upstreamRes.once('error', () => resolve(true));
          },
        );
        forwarded.once('error', (error: NodeJS.ErrnoException) => {
          if (error.code === 'ECONNREFUSED') resolve(false);
          else {
            if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ error: `upstream failed: ${error.code ?? error.message}` }));
            resolve(true);
          }
        });
        forwarded.end(body);
      });
      if (answered) return;
    }
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'no upstream answered' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    served: () => ({ ...served }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
