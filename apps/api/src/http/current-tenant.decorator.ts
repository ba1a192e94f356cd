import { principalOf } from '@app/auth';
import { ExecutionContext, createParamDecorator } from '@nestjs/common';

/** The tenant the request acts for: its key's, or the default tenant's for an anonymous call. */
export const CurrentTenant = createParamDecorator(
  (_: unknown, context: ExecutionContext): string => principalOf(context.switchToHttp().getRequest()).tenantId,
);
