/**
 * Analyzer checkpoints: the detector state that matters after a restart, as a plain
 * JSON-serialisable object (typed-array columns as base64), so a restarted or rebalanced
 * analytics worker resumes without re-learning baselines or raising false alarms. It is composed
 * of the shared tables' part and each detector's own typed part:
 *
 * - `flows`: per flow, the last full path (and its hash, hop count, last switch), packet count
 *   and inter-arrival statistics (path changes, silent flows, micro-loop hop counts);
 * - `queues`, `reporters`: the table entries the detectors' per-slot state belongs to;
 * - `latency`: per queue, the largest occupancy (the sketches restart);
 * - `detectors.microburst`: per queue, the latency / occupancy baselines and deviations, sample
 *   count and the egress-timestamp mapping;
 * - `detectors.reportLoss`: per Telemetry Report source, the highest sequence number and the
 *   recent-sequence bitmap;
 * - the other detectors carry nothing: open anomaly episodes are not saved (an episode open at
 *   the checkpoint is reported again from the evidence seen after the restart), nor is the
 *   paths table used by silent-flow detection (rebuilt as traffic flows).
 *
 * Table entries are written least recently used first, so restoring them rebuilds the same LRU
 * order, and every per-slot column follows its table's entry order. Times are ns relative to the
 * analyzer's base second, which the checkpoint carries.
 *
 * `v` changes whenever the layout does; restoring any other version is an error (the caller
 * then starts from empty state).
 */
import type { NoState } from './detectors/detector';
import type { MicroburstCheckpoint } from './detectors/microburst';
import type { ReportLossCheckpoint } from './detectors/report-loss';
import type { LatencyCheckpoint } from './latency';
import type { FlowsCheckpoint, TableCheckpoint } from './tables';

/** 1: the Analyzer's private fields by name; 2: composed of the tables' and detectors' parts. */
export const CHECKPOINT_VERSION = 2;

export interface AnalyzerCheckpoint {
  v: typeof CHECKPOINT_VERSION;
  baseSec: number;
  /** Latest time seen (relative ns), null before any. */
  now: number | null;
  records: number;
  flows: FlowsCheckpoint;
  queues: TableCheckpoint;
  reporters: TableCheckpoint;
  latency: LatencyCheckpoint;
  detectors: {
    microloop: NoState;
    pathChange: NoState;
    microburst: MicroburstCheckpoint;
    reportLoss: ReportLossCheckpoint;
    drops: NoState;
    silentFlows: NoState;
  };
}

/** Throws unless `c` looks like a checkpoint of this version (a clear error for a checkpoint
 * written by another version, or not a checkpoint at all). */
export function checkCheckpoint(c: unknown): asserts c is AnalyzerCheckpoint {
  if (typeof c !== 'object' || c === null) throw new Error('analyzer checkpoint: not an object');
  const v = (c as { v?: unknown }).v;
  if (v !== CHECKPOINT_VERSION)
    throw new Error(
      `unsupported analyzer checkpoint version ${String(v)} (this analyzer reads version ${CHECKPOINT_VERSION})`,
    );
  const k = c as Partial<AnalyzerCheckpoint>;
  for (const part of ['flows', 'queues', 'reporters', 'latency', 'detectors'] as const)
    if (typeof k[part] !== 'object' || k[part] === null)
      throw new Error(`analyzer checkpoint: '${part}' missing`);
  for (const d of ['microburst', 'reportLoss'] as const)
    if (typeof k.detectors?.[d] !== 'object' || k.detectors[d] === null)
      throw new Error(`analyzer checkpoint: 'detectors.${d}' missing`);
  if (typeof k.baseSec !== 'number' || typeof k.records !== 'number')
    throw new Error('analyzer checkpoint: baseSec / records missing');
}
