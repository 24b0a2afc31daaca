/**
 * Tables, views and migrations. See docs/schema.md.
 *
 * Every DDL statement is generated for one of two dialects (see capabilities.ts): `modern`
 * (chDB, ClickHouse ≥ 20.1) and `legacy` (ClickHouse 18.16). Both expose the same columns to
 * queries: `time` (DateTime64(9) / DateTime), `time_ns` (UInt64: ALIAS on modern, stored on
 * legacy), addresses comparable with `IPv6StringToNum('…')`, etc.
 */
import { ENCAPSULATIONS, INT_VERSION_NAMES } from '@hopwatch/codec';
import type { Capabilities } from './capabilities';
import { fineRollupStatements } from './console/fine-rollup';

export interface ColumnSpec {
  name: string;
  type: string;
  /** Modern-only codec clause. */
  codec?: string;
}

const lc = (c: Capabilities): string => (c.lowCardinality ? 'LowCardinality(String)' : 'String');
const ip = (c: Capabilities): string => (c.ipv6Type ? 'IPv6' : 'FixedString(16)');

/**
 * `int_version` / `encapsulation` of `hops` and `paths`: Enum8 (one byte per row in the binary
 * inserts, compares and prints as the string). Values = the RecordBatch codes; '' = none/unknown.
 */
export const INT_VERSION_TYPE = `Enum8(${INT_VERSION_NAMES.map((v, i) => `'${v ?? ''}' = ${i}`).join(', ')})`;
export const ENCAPSULATION_TYPE = `Enum8('' = -1, ${ENCAPSULATIONS.map((v, i) => `'${v}' = ${i}`).join(', ')})`;

/** The time columns as written by the encoder (modern: one DateTime64(9); legacy: ns + DateTime). */
export function timeColumns(c: Capabilities, name = 'time'): ColumnSpec[] {
  return c.dateTime64
    ? [{ name, type: "DateTime64(9, 'UTC')", codec: 'CODEC(Delta, LZ4)' }]
    : [
        { name: `${name}_ns`, type: 'UInt64' },
        { name, type: "DateTime('UTC')" },
      ];
}

function flowColumns(c: Capabilities): ColumnSpec[] {
  return [
    { name: 'src_addr', type: ip(c) },
    { name: 'dst_addr', type: ip(c) },
    { name: 'src_port', type: 'UInt16' },
    { name: 'dst_port', type: 'UInt16' },
    { name: 'protocol', type: 'UInt8' },
    { name: 'flow_hash', type: 'UInt64' },
  ];
}

/**
 * Kafka offset ledger: the Kafka partition and offset of the `hopwatch.records.v1`
 * message a row came from (0 / 0 for rows not from Kafka, e.g. embedded mode). `hopwatch analyze`
 * reads `max(kafka_offset)` per partition at start-up and after a rebalance and skips what is
 * already stored, so redelivered messages never duplicate rows.
 */
/** Tables that carry the ledger columns. Created with them by migrations 1–2; stores created
 * before the ledger existed get them at start-up (`ALTER TABLE … ADD COLUMN`, see
 * BaseStore.ensureLedger), without a migration number. */
export const LEDGER_TABLES = ['hops', 'paths'] as const;

export const LEDGER_COLUMNS: readonly ColumnSpec[] = Object.freeze([
  { name: 'kafka_partition', type: 'UInt16' },
  { name: 'kafka_offset', type: 'UInt64' },
]);

/**
 * Capture ledger (`hopwatch replay`): the identity of the capture a row came from (a 64-bit
 * content hash, 0 for rows not replayed from a capture) and the number of the store write
 * that carried it. With `frame` (the packet's position in its capture) the rows themselves
 * record which records of a capture are stored, write by write, so a replay of the same
 * capture (or of the rest of an interrupted one) skips them. Added to `hops` and `paths` by
 * migration 5; see docs/schema.md.
 */
export const CAPTURE_LEDGER_COLUMNS: readonly ColumnSpec[] = Object.freeze([
  { name: 'capture_id', type: 'UInt64' },
  { name: 'capture_write', type: 'UInt32' },
]);

/** Columns of `hops`, in insert order (the Kafka ledger, then the capture ledger last). */
export function hopColumns(c: Capabilities): ColumnSpec[] {
  return [...hopBaseColumns(c), ...LEDGER_COLUMNS, ...CAPTURE_LEDGER_COLUMNS];
}

