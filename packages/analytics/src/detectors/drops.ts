/**
 * Reported drops: Telemetry Reports with the D flag or a drop reason, aggregated per (dropping
 * switch, reason) into episodes closed after `dropGapNs` without a report. The flow's
 * `dropReportT` tells the silent-flow detector that its silence is already reported.
 */
import { HopField, type RecordBatch } from '@hopwatch/codec';
import type { AnalyzerContext } from '../context';
import type { FlowTable } from '../tables';
import type { AnalyticsConfig, DropAnomaly, FlowTuple } from '../types';
import type { Detector, NoState } from './detector';

const HOPFIELD_DROP_REASON = HopField.DROP_REASON;
const HOPFIELD_SWITCH_ID = HopField.SWITCH_ID;

interface DropEpisode {
  switchId: number | null;
  reason: number | null;
  start: number;
  end: number;
  packets: number;
  flows: FlowTuple[];
  seen: Map<number, number>;
  flowCount: number;
}

export class DropDetector implements Detector<NoState> {
  private readonly config: AnalyticsConfig;
  private readonly drops = new Map<number, DropEpisode>();

  constructor(
    private readonly ctx: AnalyzerContext,
    private readonly flows: FlowTable,
  ) {
    this.config = ctx.config;
  }

  get open(): number {
    return this.drops.size;
  }

  get bytes(): number {
    return 0;
  }

  /** A drop report (record r) at the context's clock, of flow `fs` (-1 when unknown). */
  onDropReport(b: RecordBatch, r: number, fs: number): void {
    const t = this.ctx.clock[0];
    let sw: number | null = null;
    if (b.hasNodeId[r]) sw = b.nodeId[r];
    let reason: number | null = b.dropReason[r] >= 0 ? b.dropReason[r] : null;
    const hs = b.hopStart[r];
    for (let h = hs + b.hopCount[r] - 1; h >= hs; h--) {
      const p = b.present[h];
      if (sw === null && p & HOPFIELD_SWITCH_ID) sw = b.switchId[h];
      if (reason === null && p & HOPFIELD_DROP_REASON) reason = b.hopDropReason[h];
    }
    const key = (sw === null ? 2 ** 32 : sw) * 512 + (reason === null ? 511 : reason);
    let e = this.drops.get(key);
    if (e && t - e.end > this.config.dropGapNs) {
      this.drops.delete(key);
      this.emit(e);
      e = undefined;
    }
    if (!e) {
      e = {
        switchId: sw,
        reason,
        start: t,
        end: t,
        packets: 0,
        flows: [],
        seen: new Map(),
        flowCount: 0,
      };
      this.drops.set(key, e);
    }
    e.packets++;
    if (t > e.end) e.end = t;
    if (fs >= 0) {
      this.flows.dropReportT[fs] = t;
      const g = this.flows.table.gen[fs];
      if (e.seen.get(fs) !== g) {
        e.seen.set(fs, g);
        e.flowCount++;
        if (e.flows.length < this.config.maxFlowsPerAnomaly) e.flows.push(this.flows.tuple(fs));
      }
    }
  }

  sweep(now: number): void {
    const gap = this.config.dropGapNs;
    for (const [k, e] of this.drops)
      if (now - e.end > gap) {
        this.drops.delete(k);
        this.emit(e);
      }
  }

  finish(): void {
    for (const [k, e] of this.drops) {
      this.drops.delete(k);
      this.emit(e);
    }
  }

  checkpoint(): NoState {
    return {};
  }

  restore(): void {}

  private emit(e: DropEpisode): void {
    const start = this.ctx.abs(e.start);
    const a: DropAnomaly = {
      type: 'drop',
      id: `drop:${e.switchId ?? '-'}:${e.reason ?? '-'}:${start}`,
      start,
      end: this.ctx.abs(e.end),
      packets: e.packets,
      switchId: e.switchId,
      dropReason: e.reason,
      flows: e.flows,
      flowCount: e.flowCount,
      silent: false,
      lastSwitch: null,
      path: [],
    };
    this.ctx.emit(a);
  }
}
