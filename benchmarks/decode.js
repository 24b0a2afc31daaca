#!/usr/bin/env node
// Decode benchmark: records/s on one core for INT v2.1 MD, 5 hops, bitmap 0xFF00 over UDP (DSCP),
// over Geneve, and the UDP packet wrapped in a Telemetry Report v2.0.
// Usage: npx tsc -b packages/codec && node benchmarks/decode.js [seconds per case] [case filter]
'use strict';
const {
  Decoder,
  RecordBatch,
  makeConfig,
  buildIntPacket,
  buildReport,
  prng,
} = require('@hopwatch/codec');

const seconds = Number(process.argv[2] || 3);
const only = (process.argv[3] || '').toLowerCase(); // e.g. 'geneve', 'tr v2.0'
const rnd = prng(7);
const N = 1024; // distinct packets per case, so the loop is not one cached packet

function hops(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({
      switchId: 100 + i,
      ingressPort: 1 + ((rnd() * 48) | 0),
      egressPort: 1 + ((rnd() * 48) | 0),
      hopLatency: 200 + ((rnd() * 2000) | 0),
      queueId: (rnd() * 8) | 0,
      queueOccupancy: (rnd() * 50000) | 0,
      ingressTimestamp: 1_700_000_000_000_000_000n + BigInt((rnd() * 1e9) | 0),
      egressTimestamp: 1_700_000_000_000_001_000n + BigInt((rnd() * 1e9) | 0),
      l2IngressPort: (rnd() * 1000) | 0,
      l2EgressPort: (rnd() * 1000) | 0,
      txUtilization: (rnd() * 1000) | 0,
    });
  }
  return (hops5 = out);
}
let hops5;
function flow(i) {
  return {
    ipVersion: 4,
    srcAddr: `10.0.${(i >> 8) & 255}.${i & 255}`,
    dstAddr: '10.1.0.1',
    protocol: 17,
    srcPort: 10000 + i,
    dstPort: 443,
    payload: new Uint8Array(64),
  };
}
const stack = () => ({ version: '2.1', mode: 'MD', instructionBitmap: 0xff00, hops: hops(5) });
const outer = { ipVersion: 4, srcAddr: '192.168.0.1', dstAddr: '192.168.0.2' };

const cases = [
  {
    name: 'INT v2.1 MD / UDP (DSCP)',
    config: makeConfig('spec'),
    make: (i) => buildIntPacket(flow(i), stack(), { kind: 'udp-dscp', dscpValue: 0x17 }),
  },
  {
    name: 'INT v2.1 MD / Geneve (0xF000)',
    config: makeConfig('spec'),
    make: (i) =>
      buildIntPacket(flow(i), { ...stack(), instructionBitmap: 0xf000 }, { kind: 'geneve', outer }),
  },
  {
    name: 'TR v2.0 (INT v2.1 MD / UDP inside)',
    config: makeConfig('spec'),
    make: (i) => {
      const inner = buildIntPacket(flow(i), stack(), { kind: 'udp-dscp', dscpValue: 0x17 });
      return buildReport({
        version: '2.0',
        srcAddr: '192.168.0.9',
        dstAddr: '192.168.0.10',
        dstPort: 32766,
        hwId: 1,
        sequence: i,
        nodeId: 9,
        reports: [
          {
            repType: 1,
            inType: 3,
            repMdBits: 0x7000,
            metadata: {
              ingressPort: 1,
              egressPort: 2,
              hopLatency: 300,
              queueId: 1,
              queueOccupancy: 20,
            },
            inner,
          },
        ],
      });
    },
  },
];

console.log(`node ${process.version}, ${seconds}s per case, batches of 4096 records`);
for (const c of cases.filter((x) => x.name.toLowerCase().includes(only))) {
  // packets laid out in one buffer, as the capture reader and socket batches hand them over
  const built = Array.from({ length: N }, (_, i) => c.make(i));
  const arena = new Uint8Array(built.reduce((a, p) => a + p.length, 0));
  let at = 0;
  const pkts = built.map((p) => {
    arena.set(p, at);
    at += p.length;
    return arena.subarray(at - p.length, at);
  });
  const decoder = new Decoder(c.config);
  const batch = new RecordBatch(4096, 8);
  // verify once
  const check = decoder.decode(pkts[0], 1, 0, 0, 1, batch);
  if (check < 1 || batch.hopCount[0] < 5)
    throw new Error(`${c.name}: packet does not decode (${check}, ${decoder.lastDetail})`);
  batch.reset();
  let records = 0;
  let hopsOut = 0;
  let bytes = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const limit = BigInt(Math.round(seconds * 1e9));
  let i = 0;
  for (;;) {
    for (let k = 0; k < 4096; k++) {
      const p = pkts[i++ & (N - 1)];
      bytes += p.length;
      records += decoder.decode(p, 1, 0, 0, i, batch);
      if (batch.count >= 4096) {
        hopsOut += batch.hopTotal;
        batch.reset();
      }
    }
    if (process.hrtime.bigint() - t0 > limit) break;
  }
  hopsOut += batch.hopTotal;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0);
  const cpu = (cu.user + cu.system) / 1e6; // CPU seconds of this process: robust to other load
  console.log(
    `${c.name.padEnd(36)} ${(records / s / 1e6).toFixed(2)} M records/s wall, ${(records / cpu / 1e6).toFixed(2)} M records/s per CPU-second  ${(hopsOut / cpu / 1e6).toFixed(2)} M hops/CPU-s  (${pkts[0].length} B/packet)`,
  );
}
