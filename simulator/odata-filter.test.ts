import { describe, expect, it } from 'vitest';
import { countFilterNodes, FilterSyntaxError, matchesFilter, parseODataFilter } from './odata-filter.js';

const actions = [
  { id: 'a1', status: 'Pending', machineId: 'm1', creationDateTimeUtc: '2024-05-01T10:00:00.0000000Z' },
  { id: 'a2', status: 'InProgress', machineId: 'm1', creationDateTimeUtc: '2024-05-02T10:00:00.0000000Z' },
  {
    id: "o'brien",
    status: 'Succeeded',
    machineId: 'm2',
    creationDateTimeUtc: '2024-05-03T10:00:00.0000000Z',
  },
];
const select = (filter: string) =>
  actions.filter((a) => matchesFilter(parseODataFilter(filter), a, ['creationDateTimeUtc'])).map((a) => a.id);

describe('parseODataFilter', () => {
  it('matches id in (...) lists', () => {
    expect(select("id in ('a1','a2')")).toEqual(['a1', 'a2']);
  });

  it('combines or, and and parentheses with the usual precedence', () => {
    expect(select("status eq 'Pending' or status eq 'Succeeded'")).toEqual(['a1', "o'brien"]);
    expect(select("machineId eq 'm1' and (status eq 'Pending' or status eq 'InProgress')")).toEqual([
      'a1',
      'a2',
    ]);
    expect(select("machineId eq 'm2' or machineId eq 'm1' and status eq 'Pending'")).toEqual([
      'a1',
      "o'brien",
    ]);
  });

  it('reads doubled single quotes inside string literals', () => {
    expect(select("id eq 'o''brien'")).toEqual(["o'brien"]);
  });

  it('compares datetimes quoted or unquoted', () => {
    expect(select('creationDateTimeUtc ge 2024-05-02T00:00:00Z')).toEqual(['a2', "o'brien"]);
    expect(select("creationDateTimeUtc lt '2024-05-02T00:00:00Z'")).toEqual(['a1']);
  });

  it('ignores case in string comparisons and startswith', () => {
    const machine = { computerDnsName: 'web01.contoso.local' };
    expect(matchesFilter(parseODataFilter("startswith(computerDnsName,'WEB01')"), machine)).toBe(true);
    expect(matchesFilter(parseODataFilter("computerDnsName eq 'Web01.Contoso.Local'"), machine)).toBe(true);
    expect(matchesFilter(parseODataFilter("not startswith(computerDnsName,'web02')"), machine)).toBe(true);
  });

  it.each([
    ["id eq 'a1", /unterminated string/],
    ['id eq', /expected a literal/],
    ["id eq 'a1' and", /expected a property name/],
    ["(id eq 'a1'", /expected '\)'/],
    ["id like 'a1'", /expected an operator/],
    ["id eq 'a1' status eq 'x'", /expected 'and', 'or'/],
    ['id eq @x', /unexpected character '@'/],
  ])('refuses %s', (filter, message) => {
    expect(() => parseODataFilter(filter)).toThrow(FilterSyntaxError);
    expect(() => parseODataFilter(filter)).toThrow(message);
  });

  it('refuses properties outside the allowed list', () => {
    expect(() => parseODataFilter("comment eq 'x'", ['id', 'status'])).toThrow(
      /could not find a property named 'comment'/,
    );
  });
});

describe('collection filters with any()', () => {
  const machines = [
    { id: 'm1', machineTags: ['finance-laptops', 'vip'] },
    { id: 'm2', machineTags: ['dmz'] },
    { id: 'm3', machineTags: [] },
  ];
  const tagged = (filter: string) =>
    machines
      .filter((m) => matchesFilter(parseODataFilter(filter, ['id', 'machineTags']), m))
      .map((m) => m.id);

  it("accepts Defender's documented tag filter and its spacings", () => {
    expect(tagged("machineTags/any(tag: tag eq 'finance-laptops')")).toEqual(['m1']);
    expect(tagged("machineTags/any(t:t eq 'DMZ')")).toEqual(['m2']);
    expect(tagged("machineTags/any(tag : tag eq 'vip') or id eq 'm3'")).toEqual(['m1', 'm3']);
  });

  it('counts the any() node, its collection and its body against the node limit', () => {
    expect(countFilterNodes(parseODataFilter("machineTags/any(tag: tag eq 'x')"))).toBe(6);
  });

  it('refuses a body naming an unknown property, and other collection functions', () => {
    expect(() => parseODataFilter("machineTags/any(tag: other eq 'x')", ['machineTags'])).toThrow(
      FilterSyntaxError,
    );
    expect(() => parseODataFilter("machineTags/all(tag: tag eq 'x')", ['machineTags'])).toThrow(
      FilterSyntaxError,
    );
  });
});
