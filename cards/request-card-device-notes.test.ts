// The device notes on the request card: older records of a re-imaged device that the pre-flight set aside, and
// what the pre-flight's busy check could see (not sessions opened in the portal).
import { describe, expect, it } from 'vitest';
import type { LiveResponseRequest, RequestState } from '../core/request.js';
import { ALL_STATES, fixtureOptions, fixtureRequest } from './fixtures.js';
import { renderRequestCard } from './request-card.js';

function facts(request: LiveResponseRequest): Record<string, string> {
  const card = JSON.stringify(renderRequestCard(request, fixtureOptions({ viewer: 'approver' })));
  const found = /"type":"FactSet"[^\]]*"facts":(\[[^\]]*\])/.exec(card);
  if (!found) throw new Error('no FactSet on the card');
  const list = JSON.parse(found[1]!) as { title: string; value: string }[];
  return Object.fromEntries(list.map((fact) => [fact.title, fact.value]));
}

function withOlderRecords(state: RequestState, healthStatuses: string[]): LiveResponseRequest {
  const request = fixtureRequest(state);
  return {
    ...request,
    device: {
      ...request.device,
      olderRecords: healthStatuses.map((healthStatus, index) => ({
        machineId: `${index}`.repeat(40),
        healthStatus,
        lastSeen: '2024-03-01T10:00:00Z',
      })),
    },
  };
}

describe('older records of the device', () => {
  it('says how many older records of the name were ignored and which machine id the request uses', () => {
    const request = withOlderRecords('AwaitingApproval', ['Inactive', 'Inactive']);
    expect(facts(request)['Older records']).toBe(
      `2 older Inactive records of this name were ignored (this request uses machine id ${request.device.machineId})`,
    );
  });

  it('names each health status, so an older Active record is not hidden among Inactive ones', () => {
    expect(facts(withOlderRecords('Succeeded', ['Active', 'Inactive']))['Older records']).toMatch(
      /^1 older Active record and 1 older Inactive record of this name were ignored/,
    );
    expect(facts(withOlderRecords('Pending', ['Inactive']))['Older records']).toMatch(
      /^1 older Inactive record of this name was ignored/,
    );
  });

  it('shows nothing about older records when there were none', () => {
    expect(facts(fixtureRequest('AwaitingApproval'))).not.toHaveProperty('Older records');
  });
});

describe('what the busy check saw', () => {
  it('says on the approval card that portal sessions are not visible, never that the device is free', () => {
    const shown = facts(fixtureRequest('AwaitingApproval'))['Other sessions'];
    expect(shown).toBe(
      'No live response from the API is pending on this device; sessions opened in the portal are not visible to the bot',
    );
    const card = JSON.stringify(renderRequestCard(fixtureRequest('AwaitingApproval'), fixtureOptions()));
    expect(card).not.toMatch(/device is (free|idle)|no live response (is )?running/i);
  });

  it.each(ALL_STATES.filter((state) => state !== 'AwaitingApproval'))(
    'leaves the pre-flight note off once the request is %s',
    (state) => {
      expect(facts(fixtureRequest(state))).not.toHaveProperty('Other sessions');
    },
  );
});
