/**
 * The tables the detectors share: flows (with the per-flow facts several detectors read),
 * queues, Telemetry Report sources and paths. Detector-private per-slot state lives in the
 * detector, in arrays indexed by these tables' slots.
 *
 * Key layouts (u32 words):
 * - flow: src addr ×4, dst addr ×4, src port << 16 | dst port, protocol | v6 << 8;
 * - queue: switch id, egress port (NONE32 when not carried), queue id (NONE16 when not carried);
 * - reporter: has node id, node id, hw_id | report version << 8, reporter addr ×4 (0 with a
 *   node id);
 * - path: hash of the switch ids, hop count.
 */
import { HopField, formatAddr, type RecordBatch } from '@hopwatch/codec';
import { BoundedTable } from './table';
import { packColumn, restoreColumn, unpackColumn } from './columns';
import type { AnalyticsConfig, FlowTuple } from './types';

const INF = Number.POSITIVE_INFINITY;
const HOPFIELD_HOP_LATENCY = HopField.HOP_LATENCY;
export const NONE32 = 0xffffffff;
export const NONE16 = 0xffff;
export const FLOW_KW = 10;
export const QUEUE_KW = 3;
export const REPORTER_KW = 7;

/**
 * Writes record r's flow key (the layout above, FLOW_KW words) into key[0..9]. The analyzer
 * keeps its own copy inline (see processRecord: as a call it cost 2-3% of its time).
 */
export function writeFlowKey(key: Uint32Array, b: RecordBatch, r: number): void {
  const a = r * 4;
  key[0] = b.srcAddr[a];
  key[1] = b.srcAddr[a + 1];
  key[2] = b.srcAddr[a + 2];
  key[3] = b.srcAddr[a + 3];
  key[4] = b.dstAddr[a];
  key[5] = b.dstAddr[a + 1];
  key[6] = b.dstAddr[a + 2];
  key[7] = b.dstAddr[a + 3];
  key[8] = ((b.srcPort[r] << 16) | b.dstPort[r]) >>> 0;
  key[9] = b.protocol[r] | (b.flowV6[r] << 8);
}

/** A table's entries in a checkpoint, least recently used first. */
export interface TableCheckpoint {
  n: number;
  keys: string;
  lastSeen: string;
}

/** The table's entries (LRU first) and the slots they were read from. */
export function checkpointTable(t: BoundedTable): { slots: number[]; state: TableCheckpoint } {
  const slots = t.lruSlots();
  return {
    slots,
    state: {
      n: slots.length,
      keys: packColumn(t.keys, slots, t.kw),
      lastSeen: packColumn(t.lastSeen, slots),
    },
  };
}

/** Inserts (or touches) the checkpoint's entries in order, times moved by `shift`; returns the
 * slot of each entry. */
export function restoreTable(t: BoundedTable, c: TableCheckpoint, shift: number): number[] {
  const keys = unpackColumn(c.keys, Uint32Array, c.n, t.kw, 'table keys');
  const last = unpackColumn(c.lastSeen, Float64Array, c.n, 1, 'table lastSeen');
  const slots: number[] = [];
  for (let i = 0; i < c.n; i++) {
    t.scratch.set(keys.subarray(i * t.kw, (i + 1) * t.kw));
    slots.push(t.findOrInsert(last[i] + shift));
  }
  return slots;
}

/** The flow table's part of a checkpoint: entries, arrival statistics and last full path. */
export interface FlowsCheckpoint extends TableCheckpoint {
  last: string;
  first: string;
  gapMean: string;
  gapDev: string;
  count: string;
  pathHash: string;
  lastSwitch: string;
  pathLen: string;
  hopCount: string;
  /** `pathStride` switch ids per flow. */
  path: string;
  pathStride: number;
}

/** Flows and the per-flow facts more than one detector reads. */
export class FlowTable {
  readonly table: BoundedTable;
  // ---- arrivals (kept by the Analyzer) ----
  readonly last: Float64Array;
  readonly first: Float64Array;
  readonly count: Uint32Array;
  /** Inter-arrival mean and mean absolute deviation (EWMA). */
  readonly gapMean: Float64Array;
  readonly gapDev: Float64Array;
  /** Sum of the hop latencies of the last packet, -1 when it carried none. */
  readonly latSum: Float64Array;
  /** Time of the flow's last drop report (written by the drops detector). */
  readonly dropReportT: Float64Array;
  // ---- last full path (written by the path-change detector) ----
  /** `pathStride` switch ids per flow (a longer path is stored truncated). */
  readonly path: Uint32Array;
  readonly pathStride: number;
  readonly pathLen: Uint16Array;
  readonly pathHash: Uint32Array;
  readonly hopCount: Uint16Array;
  readonly lastSwitch: Uint32Array;
  /** Slot (and its generation) of the path in `paths`, -1 when none. */
  readonly pathSlot: Int32Array;
  readonly pathGen: Uint32Array;
  /** Paths by (hash, hop count), touched whenever a flow uses them (silent-flow detection). */
  readonly paths: BoundedTable;

