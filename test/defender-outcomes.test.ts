// What a responder sees on the card when Defender finishes an action, well or badly: exit codes and errors,
// skipped commands, time-outs, long output cut to fit, download links that work without exposing Defender's SAS
// URL; and Defender refusals (device group, busy device, unknown device) shown as clear failures, never retried.
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanTranscriptText } from '../core/summarise-transcript.js';
import { cardText, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import {
  actionsOf,
  approve,
  ask,
  askAndApprove,
  downloadPaths,
  expectCardsSafe,
  MACHINE_IDS,
  MAX_CARD_BYTES,
  ROOMY_API_RATE,
  runCallsFor,
  startActionElsewhere,
  styleAround,
  waitForFinalCard,
} from './support/request-steps.js';
import { REDIS_URL, type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';

let stack: Stack;
let client: TeamsClient;

beforeAll(async () => {
  stack = await startStack({
    env: { DEFENDER_API_RATE: ROOMY_API_RATE },
    // hang.ps1 runs 15 simulated minutes; a 30 s RunScript limit makes it time out within a real second or two.
    sim: { timings: { runScriptTimeoutMs: 30_000 } },
  });
  client = teamsClientFor(stack);
});
afterAll(async () => {
  await stack?.close();
});

/** The state of the request's BullMQ submit job: `completed` means no further attempt will be made. */
async function submitJobState(requestId: string): Promise<string> {
  const queue = new Queue('lr-submit', { connection: { url: REDIS_URL }, prefix: `${stack.prefix}:bull` });
  try {
    return (await (await queue.getJob(`submit-${requestId}`))?.getState()) ?? 'missing';
  } finally {
    await queue.close();
  }
}

describe('outcomes on the card', () => {
  it("headlines a script that exits 1 as failed, with Defender's Succeeded state and the errors still shown", async () => {
    const request = await askAndApprove(stack, client, 'run fail.ps1 on desktop-test');
    const card = await waitForFinalCard(stack, request.activity.id, /Succeeded/, (t) => /Exit code/.test(t));
    const text = cardText(card);
    expect(styleAround(card, 'Script failed (exit code 1)')).toBe('attention');
    expect(styleAround(card, 'Succeeded')).toBeUndefined();
    expect(text).toContain("Defender's action state: Succeeded");
    expect(text).toContain('Exit code 1');
    expect(styleAround(card, 'Exit code 1')).toBe('attention');
    expect(text).toMatch(/Access to the path 'C:\\Windows\\System32\\config\\SAM' is denied/);
    expect(text).not.toContain('Transcript started');
    expectCardsSafe(stack, request.activity.id);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
  });

  it('fails the request when Defender cannot run a script and shows the next command as not run', async () => {
    const request = await askAndApprove(
      stack,
      client,
      'run crash.ps1 then getfile C:\\windows\\TEMP\\crash.dmp.zip on desktop-test',
    );
    const card = await waitForFinalCard(stack, request.activity.id, /Failed/);
    const text = cardText(card);
    expect(text).toContain('the PowerShell host exited unexpectedly');
    expect(text).toContain('Not run');
    expect(text).toContain('Skipped because an earlier command failed.');
    expect(text).not.toContain('Succeeded');
    expect(downloadPaths(card)).toEqual([]);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
    expectCardsSafe(stack, request.activity.id);
  });

  it('reports a script that runs past the RunScript limit as timed out', async () => {
    const request = await askAndApprove(stack, client, 'run hang.ps1 on desktop-test');
    const card = await waitForFinalCard(stack, request.activity.id, /Timed out/);
    const text = cardText(card);
    expect(text).toMatch(/did not finish in time/);
    expect(text).not.toContain('Succeeded');
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
    expectCardsSafe(stack, request.activity.id);
  });

  it('cuts long output to fit the card and states the full size, which the transcript link delivers', async () => {
    const request = await askAndApprove(stack, client, 'run bigoutput.ps1 on desktop-test');
    const card = await waitForFinalCard(stack, request.activity.id, /Succeeded/, (t) => /Showing/.test(t));
    const text = cardText(card);
    expect(text).toContain('Exit code 0');
    expect(text).toContain('00001 pid=');
    expect(text).not.toContain('02500 pid='); // the last line did not fit
    const stated = /Showing [\d.]+ of (\d+) KB/.exec(text);
    expect(stated).not.toBeNull();

    // The full transcript is one click away, and it is as big as the card says.
    const [transcriptPath] = downloadPaths(card);
    expect(transcriptPath).toBeDefined();
    const download = await fetch(`${stack.botUrl}${transcriptPath}`);
    expect(download.status).toBe(200);
    const raw = Buffer.from(await download.arrayBuffer());
    const transcript = JSON.parse(raw.toString('utf8')) as { script_output: string };
    // Named for the device and script, and exactly the bytes whose size and SHA-256 the card states.
    expect(download.headers.get('content-disposition')).toMatch(
      /^attachment; filename="?desktop-test-bigoutput-transcript\.json"?$/,
    );
    expect(cardText(card)).toContain(`SHA-256 ${createHash('sha256').update(raw).digest('hex')}`);
    // The size stated is that of the cleaned output (banner, NULs and CRs removed), as the card shows it.
    const cleaned = cleanTranscriptText(transcript.script_output);
    expect(cleaned).toContain('02500 pid=');
    expect(Number(stated![1])).toBe(Math.round(Buffer.byteLength(cleaned) / 1024));

    expect(Buffer.byteLength(JSON.stringify(card))).toBeLessThanOrEqual(MAX_CARD_BYTES);
    expect(stack.teams.rateStatsFor(request.thread.id)?.largestActivityBytes).toBeLessThanOrEqual(
      MAX_CARD_BYTES,
    );
    expectCardsSafe(stack, request.activity.id);
  });

  it('serves a collected file through the bot under its own name, then shows its size and SHA-256 on the card', async () => {
    const request = await askAndApprove(
      stack,
      client,
      'getfile C:\\windows\\TEMP\\evidence.zip on desktop-test',
    );
    const card = await waitForFinalCard(stack, request.activity.id, /Succeeded/, (t) =>
      /Link expires/.test(t),
    );
    expect(cardText(card)).toContain('evidence.zip');
    expect(cardText(card)).toContain('Size and SHA-256 are shown here once the file has been downloaded.');
    const paths = downloadPaths(card);
    expect(paths).toHaveLength(1);
    expect(paths[0]).toMatch(new RegExp(`^/download/${request.requestId}/0/[A-Za-z0-9_-]+$`));

    const download = await fetch(`${stack.botUrl}${paths[0]}`, { redirect: 'manual' });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toMatch(
      /^attachment; filename="?evidence\.zip\.gz"?$/,
    );
    expect(download.headers.get('content-type')).toBe('application/gzip');
    const bytes = Buffer.from(await download.arrayBuffer());
    const content = gunzipSync(bytes).toString('utf8');
    expect(content).toContain('Simulated content of C:\\windows\\TEMP\\evidence.zip');

    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const updated = await waitForCard(stack, request.activity.id, new RegExp(`SHA-256 ${sha256}`));
    expect(cardText(updated)).toMatch(/evidence\.zip\.gz · [\d.]+ (bytes|KB)/);
    expectCardsSafe(stack, request.activity.id);
  });
});

describe('Defender refusals as clear failures', () => {
  it('explains a device group without automation and does not retry', async () => {
    const request = await askAndApprove(stack, client, 'run whoami.ps1 on kiosk-nogroup');
    const card = await waitForFinalCard(stack, request.activity.id, /Failed/);
    const text = cardText(card);
    expect(text).toContain('DisallowedOperation');
    expect(text).toMatch(/device group has no automation level/);
    expect(text).toMatch(/admin must change the device group/);
    expect(runCallsFor(stack, MACHINE_IDS.kiosk).map((c) => c.status)).toEqual([403]);
    expect(await submitJobState(request.requestId)).toBe('completed');
    expect(actionsOf(stack, request.requestId)).toHaveLength(0);
  });

  it('says the device is busy when another live response started after the card was posted', async () => {
    const request = await ask(stack, client, 'run whoami.ps1 on srv-db01');
    // Someone starts a session from the portal while the card waits for approval.
    const foreign = await startActionElsewhere(stack, MACHINE_IDS.server);
    await approve(client, request);

    const card = await waitForFinalCard(stack, request.activity.id, /Failed/);
    const text = cardText(card);
    expect(text).toContain('ActiveRequestAlreadyExists');
    expect(text).toMatch(/already has a live response session running/);
    expect(text).toMatch(/Ask again when it has finished/);
    // One call from the portal, one from the bot; the bot neither retried nor touched the other session.
    expect(runCallsFor(stack, MACHINE_IDS.server).map((c) => c.status)).toEqual([201, 400]);
    expect(await submitJobState(request.requestId)).toBe('completed');
    expect(stack.sim.control.calls({ method: 'POST', path: /cancel/ })).toHaveLength(0);
    expect(stack.sim.control.action(foreign.id)?.cancellationRequestor ?? null).toBeNull();
  });

  it('reports a 404 from Defender as a device Defender no longer knows, once', async () => {
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test2');
    stack.sim.control.injectFault({ method: 'POST', path: 'runliveresponse', kind: 'status', status: 404 });
    await approve(client, request);

    const card = await waitForFinalCard(stack, request.activity.id, /Failed/);
    const text = cardText(card);
    expect(text).toMatch(/Defender no longer knows desktop-test2\.contoso\.local/);
    expect(runCallsFor(stack, MACHINE_IDS.desktop2).map((c) => c.status)).toEqual([404]);
    expect(await submitJobState(request.requestId)).toBe('completed');
    expect(stack.sim.control.actions().filter((a) => a.machineId === MACHINE_IDS.desktop2)).toHaveLength(0);
  });
});
