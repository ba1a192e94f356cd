import { isUnavailableError } from './unavailable';

describe('isUnavailableError', () => {
  it('recognises unreachable and restarting servers, also wrapped by the driver', () => {
    expect(
      isUnavailableError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })),
    ).toBe(true);
    expect(isUnavailableError({ message: 'query failed', driverError: { code: '57P01' } })).toBe(true);
    expect(isUnavailableError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isUnavailableError(new Error('Connection is closed.'))).toBe(true);
    expect(isUnavailableError({ message: 'x', cause: { code: '57P03' } })).toBe(true);
  });

  it('does not take bad data or bugs for an outage', () => {
    expect(isUnavailableError({ code: '22P02', message: 'invalid input syntax for type json' })).toBe(false);
    expect(isUnavailableError({ code: '23505', message: 'duplicate key value' })).toBe(false);
    expect(isUnavailableError(new TypeError('x is undefined'))).toBe(false);
    expect(isUnavailableError(undefined)).toBe(false);
  });
});
