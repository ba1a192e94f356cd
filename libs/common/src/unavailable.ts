/** Network errors and PostgreSQL's "server unavailable" states: the same operation may succeed later. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08006',
]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Connection is closed|the database system is (starting up|shutting down)|has encountered a connection error and is not queryable/i;

/**
 * Whether an error, or the driver error it wraps, says a server (PostgreSQL, Redis) could not be
 * reached or is restarting: the operation may succeed later, and is not the request's fault.
 */
export function isUnavailableError(error: unknown): boolean {
  for (
    let current = error as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown } | undefined,
      depth = 0;
    current && depth < 5;
    depth += 1
  ) {
    if (typeof current.code === 'string' && UNAVAILABLE_CODES.has(current.code)) return true;
    if (typeof current.message === 'string' && UNAVAILABLE_MESSAGES.test(current.message)) return true;
    current = (current.driverError ?? current.cause) as typeof current;
  }
  return false;
}
