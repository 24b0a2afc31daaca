/** The analyze worker's counters and their Prometheus series. */
import type { Counter, Histogram, Registry } from '../../metrics/registry';

export interface AnalyzeStats {
  records: { records: number; queues: number; reports: number };
  hopRows: number;
  pathRows: number;
  skippedRecords: number;
  insertFailures: number;
  /** Store flushes (group commits): one INSERT per table with pending rows each. */
  storeFlushes: number;
  anomalies: number;
  deduplicated: number;
  checkpoints: number;
  checkpointFailures: number;
  restored: number;
  detectorGaps: number;
  anomalyStoreFailures: number;
  /** Messages skipped because the same bytes were already handled (producer duplicates). */
  duplicateMessages: number;
  /** Messages that do not decode (not hopwatch.v1, corrupt): skipped, counted, logged once. */
  malformedMessages: number;
}

export function emptyAnalyzeStats(): AnalyzeStats {
  return {
    records: { records: 0, queues: 0, reports: 0 },
    hopRows: 0,
    pathRows: 0,
    skippedRecords: 0,
    insertFailures: 0,
    storeFlushes: 0,
    anomalies: 0,
    deduplicated: 0,
    checkpoints: 0,
    checkpointFailures: 0,
    restored: 0,
    detectorGaps: 0,
    anomalyStoreFailures: 0,
    duplicateMessages: 0,
    malformedMessages: 0,
  };
}

/** The series observed as things happen (absent without a registry). */
export interface AnalyzeInstruments {
  insertRows?: Histogram;
  insertSec?: Histogram;
  eventDelay?: Histogram;
  anomalyDelay?: Histogram;
  anomalies?: Counter;
}

/** What the scraped series read (at scrape time). */
export interface AnalyzeMetricSources {
  stats: AnalyzeStats;
  reportGaps: () => number;
  redisErrors: () => number;
  /** "topic/partition" → messages behind the partition end. */
  lag: () => ReadonlyMap<string, number>;
  partitions: () => number;
}

export const DELAY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60];

/** Seconds from event time `ns` (ns since epoch) to now. */
export function delaySeconds(ns: bigint): number {
  return Math.max(0, Date.now() / 1000 - Number(ns) / 1e9);
}

export function instrumentAnalyze(reg: Registry, src: AnalyzeMetricSources): AnalyzeInstruments {
  const st = src.stats;
  reg.counter(
    'hopwatch_analyze_records_total',
    'Rows fed to the detectors, by topic kind.',
    ['kind'],
    (c) => {
      for (const [k, v] of Object.entries(st.records)) c.setTotal({ kind: k }, v);
    },
  );
  reg.counter(
    'hopwatch_analyze_rows_inserted_total',
    'Rows made durable in ClickHouse, by table.',
    ['table'],
    (c) => {
      c.setTotal({ table: 'hops' }, st.hopRows);
      c.setTotal({ table: 'paths' }, st.pathRows);
    },
  );
  reg.counter(
    'hopwatch_analyze_records_skipped_total',
    'Redelivered records already stored (offset ledger).',
    [],
    (c) => c.setTotal(st.skippedRecords),
  );
  reg.counter(
    'hopwatch_analyze_duplicate_messages_total',
    'Byte-identical Kafka messages skipped (producer retries).',
    [],
    (c) => c.setTotal(st.duplicateMessages),
  );
  reg.counter(
    'hopwatch_analyze_malformed_messages_total',
    'Kafka messages that do not decode as hopwatch.v1 (skipped, so the partition goes on).',
    [],
    (c) => c.setTotal(st.malformedMessages),
  );
  reg.counter(
    'hopwatch_store_insert_failures_total',
    'Failed ClickHouse inserts (the batch is redelivered).',
    [],
    (c) => c.setTotal(st.insertFailures),
  );
  reg.counter(
    'hopwatch_store_flushes_total',
    'Store flushes of the records rows (group commits: one INSERT per table with rows each).',
    [],
    (c) => c.setTotal(st.storeFlushes),
  );
  const insertRows = reg.histogram(
    'hopwatch_store_insert_batch_hop_rows',
    'Hop rows per durable ClickHouse insert.',
    [],
    [100, 1000, 10000, 50000, 100000, 500000, 1000000],
  );
  const insertSec = reg.histogram(
    'hopwatch_store_insert_seconds',
    'Latency of a durable ClickHouse insert (encode + write).',
    [],
  );
  // live traffic only: for a replayed capture these are the capture's age
  const eventDelay = reg.histogram(
    'hopwatch_analyze_event_delay_seconds',
    'Wall clock minus the newest event time of each batch fed to the detectors, by topic kind (how far the detectors are behind live traffic).',
    ['kind'],
    DELAY_BUCKETS,
  );
  const anomalyDelay = reg.histogram(
    'hopwatch_anomaly_delay_seconds',
    'Wall clock at publication minus the anomaly end (event time), by type.',
    ['type'],
    DELAY_BUCKETS,
  );
  const anomalies = reg.counter(
    'hopwatch_analyze_anomalies_total',
    'Anomalies published (after de-duplication), by type.',
    ['type'],
  );
  reg.counter(
    'hopwatch_analyze_anomalies_deduplicated_total',
    'Anomalies already published by another worker.',
    [],
    (c) => c.setTotal(st.deduplicated),
  );
  reg.counter(
    'hopwatch_analyze_report_sequence_gaps_total',
    'Telemetry Reports missing (sequence gaps), from report_loss anomalies.',
    [],
    (c) => c.setTotal(src.reportGaps()),
  );
  reg.counter(
    'hopwatch_analyze_checkpoints_total',
    'Detector checkpoints written to Redis.',
    [],
    (c) => c.setTotal(st.checkpoints),
  );
  reg.counter(
    'hopwatch_analyze_checkpoint_failures_total',
    'Checkpoints not written (Redis down, or a newer one exists).',
    [],
    (c) => c.setTotal(st.checkpointFailures),
  );
  reg.counter(
    'hopwatch_analyze_detector_gaps_total',
    'Partitions resumed with messages the detectors did not see.',
    [],
    (c) => c.setTotal(st.detectorGaps),
  );
  reg.counter('hopwatch_redis_errors_total', 'Failed Redis calls.', [], (c) =>
    c.setTotal(src.redisErrors()),
  );
  reg.gauge(
    'hopwatch_kafka_consumer_lag',
    'Messages behind the partition end (refreshed every 5 s).',
    ['topic', 'partition'],
    (g) => {
      for (const [k, v] of src.lag()) {
        const i = k.lastIndexOf('/');
        g.set({ topic: k.slice(0, i), partition: k.slice(i + 1) }, v);
      }
    },
  );
  reg.gauge(
    'hopwatch_analyze_partitions',
    'Partitions with detector state in this worker.',
    [],
    (g) => g.set({}, src.partitions()),
  );
  return { insertRows, insertSec, eventDelay, anomalyDelay, anomalies };
}
