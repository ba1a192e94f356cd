/** What a key may do. `admin` may do everything, for every tenant. */
export enum Scope {
  ResearchRead = 'research:read',
  ResearchWrite = 'research:write',
  DocumentsRead = 'documents:read',
  DocumentsWrite = 'documents:write',
  AuditRead = 'audit:read',
  Admin = 'admin',
}

export const ALL_SCOPES: readonly Scope[] = Object.values(Scope);

/** What a call without a key may do when keys are not required: everything but administration. */
export const ANONYMOUS_SCOPES: readonly Scope[] = ALL_SCOPES.filter((scope) => scope !== Scope.Admin);

export function isScope(value: string): value is Scope {
  return (ALL_SCOPES as readonly string[]).includes(value);
}
