import { PinoLogger } from 'nestjs-pino';
import { Store, storage } from 'nestjs-pino/storage';

/**
 * Runs `work` with a logger bound to `bindings`: every log line written inside it, by any class
 * using Nest's Logger, carries them. The worker uses it to put a research's request id on every
 * line of its run.
 *
 * Connections, timers and sockets created during the run keep its async context after the run
 * is over (a Redis client that first connected inside it, a pooled database connection). Once
 * the run has ended, the lines they write carry no context instead of the finished run's.
 */
export async function runWithLogContext<T>(bindings: Record<string, unknown>, work: () => Promise<T>): Promise<T> {
  const parent = storage.getStore()?.logger ?? PinoLogger.root;
  const store = new Store(parent.child(bindings));
  try {
    return await storage.run(store, work);
  } finally {
    endLogContext(store);
  }
}

/** Detaches a finished operation's bindings from whatever still holds its async context. */
export function endLogContext(store: Store | undefined): void {
  if (store) store.logger = PinoLogger.root;
}
