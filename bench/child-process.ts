// Starts one of the benchmark's helper processes (the bot, the simulator) with tsx and talks to it over IPC,
// with a deadline on every answer; its output goes to a log file.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface Child<To, From extends { type: string }> {
  readonly pid: number | undefined;
  /** Sends `message` (if given) and waits for the next message of `type`. */
  ask<T extends From['type']>(
    type: T,
    message: To | undefined,
    timeoutMs: number,
  ): Promise<Extract<From, { type: T }>>;
  send(message: To): void;
  /** Sends `stopMessage` and waits for the exit; SIGKILL after `timeoutMs`. */
  stop(stopMessage: To, timeoutMs: number): Promise<void>;
}

export function startChild<To, From extends { type: string }>(options: {
  script: string;
  cwd: string;
  env: Record<string, string>;
  logFile: string;
  /** Extra arguments for node, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
}): Child<To, From> {
  const log = openSync(options.logFile, 'w');
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', options.script], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', log, log, 'ipc'],
  });
  closeSync(log);
  const send = (message: To) => {
    if (child.connected) child.send(message as object);
  };
  return {
    pid: child.pid,
    send,
    ask(type, message, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`bench: ${options.script} did not answer "${type}" within ${timeoutMs} ms`));
        }, timeoutMs);
        const onMessage = (answer: From) => {
          if (answer.type !== type) return;
          cleanup();
          resolve(answer as Extract<From, { type: typeof type }>);
        };
        const onExit = (code: number | null) => {
          cleanup();
          reject(new Error(`bench: ${options.script} exited (${code}) before answering "${type}"`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
        };
        child.on('message', onMessage);
        child.on('exit', onExit);
        if (message !== undefined) send(message);
      });
    },
    async stop(stopMessage, timeoutMs) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      send(stopMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
