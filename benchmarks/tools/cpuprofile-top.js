#!/usr/bin/env node
/**
 * Top self-time functions of a V8 .cpuprofile (written by `node --cpu-prof`), as a Markdown
 * table: share of the samples, and µs per report when --reports N is given.
 * Usage: node benchmarks/tools/cpuprofile-top.js FILE.cpuprofile [--top 25] [--reports N]
 *        [--by function|module]
 * --by module adds up self time per npm package, hopwatch package, Node built-in module or V8
 * pseudo-function ((garbage collector), (program)): which layer the time is spent in.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { arg } = require('../lib/util');

const file = process.argv[2];
const top = Number(arg('top', '25'));
const reports = Number(arg('reports', '0'));
const by = arg('by', 'function');
if (by !== 'function' && by !== 'module') {
  console.error('cpuprofile-top: --by must be function or module');
  process.exit(2);
}

/** The layer a call frame belongs to (for --by module). */
function moduleOf(cf) {
  const u = cf.url;
  if (!u) return cf.functionName || '(native)';
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = u.slice(nm + 14).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const pk = /\/packages\/([^/]+)\//.exec(u);
  if (pk) return `hopwatch ${pk[1]}`;
  if (u.startsWith('node:')) return u.split('/')[0];
  return path.basename(u);
}
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const dt = new Map(); // node id → µs
for (let i = 0; i < prof.samples.length; i++)
  dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const self = new Map(); // function label → µs
let total = 0;
for (const [id, us] of dt) {
  const cf = byId.get(id).callFrame;
  const where = cf.url ? `${path.basename(cf.url)}:${cf.lineNumber + 1}` : '';
  const label =
    by === 'module' ? moduleOf(cf) : `${cf.functionName || '(anonymous)'} ${where}`.trim();
  self.set(label, (self.get(label) ?? 0) + us);
  total += us;
}
const idle = self.get('(idle)') ?? 0;
const busy = total - idle;
console.log(
  `profile ${path.basename(file)}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s not idle`,
);
console.log('');
console.log(`| self time (not idle) | ${reports ? 'µs per report | ' : ''}${by} |`);
console.log(`| ---: | ${reports ? '---: | ' : ''}--- |`);
for (const [label, us] of [...self]
  .filter(([l]) => l !== '(idle)')
  .sort((a, b) => b[1] - a[1])
  .slice(0, top))
  console.log(
    `| ${((100 * us) / busy).toFixed(1)} % | ${reports ? (us / reports).toFixed(2) + ' | ' : ''}\`${label}\` |`,
  );
