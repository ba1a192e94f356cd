// `npm run cli -- <command> [args]`: runs the CLI, building it first when dist/ has none.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
const envFile = join(root, '.env');
// As `npm start` does: settings from .env when there is one.
const nodeArgs = existsSync(envFile) ? [`--env-file=${envFile}`] : [];

if (!existsSync(entry)) {
  const built = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
const result = spawnSync(process.execPath, [...nodeArgs, entry, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
