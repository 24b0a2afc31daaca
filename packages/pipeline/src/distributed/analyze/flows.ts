/**
 * Flow intervals in the distributed mode: one FlowTable per partition of the records topic.
 * Records are keyed by their flow's 5-tuple, so every record of a flow is in one partition and
 * the member that owns the partition computes the flow (the same FlowTable as replay/serve,
 * fed the same records in the same order).
 *
 * Exactly once, and what a crash costs:
 * - A batch's closed intervals are inserted into `flows` before its handler resolves, so its
 *   offsets are committed only once they are durable. A failed insert fails the batch; the
 *   records are not fed again (they are in the table already), the pending intervals are
 *   inserted on the redelivery.
 * - The table (and intervals closed but not yet inserted) is part of the partition's Redis
 *   checkpoint, taken with the detectors' at the same offset. A member that gets the
 *   partition (rebalance, graceful restart) continues from it: the intervals are those of an
 *   uninterrupted run.
 * - After a SIGKILL the committed offset can be past the checkpoint (offsets commit per
 *   batch, checkpoints every few seconds): the records in between are not redelivered, so the
 *   restored table could not be completed. It is dropped instead (counted in `stateGaps`,
 *   logged) and flows start afresh at the redelivered records. Intervals already inserted stay
 *   as they are; the part of an interval open at the crash that lies before the redelivered
 *   records is not in `flows`. Rows are never doubled by a re-insert: `flows` is a
 *   ReplacingMergeTree keyed by flow and interval start, read with FINAL.
 */
import {
  FlowTable,
  type FlowRecord,
  type FlowTableCheckpoint,
  type FlowTableOptions,
} from '@hopwatch/flows';
import type { RecordBatch } from '@hopwatch/codec';
import type { Store } from '@hopwatch/store';
import type { Logger } from '../../metrics/log';
import type { Registry } from '../../metrics/registry';
import type { PartState } from './partitions';

export interface FlowStageOptions {
  /** Per-partition table options (report gaps are off: see FlowTableOptions.reportGaps). */
  table?: FlowTableOptions;
  store: Store;
  log: Logger;
  registry?: Registry;
  /** Every batch of closed intervals as they close (IPFIX export). Must not throw. */
  onFlows?: (flows: FlowRecord[]) => void;
}

export interface FlowStageStats {
  /** Records with a flow fed to the tables. */
  records: number;
  /** Intervals closed, by reason. */
  idle: number;
  active: number;
  ended: number;
  forced: number;
  evicted: number;
  /** Rows inserted into `flows`. */
  rows: number;
  writeFailures: number;
  /** Partition tables continued from a checkpoint. */
  restored: number;
  /** Tables dropped because records between the checkpoint and the batch were not seen. */
  stateGaps: number;
  /** Flows open now, over all partitions. */
  open: number;
  /** Packets whose switch clocks disagreed (latency from hop latencies). */
  clockSkew: number;
}

/** What a partition's checkpoint holds for its flows. */
interface FlowsCheckpoint {
  table: FlowTableCheckpoint;
  /** Closed intervals not yet inserted, bigint times as strings. */
  pending: (Omit<FlowRecord, 'startNs' | 'endNs'> & { startNs: string; endNs: string })[];
}

interface Part {
  ps: PartState;
  table: FlowTable;
  pending: FlowRecord[];
  writing: Promise<void> | null;
}

const REASONS = ['', 'idle', 'active', 'ended', 'forced', 'evicted'] as const;

export class FlowStage {
  readonly st: FlowStageStats = {
    records: 0,
    idle: 0,
    active: 0,
    ended: 0,
    forced: 0,
    evicted: 0,
    rows: 0,
    writeFailures: 0,
    restored: 0,
    stateGaps: 0,
    open: 0,
    clockSkew: 0,
  };
  private readonly parts = new Map<number, Part>();

  constructor(private readonly o: FlowStageOptions) {
    const r = o.registry;
    if (r) {
      r.counter(
        'hopwatch_flow_intervals_total',
        'Flow intervals closed, by why',
        ['reason'],
        (c) => {
          for (const k of ['idle', 'active', 'ended', 'forced', 'evicted'] as const)
            c.setTotal({ reason: k }, this.st[k]);
        },
      );
      r.counter('hopwatch_flow_rows_total', 'Rows inserted into flows', [], (c) =>
        c.setTotal(this.st.rows),
      );
      r.counter(
        'hopwatch_flow_write_failures_total',
        'Failed inserts into flows (the batch is redelivered)',
        [],
        (c) => c.setTotal(this.st.writeFailures),
      );
      r.gauge('hopwatch_flows_open', 'Flows with an open interval', [], (g) =>
        g.set(this.openFlows()),
      );
    }
  }

  stats(): FlowStageStats {
    return { ...this.st, open: this.openFlows(), clockSkew: this.clockSkew() };
  }

