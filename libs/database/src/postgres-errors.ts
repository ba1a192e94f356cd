/** SQLSTATE codes the persistence code reacts to. */
export const PG_UNIQUE_VIOLATION = '23505';
/** A value over one of PostgreSQL's own limits, such as the 1 MB of a tsvector. */
export const PG_PROGRAM_LIMIT_EXCEEDED = '54000';

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const driverError = (error as { driverError?: { code?: string; constraint?: string } })?.driverError ?? error;
  const { code, constraint: violated } = (driverError ?? {}) as { code?: string; constraint?: string };
  return code === PG_UNIQUE_VIOLATION && (constraint === undefined || violated === constraint);
}

export function isProgramLimitExceeded(error: unknown): boolean {
  const driverError = (error as { driverError?: { code?: string } })?.driverError ?? error;
  return (driverError as { code?: string } | undefined)?.code === PG_PROGRAM_LIMIT_EXCEEDED;
}
