// Runs the api and the worker together in the foreground, after creating and migrating the
// database. Reads `.env` when there is one. Ctrl-C (or SIGTERM) stops both gracefully.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const envFile = join(root, '.env');
const nodeArgs = existsSync(envFile) ? [`--env-file=${envFile}`] : [];
const entry = (app) => join(root, 'dist', 'apps', app, 'src', 'main.js');

for (const command of ['db:create', 'migrate']) {
  const result = spawnSync(process.execPath, [...nodeArgs, entry('cli'), command], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const children = ['api', 'worker'].map((app) =>
  spawn(process.execPath, [...nodeArgs, entry(app)], { stdio: 'inherit' }),
);
let stopping = false;
const stop = (signal) => {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
};
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));

let exitCode = 0;
await Promise.all(
  children.map(
    (child) =>
      new Promise((resolve) =>
        child.once('exit', (code) => {
          if (code) exitCode = code;
          stop('SIGTERM');
          resolve();
        }),
      ),
  ),
);
process.exit(exitCode);
