import 'reflect-metadata';
import { AppConfig, ConfigError, appConfig } from '@app/config';
import { createFastifyAdapter, installSecurityHeaders } from '@app/http';
import {
  LifecycleState,
  installGracefulShutdown,
  installRequestLogging,
  useLeanAsyncResourceBind,
} from '@app/observability';
import { ResearchExecutionService, ResearchIntake, ResearchRunner } from '@app/research';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { WorkerModule } from './worker.module';

/** How long before the deadline a run still going is handed back to the queue. */
const HAND_BACK_MARGIN_MS = 3000;

export async function createWorkerApp(config: AppConfig): Promise<NestFastifyApplication> {
  useLeanAsyncResourceBind();
  // The worker's HTTP server exists for probes and metrics only.
  const adapter = createFastifyAdapter({
    bodyLimitBytes: 1024,
    bodyTimeoutMs: config.httpBodyTimeoutMs,
    headersTimeoutMs: config.httpHeadersTimeoutMs,
    trustProxy: config.trustProxy,
  });
  const app = await NestFactory.create<NestFastifyApplication>(WorkerModule, adapter, {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  installSecurityHeaders(app.getHttpAdapter().getInstance(), []);
  installRequestLogging(app.getHttpAdapter().getInstance());
  return app;
}

async function bootstrap(): Promise<void> {
  const config = appConfig();
  const app = await createWorkerApp(config);
  const logger = app.get(Logger);
  const lifecycle = app.get(LifecycleState);
  const intake = app.get(ResearchIntake);
  const execution = app.get(ResearchExecutionService);

  installGracefulShutdown(app, {
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    beforeClose: async (deadline) => {
      lifecycle.markShuttingDown();
      await intake.hold('shutdown');
      const handBackAt = deadline - Math.min(HAND_BACK_MARGIN_MS, config.shutdownTimeoutMs / 4);
      while (execution.activeRuns > 0 && Date.now() < handBackAt) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (execution.activeRuns > 0) {
        logger.warn({ runs: execution.activeRuns }, 'runs still going at the deadline; handing them back', 'Shutdown');
        await execution.handBackAll();
      }
    },
  });
  await app.listen(config.workerPort, config.host);
  logger.log(
    { port: config.workerPort, concurrency: config.queueConcurrency, engine: app.get(ResearchRunner).engine },
    'worker started',
    'Bootstrap',
  );
}

if (require.main === module) {
  bootstrap().catch((error: unknown) => {
    process.stderr.write(
      `worker failed to start: ${error instanceof ConfigError ? error.message : String((error as Error)?.stack ?? error)}\n`,
    );
    process.exit(1);
  });
}
