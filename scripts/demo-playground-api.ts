// The Agents Playground's own HTTP API, as the demo uses it to act as someone other than the page's user: a click
// on a card (`POST /_conversation/v1/invoke`, which takes any member as `from`) and a message from a teammate
// (`POST /_internal/v1/customActivities`, its "Mock an Activity", started from its template for the conversation).

import { type ActivityTemplate, messageActivityAs } from './demo-requests.js';
import type { DemoPerson } from './demo-settings.js';

/** The playground answers an invoke once the bot has; the bot answers clicks well under Teams' ~10 s. */
const INVOKE_TIMEOUT_MS = 15_000;

/** POSTs an `adaptiveCard/action` invoke; the bot's answer as JSON (or text), or why the playground refused it. */
export async function invokeAs(
  playgroundPort: number,
  body: unknown,
): Promise<{ ok: true; answer: unknown } | { ok: false; message: string }> {
  const response = await fetch(`http://127.0.0.1:${playgroundPort}/_conversation/v1/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(INVOKE_TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok)
    return {
      ok: false,
      message: `The playground refused the click (HTTP ${response.status}): ${text.slice(0, 500)}`,
    };
  try {
    return { ok: true, answer: JSON.parse(text) };
  } catch {
    return { ok: true, answer: text };
  }
}

/**
 * Sends `text` to the bot in `conversationId` as `from`, mentioning it. The playground passes the activity to the
 * bot and shows the bot's answer (the approval card) in the conversation; the sender's own message is not drawn.
 */
export async function askAs(
  playgroundPort: number,
  conversationId: string,
  from: DemoPerson,
  text: string,
): Promise<void> {
  const base = `http://127.0.0.1:${playgroundPort}/_internal/v1/customActivities`;
  const templateResponse = await fetch(
    `${base}/template?conversationId=${encodeURIComponent(conversationId)}`,
    {
      signal: AbortSignal.timeout(5_000),
    },
  );
  if (!templateResponse.ok)
    throw new Error(
      `the playground has no conversation ${conversationId} (HTTP ${templateResponse.status}): ${(await templateResponse.text()).slice(0, 300)}`,
    );
  const template = (await templateResponse.json()) as ActivityTemplate;
  const sent = await fetch(base, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(messageActivityAs(template, from, text)),
    signal: AbortSignal.timeout(5_000),
  });
  if (!sent.ok)
    throw new Error(
      `the playground refused the message (HTTP ${sent.status}): ${(await sent.text()).slice(0, 300)}`,
    );
}
