#!/usr/bin/env node
/**
 * Insert throughput of @hopwatch/store. Build first (`npx tsc -p packages/store`), then:
 *   node benchmarks/store-insert.js [hopRows=2500000] [--url http://127.0.0.1:18123]
 *        [--batch-rows 500000] [--hops 5] [--format Native|RowBinary] [--repeat 1]
 * Fills RecordBatches of 4096 records × `hops` hops with synthetic values, inserts them (hops +
 * paths rows) into a fresh embedded store in a temp dir (or a scratch database on the server
 * with --url, dropped afterwards), and prints:
 *  - encode only: main-thread CPU ms per million hop rows for Native and RowBinary (no engine);
 *  - end to end: hop rows/s and records/s (encode + write + rollup MV, including the final
 *    flush; the synthetic fill is excluded); the main thread's CPU time (Linux /proc) and event
 *    loop busy time minus the fill, per million hop rows; the CPU time of all threads (main +
 *    chDB inserts + background merges).
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { RecordBatch, HopField, IntVer, Encap } = require('@hopwatch/codec');
const { performance } = require('node:perf_hooks');
const { openStore, encodeBatch, GrowBuf, NativeEncoder } = require('@hopwatch/store');

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const url = opt('--url');
const batchRows = Number(opt('--batch-rows') || 500_000);
const HOPS = Number(opt('--hops') || 5);
const insertFormat = opt('--format');
const repeat = Number(opt('--repeat') || 1);
const targetHops = Number(args[0] || 2_500_000);
const RECORDS_PER_BATCH = 4096;
const T0 = Math.floor(Date.now() / 1000) - 3600;
const ALL =
  HopField.SWITCH_ID |
  HopField.L1_PORTS |
  HopField.HOP_LATENCY |
  HopField.QUEUE |
  HopField.EGRESS_TS;

function fill(b, first) {
  b.reset();
  for (let k = 0; k < RECORDS_PER_BATCH; k++) {
    const r = first + k;
    const i = b.count++;
    b.frame[i] = r + 1;
    b.tsSec[i] = T0 + Math.floor(r / 10_000);
    b.tsNsec[i] = (r * 100_003) % 1_000_000_000;
    b.encap[i] = Encap.UDP_DSCP;
    b.intVersion[i] = IntVer.V21;
    b.hasFlow[i] = 1;
    b.flowV6[i] = 0;
    b.srcAddr[i * 4 + 3] = (10 << 24) | (r % 1000);
    b.dstAddr[i * 4 + 3] = (10 << 24) | (1 << 16) | (r % 7);
    b.srcPort[i] = 1024 + (r % 5000);
    b.dstPort[i] = 443;
    b.protocol[i] = 6;
    b.ensureHops(HOPS);
    b.hopStart[i] = b.hopTotal;
    b.hopCount[i] = HOPS;
    for (let j = 0; j < HOPS; j++) {
      const h = b.hopTotal++;
      b.present[h] = ALL;
      b.origin[h] = 0;
      b.switchId[h] = 1 + j * 16 + (r % 16);
      b.ingressPort[h] = r % 32;
      b.egressPort[h] = (r + j) % 32;
      b.hopLatency[h] = 500 + ((r * 7 + j * 13) % 20_000);
      b.queueId[h] = j % 4;
      b.queueOccupancy[h] = (r * 3 + j) % 5000;
      b.egressTsHi[h] = 1;
      b.egressTsLo[h] = r;
    }
  }
}

/** CPU ms of the main thread alone (Linux: /proc/self/task/<pid>/stat utime + stime), or NaN. */
function mainThreadCpuMs() {
  try {
    const st = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ = 100
  } catch {
    return NaN;
  }
}

