// The functions with the most self time in a V8 CPU profile (`node --cpu-prof`), as a share of
// the samples, with the JS files they come from.
//
//   node bench/profile-top.mjs <file.cpuprofile> [entries]
import { readFileSync } from 'node:fs';

const [file, entries = '25'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map();
for (const id of profile.samples) {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const where = url
    ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${lineNumber + 1}`
    : '';
  const key = `${functionName || '(anonymous)'} ${where}`.trim();
  self.set(key, (self.get(key) ?? 0) + 1);
}
const total = profile.samples.length;
const idle = [...self].filter(([key]) => key.startsWith('(idle)')).reduce((sum, [, count]) => sum + count, 0);
console.log(`${total} samples, ${((100 * idle) / total).toFixed(1)}% idle; shares of the busy samples:`);
for (const [key, count] of [...self]
  .filter(([k]) => !k.startsWith('(idle)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(entries))) {
  console.log(`${((100 * count) / (total - idle)).toFixed(1).padStart(5)}%  ${key}`);
}
