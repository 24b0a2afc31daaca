#!/usr/bin/env node
// End-to-end replay benchmark: a simulated capture of N records (INT v2.1 MD over UDP, leaf-spine
// fabric, 0xFF00 bitmap, snaplen so the file holds the headers and INT stacks) replayed through
// decode → analytics → embedded store (chDB), as `hopwatch replay` does. Prints records/s, hop
// rows/s, peak RSS, then checks the stored row count.
// --again: then replay the same capture into the same store once more (the capture ledger skips
// every record: nothing new is stored) and print that run's figures.
// Usage: npx tsc -b packages/cli && node benchmarks/replay.js [records=10000000] [--no-store] [--keep FILE] [--batch-rows N] [--max-writes N] [--no-merges] [--again]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { makeConfig } = require('@hopwatch/codec');
const { loadScenario, simulate, codecOverridesFor } = require('@hopwatch/simulator');
const { Pipeline, PcapReplaySource } = require('@hopwatch/pipeline');
const { openStore } = require('@hopwatch/store');
const { performance } = require('node:perf_hooks');
const { REPLAY_SCENARIO } = require('./lib/replay-scenario');

const records = Number(process.argv[2] || 10_000_000);
const noStore = process.argv.includes('--no-store');
const keepAt = process.argv.indexOf('--keep');
const brAt = process.argv.indexOf('--batch-rows');
const batchRows = brAt > 0 ? Number(process.argv[brAt + 1]) : undefined;
const mwAt = process.argv.indexOf('--max-writes');
const maxWrites = mwAt > 0 ? Number(process.argv[mwAt + 1]) : undefined;
// diagnostic only: what the engine's background merges cost (parts then pile up)
const noMerges = process.argv.includes('--no-merges');
const again = process.argv.includes('--again');
// experiments: MergeTree settings for hops and paths, e.g. --merge-settings min_parts_to_merge_at_once=10
const msAt = process.argv.indexOf('--merge-settings');
const mergeSettings = msAt > 0 ? process.argv[msAt + 1] : '';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-replay-'));
const capture = keepAt > 0 ? process.argv[keepAt + 1] : path.join(tmp, 'bench.pcap');

const scenario = loadScenario(REPLAY_SCENARIO);

(async () => {
  if (!fs.existsSync(capture)) {
    const t = Date.now();
    const r = simulate(scenario, { out: capture, limit: records });
    console.log(
      `generated ${r.stats.packets ?? records} packets in ${((Date.now() - t) / 1000).toFixed(1)} s → ${(fs.statSync(capture).size / 1e9).toFixed(2)} GB`,
    );
  }
  const { profile, overrides } = codecOverridesFor(scenario);
  const store = noStore
    ? null
    : await openStore({ dataDir: path.join(tmp, 'data'), batchRows, maxWrites });
  if (store && noMerges)
    for (const t of ['hops', 'paths']) await store.command(`SYSTEM STOP MERGES ${t}`);
  if (store && mergeSettings)
    for (const t of ['hops', 'paths'])
      await store.command(`ALTER TABLE ${t} MODIFY SETTING ${mergeSettings}`);
  const pipeline = new Pipeline({
    codec: makeConfig(profile, overrides),
    store,
    onAnomaly: () => undefined,
  });
  let peakRss = 0;
  const mon = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  // CPU of the main (JS) thread alone: utime + stime of the process's first task, in clock ticks
  const mainCpu = () => {
    try {
      const f = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
      const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
      return (Number(v[11]) + Number(v[12])) / 100;
    } catch {
      return NaN;
    }
  };
  const main0 = mainCpu();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = Date.now();
  await new PcapReplaySource([capture]).run(pipeline, new AbortController().signal);
  await pipeline.close();
  const secs = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mainSecs = mainCpu() - main0;
  const elu = performance.eventLoopUtilization(elu0);
  clearInterval(mon);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const st = pipeline.stats();
  console.log(
    `node ${process.version}, ${os.cpus().length} cores, store: ${noStore ? 'none' : 'embedded chDB'}`,
  );
  console.log(
    `records ${st.records}, hops ${st.hops}, anomalies ${st.anomalies}, rejected ${JSON.stringify(st.rejected)}, store errors ${st.storeErrors}${st.lastStoreError ? ` (last: ${st.lastStoreError.split('\n')[0]})` : ''}`,
  );
  console.log(
    `wall ${secs.toFixed(1)} s: ${Math.round(st.records / secs)} records/s, ${Math.round(st.hops / secs)} hop rows/s; process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, of which the main thread ${mainSecs.toFixed(1)} s (main thread busy ${(elu.utilization * 100).toFixed(0)}% of the wall time); peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
  );
  if (store) {
    const rows = await store.query('SELECT count() AS n FROM hops', 'json');
    console.log(
      `stored hop rows: ${rows[0].n}${Number(rows[0].n) === st.hops ? ' (all)' : ' (MISMATCH)'}`,
    );
    // how much merging the engine did during the replay (the rest of its work is the inserts)
    const ev = await store.query(
      "SELECT event, value FROM system.events WHERE event IN ('Merge', 'MergedRows', 'MergeTotalMilliseconds', 'InsertedRows', 'MergeTreeDataWriterSortingBlocksMicroseconds', 'MergeTreeDataWriterBlocksAlreadySorted', 'MergeTreeDataWriterBlocks', 'UserTimeMicroseconds', 'SystemTimeMicroseconds')",
      'json',
    );
    const parts = await store.query(
      "SELECT table, count() AS n FROM system.parts WHERE active AND database = currentDatabase() AND table IN ('hops', 'paths') GROUP BY table ORDER BY table",
      'json',
    );
    console.log(
      `engine: ${ev.map((e) => `${e.event} ${e.value}`).join(', ')}; active parts: ${parts.map((p) => `${p.table} ${p.n}`).join(', ')}`,
    );
    if (again) {
      const p2 = new Pipeline({
        codec: makeConfig(profile, overrides),
        store,
        onAnomaly: () => undefined,
      });
      const t1 = Date.now();
      await new PcapReplaySource([capture]).run(p2, new AbortController().signal);
      await p2.close();
      const s2 = (Date.now() - t1) / 1000;
      const st2 = p2.stats();
      const n2 = (await store.query('SELECT count() AS n FROM hops', 'json'))[0].n;
      console.log(
        `again: wall ${s2.toFixed(1)} s: ${Math.round(st2.records / s2)} records/s; already stored ${st2.alreadyStored} of ${st2.records} records; stored hop rows: ${n2}${Number(n2) === st.hops ? ' (unchanged)' : ' (CHANGED)'}`,
      );
    }
    await store.close();
  }
  fs.rmSync(tmp, { recursive: true, force: true });
})();
