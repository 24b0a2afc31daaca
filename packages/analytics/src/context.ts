/**
 * What every detector shares with the Analyzer that drives it: the configuration, the clock and
 * the anomaly outbox.
 *
 * Time: internally a float64 of ns relative to the first record's second (exact for ~104
 * days); anomalies carry bigint ns since the epoch.
 */
import type { AnalyticsConfig, Anomaly } from './types';

// Globals read through module constants: a global lookup per call is slow in vm contexts (jest).
const Mth = Math;

export class AnalyzerContext {
  readonly config: AnalyticsConfig;
  /** The epoch second times are relative to (-1 until the first record or clock tick). */
  baseSec = -1;
  /** Latest time seen (relative ns). */
  now = Number.NEGATIVE_INFINITY;
  /** The time of the record being processed (relative ns). The per-record detector methods read
   * it here rather than take it as an argument: a double passed to a call V8 does not inline is
   * boxed, one heap number per call (most of the detectors' garbage). */
  readonly clock = new Float64Array(1);
  /** Anomalies emitted so far. */
  emitted = 0;
  /** Anomalies finished and not yet flushed. */
  pending: Anomaly[] = [];

  constructor(config: AnalyticsConfig) {
    this.config = config;
  }

  /** Relative ns of an absolute time (ns since the epoch). */
  rel(ns: bigint): number {
    return Number(ns - BigInt(this.baseSec) * 1_000_000_000n);
  }

  /** Absolute ns since the epoch of a relative time. */
  abs(t: number): bigint {
    return BigInt(this.baseSec) * 1_000_000_000n + BigInt(Mth.round(t));
  }

  emit(a: Anomaly): void {
    this.emitted++;
    this.pending.push(a);
    if (this.config.onAnomaly) this.config.onAnomaly(a);
  }
}
