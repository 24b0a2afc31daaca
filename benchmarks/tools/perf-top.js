#!/usr/bin/env node
/**
 * CPU time by thread, layer and function of hopwatch processes, from a Linux `perf record`
 * (cpu-clock samples) taken over a benchmark's measured window (`distributed.js --perf DIR`).
 *
 * Why not only `--cpu-prof`: V8's profiler samples the main thread on a wall-clock timer, so on
 * a busy 2-core box a function that was descheduled (the broker or ClickHouse had the core)
 * is charged the time it waited. A long synchronous step such as ingest's message encoding
 * then looks three times its CPU cost. perf's cpu-clock samples count only time on a CPU, in
 * every thread, the kernel's part included (the receive system calls). JavaScript frames are
 * named through the processes' `--perf-basic-prof` maps (/tmp/perf-PID.map).
 *
 * Usage: node benchmarks/tools/perf-top.js perf.data --pids PID[,PID] [--names ingest,analyze]
 *        [--freq 499] [--reports N] [--top 20]
 * Prints, per process: CPU-s by thread (main = the event loop), then the main thread's CPU by
 * layer and its top functions, as µs per report when --reports N is given.
 */
'use strict';
const { execFileSync } = require('child_process');
const { arg } = require('../lib/util');

const file = process.argv[2];
const pids = arg('pids', '').split(',').filter(Boolean).map(Number);
const names = arg('names', '').split(',');
const freq = Number(arg('freq', '499'));
const reports = Number(arg('reports', '0'));
const top = Number(arg('top', '20'));
if (!file || !pids.length) {
  console.error('usage: perf-top.js perf.data --pids PID[,PID] [--names a,b] [--reports N]');
  process.exit(2);
}

/** The layer of a sampled frame: the kernel, a hopwatch package, an npm package, Node's own
 * JavaScript, the runtime (V8 and Node in the node binary), or another shared object. */
function layerOf(sym, dso) {
  if (dso === '[kernel.kallsyms]') return 'kernel (system calls, network stack)';
  if (sym.startsWith('JS:')) {
    const pk = /\/packages\/([^/]+)\/dist\//.exec(sym);
    if (pk) return `hopwatch ${pk[1]} (JS)`;
    const nm = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(sym);
    if (nm) return `${nm[1]} (JS)`;
    if (/ node:/.test(sym)) return 'Node built-ins (JS)';
    return 'other JS';
  }
  if (/^Builtins_/.test(sym)) return 'V8 builtins (ICs, allocation, calls)';
  if (/Scaveng|Marking|Sweep|Evacuat|Heap::|GCTracer|Compactor|MemoryAllocator/.test(sym))
    return 'garbage collector';
  const base = dso.split('/').pop();
  if (base === 'node') return 'V8 / Node runtime (C++)';
  if (/^lib(rdkafka|rdkafka\+\+)/.test(base) || /confluent-kafka/.test(base)) return 'librdkafka';
  if (/^libc\.so|^libstdc/.test(base)) return 'libc';
  return base || '(unknown)';
}

const out = execFileSync('perf', ['script', '-i', file, '-F', 'pid,tid,comm,ip,sym,dso'], {
  maxBuffer: 1 << 30,
  stdio: ['ignore', 'pipe', 'ignore'],
}).toString();

const procs = new Map(
  pids.map((p, i) => [
    p,
    {
      name: names[i] || String(p),
      threads: new Map(),
      layers: new Map(),
      syms: new Map(),
      main: 0,
    },
  ]),
);
const add = (m, k) => m.set(k, (m.get(k) ?? 0) + 1);
/** One sample: its thread, and the frame it was in (the first line of its call chain when
 * recorded with -g, else on the header line). */
function sample(pid, tid, comm, sym, dso) {
  const p = procs.get(pid);
  if (!p) return;
  const thread = tid === pid ? 'main' : comm;
  add(p.threads, thread);
  if (thread !== 'main') return;
  p.main++;
  const name = sym === '[unknown]' || !sym ? `[unknown] ${dso.split('/').pop()}` : sym;
  add(p.layers, layerOf(name, dso));
  add(p.syms, name);
}
// header: "comm  PID/TID  [ip sym (dso)]" (comm may hold spaces; PID/TID is the anchor);
// chain lines: "\tADDR sym (dso)"
const HEAD = /^\s*(\S.*?)\s+(\d+)\/(\d+)\s*(?:[0-9a-f]+\s+(.*?)\s+\(([^)]*)\))?\s*$/;
const FRAME = /^\s+[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$/;
let pending = null;
for (const line of out.split('\n')) {
  const h = HEAD.exec(line);
  if (h) {
    if (pending) sample(...pending, '[unknown]', '');
    pending = null;
    const pid = Number(h[2]);
    const tid = Number(h[3]);
    if (h[4] !== undefined) sample(pid, tid, h[1].trim(), h[4], h[5]);
    else pending = [pid, tid, h[1].trim()];
    continue;
  }
  if (pending) {
    const f = FRAME.exec(line);
    if (f) {
      sample(...pending, f[1], f[2]);
      pending = null;
    }
  }
}
if (pending) sample(...pending, '[unknown]', '');

const sec = (n) => n / freq;
const per = (n) => (reports ? ((sec(n) * 1e6) / reports).toFixed(2) : '');
for (const p of procs.values()) {
  const all = [...p.threads.values()].reduce((a, b) => a + b, 0);
  console.log(
    `## ${p.name}: ${sec(all).toFixed(2)} CPU-s sampled${reports ? `, ${per(all)} µs per report` : ''}`,
  );
  console.log('');
  console.log(`| thread | CPU-s | ${reports ? 'µs per report |' : ''}`);
  console.log(`| --- | ---: | ${reports ? '---: |' : ''}`);
  for (const [t, n] of [...p.threads].sort((a, b) => b[1] - a[1]))
    console.log(`| ${t} | ${sec(n).toFixed(2)} | ${reports ? `${per(n)} |` : ''}`);
  console.log('');
  console.log(`Main thread by layer (self time):`);
  console.log('');
  console.log(`| layer | share | ${reports ? 'µs per report |' : ''}`);
  console.log(`| --- | ---: | ${reports ? '---: |' : ''}`);
  for (const [l, n] of [...p.layers].sort((a, b) => b[1] - a[1]))
    console.log(`| ${l} | ${((100 * n) / p.main).toFixed(1)} % | ${reports ? `${per(n)} |` : ''}`);
  console.log('');
  console.log(`Main thread, top ${top} functions (self time):`);
  console.log('');
  console.log(`| function | share | ${reports ? 'µs per report |' : ''}`);
  console.log(`| --- | ---: | ${reports ? '---: |' : ''}`);
  for (const [s, n] of [...p.syms].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const short = s.replace(/^JS:[*~^]?/, '').replace(/\S*\/(packages|node_modules)\//, '$1/');
    console.log(
      `| \`${short}\` | ${((100 * n) / p.main).toFixed(1)} % | ${reports ? `${per(n)} |` : ''}`,
    );
  }
  console.log('');
}
