import { PinoLogger } from 'nestjs-pino';
import { Store, storage } from 'nestjs-pino/storage';

/**
 * Runs `work` with a logger bound to `bindings`: every log line written inside it, by any class
 * using Nest's Logger, carries them. The worker uses it to put a research's request id on every
 * line of its run.
 */
export function runWithLogContext<T>(bindings: Record<string, unknown>, work: () => Promise<T>): Promise<T> {
  const parent = storage.getStore()?.logger ?? PinoLogger.root;
  return storage.run(new Store(parent.child(bindings)), work);
}
