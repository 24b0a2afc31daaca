/**
 * Fine-grained per-queue rollups for the console and Grafana (docs/schema.md, "Fine rollups").
 *
 * Why two tables: a microburst lasts ~100 µs, which the per-minute rollup flattens to nothing,
 * but 100 µs buckets kept for days would be as large as `hops` itself on a busy fabric. So:
 * `hop_fine_100us` (100 µs buckets, a bounded window: partitions of 10 minutes of packet time,
 * the oldest dropped by pruneFineRollup) and `hop_fine_10ms` (10 ms buckets, kept like `hops`).
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
}

/** 100 µs buckets, 10-minute partitions (the unit the bounded window is dropped in). */
export const FINE_100US: FineLevel = {
  table: 'hop_fine_100us',
  widthNs: 100_000,
  partitionBuckets: 6_000_000,
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

/** DDL of migration 7 (both levels: target table, then the view that fills it from `hops`). */
export function fineRollupStatements(c: Capabilities): string[] {
  const ns = c.dateTime64 ? 'toUnixTimestamp64Nano(time)' : 'time_ns';
  return FINE_LEVELS.flatMap((l) => [
    `CREATE TABLE IF NOT EXISTS ${l.table} (\`bucket\` UInt64, \`switch_id\` UInt32, \`egress_port\` UInt32, \`queue_id\` UInt16, ${STATE_COLUMNS}) ENGINE = AggregatingMergeTree PARTITION BY intDiv(bucket, ${l.partitionBuckets}) ORDER BY (bucket, switch_id, egress_port, queue_id)`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${l.table}_mv TO ${l.table} AS SELECT intDiv(${ns}, ${l.widthNs}) AS bucket, switch_id, egress_port, queue_id, ${STATES} FROM hops GROUP BY bucket, switch_id, egress_port, queue_id`,
  ]);
}

/** What pruneFineRollup needs of a store. */
export interface PruneTarget {
  readonly database: string;
  query(sql: string, format?: 'json'): Promise<Record<string, unknown>[]>;
  command(sql: string): Promise<void>;
}

/**
 * Drops the partitions of `hop_fine_100us` that lie wholly more than `minutes` behind its newest
 * bucket (packet time, not the clock: a replay of an old capture keeps its own last window).
 * Returns how many partitions were dropped.
 */
export async function pruneFineRollup(
  store: PruneTarget,
  minutes = DEFAULT_FINE_WINDOW_MINUTES,
): Promise<number> {
  const l = FINE_100US;
  const newest = await store.query(
    `SELECT toString(max(bucket)) AS b, count() AS n FROM ${l.table}`,
  );
  if (!newest[0] || Number(newest[0].n) === 0) return 0;
  const keepFrom = BigInt(String(newest[0].b)) - BigInt(Math.ceil((minutes * 60e9) / l.widthNs));
  const lastDroppable = keepFrom / BigInt(l.partitionBuckets) - 1n;
  if (lastDroppable < 0n) return 0;
  const parts = await store.query(
    `SELECT DISTINCT partition AS p FROM system.parts WHERE database = '${store.database.replace(/[\\']/g, '')}' AND table = '${l.table}' AND active`,
  );
  let dropped = 0;
  for (const r of parts) {
    const p = String(r.p);
    if (!/^\d+$/.test(p) || BigInt(p) > lastDroppable) continue;
    await store.command(`ALTER TABLE ${l.table} DROP PARTITION ${p}`);
    dropped++;
  }
  return dropped;
}
