#!/usr/bin/env node
/**
 * Two builds of @hopwatch/analytics side by side in one process: CPU per report of the
 * detectors as analyze runs them (one Analyzer per topic partition, 12 partitions of the three
 * topics, lib/analyze-input.js), alternating the builds round by round, so that the box's noise
 * falls on both. Each build gets its own analyzers and its own decoded copy of the input, whose
 * times move on pass after pass.
 *
 * Usage: node benchmarks/tools/analyzer-ab.js DIR_A DIR_B [seconds per round ×10, default 2]
 *   DIR_A, DIR_B: compiled packages (the `dist` of packages/analytics at two commits, e.g.
 *   `cp -r packages/analytics/dist /tmp/analytics-before` before rebuilding).
 * Prints each build's lowest and median µs per report over 20 rounds, and B's lowest / A's.
 * Differences of a few % are not resolved: the same build in both places has given B / A of
 * 0.956-0.970 (run `analyzer-ab.js DIR DIR` for the floor on the machine at hand).
 */
'use strict';
const path = require('path');
const Module = require('module');

const ROOT = path.resolve(__dirname, '../..');
// builds copied out of the tree resolve their dependencies from the repository's
process.env.NODE_PATH = path.join(ROOT, 'node_modules');
Module._initPaths();

const { decodeMessage } = require(path.join(ROOT, 'packages/pipeline'));
const {
  analyzeInput,
  later,
  batchFor,
  partitionAnalyzers,
  PARTS,
} = require('../lib/analyze-input');

const dirs = process.argv.slice(2, 4);
if (dirs.length !== 2) {
  console.error('usage: analyzer-ab.js DIR_A DIR_B [seconds]');
  process.exit(2);
}
const seconds = Number(process.argv[4] || 2);
const N = 4096;
const ROUNDS = 64;
const { batches, passSec } = analyzeInput(N, ROUNDS);

const builds = dirs.map((d) => {
  const { Analyzer } = require(path.resolve(d));
  const analyzers = partitionAnalyzers(() => new Analyzer());
  // decoded once (the rounds time the detectors only), moved later pass after pass
  const decoded = batches.map((b) =>
    b.byPartition.map((m) => {
      const batch = batchFor(m.kind, N);
      decodeMessage(m.kind, m.value, batch);
      return { ...m, batch };
    }),
  );
  return { analyzers, decoded, k: 0 };
});

function round(bd) {
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  let n = 0;
  while (Date.now() - t0 < seconds * 100) {
    const list = bd.decoded[bd.k % ROUNDS];
    if (++bd.k > ROUNDS) for (const m of list) later(m.batch, 1, passSec);
    for (const m of list) {
      const a = bd.analyzers[m.kind][m.partition];
      a.process(m.batch, PARTS[m.kind]);
      a.flush();
    }
    n += N;
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

const runs = [[], []];
for (let r = 0; r < 20; r++)
  for (const i of r % 2 ? [1, 0] : [0, 1]) runs[i].push(round(builds[i]));
const low = (a) => Math.min(...a);
const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
const f = (x) => x.toFixed(3);
for (let i = 0; i < 2; i++)
  console.log(`${dirs[i]}: lowest ${f(low(runs[i]))}, median ${f(med(runs[i]))} µs per report`);
console.log(`B / A (lowest): ${(low(runs[1]) / low(runs[0])).toFixed(3)}`);
