#!/usr/bin/env node
/**
 * CPU per report of `hopwatch ingest` after the socket, in one process without Kafka: the
 * benchmark sender's Telemetry Reports (captures/tr-v2.0-md.pcap's first report, 64 reporters)
 * through IngestWorker.onDatagram (decode, split by partition, encode the three topics'
 * messages) into a producer that only keeps the messages, then, separately, GZIP level 1 of
 * each send() call's values (what kafkajs does per partition and topic with --compression gzip).
 *
 * Usage: npx tsc -b packages/pipeline && node benchmarks/ingest-path.js [seconds per case]
 *        [flows per reporter, default 16 as the distributed benchmark's sender; 0 = one flow]
 * Each case prints the lowest of 10 rounds (seconds / 10 each).
 */
'use strict';
const path = require('path');
const zlib = require('zlib');
const { makeConfig, Decoder, RecordBatch } = require('@hopwatch/codec');
const { IngestWorker } = require(path.resolve(__dirname, '../packages/pipeline'));
const { reportTemplate, INNER_SRC_PORT } = require('./lib/report-template');

const seconds = Number(process.argv[2] || 3);

const N = 4096;
const FLOWS = Number(process.argv[3] ?? 16);
const tpl = reportTemplate();
const dgrams = [];
for (let i = 0; i < N; i++) {
  const b = Buffer.from(tpl);
  const node = i % 64;
  const s = i >> 6;
  b[1] = (b[1] & 0xc0) | (s >>> 16);
  b.writeUInt16BE(s & 0xffff, 2);
  b.writeUInt32BE(1000 + node, 4);
  // the inner UDP source port (lib/report-sender.js)
  if (FLOWS > 0) b.writeUInt16BE(20000 + node * FLOWS + (s % FLOWS), INNER_SRC_PORT);
  dgrams.push(b);
}
const from = new Uint32Array([0, 0, 0, 0x7f000001]);

/** The lowest µs per report of 10 rounds (a shared machine only ever adds time). */
function cpuRun(fn) {
  let best = Infinity;
  for (let round = 0; round < 10; round++) {
    const c0 = process.cpuUsage();
    const t0 = Date.now();
    let n = 0;
    while (Date.now() - t0 < seconds * 100) n += fn();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / n);
  }
  return best.toFixed(3);
}

let sends = [];
const producer = {
  send: (topic, msgs) => sends.push(msgs),
  flush: async () => undefined,
  stats: () => ({ queuedMessages: 0 }),
  close: async () => undefined,
};

let ts = 1_700_000_000;
function run(withWorker, gzip) {
  const codec = makeConfig('spec');
  const worker = new IngestWorker({ codec, producer, partitions: 12 });
  const dec = new Decoder(codec);
  const batch = new RecordBatch(4096 + 256, 8);
  return () => {
    sends = [];
    ts++;
    if (withWorker) {
      for (let i = 0; i < N; i++) worker.onDatagram(dgrams[i], from, false, ts, i * 1000);
      worker.publish();
    } else {
      batch.reset();
      for (let i = 0; i < N; i++)
        dec.decodeDatagram(dgrams[i], from, false, ts, i * 1000, i + 1, batch);
    }
    if (gzip)
      for (const msgs of sends)
        zlib.gzipSync(Buffer.concat(msgs.map((m) => m.value)), { level: 1 });
    return N;
  };
}

console.log(
  `node ${process.version}, ${seconds} s per case, ${N} reports per batch, ${FLOWS} flows per reporter, µs CPU per report`,
);
const d = cpuRun(run(false, false));
const w = cpuRun(run(true, false));
const g = cpuRun(run(true, true));
let bytes = 0;
for (const msgs of sends) for (const m of msgs) bytes += m.value.length;
console.log(`decode only:                        ${d}`);
console.log(`decode + split + encode (IngestWorker): ${w}  (after decode: ${(w - d).toFixed(3)})`);
console.log(`... + GZIP level 1 per send():        ${g}  (after decode: ${(g - d).toFixed(3)})`);
console.log(`messages: ${(bytes / N).toFixed(1)} B per report before compression`);
