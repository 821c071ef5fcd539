// `npm run demo -- --as-approver` in a real browser: the stack the demo starts (Defender and Entra simulators, the
// bot with its tab, the Microsoft 365 Agents Playground as Alex Lead, an approver), a teammate's request sent the
// way the demo's `ask` sends it, Approve clicked in the Playground's page and the card changing there; then the
// demo's local Teams host page listing that request in the tab. With SCREENSHOTS=docs it also refreshes
// docs/playground-demo.png (after the card reaches Succeeded).
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../app/logger.js';
import { askAs } from '../scripts/demo-playground-api.js';
import { DEMO_PLACES, DEMO_REQUESTER, type DemoSettings } from '../scripts/demo-settings.js';
import { type DemoStack, startDemoStack } from '../scripts/demo-stack.js';
import { REDIS_URL } from './support/start-stack.js';
import { launchChromium } from './support/tab-stack.js';

const SCREENSHOT_DIR = process.env.SCREENSHOTS?.trim()
  ? resolve(import.meta.dirname, '..', process.env.SCREENSHOTS.trim())
  : undefined;

/** A port nothing listens on now: the Playground and the bot's public URL must be told theirs before they start. */
function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

let stack: DemoStack;
let browser: Awaited<ReturnType<typeof launchChromium>>;
const prefix = `lrtest-demo-${process.pid}-${Date.now().toString(36)}`;

beforeAll(async () => {
  const settings: DemoSettings = {
    redisUrl: REDIS_URL,
    botPort: await freePort(),
    simulatorPort: await freePort(),
    playgroundPort: await freePort(),
    speedup: 10,
    simulatorToken: 'sim-token',
    role: 'approver',
  };
  stack = await startDemoStack({
    settings,
    env: { REDIS_PREFIX: prefix, LOG_LEVEL: 'silent', POLL_INTERVAL: '500ms' },
    logger: createLogger('silent'),
  });
  browser = await launchChromium({ width: 1400, height: 1000 });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
});

/** The Playground's page, in the Incident bridge chat. */
async function openPlayground(): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(stack.playgroundUrl);
  const chat = page.getByText(DEMO_PLACES.groupChat.name).first();
  await chat.waitFor({ timeout: 30_000 });
  await chat.click();
  return page;
}

describe('npm run demo -- --as-approver', () => {
  it('lets the Playground user, an approver, approve a teammate’s request by clicking Approve on its card', async () => {
    const page = await openPlayground();
    expect(await page.getByText('Alex Lead').first().isVisible()).toBe(true);

    await askAs(
      Number(new URL(stack.playgroundUrl).port),
      DEMO_PLACES.groupChat.id,
      DEMO_REQUESTER,
      'run minidump.ps1 OfficeClickToRun on desktop-test',
    );
    const title = page.getByText(/Live response request LR-[0-9A-Z]{6}/).last();
    await title.waitFor({ timeout: 20_000 });
    const requestId = /LR-[0-9A-Z]{6}/.exec((await title.textContent()) ?? '')?.[0];
    expect(requestId).toBeDefined();
    await page.getByText('Requested by Riley Analyst').last().waitFor();

    // The card as posted: live buttons, no per-user refresh (the Playground never asks for one).
    await page.getByRole('button', { name: 'Approve' }).last().click();
    await page
      .getByText(/Approved by Alex Lead at \d\d:\d\d UTC/)
      .last()
      .waitFor({ timeout: 15_000 });
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);

    if (SCREENSHOT_DIR) {
      await page.getByText('Succeeded', { exact: true }).last().waitFor({ timeout: 30_000 });
      // The Playground opens its log panel on warnings (e.g. "User specific view is not supported"); the picture
      // is of the chat.
      const closeLog = page.locator('button[title="Hide log panel"]');
      if (await closeLog.isVisible().catch(() => false)) await closeLog.click();
      await page.waitForTimeout(500);
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'playground-demo.png') });
    }
    await page.close();

    // The demo's tab, in the local Teams host page as Alex in the same chat, lists the request.
    const host = await browser.context.newPage();
    await host.goto(stack.tabUrl);
    await host.getByText('LOCAL — not Microsoft Teams').waitFor({ timeout: 10_000 });
    const row = host.frameLocator('#frame').locator(`[data-key="row:${requestId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await expect(row.textContent()).resolves.toContain('Riley Analyst');
    await host.close();
  }, 90_000);
});
