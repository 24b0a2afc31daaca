#!/usr/bin/env node
// Full decoder fuzz run: millions of truncated, bit-flipped, spliced and random packets.
// Usage: npx tsc -b packages/codec packages/pcap && node benchmarks/fuzz-decoder.js [iterations] [seed]
'use strict';
const fs = require('fs');
const path = require('path');
const { runFuzz, makeConfig, PROFILES } = require('@hopwatch/codec');
const { openCapture } = require('@hopwatch/pcap');

const iterations = Number(process.argv[2] || 5_000_000);
const seed = Number(process.argv[3] || 1);
const seeds = [];
for (const dir of [
  path.resolve(__dirname, '../../shared/captures'),
  path.resolve(__dirname, '../captures'),
]) {
  if (!fs.existsSync(dir)) continue;
  for (const f of fs.readdirSync(dir)) {
    if (!/\.pcap(ng)?$/.test(f)) continue;
    const r = openCapture(path.join(dir, f));
    let n = 0;
    for (let p = r.next(); p && n < 200; p = r.next(), n++) seeds.push(Uint8Array.from(p.data));
    r.close();
  }
}
const configs = Object.keys(PROFILES).map((p) => makeConfig(p));
const rep = runFuzz({ seeds, configs, iterations, seed });
console.log(`seeds: ${seeds.length} packets; profiles: ${configs.length}`);
console.log(
  `packets: ${rep.packets}  decoded: ${rep.decoded}  records: ${rep.records}  rejected: ${rep.rejected}`,
);
console.log(
  `internal errors: ${rep.internalErrors}  unaccounted: ${rep.unaccounted}  max hops/record: ${rep.maxHopsPerRecord}`,
);
console.log('rejections by reason:', rep.byReason);
console.log(
  `elapsed: ${(rep.elapsedMs / 1000).toFixed(1)} s (${Math.round(rep.packets / (rep.elapsedMs / 1000))} packets/s)`,
);
for (const e of rep.internalExamples) console.log('example:', e);
process.exit(rep.internalErrors === 0 && rep.unaccounted === 0 ? 0 : 1);
