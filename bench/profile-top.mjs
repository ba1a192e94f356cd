// The functions, or with --packages the packages, with the most self time in a V8 CPU profile
// (`node --cpu-prof`), as a share of the samples the thread was busy.
//
//   node bench/profile-top.mjs <file.cpuprofile> [entries] [--packages]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const byPackage = args.includes('--packages');
const [file, entries = '25'] = args.filter((arg) => arg !== '--packages');
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));

function keyOf({ functionName, url, lineNumber }) {
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/');
  if (!byPackage) return `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
  if (!where) return `(native) ${functionName}`;
  const parts = where.split('/');
  return where.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const self = new Map();
let idle = 0;
for (const id of profile.samples) {
  const frame = byId.get(id).callFrame;
  if (frame.functionName === '(idle)') idle += 1;
  else self.set(keyOf(frame), (self.get(keyOf(frame)) ?? 0) + 1);
}
const busy = profile.samples.length - idle;
console.log(
  `${profile.samples.length} samples, ${((100 * idle) / profile.samples.length).toFixed(1)}% idle; shares of the busy samples:`,
);
for (const [key, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(entries))) {
  console.log(`${((100 * count) / busy).toFixed(1).padStart(5)}%  ${key}`);
}
