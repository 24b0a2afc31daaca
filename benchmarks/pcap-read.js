#!/usr/bin/env node
/**
 * Read throughput of @hopwatch/pcap. Build first (`npx tsc -b packages/pcap`), then:
 *   node benchmarks/pcap-read.js [sizeMiB=1024]
 * Writes a ~1 GiB pcap and pcapng of random 64-1500 byte packets to os.tmpdir(), reads each
 * back several times (page cache warm: this measures the parser, not the disk), prints MB/s
 * and packets/s, and deletes the files.
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { openCapture, PcapWriter, PcapngWriter } = require('@hopwatch/pcap');

const targetBytes = Number(process.argv[2] || 1024) * 1024 * 1024;
const PASSES = 3;

// One pool of random bytes; packets are slices of it so generation costs little.
const pool = Buffer.alloc(1 << 20);
for (let i = 0; i < pool.length; i++) pool[i] = (Math.random() * 256) | 0;

function generate(file, writer) {
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  let n = 0;
  let sec = 1_700_000_000;
  let ns = 0;
  while (bytes < targetBytes) {
    const len = 64 + ((Math.random() * 1437) | 0);
    const off = (Math.random() * (pool.length - len)) | 0;
    writer.write(pool.subarray(off, off + len), sec, ns, 0, len);
    ns += 1000 + len;
    if (ns >= 1e9) {
      ns -= 1e9;
      sec++;
    }
    bytes += len;
    n++;
  }
  writer.close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const size = fs.statSync(file).size;
  console.log(
    `  wrote ${n} packets, ${(size / 1e6).toFixed(0)} MB in ${s.toFixed(2)} s (${(size / 1e6 / s).toFixed(0)} MB/s)`,
  );
  return n;
}

function readOnce(file) {
  const t0 = process.hrtime.bigint();
  const r = openCapture(file);
  let n = 0;
  let sum = 0;
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    // Touch the record like a consumer would (first byte + lengths), without allocating.
    sum += rec.buffer[rec.offset] + rec.capturedLength + rec.tsNsec;
    n++;
  }
  if (r.error) throw r.error;
  const size = r.fileSize;
  r.close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { n, s, size, sum };
}

function bench(kind) {
  const file = path.join(os.tmpdir(), `hopwatch-bench-${process.pid}.${kind}`);
  console.log(`${kind}:`);
  try {
    const written = generate(
      file,
      kind === 'pcap' ? new PcapWriter(file, { resolution: 'ns' }) : new PcapngWriter(file),
    );
    const runs = [];
    for (let i = 0; i < PASSES; i++) {
      const r = readOnce(file);
      if (r.n !== written) throw new Error(`read ${r.n} packets, wrote ${written}`);
      runs.push(r);
      console.log(
        `  pass ${i + 1}: ${(r.size / 1e6 / r.s).toFixed(0)} MB/s, ${(r.n / r.s / 1e6).toFixed(2)} Mpkt/s (${r.s.toFixed(3)} s)`,
      );
    }
    const best = runs.reduce((a, b) => (b.s < a.s ? b : a));
    console.log(
      `  best: ${(best.size / 1e6 / best.s).toFixed(0)} MB/s, ${(best.n / best.s / 1e6).toFixed(2)} Mpkt/s`,
    );
  } finally {
    fs.rmSync(file, { force: true });
  }
}

console.log(`node ${process.version}, ${os.cpus().length} x ${os.cpus()[0].model}`);
bench('pcap');
bench('pcapng');
