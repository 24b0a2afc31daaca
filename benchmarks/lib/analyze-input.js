'use strict';
/**
 * The input of the analyze benchmarks (analyze-path.js, tools/analyzer-ab.js): the distributed
 * benchmark's Telemetry Reports (captures/tr-v2.0-md.pcap's first report; 64 reporters with 16
 * inner flows each, as lib/report-sender.js sends them, at 20,000 reports/s of capture time)
 * decoded and split into the three topics' messages of 12 partitions: what ingest publishes.
 */
const path = require('path');
const { makeConfig, Decoder, RecordBatch } = require('@hopwatch/codec');

const ROOT = path.resolve(__dirname, '../..');
const { splitBatch } = require(path.join(ROOT, 'packages/pipeline'));
const { reportTemplate, INNER_SRC_PORT } = require('./report-template');

const KINDS = ['records', 'queues', 'reports'];
/** The detector families analyze runs on each topic. */
const PARTS = {
  records: { flows: true, queues: false, reports: false },
  queues: { flows: false, queues: true, reports: false },
  reports: { flows: false, queues: false, reports: true },
};
const PARTITIONS = 12;
const RATE = 20000;

/**
 * `rounds` batches of `n` reports with advancing sequence numbers and times, each as the
 * three topics' message values (`records`, `queues`, `reports`) and as `byPartition`: every
 * message with its kind and partition, as analyze's partitions receive them.
 */
function analyzeInput(n, rounds) {
  const tpl = reportTemplate();
  const dec = new Decoder(makeConfig('spec'));
  const from = new Uint32Array([0, 0, 0, 0x7f000001]);
  const src = new RecordBatch(n + 256, 8);
  const batches = [];
  for (let k = 0; k < rounds; k++) {
    src.reset();
    for (let i = 0; i < n; i++) {
      const j = k * n + i;
      const b = Buffer.from(tpl);
      const s = Math.floor(j / 64) & 0x3fffff;
      b[1] = (b[1] & 0xc0) | (s >>> 16);
      b.writeUInt16BE(s & 0xffff, 2);
      b.writeUInt32BE(1000 + (j % 64), 4);
      b.writeUInt16BE(20000 + (j % 64) * 16 + (Math.floor(j / 64) % 16), INNER_SRC_PORT);
      const sec = (1_700_000_000 + j / RATE) | 0;
      dec.decodeDatagram(b, from, false, sec, (j % RATE) * (1e9 / RATE), j + 1, src);
    }
    const s = splitBatch(src, { partitions: PARTITIONS });
    batches.push({
      records: s.records.map((m) => m.value),
      queues: s.queues.map((m) => m.value),
      reports: s.reports.map((m) => m.value),
      byPartition: KINDS.flatMap((kind) =>
        s[kind].map((m) => ({ kind, partition: m.partition, value: m.value })),
      ),
    });
  }
  // each pass over the batches comes this long after the previous one
  const passSec = Math.ceil((rounds * n) / RATE) + 1;
  return { batches, passSec };
}

/** Moves a decoded batch `pass` passes later, so that the detectors' clock moves on as in a live
 * run (the same times again would skip every sweep that input time triggers). */
function later(b, pass, passSec) {
  if (pass > 0) for (let r = 0; r < b.count; r++) b.tsSec[r] += pass * passSec;
}

/** An empty batch for a topic's decoded messages of up to `n` reports. */
function batchFor(kind, n) {
  return kind === 'queues'
    ? new RecordBatch(4 * n, 1)
    : new RecordBatch(n + 256, kind === 'records' ? 8 : 1);
}

/** One analyzer per topic partition, as analyze keeps them: kind → partition → analyzer. */
function partitionAnalyzers(create) {
  return Object.fromEntries(
    KINDS.map((kind) => [kind, Array.from({ length: PARTITIONS }, create)]),
  );
}

module.exports = { analyzeInput, later, batchFor, partitionAnalyzers, KINDS, PARTS, PARTITIONS };
