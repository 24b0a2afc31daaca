#!/usr/bin/env node
/**
 * CPU of the `flows` rows' SQL text (store's flowsInsertSql) per row, in both dialects: 100
 * flow intervals like the distributed benchmark's (IPv4, a three-switch path, end-to-end
 * latency), turned into one INSERT again and again. Prints µs per row and the text's size.
 *
 * Usage: npx tsc -b packages/store && node benchmarks/flow-rows.js [seconds, default 3]
 */
'use strict';
const path = require('path');
const store = path.resolve(__dirname, '../packages/store/dist');
const { flowsInsertSql } = require(path.join(store, 'flow-rows.js'));
const { detectCapabilities } = require(path.join(store, 'capabilities.js'));

const seconds = Number(process.argv[2] || 3);
const flows = [];
for (let i = 0; i < 100; i++)
  flows.push({
    ipVersion: 4,
    src: `10.0.${i >> 8}.${i & 255}`,
    dst: '10.1.0.7',
    srcPort: 20000 + i,
    dstPort: 4791,
    protocol: 17,
    vlan: null,
    vni: i % 3 ? null : 5000,
    startNs: 1_765_000_000_123_456_789n + BigInt(i),
    endNs: 1_765_000_009_987_654_321n,
    packets: 1234,
    bytes: 1234 * 900,
    bytesPackets: 1234,
    path: [1, 7, 3],
    pathChanges: 0,
    ingressInterface: 3,
    egressInterface: 9,
    e2e: { min: 1200, mean: 1500.5, max: 4000, p50: 1450, p99: 3900, samples: 1234 },
    e2eSource: 'hops',
    jitter: 12.25,
    worstHop: 7,
    worstHopLatency: 800.5,
    dropReports: 0,
    reportGaps: 0,
    endReason: 2,
  });

for (const version of ['26.1.1.1', '18.16.1']) {
  const caps = detectCapabilities(version);
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    flowsInsertSql(flows, caps);
    n += flows.length;
  }
  const c = process.cpuUsage(c0);
  const chars = flowsInsertSql(flows, caps).length / flows.length;
  console.log(
    `ClickHouse ${version}: ${((c.user + c.system) / n).toFixed(2)} µs CPU per row, ${chars.toFixed(0)} characters per row`,
  );
}
