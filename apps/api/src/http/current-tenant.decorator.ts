import { DEFAULT_TENANT_ID } from '@app/common';
import { ExecutionContext, createParamDecorator } from '@nestjs/common';

/**
 * The tenant of the request. Until API keys assign tenants, every request belongs to the
 * default tenant; the auth guard will set `request.tenantId`.
 */
export const CurrentTenant = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const request = context.switchToHttp().getRequest<{ tenantId?: string }>();
  return request.tenantId ?? DEFAULT_TENANT_ID;
});