async function main() {
  const batches = Math.ceil(targetHops / (RECORDS_PER_BATCH * HOPS));
  const b = new RecordBatch(RECORDS_PER_BATCH, HOPS);

  // encode only (no engine)
  const caps = { dateTime64: true, ipv6Type: true, lowCardinality: true, codecs: true };
  const native = new NativeEncoder(caps);
  for (const [name, enc] of [
    ['Native', (hops, paths) => native.encode(b, hops, paths)],
    ['RowBinary', (hops, paths) => encodeBatch(b, caps, hops, paths)],
  ]) {
    const hops = new GrowBuf(1 << 24);
    const paths = new GrowBuf(1 << 22);
    let rows = 0;
    let us = 0; // CPU time (the engine is not loaded yet: the process is this thread)
    for (let n = 0; n < batches; n++) {
      fill(b, n * RECORDS_PER_BATCH);
      const c = process.cpuUsage();
      rows += enc(hops, paths).hopRows;
      const d = process.cpuUsage(c);
      us += d.user + d.system;
      if (hops.rows >= batchRows) {
        hops.reset();
        paths.reset();
      }
    }
    const s = us / 1e6;
    console.log(
      `encode only (${name}):`.padEnd(24) +
        `${rows} hop rows in ${s.toFixed(2)} s = ${Math.round(rows / s).toLocaleString('en')} hop rows/s, ` +
        `${((s * 1e3 * 1e6) / rows).toFixed(1)} ms per million hop rows`,
    );
  }
  for (let i = 0; i < repeat; i++) await endToEnd(b, batches);
}

async function endToEnd(b, batches) {
  const dir = url ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-bench-'));
  const database = url ? `hopwatch_bench_${process.pid}` : 'hopwatch';
  const store = await openStore({
    url,
    dataDir: dir ? path.join(dir, 'data') : undefined,
    database,
    batchRows,
    insertFormat,
  });
  console.log(
    `${store.kind} store, ClickHouse ${store.capabilities.version} (${store.capabilities.dialect}), ` +
      `${insertFormat ?? (store.capabilities.nativeInsert ? 'Native' : 'RowBinary')}, batchRows ${batchRows}, ${HOPS} hops/record`,
  );
  let hopRows = 0;
  let pathRows = 0;
  let fillNs = 0n;
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const t0 = process.hrtime.bigint();
  for (let n = 0; n < batches; n++) {
    const tf = process.hrtime.bigint();
    fill(b, n * RECORDS_PER_BATCH);
    fillNs += process.hrtime.bigint() - tf;
    const s = await store.insertBatch(b);
    hopRows += s.hopRows;
    pathRows += s.pathRows;
  }
  await store.flush();
  const secs = Number(process.hrtime.bigint() - t0 - fillNs) / 1e9;
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1e3 - Number(fillNs) / 1e6;
  const mainCpuMs = mainThreadCpuMs() - main0 - Number(fillNs) / 1e6;
  const mainMs = elu.active - Number(fillNs) / 1e6;
  const check = await store.query(
    'SELECT (SELECT count() FROM hops) AS hops, (SELECT count() FROM paths) AS paths',
  );
  console.log(
    `end to end:   ${hopRows} hop rows + ${pathRows} path rows in ${secs.toFixed(2)} s = ` +
      `${Math.round(hopRows / secs).toLocaleString('en')} hop rows/s, ${Math.round(pathRows / secs).toLocaleString('en')} records/s ` +
      `(stored: ${check[0].hops} hops, ${check[0].paths} paths)`,
  );
  console.log(
    `main thread:  CPU ${mainCpuMs.toFixed(0)} ms = ${((mainCpuMs * 1e6) / hopRows).toFixed(0)} ms per million hop rows; ` +
      `event loop busy ${mainMs.toFixed(0)} ms = ${((mainMs * 1e6) / hopRows).toFixed(0)} ms per million (wall, inflated when the machine is loaded)`,
  );
  console.log(
    `process CPU:  ${cpuMs.toFixed(0)} ms all threads (main + chDB + merges, fill excluded) = ` +
      `${((cpuMs * 1e6) / hopRows).toFixed(0)} ms per million hop rows; load average ${os.loadavg()[0].toFixed(1)}`,
  );
  if (url) await store.command(`DROP DATABASE IF EXISTS ${database}`);
  await store.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
