import { SetMetadata } from '@nestjs/common';

export const PUBLIC_ROUTE = 'route:public';

/**
 * A route anyone may call without a key: probes, metrics. Every other route declares the
 * scopes it needs (`@RequireScopes` of the auth lib); a route with neither is refused.
 */
export const PublicRoute = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);
