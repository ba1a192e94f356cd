// An API key for a bench, made with the CLI as an operator would, so that the api runs as in
// production: keys required, each call authenticated.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function createApiKey(env, scopes = 'research:read,research:write,documents:read,documents:write') {
  const result = spawnSync(
    process.execPath,
    // The default tenant: the one `ingest` fills without --tenant.
    [join(root, 'dist/apps/cli/src/main.js'), 'keys', 'create', '--tenant', 'default', '--scopes', scopes],
    { env, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`keys create failed: ${result.stderr}`);
  return result.stdout.trim().split('\n').at(-1);
}

/**
 * Rate limits stay on (every request is counted in Redis, as in production) but so high that
 * the bench's own load never meets them.
 */
export const UNREACHED_RATE_LIMITS = { RATE_LIMIT_READS: '1000000', RATE_LIMIT_WRITES: '1000000' };
