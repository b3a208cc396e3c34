// Where the time went in a .cpuprofile (from `BENCH_CPU_PROF=DIR npm run bench`): the functions
// with the most self time, as a markdown table.
//   node bench/profile-top.mjs FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';

const [file, count = '25'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/profile-top.mjs FILE.cpuprofile [N]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const hits = new Map();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);

const self = new Map();
for (const [id, n] of hits) {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const where = url ? `${url.replace(/^file:\/\/.*?\/(node_modules|dist|src)\//, '$1/')}:${lineNumber + 1}` : '';
  const key = `${functionName || '(anonymous)'} ${where}`.trim();
  self.set(key, (self.get(key) ?? 0) + n);
}
const total = profile.samples.length;
const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, n]) => a + n, 0);
process.stdout.write(
  `${total} samples, ${((idle / total) * 100).toFixed(1)} % idle\n\n| self % of busy | function |\n| --: | --- |\n`,
);
for (const [key, n] of [...self]
  .filter(([k]) => !k.startsWith('(idle)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(count))) {
  process.stdout.write(`| ${((n / (total - idle)) * 100).toFixed(1)} | \`${key}\` |\n`);
}
