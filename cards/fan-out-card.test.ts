// The fan-out card: a row per device with its own pre-flight or state, a summary line, the buttons each phase needs,
// and within Teams' 28 KB whatever its devices printed (measured for the issue's 20 devices with long outputs).
import { describe, expect, it } from 'vitest';
import { cardSizeBytes, MAX_CARD_BYTES } from './adaptive-card.js';
import { buildFanOutCardData, renderFanOutCard } from './fan-out-card.js';
import { FIXTURE_NOW, fixtureFanOut, fixtureOptions } from './fixtures.js';

const text = (value: unknown) => JSON.stringify(value);

describe('the fan-out card', () => {
  it('asks once for every device, showing the ones pre-flight left out and why', () => {
    const { parent, children } = fixtureFanOut(4, { state: 'AwaitingApproval' });
    const card = renderFanOutCard(parent, children, fixtureOptions({ viewer: 'everyone' }));
    const data = buildFanOutCardData(parent, children, fixtureOptions({ viewer: 'everyone' }));
    expect(data.title).toBe('Live response LR-F4N0UT');
    expect(data.commandsText).toBe('run collect.ps1 -Quick on 3 devices');
    expect(data.devicesHeading).toBe('Devices: 3 included, 1 left out');
    expect(data.rows.map((r) => r.stateText)).toEqual(['Left out', 'Will run', 'Will run', 'Will run']);
    expect(data.rows[0]!.detail).toContain('Defender has no device called unknown-pc');
    expect(data.approve.visible).toBe(true);
    expect(data.cancel.title).toBe('Cancel');
    expect(text(card)).not.toContain('${');
  });

  it('shows each device’s state, exit code and transcript link, and the summary line', () => {
    const { parent, children } = fixtureFanOut(11);
    const data = buildFanOutCardData(parent, children, fixtureOptions({ viewer: 'everyone' }));
    expect(data.statusLines.map((l) => l.text)).toContain('8 of 10 succeeded, 1 failed, 1 timed out');
    expect(data.badge.text).toBe('Finished with failures');
    const succeeded = data.rows[1]!;
    expect([succeeded.stateText, succeeded.exitCodeText]).toEqual(['Succeeded', 'Exit code 0']);
    expect(succeeded.links).toEqual([
      { title: 'Transcript', url: 'https://lr-bot.contoso.com/download/LR-C00001/0/k1' },
    ]);
    const failed = data.rows[9]!;
    expect([failed.stateText, failed.exitCodeText, failed.exitCodeStyle]).toEqual([
      'Failed',
      'Exit code 1',
      'attention',
    ]);
    expect(data.rows[10]!.stateText).toBe('Timed out');
    expect(data.rows.some((r) => r.hasCancel)).toBe(false);
  });

  it('offers Cancel all and a Cancel per running device while devices run', () => {
    const { parent, children } = fixtureFanOut(6, { state: 'Running' });
    const data = buildFanOutCardData(parent, children, fixtureOptions({ viewer: 'everyone' }));
    expect(data.cancel).toEqual({ visible: true, title: 'Cancel all' });
    const running = data.rows.filter((r) => r.stateText === 'Running' || r.stateText === 'Pending');
    expect(running.length).toBeGreaterThan(0);
    for (const row of running) {
      expect(row.hasCancel).toBe(true);
      expect(row.cancelTitle).toBe(`Cancel ${row.name.split('.')[0]}`);
    }
    expect(data.statusLines.map((l) => l.text).join('\n')).toMatch(/not finished/);
  });

  it('stays within 28 KB for 20 devices with long outputs, names and failures, and says where the rest is', () => {
    const { parent, children } = fixtureFanOut(21, { outputChars: 60_000, state: 'Running' });
    for (const child of children.values()) {
      child.device = {
        ...child.device,
        computerDnsName: `${'verylongname-'.repeat(4)}${child.device.computerDnsName}`,
      };
      child.failure = { code: 'ActionFailed', message: 'E'.repeat(2_000) };
      child.commands = [...child.commands, { type: 'GetFile', path: 'C:\\windows\\TEMP\\out.zip' }];
      child.progress = [
        ...child.progress,
        { status: 'Completed', errors: [], link: { id: 'g', expiresAt: '2024-05-14T09:50:00Z' } },
      ];
    }
    const card = renderFanOutCard(parent, children, fixtureOptions({ viewer: 'everyone', now: FIXTURE_NOW }));
    const bytes = cardSizeBytes(card);
    console.info(`fan-out card, 20 devices with long outputs: ${bytes} bytes`);
    expect(bytes).toBeLessThanOrEqual(MAX_CARD_BYTES);
    expect(text(card)).not.toContain('x'.repeat(100));

    // Far past what one card can draw: rows are cut, and the card says how to see every device.
    const big = fixtureFanOut(101, { state: 'Running' });
    const bigCard = renderFanOutCard(big.parent, big.children, fixtureOptions({ viewer: 'everyone' }));
    expect(cardSizeBytes(bigCard)).toBeLessThanOrEqual(MAX_CARD_BYTES);
    expect(text(bigCard)).toMatch(/more devices not shown to fit the card: type `status LR-F4N0UT`/);
  });
});

describe('the fan-out card after no approval', () => {
  it('shows every included device as not run when the request was rejected', () => {
    const { parent, children } = fixtureFanOut(3, { state: 'AwaitingApproval' });
    const rejected = {
      ...parent,
      state: 'Rejected' as const,
      decision: {
        kind: 'rejected' as const,
        by: parent.approvers[0]!,
        at: parent.createdAt,
        reason: 'wrong VLAN',
      },
    };
    const data = buildFanOutCardData(rejected, children, fixtureOptions({ viewer: 'everyone' }));
    expect(data.rows.map((r) => r.stateText)).toEqual(['Left out', 'Not run', 'Not run']);
    expect(data.statusLines.map((l) => l.text)).toContain('Rejected by Marcus Chen: wrong VLAN');
    expect(data.approve.visible || data.cancel.visible).toBe(false);
  });

  it('names who is on call and from which source while it waits', () => {
    const { parent, children } = fixtureFanOut(3, { state: 'AwaitingApproval' });
    parent.onCall = [
      {
        tier: 1,
        resolvedAt: parent.createdAt,
        people: [],
        sources: [
          {
            source: 'shifts:SOC Tier 1',
            people: [{ aadObjectId: parent.approvers[0]!.aadObjectId!, name: 'Marcus Chen' }],
          },
        ],
      },
    ];
    const data = buildFanOutCardData(parent, children, fixtureOptions({ viewer: 'everyone' }));
    expect(data.approval.waitingText).toContain('On call (shifts:SOC Tier 1): Marcus Chen');
  });
});
