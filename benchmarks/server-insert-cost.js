#!/usr/bin/env node
/**
 * What a ClickHouse server spends on hopwatch's row inserts, by materialized view: the server
 * (Debian's clickhouse-server, started by the testkit) receives analyze's insert pattern, one
 * insert of `hops` + `paths` rows every 1/RATE s for SECONDS s (each insert REPORTS records of
 * 3 hops with Kafka ledger values, 64 switches, synthetic values), then SETTLE s without
 * inserts (merges). Variants, each in a fresh database, alternating, ROUNDS times:
 *   all       the schema as migrated (hop_rollup_1m, hop_fine_100us_mv, hop_fine_10ms_mv)
 *   no-fine   without the two fine rollup views
 *   no-1m     without hop_rollup_1m
 *   none      without any view
 * and an idle baseline (the server over the same time, no inserts). Prints the server's CPU-s
 * (all its threads, /proc) over inserts + settle, per insert and per 1,000 reports, and the
 * client's encode CPU, so the views' share of an insert shows by difference.
 *
 * Usage: npx tsc -b packages/store packages/testkit && node benchmarks/server-insert-cost.js
 *        [--rate 1.5] [--reports 1300] [--seconds 20] [--settle 5] [--rounds 2]
 *        [--variants all,no-fine,no-1m,none]
 */
'use strict';
const path = require('path');
const { RecordBatch, HopField, IntVer, Encap } = require('@hopwatch/codec');
const { arg, sleep } = require('./lib/util');
const { cpuSeconds, pidOnPort } = require('./lib/proc');

const ROOT = path.resolve(__dirname, '..');
const { startClickHouse } = require(path.join(ROOT, 'packages/testkit'));
const { openStore } = require(path.join(ROOT, 'packages/store'));

const rate = Number(arg('rate', '1.5'));
const reports = Number(arg('reports', '1300'));
const seconds = Number(arg('seconds', '20'));
const settle = Number(arg('settle', '5'));
const rounds = Number(arg('rounds', '2'));
const variants = arg('variants', 'all,no-fine,no-1m,none').split(',');
const VIEWS = {
  all: [],
  'no-fine': ['hop_fine_100us_mv', 'hop_fine_10ms_mv'],
  'no-1m': ['hop_rollup_1m'],
  none: ['hop_rollup_1m', 'hop_fine_100us_mv', 'hop_fine_10ms_mv'],
};
const HOPS = 3;
const PRESENT =
  HopField.SWITCH_ID |
  HopField.L1_PORTS |
  HopField.HOP_LATENCY |
  HopField.QUEUE |
  HopField.EGRESS_TS;

/** REPORTS records received over the last 1/RATE s before `nowNs` (ns since the epoch). */
function fill(b, first, nowNs) {
  b.reset();
  const spanNs = 1e9 / rate;
  for (let k = 0; k < reports; k++) {
    const r = first + k;
    const i = b.count++;
    const t = nowNs - spanNs + (k * spanNs) / reports;
    b.frame[i] = r + 1;
    b.tsSec[i] = Math.floor(t / 1e9);
    b.tsNsec[i] = Math.floor(t % 1e9);
    b.encap[i] = Encap.UDP_DSCP;
    b.intVersion[i] = IntVer.V21;
    b.hasFlow[i] = 1;
    b.srcAddr[i * 4 + 3] = (10 << 24) | (r % 1024);
    b.dstAddr[i * 4 + 3] = (10 << 24) | (1 << 16) | (r % 64);
    b.srcPort[i] = 20000 + (r % 1024);
    b.dstPort[i] = 443;
    b.protocol[i] = 17;
    b.ensureHops(HOPS);
    b.hopStart[i] = b.hopTotal;
    b.hopCount[i] = HOPS;
    for (let j = 0; j < HOPS; j++) {
      const h = b.hopTotal++;
      b.present[h] = PRESENT;
      b.switchId[h] = 1 + ((r + j * 21) % 64);
      b.ingressPort[h] = r % 32;
      b.egressPort[h] = (r + j) % 32;
      b.hopLatency[h] = 500 + ((r * 7 + j * 13) % 20_000);
      b.queueId[h] = j % 4;
      b.queueOccupancy[h] = (r * 3 + j) % 5000;
      b.egressTsLo[h] = r;
    }
  }
}

async function run(ch, pid, variant, round) {
  const database = `cost_${variant.replace('-', '_')}_${round}`;
  const store = await openStore({ url: ch.url, database });
  for (const v of VIEWS[variant] ?? []) await store.command(`DROP TABLE ${v}`);
  const b = new RecordBatch(reports, HOPS);
  const inserts = Math.round(seconds * rate);
  await sleep(1000);
  const s0 = cpuSeconds(pid);
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  for (let n = 0; n < inserts && variant !== 'idle'; n++) {
    fill(b, n * reports, Date.now() * 1e6);
    await store.insertBatch(b, { partition: n % 12, offset: n + 1 });
    await store.flush();
    await sleep(Math.max(0, t0 + ((n + 1) * 1000) / rate - Date.now()));
  }
  if (variant === 'idle') await sleep(seconds * 1000);
  await sleep(settle * 1000);
  const server = cpuSeconds(pid) - s0;
  const c = process.cpuUsage(c0);
  const parts = await store.query(
    `SELECT count() AS n FROM system.parts WHERE database = '${database}' AND active`,
  );
  await store.command(`DROP DATABASE ${database}`);
  await store.close();
  return {
    variant,
    server,
    client: (c.user + c.system) / 1e6,
    inserts: variant === 'idle' ? 0 : inserts,
    activeParts: Number(parts[0]?.n ?? 0),
  };
}

async function main() {
  const ch = await startClickHouse();
  try {
    const pid = pidOnPort(Number(new URL(ch.url).port));
    if (!pid) throw new Error('no ClickHouse server process found (ss)');
    console.log(
      `${rate} inserts/s of ${reports} reports × ${HOPS} hops for ${seconds} s, then ${settle} s; server CPU-s over both`,
    );
    const results = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...variants].reverse() : variants;
      for (const v of ['idle', ...order]) {
        const x = await run(ch, pid, v, r);
        results.push(x);
        const per = x.inserts
          ? ` = ${((x.server / x.inserts) * 1000).toFixed(0)} ms per insert, ${((x.server / ((x.inserts * reports) / 1000)) * 1000).toFixed(1)} ms per 1,000 reports`
          : '';
        console.log(
          `round ${r + 1} ${v.padEnd(8)} server ${x.server.toFixed(2)} CPU-s${per}; client ${x.client.toFixed(2)} CPU-s; active parts ${x.activeParts}`,
        );
      }
    }
  } finally {
    await ch.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
