import { summarizeFailures } from './sources.errors';

describe('summarizeFailures', () => {
  it('says of each provider, in the order it first failed, how many queries it failed and why', () => {
    expect(
      summarizeFailures([
        { provider: 'brave', reason: 'rate_limited', message: '429' },
        { provider: 'searxng', reason: 'timeout', message: 'no answer' },
        { provider: 'brave', reason: 'rate_limited', message: '429' },
        { provider: 'brave', reason: 'server_error', message: '502' },
      ]),
    ).toEqual([
      { provider: 'brave', queries: 3, reasons: { rate_limited: 2, server_error: 1 } },
      { provider: 'searxng', queries: 1, reasons: { timeout: 1 } },
    ]);
    expect(summarizeFailures([])).toEqual([]);
  });
});
