/**
 * Path changes: a flow's full, loop-free switch path differs from its previous one. A change is
 * reported at once; further changes within `pathHoldDownNs` after it are summarised in one flap
 * anomaly when the window ends.
 *
 * This detector keeps the flow table's path fields (path, hash, hop count, last switch, path
 * slot) that the micro-loop and silent-flow detectors read.
 */
import type { RecordBatch } from '@hopwatch/codec';
import type { AnalyzerContext } from '../context';
import type { FlowTable } from '../tables';
import type { AnalyticsConfig, FlowTuple } from '../types';
import type { Detector, NoState, RestoreRows } from './detector';

const Mth = Math;
const INF = Number.POSITIVE_INFINITY;

interface FlapState {
  gen: number;
  flow: FlowTuple;
  until: number;
  before: number[];
  after: number[];
  first: number;
  last: number;
  changes: number;
  paths: Map<string, number[]>;
}

export function flowId(f: FlowTuple): string {
  return `${f.srcAddr}:${f.srcPort}>${f.dstAddr}:${f.dstPort}/${f.protocol}`;
}

/** Hash of the switch ids rows[0..m) of `b`, in order (the flow table's `pathHash`). */
export function pathHash(b: RecordBatch, rows: Int32Array, m: number): number {
  let h = 0x811c9dc5 ^ m;
  for (let k = 0; k < m; k++) {
    h = Mth.imul(h ^ b.switchId[rows[k]], 0x01000193);
    h ^= h >>> 13;
  }
  return h >>> 0;
}

export class PathChangeDetector implements Detector<NoState> {
  private readonly config: AnalyticsConfig;
  /** End of the hold-down window of the flow's last reported change. */
  private readonly holdUntil: Float64Array;
  private readonly flaps = new Map<number, FlapState>();

  constructor(
    private readonly ctx: AnalyzerContext,
    private readonly flows: FlowTable,
  ) {
    this.config = ctx.config;
    this.holdUntil = new Float64Array(ctx.config.maxFlows);
  }

  get open(): number {
    return this.flaps.size;
  }

  get bytes(): number {
    return this.holdUntil.byteLength;
  }

  newFlow(fs: number): void {
    this.holdUntil[fs] = -INF;
  }

  /** A full, loop-free path (switch ids rows[0..m) of `b`) of flow `fs` at the context's clock. */
  onPath(b: RecordBatch, rows: Int32Array, m: number, fs: number): void {
    const t = this.ctx.clock[0];
    const c = this.config;
    const fl = this.flows;
    const h = pathHash(b, rows, m);
    fl.hopCount[fs] = m;
    fl.lastSwitch[fs] = b.switchId[rows[m - 1]];
    // path activity (silent-flow detection)
    const paths = fl.paths;
    const pk = paths.scratch;
    pk[0] = h;
    pk[1] = m;
    const ps = paths.findOrInsertAt(this.ctx.clock);
    fl.pathSlot[fs] = ps;
    fl.pathGen[fs] = paths.gen[ps];

    const len = fl.pathLen[fs];
    if (len > 0 && fl.pathHash[fs] === h) return;
    const P = fl.pathStride;
    const base = fs * P;
    if (len > 0) {
      const oldPath: number[] = [];
      for (let k = 0; k < Mth.min(len, P); k++) oldPath.push(fl.path[base + k]);
      const newPath: number[] = [];
      for (let k = 0; k < m; k++) newPath.push(b.switchId[rows[k]]);
      if (t < this.holdUntil[fs]) {
        // inside the hold-down window of a reported change: summarise
        let f = this.flaps.get(fs);
        if (!f || f.gen !== fl.table.gen[fs]) {
          f = {
            gen: fl.table.gen[fs],
            flow: fl.tuple(fs),
            until: this.holdUntil[fs],
            before: oldPath,
            after: newPath,
            first: t,
            last: t,
            changes: 0,
            paths: new Map(),
          };
          f.paths.set(oldPath.join(','), oldPath);
          this.flaps.set(fs, f);
        }
        f.changes++;
        f.after = newPath;
        f.last = t;
        f.paths.set(newPath.join(','), newPath);
      } else {
        const start = this.ctx.abs(t);
        const flow = fl.tuple(fs);
        this.ctx.emit({
          type: 'path_change',
          id: `path_change:${flowId(flow)}:${start}`,
          start,
          end: start,
          packets: 1,
          flow,
          oldPath,
          newPath,
          summary: false,
          changes: 1,
          paths: [],
        });
        this.holdUntil[fs] = t + c.pathHoldDownNs;
      }
    }
    for (let k = 0; k < Mth.min(m, P); k++) fl.path[base + k] = b.switchId[rows[k]];
    fl.pathLen[fs] = m;
    fl.pathHash[fs] = h;
  }

  /** The flow's slot is being freed: its flap summary (if any) is final. */
  onFlowEvict(fs: number): void {
    const f = this.flaps.get(fs);
    if (f) {
      this.flaps.delete(fs);
      this.emitFlap(f);
    }
  }

  sweep(now: number): void {
    for (const [k, f] of this.flaps)
      if (now >= f.until) {
        this.flaps.delete(k);
        this.emitFlap(f);
      }
  }

  finish(): void {
    for (const [k, f] of this.flaps) {
      this.flaps.delete(k);
      this.emitFlap(f);
    }
  }

  /** Nothing: the hold-down windows restart (the flows' last paths are in the flow table). */
  checkpoint(): NoState {
    return {};
  }

  restore(_s: NoState, rows: RestoreRows): void {
    for (const s of rows.flows) this.holdUntil[s] = -INF;
  }

  private emitFlap(f: FlapState): void {
    if (f.changes === 0) return;
    const start = this.ctx.abs(f.first);
    this.ctx.emit({
      type: 'path_change',
      id: `path_change:${flowId(f.flow)}:${start}:flap`,
      start,
      end: this.ctx.abs(f.last),
      packets: f.changes,
      flow: f.flow,
      oldPath: f.before,
      newPath: f.after,
      summary: true,
      changes: f.changes,
      paths: [...f.paths.values()],
    });
  }
}
