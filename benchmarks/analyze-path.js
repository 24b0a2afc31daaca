#!/usr/bin/env node
/**
 * CPU per report of `hopwatch analyze` without Kafka, Redis or a ClickHouse server: the
 * benchmark sender's Telemetry Reports (captures/tr-v2.0-md.pcap's first report, 64 reporters
 * with 16 inner flows each) are decoded and split into the three topics' messages of 12
 * partitions once (what ingest publishes); then each round, per 4,096 reports: the messages
 * decoded (what analyze does per consumed batch), each topic's detectors (one Analyzer per topic
 * over all partitions' records; then, as analyze runs them, one Analyzer per topic partition,
 * each fed its partition's message), SHA-1 of each
 * message (the duplicate check), GUNZIP of each send()'s values (kafkajs, with gzip: as analyze
 * does it, one synchronous inflate into one buffer, and as kafkajs did, the asynchronous
 * zlib.unzip), and the records encoded as ClickHouse Native blocks of `hops` and `paths`
 * (ClickHouse 18.16 types). Also the second decode of the records messages that analyze did
 * before it decoded them once for detectors and rows (issue 13).
 *
 * Usage: npx tsc -b packages/pipeline packages/store && node benchmarks/analyze-path.js [seconds]
 * Each step prints the lowest of 10 rounds (seconds / 10 each), µs CPU per report.
 */
'use strict';
const path = require('path');
const zlib = require('zlib');
const { promisify } = require('util');
const { createHash } = require('crypto');
const { Analyzer } = require('@hopwatch/analytics');
const { NativeEncoder, GrowBuf } = require(path.resolve(__dirname, '../packages/store'));
const { decodeMessage } = require(path.resolve(__dirname, '../packages/pipeline'));
const { inflateBatch } = require(
  path.resolve(__dirname, '../packages/pipeline/dist/transport/gunzip'),
);
const {
  analyzeInput,
  later,
  batchFor,
  partitionAnalyzers,
  KINDS,
  PARTS,
} = require('./lib/analyze-input');

const seconds = Number(process.argv[2] || 3);
const N = 4096;
const ROUNDS = 64;
const { batches, passSec } = analyzeInput(N, ROUNDS);
const gz = batches.map((b) =>
  ['records', 'queues', 'reports'].map((k) => zlib.gzipSync(Buffer.concat(b[k]), { level: 1 })),
);

/** The lowest µs per report of 10 rounds (a shared machine only ever adds time); process CPU,
 * so zlib's thread pool counts too. */
async function cpuRun(fn) {
  let best = Infinity;
  for (let round = 0; round < 10; round++) {
    const c0 = process.cpuUsage();
    const t0 = Date.now();
    let n = 0;
    while (Date.now() - t0 < seconds * 100) n += await fn();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / n);
  }
  return best;
}

const into = Object.fromEntries(KINDS.map((kind) => [kind, batchFor(kind, N)]));
let k = 0;
// each pass over the ROUNDS batches later than the previous one (lib/analyze-input.js)
const decodeAll = () => {
  const pass = Math.floor(k / ROUNDS);
  const b = batches[k++ % ROUNDS];
  for (const kind of KINDS) {
    into[kind].reset();
    for (const v of b[kind]) decodeMessage(kind, v, into[kind]);
    later(into[kind], pass, passSec);
  }
  return N;
};
const analyzers = {
  records: new Analyzer({ onAnomaly: null }),
  queues: new Analyzer({ onAnomaly: null }),
  reports: new Analyzer({ onAnomaly: null }),
};
const detectors = () => {
  decodeAll();
  for (const kind of KINDS) {
    analyzers[kind].process(into[kind], PARTS[kind]);
    analyzers[kind].flush();
  }
  return N;
};
// as analyze runs them: one analyzer per topic partition, each batch of one partition's messages
const perPartition = partitionAnalyzers(() => new Analyzer());
const one = Object.fromEntries(KINDS.map((kind) => [kind, batchFor(kind, N)]));
/** Decodes each partition's message of the next batch on its own, then `fn` (if any) on it. */
const eachPartitionBatch = (fn) => {
  const pass = Math.floor(k / ROUNDS);
  for (const m of batches[k++ % ROUNDS].byPartition) {
    const b = one[m.kind];
    b.reset();
    decodeMessage(m.kind, m.value, b);
    later(b, pass, passSec);
    if (fn) fn(m, b);
  }
  return N;
};
const decodePartitions = () => eachPartitionBatch(null);
const partitionDetectors = () =>
  eachPartitionBatch((m, b) => {
    const a = perPartition[m.kind][m.partition];
    a.process(b, PARTS[m.kind]);
    a.flush();
  });
const digests = () => {
  const b = batches[k++ % ROUNDS];
  for (const kind of KINDS) for (const v of b[kind]) createHash('sha1').update(v).digest('base64');
  return N;
};
const gunzip = () => {
  for (const g of gz[k++ % ROUNDS]) inflateBatch(g);
  return N;
};
const unzipAsync = promisify(zlib.unzip);
const gunzipAsync = async () => {
  await Promise.all(gz[k++ % ROUNDS].map((g) => unzipAsync(g)));
  return N;
};
const records = { records: batchFor('records', N) };
const decodeRecords = () => {
  const b = batches[k++ % ROUNDS];
  records.records.reset();
  for (const v of b.records) decodeMessage('records', v, records.records);
  return N;
};
const native = new NativeEncoder({ dateTime64: false, ipv6Type: false, lowCardinality: false });
const hops = new GrowBuf(8 << 20);
const paths = new GrowBuf(8 << 20);
const insert = () => {
  decodeAll();
  hops.len = hops.rows = paths.len = paths.rows = 0;
  native.encode(into.records, hops, paths);
  return N;
};

async function main() {
  console.log(`node ${process.version}, ${N} reports per batch, µs CPU per report (lowest of 10)`);
  const d = await cpuRun(decodeAll);
  const det = (await cpuRun(detectors)) - d;
  const dp = await cpuRun(decodePartitions);
  const detp = (await cpuRun(partitionDetectors)) - dp;
  const h = await cpuRun(digests);
  const z = await cpuRun(gunzip);
  const za = await cpuRun(gunzipAsync);
  const ins = (await cpuRun(insert)) - d;
  const r2 = await cpuRun(decodeRecords);
  const f = (x) => x.toFixed(3).padStart(7);
  console.log(`decode the three topics' messages   ${f(d)}`);
  console.log(`detectors (3 analyzers)             ${f(det)}`);
  console.log(`  one analyzer per partition (12)   ${f(detp)}`);
  console.log(`SHA-1 of every message              ${f(h)}`);
  console.log(`GUNZIP (gzip level 1), one buffer   ${f(z)}`);
  console.log(`  kafkajs's async zlib.unzip        ${f(za)}`);
  console.log(`ClickHouse Native encode            ${f(ins)}`);
  console.log(`sum                                 ${f(d + det + h + z + ins)}`);
  console.log(
    `(before: async unzip, records decoded a second time for the rows: +${(za - z + r2).toFixed(3)})`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