  constructor(c: AnalyticsConfig) {
    const F = c.maxFlows;
    this.table = new BoundedTable(F, FLOW_KW);
    this.last = new Float64Array(F);
    this.first = new Float64Array(F);
    this.count = new Uint32Array(F);
    this.gapMean = new Float64Array(F);
    this.gapDev = new Float64Array(F);
    this.latSum = new Float64Array(F);
    this.dropReportT = new Float64Array(F);
    this.pathStride = c.maxPathLength;
    this.path = new Uint32Array(F * c.maxPathLength);
    this.pathLen = new Uint16Array(F);
    this.pathHash = new Uint32Array(F);
    this.hopCount = new Uint16Array(F);
    this.lastSwitch = new Uint32Array(F);
    this.pathSlot = new Int32Array(F);
    this.pathGen = new Uint32Array(F);
    this.paths = new BoundedTable(c.maxPaths, 2);
  }

  init(fs: number, t: number): void {
    this.count[fs] = 0;
    this.first[fs] = t;
    this.gapMean[fs] = 0;
    this.gapDev[fs] = 0;
    this.pathLen[fs] = 0;
    this.pathHash[fs] = 0;
    this.hopCount[fs] = 0;
    this.pathSlot[fs] = -1;
    this.lastSwitch[fs] = NONE32;
    this.latSum[fs] = -1;
    this.dropReportT[fs] = -INF;
  }

  /** The flow's switch ids of its last full path. */
  pathOf(fs: number): number[] {
    const P = this.pathStride;
    const out: number[] = [];
    for (let k = 0; k < Math.min(this.pathLen[fs], P); k++) out.push(this.path[fs * P + k]);
    return out;
  }

  tuple(fs: number): FlowTuple {
    return tupleOf(this.table.keys, fs * FLOW_KW);
  }

  get bytes(): number {
    let n = this.table.bytes + this.paths.bytes;
    for (const a of [
      this.last,
      this.first,
      this.count,
      this.gapMean,
      this.gapDev,
      this.latSum,
      this.dropReportT,
      this.path,
      this.pathLen,
      this.pathHash,
      this.hopCount,
      this.lastSwitch,
      this.pathSlot,
      this.pathGen,
    ])
      n += a.byteLength;
    return n;
  }

  checkpoint(): { slots: number[]; state: FlowsCheckpoint } {
    const { slots, state } = checkpointTable(this.table);
    return {
      slots,
      state: {
        ...state,
        last: packColumn(this.last, slots),
        first: packColumn(this.first, slots),
        gapMean: packColumn(this.gapMean, slots),
        gapDev: packColumn(this.gapDev, slots),
        count: packColumn(this.count, slots),
        pathHash: packColumn(this.pathHash, slots),
        lastSwitch: packColumn(this.lastSwitch, slots),
        pathLen: packColumn(this.pathLen, slots),
        hopCount: packColumn(this.hopCount, slots),
        path: packColumn(this.path, slots, this.pathStride),
        pathStride: this.pathStride,
      },
    };
  }

  /** Restores the flows of a checkpoint (times moved by `shift`); returns their slots. Fields a
   * checkpoint does not carry keep their values (a fresh table's zeros). */
  restore(c: FlowsCheckpoint, shift: number): number[] {
    const slots = restoreTable(this.table, c, shift);
    for (const s of slots) this.pathSlot[s] = -1;
    restoreColumn(this.last, c.last, Float64Array, slots, 'flows.last', shift);
    restoreColumn(this.first, c.first, Float64Array, slots, 'flows.first', shift);
    restoreColumn(this.gapMean, c.gapMean, Float64Array, slots, 'flows.gapMean');
    restoreColumn(this.gapDev, c.gapDev, Float64Array, slots, 'flows.gapDev');
    restoreColumn(this.count, c.count, Uint32Array, slots, 'flows.count');
    restoreColumn(this.pathHash, c.pathHash, Uint32Array, slots, 'flows.pathHash');
    restoreColumn(this.lastSwitch, c.lastSwitch, Uint32Array, slots, 'flows.lastSwitch');
    restoreColumn(this.pathLen, c.pathLen, Uint16Array, slots, 'flows.pathLen');
    restoreColumn(this.hopCount, c.hopCount, Uint16Array, slots, 'flows.hopCount');
    const from = c.pathStride;
    const path = unpackColumn(c.path, Uint32Array, c.n, from, 'flows.path');
    const P = this.pathStride;
    const stride = Math.min(from, P);
    slots.forEach((slot, i) => {
      for (let k = 0; k < stride; k++) this.path[slot * P + k] = path[i * from + k];
    });
    return slots;
  }
}

/** The 5-tuple of the flow key at `keys[k..k+FLOW_KW)`. */
export function tupleOf(keys: Uint32Array, k: number): FlowTuple {
  const v6 = keys[k + 9] >>> 8 === 1;
  return {
    srcAddr: formatAddr(keys, k, v6),
    dstAddr: formatAddr(keys, k + 4, v6),
    srcPort: keys[k + 8] >>> 16,
    dstPort: keys[k + 8] & 0xffff,
    protocol: keys[k + 9] & 0xff,
  };
}

/** Sum of the hop latencies record r carries, -1 when it carries none (a flow's `latSum`). */
export function recordLatency(b: RecordBatch, r: number): number {
  const hs = b.hopStart[r];
  let sum = -1;
  for (let h = hs; h < hs + b.hopCount[r]; h++)
    if (b.present[h] & HOPFIELD_HOP_LATENCY) sum = (sum < 0 ? 0 : sum) + b.hopLatency[h];
  return sum;
}
