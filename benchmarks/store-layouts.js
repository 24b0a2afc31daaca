#!/usr/bin/env node
/**
 * What the ClickHouse engine (embedded chDB) spends per hop row, by table layout: the lower
 * bound of the embedded store's insert cost, without hopwatch's encoder.
 *   npx tsc -b packages/store && node benchmarks/store-layouts.js [rows=5000000]
 * Builds one Native file of `rows` hop rows with the `hops` columns (synthetic values: 5 hops per
 * packet, 16 switches per tier, 32 ports, 4 queues), then inserts it 500,000 rows at a time
 * (as the store does) into fresh tables of several layouts and prints the process CPU (all
 * threads) per million rows and the wall rate. Background merges that are still running when
 * the last insert returns are not counted.
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Session } = require('chdb');
const { hopColumns, columnList, migrations } = require('@hopwatch/store/dist/schema');

const N = Number(process.argv[2] || 5_000_000);
const CHUNK = 500_000;
const caps = { dateTime64: true, ipv6Type: true, lowCardinality: true, codecs: true, ttl: true };
const cols = hopColumns(caps);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-layouts-'));
const s = new Session(dir);
const quote = (x) => x.replace(/'/g, "\\'");

// one hop per row; packet p = floor(n / 5) crosses hops n % 5
const VALUES = {
  time: "toDateTime64(now() - 3600, 9, 'UTC') + toIntervalNanosecond(intDiv(number, 5) * 20000)",
  switch_id: '1 + (number % 5) * 16 + (intDiv(number, 5) % 16)',
  hop_index: 'number % 5',
  hop_count: '5',
  ingress_port: 'intDiv(number, 5) % 32',
  egress_port: '(intDiv(number, 5) + number % 5) % 32',
  queue_id: 'number % 4',
  hop_latency: '500 + (number * 7) % 20000',
  queue_occupancy: '(number * 3) % 5000',
  egress_ts: 'toUInt64(4294967296 + number)',
  present: '31',
  src_addr: 'toIPv6(IPv4NumToString(toUInt32(167772160 + intDiv(number, 5) % 1000)))',
  dst_addr: "toIPv6('10.1.0.1')",
  src_port: '1024 + intDiv(number, 5) % 5000',
  dst_port: '443',
  protocol: '6',
  flow_hash: 'cityHash64(intDiv(number, 5) % 1000, intDiv(number, 5) % 5000)',
  frame: 'intDiv(number, 5)',
  int_version: '3',
  encapsulation: '0',
  origin: '0',
  kafka_partition: '0',
  kafka_offset: '0',
};

function nativeFile(name, columns, orderBy = '') {
  const select = columns
    .map(
      (c) =>
        `CAST(${VALUES[c.name] ?? (c.type.startsWith('Nullable') ? 'NULL' : '0')} AS ${c.type}) AS \`${c.name}\``,
    )
    .join(', ');
  // one file per insert, so that reading the input costs the same for every insert
  const files = [];
  for (let o = 0; o < N; o += CHUNK) {
    const file = path.join(dir, `${name}.${o}.native`);
    s.query(
      `INSERT INTO FUNCTION file('${file}', 'Native') SELECT ${select} FROM numbers(${o}, ${Math.min(CHUNK, N - o)}) ${orderBy}`,
    );
    files.push(file);
  }
  const bytes = files.reduce((a, f) => a + fs.statSync(f).size, 0);
  return { files, bytes, structure: quote(columnList(columns, null)), columns };
}

function run(label, src, ddl, extra = []) {
  s.query('DROP TABLE IF EXISTS mv');
  s.query('DROP TABLE IF EXISTS t');
  s.query(ddl);
  for (const q of extra) s.query(q);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const file of src.files) {
    s.query(`INSERT INTO t SELECT * FROM file('${file}', 'Native', '${src.structure}')`);
  }
  const c = process.cpuUsage(c0);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const ms = (c.user + c.system) / 1e3;
  console.log(
    `${label.padEnd(58)} ${String(Math.round((ms * 1e6) / N)).padStart(5)} CPU-ms per million rows, ` +
      `${(N / secs / 1e6).toFixed(2)} M rows/s wall`,
  );
}

const ALIAS = ', `time_ns` UInt64 ALIAS toUnixTimestamp64Nano(time)';
const KEY = 'ORDER BY (toStartOfMinute(time), switch_id, egress_port, queue_id, time)';
const PART = 'PARTITION BY toDate(time)';
const rollup = migrations()[3]
  .statements(caps)[0]
  .replace('hop_rollup_1m', 'mv')
  .replace('FROM hops', 'FROM t');

console.log(`${N} hop rows per layout, inserts of ${CHUNK}, chDB, ${os.cpus()[0].model}`);
const full = nativeFile('full', cols);
const fullCols = columnList(cols, caps, true);
console.log(
  `hops as stored (${cols.length} columns): ${(full.bytes / N).toFixed(0)} bytes per row in Native`,
);
run(
  'as stored: hops + rollup MV',
  full,
  `CREATE TABLE t (${fullCols}${ALIAS}) ENGINE = MergeTree ${PART} ${KEY}`,
  [rollup],
);
// the same rows, each insert already in sort-key order (the engine then skips its sort and permutation)
const sorted = nativeFile(
  'sorted',
  cols,
  'ORDER BY toStartOfMinute(time), switch_id, egress_port, queue_id, time',
);
run(
  'as stored + MV, rows arriving in sort-key order',
  sorted,
  `CREATE TABLE t (${fullCols}${ALIAS}) ENGINE = MergeTree ${PART} ${KEY}`,
  [rollup],
);
run(
  'as stored + MV, ORDER BY time',
  full,
  `CREATE TABLE t (${fullCols}${ALIAS}) ENGINE = MergeTree ${PART} ORDER BY time`,
  [rollup],
);
run(
  'as stored, without the MV',
  full,
  `CREATE TABLE t (${fullCols}${ALIAS}) ENGINE = MergeTree ${PART} ${KEY}`,
);
run(
  'Memory engine (no sort, no compression, no files)',
  full,
  `CREATE TABLE t (${fullCols}) ENGINE = Memory`,
);
run(
  'MergeTree ORDER BY tuple() (no sort)',
  full,
  `CREATE TABLE t (${fullCols}) ENGINE = MergeTree ORDER BY tuple()`,
);
run(
  'ORDER BY (switch_id, time)',
  full,
  `CREATE TABLE t (${fullCols}) ENGINE = MergeTree ${PART} ORDER BY (switch_id, time)`,
);
const plain = cols.map((c) => ({ ...c, type: c.type.replace(/^Nullable\((.*)\)$/, '$1') }));
run(
  'no Nullable columns',
  nativeFile('plain', plain),
  `CREATE TABLE t (${columnList(plain, caps, true)}) ENGINE = MergeTree ${PART} ${KEY}`,
);

// per-record values (flow 5-tuple, report node, INT version, encapsulation) only in `paths`
const perRecord = new Set([
  'src_addr',
  'dst_addr',
  'src_port',
  'dst_port',
  'protocol',
  'report_node',
  'int_version',
  'encapsulation',
]);
const normCols = cols.filter((c) => !perRecord.has(c.name));
const norm = nativeFile('normalized', normCols);
console.log(
  `hop row without per-record columns (${normCols.length} columns): ${(norm.bytes / N).toFixed(0)} bytes per row in Native`,
);
run(
  'without per-record columns + MV',
  norm,
  `CREATE TABLE t (${columnList(normCols, caps, true)}${ALIAS}) ENGINE = MergeTree ${PART} ${KEY}`,
  [rollup],
);

// the narrowest useful hop row: no flow 5-tuple (flow_hash only), no report/ledger columns
const keep = new Set([
  'time',
  'switch_id',
  'hop_index',
  'hop_count',
  'ingress_port',
  'egress_port',
  'queue_id',
  'hop_latency',
  'queue_occupancy',
  'egress_ts',
  'present',
  'flow_hash',
  'frame',
]);
const narrowCols = cols.filter((c) => keep.has(c.name));
const narrow = nativeFile('narrow', narrowCols);
const nc = columnList(narrowCols, caps, true);
console.log(
  `narrow hop row (${narrowCols.length} columns): ${(narrow.bytes / N).toFixed(0)} bytes per row in Native`,
);
run('narrow, same sort key', narrow, `CREATE TABLE t (${nc}) ENGINE = MergeTree ${PART} ${KEY}`);
run(
  'narrow, ORDER BY time',
  narrow,
  `CREATE TABLE t (${nc}) ENGINE = MergeTree ${PART} ORDER BY time`,
);
run(
  'narrow, ORDER BY tuple()',
  narrow,
  `CREATE TABLE t (${nc}) ENGINE = MergeTree ORDER BY tuple()`,
);
s.cleanup?.();
fs.rmSync(dir, { recursive: true, force: true });