/** Columns of `paths`, in insert order (the Kafka ledger, then the capture ledger last). */
export function pathColumns(c: Capabilities): ColumnSpec[] {
  return [...pathBaseColumns(c), ...LEDGER_COLUMNS, ...CAPTURE_LEDGER_COLUMNS];
}

/** Columns of `hops` without the ledger. */
function hopBaseColumns(c: Capabilities): ColumnSpec[] {
  return [
    ...timeColumns(c),
    { name: 'switch_id', type: 'UInt32' },
    { name: 'hop_index', type: 'UInt8' },
    { name: 'hop_count', type: 'UInt8' },
    { name: 'ingress_port', type: 'UInt32' },
    { name: 'egress_port', type: 'UInt32' },
    { name: 'queue_id', type: 'UInt16' },
    { name: 'hop_latency', type: 'Nullable(UInt32)' },
    { name: 'queue_occupancy', type: 'Nullable(UInt32)' },
    { name: 'ingress_ts', type: 'Nullable(UInt64)' },
    { name: 'egress_ts', type: 'Nullable(UInt64)' },
    { name: 'l2_ingress_port', type: 'Nullable(UInt32)' },
    { name: 'l2_egress_port', type: 'Nullable(UInt32)' },
    { name: 'tx_util', type: 'Nullable(UInt32)' },
    { name: 'buffer_id', type: 'Nullable(UInt8)' },
    { name: 'buffer_occupancy', type: 'Nullable(UInt32)' },
    { name: 'drop_reason', type: 'Nullable(UInt8)' },
    { name: 'present', type: 'UInt16' },
    ...flowColumns(c),
    { name: 'frame', type: 'UInt64' },
    { name: 'report_node', type: 'Nullable(UInt32)' },
    { name: 'int_version', type: INT_VERSION_TYPE },
    { name: 'encapsulation', type: ENCAPSULATION_TYPE },
    { name: 'origin', type: "Enum8('stack' = 0, 'report' = 1)" },
  ];
}

/** Columns of `paths` without the ledger. */
function pathBaseColumns(c: Capabilities): ColumnSpec[] {
  return [
    ...timeColumns(c),
    ...flowColumns(c),
    { name: 'frame', type: 'UInt64' },
    { name: 'path', type: 'Array(UInt32)' },
    { name: 'hop_count', type: 'UInt8' },
    { name: 'e2e_latency', type: 'Nullable(UInt64)' },
    { name: 'report_seq', type: 'Nullable(UInt32)' },
    { name: 'report_node', type: 'Nullable(UInt32)' },
    { name: 'report_hw_id', type: 'Nullable(UInt8)' },
    { name: 'int_version', type: INT_VERSION_TYPE },
    { name: 'encapsulation', type: ENCAPSULATION_TYPE },
    { name: 'findings', type: 'UInt16' },
  ];
}

export function anomalyColumns(c: Capabilities): ColumnSpec[] {
  return [
    { name: 'id', type: 'String' },
    { name: 'type', type: lc(c) },
    ...timeColumns(c, 'start'),
    ...timeColumns(c, 'end'),
    { name: 'switch_id', type: 'Nullable(UInt32)' },
    { name: 'egress_port', type: 'Nullable(UInt32)' },
    { name: 'queue_id', type: 'Nullable(UInt16)' },
    { name: 'switches', type: 'Array(UInt32)' },
    { name: 'flows', type: 'String' },
    { name: 'packets', type: 'UInt64' },
    { name: 'details', type: 'String' },
    { name: 'inserted_at', type: 'DateTime' },
  ];
}

/** End reasons of a flow interval: the IPFIX flowEndReason codes (see @hopwatch/flows). */
export const FLOW_END_REASON_TYPE =
  "Enum8('idle' = 1, 'active' = 2, 'end' = 3, 'forced' = 4, 'evicted' = 5)";
export const E2E_SOURCE_TYPE = "Enum8('none' = 0, 'timestamps' = 1, 'hop-latency-sum' = 2)";

