import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseRetryAfter } from '../defender/defender-errors.js';
import { createStaticTokenProvider } from '../defender/token-provider.js';
import { createGraphClient, GraphApiError } from './graph-client.js';

// A server that answers one page whose next link points at another origin: the bearer token must not follow it.
let server: Server;
let url = '';
const seen: Array<string | undefined> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ value: [{ id: '1' }], '@odata.nextLink': 'https://evil.example/v1.0/next' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('createGraphClient', () => {
  it('does not send the token to a next link outside Graph', async () => {
    const client = createGraphClient({ baseUrl: url, tokens: createStaticTokenProvider('secret-token') });
    const error = await client.listAll('/v1.0/groups/x/transitiveMembers', z.object({ id: z.string() })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GraphApiError);
    expect((error as GraphApiError).code).toBe('ForeignNextLink');
    expect((error as GraphApiError).message).not.toContain('secret-token');
    expect(seen).toEqual(['Bearer secret-token']);
  });

  it('reads Retry-After in seconds or as an HTTP date', () => {
    // Graph's Retry-After goes through the parser the Defender client uses.
    expect(parseRetryAfter(new Headers({ 'retry-after': '7' }))).toBe(7_000);
    expect(
      parseRetryAfter(
        new Headers({ 'retry-after': new Date(Date.UTC(2026, 0, 1, 0, 0, 30)).toUTCString() }),
        Date.UTC(2026, 0, 1),
      ),
    ).toBe(30_000);
    expect(parseRetryAfter(new Headers())).toBeUndefined();
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
  });
});
