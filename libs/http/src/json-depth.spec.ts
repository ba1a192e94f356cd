import { jsonNestsDeeperThan } from './json-depth';

const nested = (depth: number, inner = '1') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

describe('jsonNestsDeeperThan', () => {
  it('counts objects and arrays alike, up to the limit included', () => {
    expect(jsonNestsDeeperThan(nested(32), 32)).toBe(false);
    expect(jsonNestsDeeperThan(nested(33), 32)).toBe(true);
    expect(jsonNestsDeeperThan('{"a":{"b":[{"c":1}]}}', 4)).toBe(false);
    expect(jsonNestsDeeperThan('{"a":{"b":[{"c":1}]}}', 3)).toBe(true);
  });

  it('measures depth, not the number of brackets', () => {
    const wide = `[${Array.from({ length: 10_000 }, () => '{"a":[1]}').join(',')}]`;
    expect(jsonNestsDeeperThan(wide, 3)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonNestsDeeperThan(`{"q":"${'['.repeat(100)}"}`, 1)).toBe(false);
    expect(jsonNestsDeeperThan(`{"q":"\\"${'{'.repeat(100)}\\\\"}`, 1)).toBe(false);
    expect(jsonNestsDeeperThan(`{"q":"\\\\",${'"a":['.repeat(5)}`, 3)).toBe(true);
  });

  it('scans a body of a million levels without overflowing the stack', () => {
    expect(jsonNestsDeeperThan(nested(1_000_000), 32)).toBe(true);
    expect(jsonNestsDeeperThan(`{"a":${'['.repeat(1_000_000)}`, 32)).toBe(true);
  });
});
