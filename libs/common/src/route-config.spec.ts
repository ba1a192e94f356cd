import 'reflect-metadata';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import { AddRouteConfig } from './route-config';

describe('AddRouteConfig', () => {
  it('keeps the values of every decorator on a handler, in either order', () => {
    class Routes {
      @AddRouteConfig({ metricsEndpoint: '/a' })
      @AddRouteConfig({ audit: { action: 'a.read' } })
      first(): void {}

      @AddRouteConfig({ audit: { action: 'b.read' } })
      @AddRouteConfig({ metricsEndpoint: '/b' })
      second(): void {}
    }
    const config = (name: 'first' | 'second') =>
      Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, Routes.prototype[name]) as Record<string, unknown>;
    expect(config('first')).toEqual({ metricsEndpoint: '/a', audit: { action: 'a.read' } });
    expect(config('second')).toEqual({ metricsEndpoint: '/b', audit: { action: 'b.read' } });
  });
});