/** One row per flow interval (see docs/schema.md, `flows`). Latencies in ns. */
export function flowRecordColumns(c: Capabilities): ColumnSpec[] {
  return [
    ...timeColumns(c, 'start'),
    ...timeColumns(c, 'end'),
    { name: 'ip_version', type: 'UInt8' },
    { name: 'src_addr', type: ip(c) },
    { name: 'dst_addr', type: ip(c) },
    { name: 'src_port', type: 'UInt16' },
    { name: 'dst_port', type: 'UInt16' },
    { name: 'protocol', type: 'UInt8' },
    { name: 'vlan', type: 'Nullable(UInt16)' },
    { name: 'vni', type: 'Nullable(UInt32)' },
    { name: 'packets', type: 'UInt64' },
    { name: 'bytes', type: 'UInt64' },
    { name: 'bytes_packets', type: 'UInt64' },
    { name: 'path', type: 'Array(UInt32)' },
    { name: 'path_changes', type: 'UInt32' },
    { name: 'ingress_interface', type: 'Nullable(UInt32)' },
    { name: 'egress_interface', type: 'Nullable(UInt32)' },
    { name: 'e2e_min', type: 'Nullable(Float64)' },
    { name: 'e2e_mean', type: 'Nullable(Float64)' },
    { name: 'e2e_max', type: 'Nullable(Float64)' },
    { name: 'e2e_p50', type: 'Nullable(Float64)' },
    { name: 'e2e_p99', type: 'Nullable(Float64)' },
    { name: 'e2e_samples', type: 'UInt64' },
    { name: 'e2e_source', type: E2E_SOURCE_TYPE },
    { name: 'jitter', type: 'Nullable(Float64)' },
    { name: 'worst_hop', type: 'Nullable(UInt32)' },
    { name: 'worst_hop_latency', type: 'Nullable(Float64)' },
    { name: 'drop_reports', type: 'UInt32' },
    { name: 'report_gaps', type: 'UInt32' },
    { name: 'end_reason', type: FLOW_END_REASON_TYPE },
  ];
}

/** `a UInt32, b String` — for CREATE TABLE (with codecs on modern) or file() structures. */
export function columnList(cols: ColumnSpec[], c: Capabilities | null, withCodecs = false): string {
  return cols
    .map(
      (col) =>
        `\`${col.name}\` ${col.type}${withCodecs && c?.codecs && col.codec ? ' ' + col.codec : ''}`,
    )
    .join(', ');
}

export interface Migration {
  version: number;
  name: string;
  statements(c: Capabilities): string[];
}

/** Time-derived expression usable as a TTL in the given dialect. */
function ttlClause(c: Capabilities, expr: string, days?: number): string {
  if (!c.ttl || !days) return '';
  return ` TTL ${expr} + INTERVAL ${Math.floor(days)} DAY`;
}

export const TTL_TARGETS = [
  { table: 'hops', expr: 'toDateTime(time)' },
  { table: 'paths', expr: 'toDateTime(time)' },
  { table: 'anomalies', expr: 'toDateTime(end)' },
  { table: 'hop_rollup_1m', expr: 'minute' },
  { table: 'flows', expr: 'toDateTime(end)' },
];

/**
 * Migrations. Append only: never edit a migration that has shipped; add a new one.
 * `retentionDays` is applied when a table is created and re-applied at every start-up (ALTER
 * … MODIFY TTL), so it is not part of the migration history.
 */
