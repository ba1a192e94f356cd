import 'reflect-metadata';
import { AppConfig, ConfigError, appConfig } from '@app/config';
import { createFastifyAdapter, installCors, installSecurityHeaders } from '@app/http';
import {
  LifecycleState,
  installGracefulShutdown,
  installRequestLogging,
  useLeanAsyncResourceBind,
} from '@app/observability';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { ApiModule } from './api.module';
import { DOCUMENTS_PATH } from './documents/documents.controller';
import { applyGcSettings } from './gc-settings';
import { pagePolicies } from './http/pages';
import { setupOpenApi } from './openapi';

export async function createApiApp(config: AppConfig): Promise<NestFastifyApplication> {
  useLeanAsyncResourceBind();
  const adapter = createFastifyAdapter({
    bodyLimitBytes: config.httpBodyLimitBytes,
    bodyTimeoutMs: config.httpBodyTimeoutMs,
    headersTimeoutMs: config.httpHeadersTimeoutMs,
    // JSON escaping can double the text; the exact limit on the text itself is checked in the corpus.
    routeBodyLimits: [{ pathPrefix: DOCUMENTS_PATH, bodyLimitBytes: config.documentMaxBytes * 2 + 64 * 1024 }],
    trustProxy: config.trustProxy,
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule, adapter, {
    bufferLogs: true,
    // Fastify's own JSON parser only: it honours per-route body limits, and no form bodies.
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();
  installSecurityHeaders(fastify, pagePolicies(config));
  await installCors(fastify, config.corsOrigins);
  installRequestLogging(app.getHttpAdapter().getInstance());
  if (config.docsEnabled) setupOpenApi(app);
  return app;
}

async function bootstrap(): Promise<void> {
  const config = appConfig();
  applyGcSettings({ concurrentMarking: config.apiConcurrentMarking, pretenuring: config.apiPretenuring });
  const app = await createApiApp(config);
  const logger = app.get(Logger);
  const lifecycle = app.get(LifecycleState);
  installGracefulShutdown(app, {
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    beforeClose: async () => {
      // Readiness turns 503 first so load balancers stop sending before the server closes.
      lifecycle.markShuttingDown();
      await new Promise((resolve) => setTimeout(resolve, config.shutdownReadyDelayMs));
    },
  });
  await app.listen(config.port, config.host);
  logger.log({ port: config.port }, 'api listening', 'Bootstrap');
}

if (require.main === module) {
  bootstrap().catch((error: unknown) => {
    process.stderr.write(
      `api failed to start: ${error instanceof ConfigError ? error.message : String((error as Error)?.stack ?? error)}\n`,
    );
    process.exit(1);
  });
}