  /**
   * The partition's table for a batch starting at `first`, called before the batch is fed: a
   * state the worker got from a checkpoint is continued; one that missed records (a gap) is
   * dropped.
   */
  open(ps: PartState, first: number): void {
    const cur = this.parts.get(ps.partition);
    if (cur && cur.ps === ps) {
      // the same state, but a batch that does not follow: another member had the partition
      if (first > ps.expect) this.reset(cur, 'records handled by another member');
      return;
    }
    if (cur) this.retire(cur.table);
    // intervals the previous state closed are still to be inserted
    const part: Part = { ps, table: this.newTable(), pending: cur?.pending ?? [], writing: null };
    this.parts.set(ps.partition, part);
    const ck = (ps.checkpoint as { flowIntervals?: FlowsCheckpoint } | undefined)?.flowIntervals;
    if (ps.restoredFrom === null) return;
    if (first > ps.next) {
      this.reset(part, 'offsets committed after the last checkpoint (crash)');
      return;
    }
    if (!ck) return;
    try {
      part.table.restore(ck.table);
      for (const f of ck.pending)
        part.pending.push({ ...f, startNs: BigInt(f.startNs), endNs: BigInt(f.endNs) });
      this.st.restored++;
    } catch (e) {
      part.table = this.newTable();
      this.o.log.warn('ignoring unreadable flow checkpoint', {
        partition: ps.partition,
        error: (e as Error).message,
      });
    }
  }

  /** Records of the partition (decoded, in offset order). */
  feed(ps: PartState, b: RecordBatch): void {
    const part = this.parts.get(ps.partition);
    if (!part) return;
    const before = part.table.stats.records;
    part.table.process(b);
    this.st.records += part.table.stats.records - before;
    this.collect(part);
  }

  /** Closes what timed out by `nowNs` (the worker's idle flush); true if something closed. */
  tick(ps: PartState, nowNs: bigint): boolean {
    const part = this.parts.get(ps.partition);
    if (!part || part.ps !== ps) return false;
    part.table.tick(nowNs);
    return this.collect(part) > 0;
  }

  /** Inserts the partition's closed intervals; rejects (and keeps them) when the insert fails. */
  async write(ps: PartState): Promise<void> {
    const part = this.parts.get(ps.partition);
    if (part) await this.writePart(part);
  }

  /** Inserts what is pending in every partition (at a tick, at close); failures are counted. */
  async flush(): Promise<void> {
    for (const part of this.parts.values()) await this.writePart(part).catch(() => undefined);
  }

  /** The partition's flow state for its checkpoint (taken with the detectors', same offset). */
  checkpoint(ps: PartState): { flowIntervals: FlowsCheckpoint } | undefined {
    const part = this.parts.get(ps.partition);
    if (!part || part.ps !== ps) return undefined;
    return {
      flowIntervals: {
        table: part.table.checkpoint(),
        pending: part.pending.map((f) => ({
          ...f,
          startNs: f.startNs.toString(),
          endNs: f.endNs.toString(),
        })),
      },
    };
  }

  private newTable(): FlowTable {
    return new FlowTable({ ...(this.o.table ?? {}), reportGaps: false });
  }

  private reset(part: Part, why: string): void {
    this.st.stateGaps++;
    this.o.log.warn('flow state dropped: records between it and this batch were not seen', {
      partition: part.ps.partition,
      why,
      openFlows: part.table.stats.open,
    });
    this.retire(part.table);
    part.table = this.newTable();
  }

  /** Keeps the counters of a table that goes away. */
  private retire(t: FlowTable): void {
    this.skewDone += t.stats.clockSkew;
  }
  private skewDone = 0;

  private collect(part: Part): number {
    const list = part.table.take();
    if (list.length === 0) return 0;
    for (const f of list) {
      const k = REASONS[f.endReason];
      if (k) this.st[k]++;
      part.pending.push(f);
    }
    part.ps.dirty = true;
    this.o.onFlows?.(list);
    return list.length;
  }

  private async writePart(part: Part): Promise<void> {
    while (part.writing) await part.writing;
    if (part.pending.length === 0) return;
    const list = part.pending;
    part.pending = [];
    const p = this.o.store.insertFlows(list).then(
      () => {
        this.st.rows += list.length;
      },
      (e: Error) => {
        this.st.writeFailures++;
        part.pending = list.concat(part.pending);
        throw e;
      },
    );
    part.writing = p.then(
      () => undefined,
      () => undefined,
    );
    try {
      await p;
    } finally {
      part.writing = null;
    }
  }

  private openFlows(): number {
    let n = 0;
    for (const p of this.parts.values()) n += p.table.stats.open;
    return n;
  }

  private clockSkew(): number {
    let n = this.skewDone;
    for (const p of this.parts.values()) n += p.table.stats.clockSkew;
    return n;
  }
}
