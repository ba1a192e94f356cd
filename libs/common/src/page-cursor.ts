import { ValidationError } from './domain-error';

/** A position in a list ordered newest first by (created_at, id). */
export interface PageCursor {
  createdAt: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What `Date.prototype.toISOString` writes for the years 0000 to 9999. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/**
 * Rows are stamped by our own clock, so a real cursor lies between these. The bounds also keep
 * the value inside what PostgreSQL's timestamptz accepts: JavaScript dates reach years that it
 * refuses (22008), and a hand-made cursor must be a 400, not a database error.
 */
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Opaque to clients: base64url of the last item's position in the newest-first order. */
export function encodeCursor(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString('base64url');
}

export function decodeCursor(value: string): PageCursor {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 2) {
      const [createdAt, id] = decoded as unknown[];
      const date = typeof createdAt === 'string' ? canonicalInstant(createdAt) : undefined;
      if (date && typeof id === 'string' && UUID.test(id)) return { createdAt: date, id };
    }
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError('cursor is not valid; use the next_cursor of a previous page', [
    { field: 'cursor', message: 'cursor is not valid' },
  ]);
}

/** The date of an instant written exactly as `encodeCursor` writes it, within the bounds above. */
function canonicalInstant(text: string): Date | undefined {
  if (!ISO_INSTANT.test(text)) return undefined;
  const date = new Date(text);
  const time = date.getTime();
  // The round trip refuses dates that JavaScript rolls over, such as February 30.
  if (Number.isNaN(time) || time < EARLIEST || time > LATEST || date.toISOString() !== text) return undefined;
  return date;
}
