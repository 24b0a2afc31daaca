#!/usr/bin/env node
// What the fine rollups (hop_fine_100us, hop_fine_10ms: migration 7, store/src/console/) cost on
// a replay: the same capture replayed into a fresh embedded store with and without their two
// materialized views, alternating, ROUNDS times; prints process CPU (all threads, chDB included)
// and wall time per run, and the rows and bytes on disk of hops and the fine tables.
// Usage: npx tsc -b && node benchmarks/fine-rollup.js [CAPTURE=captures/demo-fabric.pcap] [ROUNDS=3]
//        node benchmarks/fine-rollup.js --simulate 500000 [ROUNDS]   (the replay benchmark's fabric)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { makeConfig } = require('@hopwatch/codec');
const { loadScenario, simulate, codecOverridesFor } = require('@hopwatch/simulator');
const { Pipeline, PcapReplaySource } = require('@hopwatch/pipeline');
const { openStore } = require('@hopwatch/store');
const { REPLAY_SCENARIO } = require('./lib/replay-scenario');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-fine-'));
let capture = process.argv[2] || path.join(__dirname, '../captures/demo-fabric.pcap');
let codec = makeConfig();
const rounds = Number(process.argv[process.argv[2] === '--simulate' ? 4 : 3] || 3);

async function run(withFine, i) {
  const store = await openStore({ dataDir: path.join(tmp, `d${i}-${withFine}`) });
  if (!withFine)
    for (const v of ['hop_fine_100us_mv', 'hop_fine_10ms_mv'])
      await store.command(`DROP TABLE ${v}`);
  const p = new Pipeline({ codec, store, onAnomaly: () => undefined });
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await new PcapReplaySource([capture]).run(p, new AbortController().signal);
  await p.close();
  const cpu = process.cpuUsage(cpu0);
  const wall = (Date.now() - t0) / 1000;
  const sizes = await store.query(
    "SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts WHERE active AND database = currentDatabase() AND table IN ('hops', 'hop_fine_100us', 'hop_fine_10ms') GROUP BY table ORDER BY table",
  );
  await store.close();
  return { cpu: (cpu.user + cpu.system) / 1e6, wall, hops: p.stats().hops, sizes };
}

(async () => {
  if (process.argv[2] === '--simulate') {
    const scenario = loadScenario(REPLAY_SCENARIO);
    capture = path.join(tmp, 'bench.pcap');
    simulate(scenario, { out: capture, limit: Number(process.argv[3] || 500000) });
    const { profile, overrides } = codecOverridesFor(scenario);
    codec = makeConfig(profile, overrides);
  }
  console.log(
    `${path.basename(capture)}, node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`,
  );
  const sum = { true: [], false: [] };
  for (let i = 0; i < rounds; i++)
    for (const withFine of [false, true]) {
      const r = await run(withFine, i);
      sum[withFine].push(r.cpu);
      console.log(
        `${withFine ? 'with   ' : 'without'} fine rollups: ${r.hops} hop rows, CPU ${r.cpu.toFixed(2)} s, wall ${r.wall.toFixed(2)} s; ${r.sizes.map((s) => `${s.table} ${s.rows} rows ${(Number(s.bytes) / 1024).toFixed(0)} KiB`).join(', ')}`,
      );
    }
  const med = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(
    `median CPU: without ${med(sum.false).toFixed(2)} s, with ${med(sum.true).toFixed(2)} s`,
  );
  fs.rmSync(tmp, { recursive: true, force: true });
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
