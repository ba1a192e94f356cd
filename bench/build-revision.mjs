// Builds the apps of another revision of this repository, so that a bench can load it beside the
// current build in the same run (BENCH_OTHER_API). Uses this checkout's node_modules when the
// revision's package-lock.json is the same, else installs the revision's own (npm ci).
//
//   node bench/build-revision.mjs <revision> <directory>
//
// Prints the path of that build's api entry point.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [revision, target] = process.argv.slice(2);
if (!revision || !target) throw new Error('usage: node bench/build-revision.mjs <revision> <directory>');
const directory = resolve(target);
if (existsSync(directory)) rmSync(directory, { recursive: true });
mkdirSync(directory, { recursive: true });
const archive = execFileSync(
  'git',
  ['archive', revision, 'apps', 'libs', '.swcrc', 'package.json', 'package-lock.json'],
  {
    cwd: root,
    maxBuffer: 256 * 1024 * 1024,
  },
);
execFileSync('tar', ['-x', '-C', directory], { input: archive });
const lock = (path) => readFileSync(join(path, 'package-lock.json'), 'utf8');
if (lock(directory) === lock(root)) {
  symlinkSync(join(root, 'node_modules'), join(directory, 'node_modules'));
} else {
  execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: directory, stdio: 'inherit' });
}
execFileSync(
  join(directory, 'node_modules/.bin/swc'),
  ['apps', 'libs', '-d', 'dist', '--copy-files', '--quiet', '--only', '**/*.ts', '--ignore', '**/*.spec.ts'],
  { cwd: directory, stdio: 'inherit' },
);
console.log(join(directory, 'dist/apps/api/src/main.js'));
