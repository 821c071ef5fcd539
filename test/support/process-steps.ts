// Steps shared by the tests that kill the bot mid-request (a ProcessStack, see bot-process.ts) and start it again:
// the stack with its request store, the crash armed by a test-only variable, the approval whose answer never comes,
// waiting with the bot's latest output in the failure.
import { systemClock } from '../../core/clock.js';
import { redisKeys } from '../../core/redis-keys.js';
import { createRequestStore, type RequestStore } from '../../core/request-store.js';
import { type ProcessStack, startProcessStack } from './bot-process.js';
import type { AskedRequest } from './request-steps.js';
import type { TeamsClient } from './teams-client.js';
import { USERS } from './teams-fixtures.js';

/** A bot in a child process with the reconciler every 500 ms (plus `env`), and a store reading its requests. */
export async function startCrashStack(
  env: Record<string, string> = {},
): Promise<{ stack: ProcessStack; requests: RequestStore }> {
  const stack = await startProcessStack({ env: { RECONCILE_INTERVAL: '500ms', ...env } });
  const requests = createRequestStore({
    redis: stack.redis,
    keys: redisKeys(stack.prefix),
    clock: systemClock,
  });
  return { stack, requests };
}

/** Polls until `probe` gives something truthy and returns it; on time-out, fails with the bot's latest output. */
export async function until<T>(
  stack: ProcessStack,
  what: string,
  probe: () => Promise<T> | T,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}\n${stack.bot.output().split('\n').slice(-30).join('\n')}`);
}

/** Restarts the bot told to SIGKILL itself right after the first write whose effects include `effect`. */
export async function armCrashBefore(stack: ProcessStack, effect: string): Promise<void> {
  await stack.bot.kill();
  await stack.bot.start({ LR_TEST_CRASH_BEFORE_EFFECT: effect });
}

/** Starts the killed bot again, with no crash armed. */
export function restartAfterCrash(stack: ProcessStack): Promise<void> {
  return stack.bot.start({ LR_TEST_CRASH_BEFORE_EFFECT: '' });
}

/** Alex clicks Approve; the click's answer never comes, the bot dies after writing the approval. */
export async function approveAndCrash(
  stack: ProcessStack,
  client: TeamsClient,
  request: AskedRequest,
): Promise<void> {
  await client
    .invokeAction({
      conversation: request.thread,
      from: USERS.approver,
      replyToId: request.activity.id,
      verb: 'lr.approve',
      data: { requestId: request.requestId },
    })
    .catch(() => undefined);
  await until(stack, 'the bot to die', () => !stack.bot.running);
}
