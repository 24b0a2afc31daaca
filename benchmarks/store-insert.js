#!/usr/bin/env node
/**
 * Insert throughput of @hopwatch/store. Build first (`npx tsc -b packages/store`), then:
 *   node benchmarks/store-insert.js [hopRows=2000000] [--url http://127.0.0.1:18123] [--batch-rows 100000]
 * Fills RecordBatches of 4096 records × 4 hops with synthetic values, inserts them (hops +
 * paths rows, RowBinary) into a fresh embedded store in a temp dir (or a scratch database on
 * the server with --url, dropped afterwards), and prints rows/s: encode only, and end to end
 * (encode + write + rollup MV) including the final flush.
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { RecordBatch, HopField, IntVer, Encap } = require('@hopwatch/codec');
const { openStore, encodeBatch, GrowBuf } = require('@hopwatch/store');

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const url = opt('--url');
const batchRows = Number(opt('--batch-rows') || 100_000);
const targetHops = Number(args[0] || 2_000_000);
const HOPS = 4;
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

async function main() {
  const batches = Math.ceil(targetHops / (RECORDS_PER_BATCH * HOPS));
  const b = new RecordBatch(RECORDS_PER_BATCH, HOPS);

  // encode only (no engine)
  {
    const hops = new GrowBuf(1 << 24);
    const paths = new GrowBuf(1 << 22);
    const caps = { dateTime64: true };
    let rows = 0;
    let ns = 0n;
    for (let n = 0; n < batches; n++) {
      fill(b, n * RECORDS_PER_BATCH);
      const t = process.hrtime.bigint();
      rows += encodeBatch(b, caps, hops, paths).hopRows;
      ns += process.hrtime.bigint() - t;
      if (hops.rows >= batchRows) {
        hops.reset();
        paths.reset();
      }
    }
    const s = Number(ns) / 1e9;
    console.log(
      `encode only:  ${rows} hop rows in ${s.toFixed(2)} s = ${Math.round(rows / s).toLocaleString('en')} hop rows/s`,
    );
  }

  const dir = url ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-bench-'));
  const database = url ? `hopwatch_bench_${process.pid}` : 'hopwatch';
  const store = await openStore({
    url,
    dataDir: dir ? path.join(dir, 'data') : undefined,
    database,
    batchRows,
  });
  console.log(
    `${store.kind} store, ClickHouse ${store.capabilities.version} (${store.capabilities.dialect}), batchRows ${batchRows}`,
  );
  let hopRows = 0;
  let pathRows = 0;
  let fillNs = 0n;
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
  const check = await store.query(
    'SELECT (SELECT count() FROM hops) AS hops, (SELECT count() FROM paths) AS paths',
  );
  console.log(
    `end to end:   ${hopRows} hop rows + ${pathRows} path rows in ${secs.toFixed(2)} s = ` +
      `${Math.round(hopRows / secs).toLocaleString('en')} hop rows/s (stored: ${check[0].hops} hops, ${check[0].paths} paths)`,
  );
  if (url) await store.command(`DROP DATABASE IF EXISTS ${database}`);
  await store.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
