/**
 * Latency statistics: hop-latency sketches and the largest occupancy per queue, hop-latency and
 * end-to-end sketches per flow (a separate, smaller LRU table of flows with latency data).
 */
import { packColumn, restoreColumn } from './columns';
import { SketchPool } from './sketch';
import { BoundedTable } from './table';
import { FLOW_KW, NONE16, NONE32, QUEUE_KW, tupleOf } from './tables';
import type { CheckpointRows, RestoreRows } from './detectors/detector';
import type { AnalyticsConfig, FlowTuple } from './types';

const Mth = Math;

export interface LatencySummary {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export interface QueueLatency extends LatencySummary {
  switchId: number;
  egressPort: number | null;
  queueId: number | null;
  maxOccupancy: number | null;
}

export interface FlowLatency extends LatencySummary {
  flow: FlowTuple;
  /** End-to-end latency: last hop egress − first hop ingress timestamp when both are carried
   * (assumes synchronised switch clocks), else the sum of the hop latencies. */
  endToEnd: LatencySummary;
}

export interface LatencyStats {
  queues: QueueLatency[];
  flows: FlowLatency[];
  /** Worst-case relative error of the percentiles. */
  relativeError: { queue: number; flow: number };
}

/** Per queue: the largest occupancy seen (the sketches restart). */
export interface LatencyCheckpoint {
  maxOccupancy: string;
  hasOccupancy: string;
}

export class LatencyTracker {
  readonly qSketch: SketchPool;
  private readonly qMaxOcc: Float64Array;
  private readonly qHasOcc: Uint8Array;
  readonly latFlows: BoundedTable;
  private readonly lfHop: SketchPool;
  private readonly lfE2e: SketchPool;

  constructor(c: AnalyticsConfig) {
    const Q = c.maxQueues;
    this.qSketch = new SketchPool(Q, c.queueSketchBits);
    this.qMaxOcc = new Float64Array(Q);
    this.qHasOcc = new Uint8Array(Q);
    this.latFlows = new BoundedTable(c.maxLatencyFlows, FLOW_KW);
    this.lfHop = new SketchPool(c.maxLatencyFlows, c.flowSketchBits);
    this.lfE2e = new SketchPool(c.maxLatencyFlows, c.flowSketchBits);
  }

  get bytes(): number {
    return (
      this.qSketch.bytes +
      this.lfHop.bytes +
      this.lfE2e.bytes +
      this.latFlows.bytes +
      this.qMaxOcc.byteLength +
      this.qHasOcc.byteLength
    );
  }

  newQueue(q: number): void {
    this.qSketch.clear(q);
    this.qMaxOcc[q] = 0;
    this.qHasOcc[q] = 0;
  }

  queueLatency(q: number, lat: number): void {
    this.qSketch.add(q, lat);
  }

  queueOccupancy(q: number, occ: number): void {
    this.qHasOcc[q] = 1;
    if (occ > this.qMaxOcc[q]) this.qMaxOcc[q] = occ;
  }

  /** A new slot of `latFlows` (the Analyzer finds the slot itself: see its processRecord). */
  newFlow(lf: number): void {
    this.lfHop.clear(lf);
    this.lfE2e.clear(lf);
  }

  flowHop(lf: number, lat: number): void {
    this.lfHop.add(lf, lat);
  }

  flowEndToEnd(lf: number, e2e: number): void {
    this.lfE2e.add(lf, e2e);
  }

  evictIdle(now: number, flowIdleNs: number): void {
    this.latFlows.evictIdle(now, flowIdleNs);
  }

  /** Percentiles per queue of `queues` and per flow (the `maxFlows` most recently active). */
  stats(queues: BoundedTable, opts: { maxFlows?: number }): LatencyStats {
    const out: QueueLatency[] = [];
    const q = queues;
    for (let s = 0; s < q.cap; s++) {
      if (!q.live[s]) continue;
      const k = s * QUEUE_KW;
      out.push({
        switchId: q.keys[k],
        egressPort: q.keys[k + 1] === NONE32 ? null : q.keys[k + 1],
        queueId: q.keys[k + 2] === NONE16 ? null : q.keys[k + 2],
        ...summary(this.qSketch, s),
        maxOccupancy: this.qHasOcc[s] ? this.qMaxOcc[s] : null,
      });
    }
    out.sort(
      (a, b) =>
        a.switchId - b.switchId ||
        (a.egressPort ?? -1) - (b.egressPort ?? -1) ||
        (a.queueId ?? -1) - (b.queueId ?? -1),
    );
    const flows: FlowLatency[] = [];
    const lf = this.latFlows;
    const order: number[] = [];
    for (let s = 0; s < lf.cap; s++) if (lf.live[s]) order.push(s);
    order.sort((a, b) => lf.lastSeen[b] - lf.lastSeen[a]);
    const lim = Mth.min(order.length, opts.maxFlows ?? order.length);
    for (let i = 0; i < lim; i++) {
      const s = order[i];
      flows.push({
        flow: tupleOf(lf.keys, s * FLOW_KW),
        ...summary(this.lfHop, s),
        endToEnd: summary(this.lfE2e, s),
      });
    }
    return {
      queues: out,
      flows,
      relativeError: { queue: this.qSketch.relativeError, flow: this.lfHop.relativeError },
    };
  }

  checkpoint(rows: CheckpointRows): LatencyCheckpoint {
    return {
      maxOccupancy: packColumn(this.qMaxOcc, rows.queues),
      hasOccupancy: packColumn(this.qHasOcc, rows.queues),
    };
  }

  /** Restored queues start with empty sketches. */
  restore(c: LatencyCheckpoint, rows: RestoreRows): void {
    for (const s of rows.queues) this.qSketch.clear(s);
    restoreColumn(this.qMaxOcc, c.maxOccupancy, Float64Array, rows.queues, 'latency.maxOccupancy');
    restoreColumn(this.qHasOcc, c.hasOccupancy, Uint8Array, rows.queues, 'latency.hasOccupancy');
  }
}

function summary(p: SketchPool, s: number): LatencySummary {
  const n = p.count(s);
  return {
    count: n,
    p50: p.quantile(s, 0.5),
    p90: p.quantile(s, 0.9),
    p99: p.quantile(s, 0.99),
    max: n ? p.max[s] : null,
  };
}
