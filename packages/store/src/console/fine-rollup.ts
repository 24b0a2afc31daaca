/**
 * Fine-grained per-queue rollups for the console and Grafana (docs/schema.md, "Fine rollups").
 *
 * Why two tables: a microburst lasts ~100 µs, which the per-minute rollup flattens to nothing,
 * but 100 µs buckets kept for days would be as large as `hops` itself on a busy fabric. So:
 * `hop_fine_100us` (100 µs buckets, a bounded window: partitioned by the hour of the day of the
 * packet time, the hours outside the window dropped by pruneFineRollup) and `hop_fine_10ms`
 * (10 ms buckets, partitioned by day and kept like `hops`).
 *
 * Why the hour of the day, not the hour: an INSERT into `hops` fails as a whole when one block
 * holds more than 100 partitions of any table a view writes (max_partitions_per_insert_block),
 * so no view may have finer partitions than `hops` itself (days) has: 24 partitions at most,
 * whatever times a block holds.
 *
 * Explicit target tables (`… TO`), not implicit inner ones: the state types are spelled out and
 * the same in both dialects (every argument is made non-Nullable), and the partitions can be
 * dropped by name. A bucket is the packet time in ns divided by the bucket width (UInt64): the
 * same column in both dialects, with no DateTime64 needed.
 */
import type { Capabilities } from '../capabilities';

export interface FineLevel {
  table: string;
  /** Bucket width in ns. */
  widthNs: number;
  /** Buckets per partition. */
  partitionBuckets: number;
  /** Partitions are numbered modulo this (hour of the day), if set. */
  cycle?: number;
}

/** 100 µs buckets; partitions: hour of the day (the unit the bounded window is dropped in). */
export const FINE_100US: FineLevel = {
  table: 'hop_fine_100us',
  widthNs: 100_000,
  partitionBuckets: 36_000_000,
  cycle: 24,
};
/** 10 ms buckets, one partition per day. */
export const FINE_10MS: FineLevel = {
  table: 'hop_fine_10ms',
  widthNs: 10_000_000,
  partitionBuckets: 8_640_000,
};
export const FINE_LEVELS: readonly FineLevel[] = [FINE_100US, FINE_10MS];

/** Default window of `hop_fine_100us`, in minutes of packet time behind the newest bucket. */
export const DEFAULT_FINE_WINDOW_MINUTES = 30;

const STATE_COLUMNS =
  '`hops` AggregateFunction(count), `latency_samples` AggregateFunction(sum, UInt64), ' +
  '`latency_sum` AggregateFunction(sum, UInt64), `latency_max` AggregateFunction(max, UInt32), ' +
  '`occupancy_max` AggregateFunction(max, UInt32)';

const STATES =
  'countState() AS hops, sumState(toUInt64(isNotNull(hop_latency))) AS latency_samples, ' +
  'sumState(toUInt64(assumeNotNull(hop_latency))) AS latency_sum, ' +
  'maxState(assumeNotNull(hop_latency)) AS latency_max, maxState(assumeNotNull(queue_occupancy)) AS occupancy_max';

const partitionExpr = (l: FineLevel): string =>
  l.cycle
    ? `intDiv(bucket, ${l.partitionBuckets}) % ${l.cycle}`
    : `intDiv(bucket, ${l.partitionBuckets})`;

/** DDL of migration 7 (both levels: target table, then the view that fills it from `hops`). */
export function fineRollupStatements(c: Capabilities): string[] {
  const ns = c.dateTime64 ? 'toUnixTimestamp64Nano(time)' : 'time_ns';
  return FINE_LEVELS.flatMap((l) => [
    `CREATE TABLE IF NOT EXISTS ${l.table} (\`bucket\` UInt64, \`switch_id\` UInt32, \`egress_port\` UInt32, \`queue_id\` UInt16, ${STATE_COLUMNS}) ENGINE = AggregatingMergeTree PARTITION BY ${partitionExpr(l)} ORDER BY (bucket, switch_id, egress_port, queue_id)`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${l.table}_mv TO ${l.table} AS SELECT intDiv(${ns}, ${l.widthNs}) AS bucket, switch_id, egress_port, queue_id, ${STATES} FROM hops GROUP BY bucket, switch_id, egress_port, queue_id`,
  ]);
}

/** What pruneFineRollup needs of a store. */
export interface PruneTarget {
  readonly database: string;
  query(sql: string, format?: 'json'): Promise<Record<string, unknown>[]>;
  command(sql: string): Promise<void>;
}

/** The longest window pruneFineRollup keeps: under a day, so that hours of the day do not wrap. */
export const MAX_FINE_WINDOW_MINUTES = 22 * 60;

/**
 * Drops the partitions (hours of the day) of `hop_fine_100us` that hold nothing of the last
 * `minutes` of packet time behind its newest bucket (packet time, not the clock: a replay of an
 * old capture keeps its own last window). What stays is the window rounded out to whole hours:
 * `minutes` to `minutes` + 60 of the newest data; older rows left in those hours (earlier days)
 * are deleted by a mutation (asynchronous). Returns how many partitions were dropped.
 */
export async function pruneFineRollup(
  store: PruneTarget,
  minutes = DEFAULT_FINE_WINDOW_MINUTES,
): Promise<number> {
  if (!(minutes > 0 && minutes <= MAX_FINE_WINDOW_MINUTES))
    throw new Error(`fine rollup window: ${minutes} minutes (1 to ${MAX_FINE_WINDOW_MINUTES})`);
  const l = FINE_100US;
  const per = BigInt(l.partitionBuckets);
  const cycle = BigInt(l.cycle ?? 0);
  const newest = await store.query(
    `SELECT toString(max(bucket)) AS b, count() AS n FROM ${l.table}`,
  );
  if (!newest[0] || Number(newest[0].n) === 0) return 0;
  const last = BigInt(String(newest[0].b));
  const first = last - BigInt(Math.ceil((minutes * 60e9) / l.widthNs));
  const keep = new Set<string>();
  for (let h = (first < 0n ? 0n : first) / per; h <= last / per; h++) keep.add(String(h % cycle));
  const db = store.database.replace(/[\\']/g, '');
  const parts = await store.query(
    `SELECT DISTINCT partition AS p FROM system.parts WHERE database = '${db}' AND table = '${l.table}' AND active`,
  );
  let dropped = 0;
  for (const r of parts) {
    const p = String(r.p);
    if (!/^\d+$/.test(p) || keep.has(p)) continue;
    await store.command(`ALTER TABLE ${l.table} DROP PARTITION ${p}`);
    dropped++;
  }
  // the kept hours may also hold the same hours of earlier days (one insert spanning days, a
  // replay of an older capture): deleted by a mutation, only then and one at a time
  const old = await store.query(
    `SELECT count() AS n FROM ${l.table} WHERE bucket < ${first < 0n ? 0n : first}`,
  );
  if (Number(old[0]?.n ?? 0) > 0) {
    const pending = await store.query(
      `SELECT count() AS n FROM system.mutations WHERE database = '${db}' AND table = '${l.table}' AND is_done = 0`,
    );
    if (Number(pending[0]?.n ?? 0) === 0)
      await store.command(
        `ALTER TABLE ${l.table} DELETE WHERE bucket < ${first < 0n ? 0n : first}`,
      );
  }
  return dropped;
}
