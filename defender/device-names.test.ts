import { describe, expect, it } from 'vitest';
import { countFilterNodes, parseODataFilter } from '../simulator/odata-filter.js';
import { machinesFilterPart, quoteODataString } from './defender-client.js';
import { devicesFilter } from './device-names.js';

const ID = 'ab'.repeat(20);

describe('devicesFilter', () => {
  it('puts ids and names in in-lists and adds a startswith per short name', () => {
    expect(
      devicesFilter([ID, 'web01.contoso.local', 'desktop-test', 'srv-db01'], quoteODataString).filter,
    ).toBe(
      `id eq '${ID}' or computerDnsName in ('web01.contoso.local','desktop-test','srv-db01') or ` +
        "startswith(computerDnsName,'desktop-test.') or startswith(computerDnsName,'srv-db01.')",
    );
  });

  it("counts the nodes the way Defender's OData validation (the simulator's parser) counts them", () => {
    const cases = [
      [ID],
      ['desktop-test'],
      Array.from({ length: 19 }, (_, i) => `ws-${i}`),
      [ID, `${'cd'.repeat(20)}`, 'web01.contoso.local', "o'brien", 'desktop-test'],
    ];
    for (const devices of cases) {
      const part = devicesFilter(devices, quoteODataString);
      expect(part.nodes).toBe(countFilterNodes(parseODataFilter(part.filter)));
      const combined = machinesFilterPart({ devices, dnsNameStartsWith: 'web' })!;
      expect(combined.nodes).toBe(countFilterNodes(parseODataFilter(combined.filter)));
    }
  });
});
