#!/usr/bin/env node
// UDP listener benchmark: a C sender (benchmarks/tools/udp-blast.c, sendmmsg) fires Telemetry
// Report v2.0 datagrams (INT v2.1 MD, 5 hops, bitmap 0xFF00) at fixed rates at `hopwatch serve`'s
// UdpSource + Pipeline on loopback; prints received, per-socket kernel drops and the system-wide
// RcvbufErrors delta from /proc/net/snmp.
// Also the reads (recvmmsg batches or dgram datagrams), datagrams per read and the process's CPU
// per datagram.
// Usage: npx tsc -b packages/cli && node benchmarks/udp-listener.js [seconds] [rates,comma] [--analytics]
//        [--receive-hold-ms N,...] (each rate once per hold, side by side; default the ingest's)
//        [--udp-receive recvmmsg|dgram]
'use strict';
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { buildIntPacket, encodeReportPayload, makeConfig } = require('@hopwatch/codec');
const { Pipeline, UdpSource } = require('@hopwatch/pipeline');

const seconds = Number(process.argv[2] || 5);
const rates = (process.argv[3] || '100000,200000,300000').split(',').map(Number);
const withAnalytics = process.argv.includes('--analytics');
const { arg } = require('./lib/util');
const holds = arg('receive-hold-ms', '').split(',').filter(Boolean).map(Number);
const receive = arg('udp-receive', 'auto');

function snmpRcvbufErrors() {
  const lines = fs
    .readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const h = lines[0].split(/\s+/);
  const v = lines[1].split(/\s+/);
  return Number(v[h.indexOf('RcvbufErrors')]);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-udp-'));
const blast = path.join(tmp, 'udp-blast');
execFileSync('gcc', ['-O2', '-o', blast, path.join(__dirname, 'tools/udp-blast.c')]);
const file = path.join(tmp, 'reports.bin');
const parts = [];
for (let i = 0; i < 4096; i++) {
  const hops = [0, 1, 2, 3, 4].map((h) => ({
    switchId: 100 + h,
    ingressPort: 1,
    egressPort: 2,
    hopLatency: 250 + ((i * 7 + h) % 300),
    queueId: 0,
    queueOccupancy: (i * 13 + h) % 2000,
    ingressTimestamp: 1767225600000000000n + BigInt(i * 1000),
    egressTimestamp: 1767225600000000300n + BigInt(i * 1000),
    l2IngressPort: 1,
    l2EgressPort: 2,
    txUtilization: 5,
  }));
  const inner = buildIntPacket(
    {
      ipVersion: 4,
      srcAddr: `10.1.${(i >> 8) & 255}.${i & 255}`,
      dstAddr: '10.2.0.1',
      protocol: 17,
      srcPort: 20000 + (i % 1000),
      dstPort: 443,
      payload: new Uint8Array(32),
    },
    { version: '2.1', mode: 'MD', instructionBitmap: 0xff00, hops },
    { kind: 'udp-dscp', dscpValue: 0x17 },
  );
  const p = encodeReportPayload({
    version: '2.0',
    srcAddr: '127.0.0.1',
    dstAddr: '127.0.0.1',
    dstPort: 32766,
    hwId: 0,
    sequence: i,
    nodeId: 104,
    reports: [{ repType: 0, inType: 3, inner }],
  });
  const len = Buffer.alloc(4);
  len.writeUInt32LE(p.length);
  parts.push(len, Buffer.from(p));
}
fs.writeFileSync(file, Buffer.concat(parts));
let rmem = 'unknown';
try {
  rmem = fs.readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim();
} catch {
  /* not Linux */
}

(async () => {
  console.log(
    `node ${process.version}; ${seconds}s per rate; report ${parts[1].length} B; net.core.rmem_max ${rmem}; analytics ${withAnalytics ? 'on' : 'off'} (decode only otherwise); no store`,
  );
  console.log(
    'offered/s   hold ms  sent/s    received   recv/s    kernel drops  RcvbufErrors  decoded records  listener CPU%  reads      per read  µs CPU per datagram',
  );
  for (const rate of rates)
    for (const hold of holds.length ? holds : [undefined]) await one(rate, hold);
  fs.rmSync(tmp, { recursive: true, force: true });
})();

async function one(rate, hold) {
  const pipeline = new Pipeline({
    codec: makeConfig('spec'),
    store: null,
    live: true,
    batchRecords: 4096,
    analytics: withAnalytics ? {} : undefined,
  });
  if (!withAnalytics) pipeline.analyzer.process = () => undefined; // decode-only measurement
  let port = 0;
  const src = new UdpSource({
    listen: [{ host: '127.0.0.1', port: 0 }],
    receive,
    receiveHoldMs: hold,
    onListening: (a) => (port = a[0].port),
  });
  const ac = new AbortController();
  const running = src.run(pipeline, ac.signal);
  while (port === 0) await new Promise((r) => setTimeout(r, 5));
  const tick = setInterval(() => pipeline.tick(), 200);
  const snmp0 = snmpRcvbufErrors();
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const out = await new Promise((resolve, reject) => {
    const p = spawn(blast, [file, '127.0.0.1', String(port), String(rate), String(seconds)]);
    let s = '';
    p.stdout.on('data', (d) => (s += d));
    p.on('exit', (code) =>
      code === 0 ? resolve(s.trim()) : reject(new Error(`udp-blast exited ${code}`)),
    );
  });
  await new Promise((r) => setTimeout(r, 500));
  const st = src.stats();
  const cpu = process.cpuUsage(cpu0);
  const wall = (Date.now() - t0) / 1000;
  ac.abort();
  await running;
  clearInterval(tick);
  await pipeline.close();
  const [sent, sentRate] = out.split(' ').map(Number);
  const ps = pipeline.stats();
  console.log(
    `${String(rate).padEnd(11)} ${String(hold ?? 'default').padEnd(8)} ${String(Math.round(sentRate)).padEnd(9)} ${String(st.received).padEnd(10)} ${String(Math.round(st.received / seconds)).padEnd(9)} ${String(st.kernelDrops).padEnd(13)} ${String(snmpRcvbufErrors() - snmp0).padEnd(13)} ${String(ps.records).padEnd(16)} ${((100 * (cpu.user + cpu.system)) / 1e6 / wall).toFixed(0).padEnd(14)} ${String(st.reads).padEnd(10)} ${(st.received / st.reads).toFixed(1).padEnd(9)} ${((cpu.user + cpu.system) / st.received).toFixed(2)}`,
  );
  void sent;
}
