import { Scope } from './scopes';

/** Who is calling: the tenant they act for, the key they used (none when anonymous), what it may do. */
export interface Principal {
  tenantId: string;
  /** The key's id, or null for an anonymous call. */
  keyId: string | null;
  /** `key:<id>` or `anonymous`: who did it, for logs and the audit trail. */
  actor: string;
  scopes: ReadonlySet<Scope>;
}

/** Whether the principal may use a route that needs every one of `scopes`. */
export function allows(principal: Principal, scopes: readonly Scope[]): boolean {
  return principal.scopes.has(Scope.Admin) || scopes.every((scope) => principal.scopes.has(scope));
}