export function migrations(retentionDays?: number): Migration[] {
  return [
    {
      version: 1,
      name: 'hops',
      statements: (c) => [
        `CREATE TABLE IF NOT EXISTS hops (${columnList([...hopBaseColumns(c), ...LEDGER_COLUMNS], c, true)}${
          c.dateTime64 ? ', `time_ns` UInt64 ALIAS toUnixTimestamp64Nano(time)' : ''
        }) ENGINE = MergeTree PARTITION BY toDate(time) ORDER BY (toStartOfMinute(time), switch_id, egress_port, queue_id, ${
          c.dateTime64 ? 'time' : 'time_ns'
        })${ttlClause(c, 'toDateTime(time)', retentionDays)}`,
      ],
    },
    {
      version: 2,
      name: 'paths',
      statements: (c) => [
        `CREATE TABLE IF NOT EXISTS paths (${columnList([...pathBaseColumns(c), ...LEDGER_COLUMNS], c, true)}${
          c.dateTime64 ? ', `time_ns` UInt64 ALIAS toUnixTimestamp64Nano(time)' : ''
        }) ENGINE = MergeTree PARTITION BY toDate(time) ORDER BY (toStartOfHour(time), flow_hash, ${
          c.dateTime64 ? 'time' : 'time_ns'
        })${ttlClause(c, 'toDateTime(time)', retentionDays)}`,
      ],
    },
    {
      version: 3,
      name: 'anomalies',
      statements: (c) => [
        `CREATE TABLE IF NOT EXISTS anomalies (${columnList(anomalyColumns(c), c, true)}${
          c.dateTime64
            ? ', `start_ns` UInt64 ALIAS toUnixTimestamp64Nano(start), `end_ns` UInt64 ALIAS toUnixTimestamp64Nano(end)'
            : ''
        }) ENGINE = ReplacingMergeTree(inserted_at) PARTITION BY toYYYYMM(start) ORDER BY (start, type, id)${ttlClause(
          c,
          'toDateTime(end)',
          retentionDays,
        )}`,
      ],
    },
    {
      version: 4,
      name: 'hop_rollup_1m',
      statements: (c) => [
        // Implicit inner table: its AggregateFunction column types are derived by the server,
        // which differ between versions (Nullable argument kept or stripped).
        `CREATE MATERIALIZED VIEW IF NOT EXISTS hop_rollup_1m ENGINE = AggregatingMergeTree PARTITION BY toDate(minute) ORDER BY (minute, switch_id, egress_port, queue_id)${ttlClause(
          c,
          'minute',
          retentionDays,
        )} AS SELECT toStartOfMinute(time) AS minute, switch_id, egress_port, queue_id, countState() AS hops, countState(hop_latency) AS latency_samples, sumState(toUInt64(assumeNotNull(hop_latency))) AS latency_sum, quantilesTDigestState(0.5, 0.9, 0.99)(hop_latency) AS latency_q, maxState(hop_latency) AS latency_max, maxState(queue_occupancy) AS occupancy_max FROM hops GROUP BY minute, switch_id, egress_port, queue_id`,
        `CREATE VIEW IF NOT EXISTS hop_latency_1m AS SELECT minute, switch_id, egress_port, queue_id, countMerge(hops) AS hops, countMerge(latency_samples) AS latency_samples, sumMerge(latency_sum) AS latency_sum, quantilesTDigestMerge(0.5, 0.9, 0.99)(latency_q) AS latency_quantiles, latency_quantiles[1] AS p50, latency_quantiles[2] AS p90, latency_quantiles[3] AS p99, maxMerge(latency_max) AS latency_max, maxMerge(occupancy_max) AS occupancy_max FROM hop_rollup_1m GROUP BY minute, switch_id, egress_port, queue_id`,
      ],
    },
    {
      version: 5,
      name: 'capture_ledger',
      // One column per statement, the same in both dialects (18.16 has no ADD COLUMN IF NOT
      // EXISTS): the runner skips a column that exists already (a start-up that stopped
      // between an ALTER and recording the migration).
      statements: () =>
        LEDGER_TABLES.flatMap((t) =>
          CAPTURE_LEDGER_COLUMNS.map(
            (col) => `ALTER TABLE ${t} ADD COLUMN \`${col.name}\` ${col.type} DEFAULT 0`,
          ),
        ),
    },
    {
      version: 6,
      name: 'flows',
      statements: (c) => [
        `CREATE TABLE IF NOT EXISTS flows (${columnList(flowRecordColumns(c), c, true)}${
          c.dateTime64
            ? ', `start_ns` UInt64 ALIAS toUnixTimestamp64Nano(start), `end_ns` UInt64 ALIAS toUnixTimestamp64Nano(end)'
            : ''
          // Replacing: an interval is a function of the input (record time), so a replay of the
          // same capture writes the same rows again; queries read it with FINAL
        }) ENGINE = ReplacingMergeTree PARTITION BY toDate(start) ORDER BY (src_addr, dst_addr, src_port, dst_port, protocol, ifNull(vlan, 65535), ifNull(vni, 4294967295), ${
          c.dateTime64 ? 'start' : 'start_ns'
        })${ttlClause(c, 'toDateTime(end)', retentionDays)}`,
      ],
    },
    {
      version: 7,
      name: 'hop_fine',
      // per-queue rollups at 100 µs (bounded window) and 10 ms: console/fine-rollup.ts
      statements: fineRollupStatements,
    },
  ];
}

export const MIGRATIONS_TABLE_DDL =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, applied_at DateTime) ENGINE = MergeTree ORDER BY version';
