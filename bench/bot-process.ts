// The bot in a process of its own for the benchmark (so its memory and event loop are its own): started by
// run-bench.ts with the benchmark's environment, bound to 127.0.0.1, answering its parent over IPC.
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { resourceUsage } from 'node:process';
import { readConfig } from '../app/config.js';
import { createLogger } from '../app/logger.js';
import { startApp } from '../app/start-app.js';

export type ToBot = { type: 'memory' } | { type: 'resetLoop' } | { type: 'handling' } | { type: 'stop' };
export type FromBot =
  | { type: 'ready'; port: number }
  | {
      type: 'memory';
      rssBytes: number;
      heapUsedBytes: number;
      maxRssBytes: number;
      /** Event loop delay since the last `resetLoop`: how long ready work waited for the CPU. */
      loopDelayMs: { p50: number; p99: number; max: number };
    }
  | { type: 'handling'; invokes: number[]; messages: number[] }
  | { type: 'stopped' };

/**
 * How long the bot's HTTP server took for each /api/messages request, from its headers to the end of the answer
 * (Node's http diagnostics channels: no change to the bot). Split by activity type, read from the body's start.
 */
function timeRequests(): { invokes: number[]; messages: number[] } {
  const handled = { invokes: [] as number[], messages: [] as number[] };
  const started = new WeakMap<ServerResponse, { at: number; invoke: boolean }>();
  subscribe('http.server.request.start', (message) => {
    const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
    if (!request.url?.startsWith('/api/messages')) return;
    const entry = { at: performance.now(), invoke: false };
    started.set(response, entry);
    request.once('data', (chunk: Buffer) => {
      entry.invoke = chunk.includes('"type":"invoke"');
    });
  });
  subscribe('http.server.response.finish', (message) => {
    const { response } = message as { response: ServerResponse };
    const entry = started.get(response);
    if (!entry) return;
    (entry.invoke ? handled.invokes : handled.messages).push(Math.round(performance.now() - entry.at));
  });
  return handled;
}

function tell(message: FromBot): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('bench/bot-process.ts is started by bench/run-bench.ts (it needs IPC)');
  const handled = timeRequests();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const config = readConfig(process.env);
  const logger = createLogger(config.logLevel);
  const app = await startApp(config, { http: true, workers: true, logger, host: '127.0.0.1' });
  process.on('message', (message: ToBot) => {
    if (message.type === 'memory') {
      const memory = process.memoryUsage();
      tell({
        type: 'memory',
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        // resourceUsage reports kilobytes.
        maxRssBytes: resourceUsage().maxRSS * 1024,
        loopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      });
    } else if (message.type === 'resetLoop') {
      loop.reset();
      handled.invokes.length = 0;
      handled.messages.length = 0;
    } else if (message.type === 'handling') {
      tell({ type: 'handling', ...handled });
    } else if (message.type === 'stop') {
      void app.close().finally(() => {
        tell({ type: 'stopped' });
        process.disconnect?.();
        process.exit(0);
      });
    }
  });
  // An orphaned bot (the benchmark died) stops by itself.
  process.on('disconnect', () => {
    void app.close().finally(() => process.exit(0));
  });
  tell({ type: 'ready', port: app.port });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench bot failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
