// The tab in a real browser (Debian's Chromium via playwright-core), inside the local Teams host page that plays
// teams-js's host side with tokens from the Entra simulator: list, detail, live updates, approving from the tab
// (the card in fake Teams follows), themes, and the page outside Teams. Screenshots are written only when asked:
// `SCREENSHOTS=docs npx vitest run test/tab-browser.test.ts` (a folder, relative to the project) refreshes the
// README's pictures; a plain run leaves the tree untouched.
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askFor, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import { launchChromium, startTabStack, type TabStack } from './support/tab-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import { channelThread, USERS } from './support/teams-fixtures.js';

let stack: TabStack;
let client: TeamsClient;
let browser: Awaited<ReturnType<typeof launchChromium>>;

/** Where screenshots go, if anywhere (SCREENSHOTS, relative to the project root). */
const SCREENSHOT_DIR = process.env.SCREENSHOTS?.trim()
  ? resolve(import.meta.dirname, '..', process.env.SCREENSHOTS.trim())
  : undefined;

async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOT_DIR) await page.screenshot({ path: join(SCREENSHOT_DIR, name) });
}

beforeAll(async () => {
  stack = await startTabStack();
  client = teamsClientFor(stack);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function openHost(query: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`${stack.botUrl}/tab/local-host?${query}`);
  return page;
}

describe('the tab in the local Teams host', () => {
  it('lists the channel’s requests, opens one, approves it and follows it live while the card updates', async () => {
    const thread = channelThread();
    const { activity, requestId } = await askFor(
      stack,
      client,
      thread,
      USERS.requester,
      'run minidump.ps1 OfficeClickToRun then getfile C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip on desktop-test because suspicious Office child process',
    );
    const page = await openHost('as=alex-lead&where=incidents');
    const tab = page.frameLocator('#frame');
    const row = tab.locator(`[data-key="row:${requestId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await expect(row.textContent()).resolves.toContain('AwaitingApproval');
    await expect(row.textContent()).resolves.toContain('Riley Analyst');
    await screenshot(page, 'tab-list-light.png');

    // Keyboard: focus the row and press Enter.
    await row.focus();
    await row.press('Enter');
    const heading = tab.locator('h1', { hasText: requestId });
    await heading.waitFor();
    await tab.locator('table.trail', { hasText: 'requested' }).waitFor();
    await expect(tab.locator('main').textContent()).resolves.toContain('run minidump.ps1 OfficeClickToRun');

    await tab.locator('[data-key="approve"]').click();
    await waitForCard(stack, activity.id, /Approved by Alex Lead/);
    // Live: the open detail reaches Succeeded with exit code and a download, without a reload.
    await tab.locator('h1 .state', { hasText: 'Succeeded' }).waitFor({ timeout: 30_000 });
    await tab.locator('.exit', { hasText: 'Exit code 0' }).waitFor();
    await tab.locator('[data-key="download:1"]').waitFor();
    await expect(tab.locator('table.trail').textContent()).resolves.toContain('Alex Lead');
    await screenshot(page, 'tab-detail-light.png');

    await page.selectOption('#theme', 'dark');
    // A string runs in the page; the test's own tsconfig has no DOM types.
    await page.waitForFunction(
      "document.getElementById('frame').contentDocument?.documentElement.dataset.theme === 'dark'",
    );
    await page.waitForTimeout(300);
    await screenshot(page, 'tab-detail-dark.png');
    await page.close();
  });

  it('shows a requester their request without approve buttons, and My requests in a phone-width personal tab', async () => {
    const thread = channelThread();
    const { requestId } = await askFor(
      stack,
      client,
      thread,
      USERS.requester,
      'run collect.ps1 on desktop-test2',
    );
    const page = await openHost(`as=riley-analyst&where=mine&theme=contrast&width=380&request=${requestId}`);
    const tab = page.frameLocator('#frame');
    await tab.locator('h1', { hasText: requestId }).waitFor({ timeout: 15_000 });
    expect(await tab.locator('[data-key="approve"]').count()).toBe(0);
    await tab.locator('[data-key="back"]').click();
    await tab.locator('h1', { hasText: 'My requests' }).waitFor();
    await tab.locator(`[data-key="row:${requestId}"]`).waitFor();
    await screenshot(page, 'tab-mine-contrast-phone.png');
    await page.close();
  });

  it('tells someone outside Teams how to open it and asks the API for nothing', async () => {
    const page = await browser.context.newPage();
    const apiCalls: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/tab/api/')) apiCalls.push(request.url());
    });
    await page.goto(`${stack.botUrl}/tab/`);
    await page.getByText('Open this in Microsoft Teams').waitFor({ timeout: 10_000 });
    expect(apiCalls).toEqual([]);
    await page.close();
  });
});
