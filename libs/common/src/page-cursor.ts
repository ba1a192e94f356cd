import { ValidationError } from './domain-error';

/** A position in a list ordered newest first by (created_at, id). */
export interface PageCursor {
  createdAt: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Opaque to clients: base64url of the last item's position in the newest-first order. */
export function encodeCursor(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString('base64url');
}

export function decodeCursor(value: string): PageCursor {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 2) {
      const [createdAt, id] = decoded as unknown[];
      const date = typeof createdAt === 'string' ? new Date(createdAt) : new Date(Number.NaN);
      if (!Number.isNaN(date.getTime()) && typeof id === 'string' && UUID.test(id)) return { createdAt: date, id };
    }
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError('cursor is not valid; use the next_cursor of a previous page', [
    { field: 'cursor', message: 'cursor is not valid' },
  ]);
}
