import { ValidationError } from './domain-error';
import { decodeCursor, encodeCursor } from './page-cursor';

describe('page cursor', () => {
  it('round-trips a position with millisecond precision', () => {
    const position = { createdAt: new Date('2026-11-25T10:30:00.123Z'), id: '3f0c2f7e-8b9a-4c1e-9a57-1d2c3b4a5e6f' };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it.each([
    ['not base64 JSON', 'not-a-cursor'],
    ['a JSON object', Buffer.from('{"a":1}').toString('base64url')],
    ['a bad date', Buffer.from('["yesterday","3f0c2f7e-8b9a-4c1e-9a57-1d2c3b4a5e6f"]').toString('base64url')],
    ['a bad id', Buffer.from('["2026-11-25T10:30:00.000Z","1 OR 1=1"]').toString('base64url')],
  ])('refuses %s as a validation error', (_, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(ValidationError);
  });

  const id = '3f0c2f7e-8b9a-4c1e-9a57-1d2c3b4a5e6f';
  const cursorAt = (date: string) => Buffer.from(JSON.stringify([date, id])).toString('base64url');

  it.each([
    ['the earliest JavaScript date', '-271821-04-20T00:00:00.000Z'],
    ['the latest JavaScript date', '+275760-09-13T00:00:00.000Z'],
    ['year 0000', '0000-01-01T00:00:00.000Z'],
    ['a date before 1970', '1969-12-31T23:59:59.999Z'],
    ['a day JavaScript rolls over', '2026-02-30T00:00:00.000Z'],
    ['a date without milliseconds', '2026-11-25T10:30:00Z'],
    ['a date with an offset', '2026-11-25T10:30:00.000+01:00'],
    ['a date alone', '2026-11-25'],
  ])('refuses a cursor holding %s, naming the cursor', (_, date) => {
    expect(() => decodeCursor(cursorAt(date))).toThrow(
      expect.objectContaining({ details: [{ field: 'cursor', message: 'cursor is not valid' }] }),
    );
  });

  it('accepts the bounds of the range', () => {
    expect(decodeCursor(cursorAt('1970-01-01T00:00:00.000Z')).createdAt.getTime()).toBe(0);
    expect(decodeCursor(cursorAt('9999-12-31T23:59:59.999Z')).createdAt.toISOString()).toBe('9999-12-31T23:59:59.999Z');
  });
});
