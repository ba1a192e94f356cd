import { AppConfig } from './app-config';
import { loadConfig } from './load-config';

let cached: AppConfig | undefined;

/**
 * The process configuration, read from the environment once. Decorators that are evaluated at
 * import time (queue concurrency, logger options) read it here too, so the environment is read in
 * this one place.
 */
export function appConfig(): AppConfig {
  cached ??= loadConfig(process.env);
  return cached;
}
