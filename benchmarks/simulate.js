/* Simulator throughput: packets (or reports) generated per second on one core, then written to
 * a pcap file (in --dir, default the OS temp dir: /dev/shm shows what the disk costs).
 * Build first: npx tsc -b packages/simulator; then:
 *   node benchmarks/simulate.js [records] [--dir DIR] */
'use strict';
const os = require('os');
const path = require('path');
const fs = require('fs');
const { simulate, loadScenario } = require('@hopwatch/simulator');

const args = process.argv.slice(2);
const dirAt = args.indexOf('--dir');
const parent = dirAt >= 0 ? args.splice(dirAt, 2)[1] : os.tmpdir();
const target = Number(args[0] || 2000000);

function scenario(name, int, output) {
  return loadScenario({
    name,
    seed: 7,
    durationMs: 1000,
    topology: { leaves: 8, spines: 4, hostsPerLeaf: 16 },
    traffic: {
      elephants: { count: 64, rateGbps: 3, payloadBytes: 1400 },
      mice: {
        arrivalsPerMs: 200,
        minPackets: 2,
        maxPackets: 40,
        rateGbps: 2,
        payloadBytes: [64, 256, 1024],
      },
    },
    int,
    output,
    events: [{ type: 'microburst', atMs: 2, durationUs: 500 }],
  });
}

const cases = [
  [
    'INT v2.1 MD udp-dscp, packets',
    { version: '2.1', encapsulation: 'udp-dscp' },
    { kind: 'packets' },
  ],
  [
    'INT v2.1 MD tcp-dscp, packets',
    { version: '2.1', encapsulation: 'tcp-dscp' },
    { kind: 'packets' },
  ],
  [
    'INT v2.1 MD geneve, packets',
    { version: '2.1', encapsulation: 'geneve', instructionBitmap: 0xf000 },
    { kind: 'packets' },
  ],
  [
    'INT v2.1 MD udp-dscp, packets, snap 256',
    { version: '2.1', encapsulation: 'udp-dscp' },
    { kind: 'packets', snaplen: 256 },
  ],
  [
    'INT v2.1 MD udp-dscp, TR v2.0 reports',
    { version: '2.1', encapsulation: 'udp-dscp' },
    { kind: 'reports', reportVersion: '2.0' },
  ],
];

const tmp = fs.mkdtempSync(path.join(parent, 'hopwatch-sim-bench-'));
console.log(
  `simulator benchmark: ${target} records per case, pcap files in ${parent}, ${os.cpus()[0].model}, load average ${os.loadavg()[0].toFixed(1)}`,
);
for (const [label, int, output] of cases) {
  const s = scenario(label, int, output);
  // in memory (generation only; wall clock and this process's CPU time), then to a pcap file
  simulate(s, { limit: Math.min(target, 200000) }); // warm up the JIT
  const c0 = process.cpuUsage();
  const mem = simulate(s, { limit: target });
  const cpu = process.cpuUsage(c0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  const n = mem.stats.packetsWritten + mem.stats.reportsWritten;
  const file = path.join(tmp, 'bench.pcap');
  const disk = simulate(s, { limit: target, out: file });
  const size = fs.statSync(file).size;
  console.log(
    `${label.padEnd(40)} ${(n / mem.seconds / 1e6).toFixed(2)} M/s generated (${(n / cpuSec / 1e6).toFixed(2)} M/s per CPU-second), ` +
      `${(n / disk.seconds / 1e6).toFixed(2)} M/s to pcap (${(size / 1e6 / disk.seconds).toFixed(0)} MB/s)`,
  );
  fs.unlinkSync(file);
}
fs.rmdirSync(tmp);
