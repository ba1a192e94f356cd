import { ExecutionContext, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Principal } from './principal';
import { Scope } from './scopes';

export const REQUIRED_SCOPES = 'route:scopes';

/** The scopes a route needs, every one of them (`admin` has them all). */
export const RequireScopes = (...scopes: Scope[]): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_SCOPES, scopes);

/** The request's principal, set by the auth guard before any handler runs. */
export function principalOf(request: { principal?: Principal }): Principal {
  if (!request.principal) throw new Error('no principal on the request: the auth guard did not run');
  return request.principal;
}

export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal =>
  principalOf(context.switchToHttp().getRequest<{ principal?: Principal }>()),
);
