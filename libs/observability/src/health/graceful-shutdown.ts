import { Server } from 'node:http';
import { INestApplication, INestApplicationContext, LoggerService } from '@nestjs/common';

export interface ShutdownPlan {
  /** Everything, including `app.close()`, must be done by then, or the process exits 1. */
  timeoutMs: number;
  logger: LoggerService;
  /** Work before the app closes: turning readiness off, draining jobs. Gets the deadline (epoch ms). */
  beforeClose?: (deadline: number) => Promise<void>;
}

/**
 * On SIGTERM or SIGINT: runs the plan, closes the app (HTTP server, queues, database), and exits
 * 0; exits 1 if that takes longer than the timeout. A second signal does not restart it. An
 * unhandled promise rejection is logged and exits 1, as Node's default would, except a Redis
 * command cut by the shutdown itself.
 */
export function installGracefulShutdown(app: INestApplicationContext, plan: ShutdownPlan): void {
  let started = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (started) return;
    started = true;
    void shutdown(signal);
  };

  const shutdown = async (signal: NodeJS.Signals) => {
    const deadline = Date.now() + plan.timeoutMs;
    plan.logger.log({ signal, timeout_ms: plan.timeoutMs }, 'shutting down', 'Shutdown');
    setTimeout(() => {
      plan.logger.error({ timeout_ms: plan.timeoutMs }, 'shutdown did not finish in time; exiting', 'Shutdown');
      process.exit(1);
    }, plan.timeoutMs).unref();
    try {
      await plan.beforeClose?.(deadline);
      // Keep-alive connections that finish their last request while the server closes would
      // otherwise stay open until their idle timeout: close them as soon as they are idle.
      const server = httpServerOf(app);
      const sweeper = setInterval(() => server?.closeIdleConnections(), 100);
      await app.close().finally(() => clearInterval(sweeper));
      plan.logger.log('shutdown complete', 'Shutdown');
      process.exit(0);
    } catch (error) {
      plan.logger.error({ err: error }, 'shutdown failed', 'Shutdown');
      process.exit(1);
    }
  };

  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', (reason: unknown) => {
    // Closing the queue's Redis connections cuts the commands Bull still has in flight, some of
    // which it never awaits (naming its connection at start-up): expected while shutting down.
    if (started && (reason as Error | undefined)?.message === 'Connection is closed.') {
      plan.logger.warn({ error: 'Connection is closed.' }, 'a Redis command was cut by the shutdown', 'Shutdown');
      return;
    }
    // Anything else is a bug: exit as Node would, with the error in the log.
    plan.logger.error({ err: reason }, 'unhandled promise rejection; exiting', 'Process');
    process.exit(1);
  });
}

function httpServerOf(app: INestApplicationContext): Server | undefined {
  const getHttpServer = (app as Partial<INestApplication>).getHttpServer;
  return typeof getHttpServer === 'function' ? (getHttpServer.call(app) as Server) : undefined;
}
