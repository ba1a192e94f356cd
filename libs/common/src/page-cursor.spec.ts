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
});
