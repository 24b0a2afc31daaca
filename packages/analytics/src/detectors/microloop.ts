/**
 * Micro-loops: a switch id that repeats within one INT stack. Looping packets whose cycle visits
 * the same set of switches, closer than `loopGapNs`, make one episode.
 */
import { HopField, type RecordBatch } from '@hopwatch/codec';
import type { AnalyzerContext } from '../context';
import type { FlowTable } from '../tables';
import type { AnalyticsConfig, FlowTuple, LoopPort } from '../types';
import type { Detector, NoState } from './detector';

const HOPFIELD_L1_PORTS = HopField.L1_PORTS;

interface LoopEpisode {
  key: string;
  switches: number[];
  ports: LoopPort[];
  start: number;
  end: number;
  packets: number;
  eBit: number;
  flows: FlowTuple[];
  seen: Map<number, number>;
  flowCount: number;
  hopBefore: number | null;
  hopMax: number;
}

export class MicroloopDetector implements Detector<NoState> {
  private readonly config: AnalyticsConfig;
  private readonly loops = new Map<string, LoopEpisode>();

  constructor(
    private readonly ctx: AnalyzerContext,
    private readonly flows: FlowTable,
  ) {
    this.config = ctx.config;
  }

  get open(): number {
    return this.loops.size;
  }

  get bytes(): number {
    return 0;
  }

  /** A looping packet: its stack (switch ids rows[0..m) of `b`) repeats rows[li] at rows[lj]
   * (the first repeat; the Analyzer finds it). */
  onLoop(
    b: RecordBatch,
    rows: Int32Array,
    li: number,
    lj: number,
    m: number,
    t: number,
    fs: number,
    eBit: boolean,
  ): void {
    const c = this.config;
    const ids: number[] = [];
    for (let k = li; k < lj; k++) ids.push(b.switchId[rows[k]]);
    const key = [...new Set(ids)].sort((x, y) => x - y).join(',');
    let e = this.loops.get(key);
    if (e && t - e.end > c.loopGapNs) {
      this.loops.delete(key);
      this.emit(e);
      e = undefined;
    }
    if (!e) {
      const ports: LoopPort[] = [];
      for (let k = li; k < lj; k++) {
        const h = rows[k];
        const hasPorts = (b.present[h] & HOPFIELD_L1_PORTS) !== 0;
        ports.push({
          switchId: b.switchId[h],
          ingressPort: hasPorts ? b.ingressPort[h] : null,
          egressPort: hasPorts ? b.egressPort[h] : null,
        });
      }
      e = {
        key,
        switches: ids,
        ports,
        start: t,
        end: t,
        packets: 0,
        eBit: 0,
        flows: [],
        seen: new Map(),
        flowCount: 0,
        hopBefore: null,
        hopMax: 0,
      };
      this.loops.set(key, e);
    }
    if (t > e.end) e.end = t;
    if (t < e.start) e.start = t;
    e.packets++;
    if (eBit) e.eBit++;
    if (m > e.hopMax) e.hopMax = m;
    if (fs >= 0) {
      const g = this.flows.table.gen[fs];
      if (e.seen.get(fs) !== g) {
        e.seen.set(fs, g);
        e.flowCount++;
        if (e.flows.length < c.maxFlowsPerAnomaly) e.flows.push(this.flows.tuple(fs));
        const hb = this.flows.hopCount[fs];
        if (hb > 0 && (e.hopBefore === null || hb < e.hopBefore)) e.hopBefore = hb;
      }
    }
  }

  sweep(now: number): void {
    const gap = this.config.loopGapNs;
    for (const [k, e] of this.loops)
      if (now - e.end > gap) {
        this.loops.delete(k);
        this.emit(e);
      }
  }

  finish(): void {
    for (const [k, e] of this.loops) {
      this.loops.delete(k);
      this.emit(e);
    }
  }

  checkpoint(): NoState {
    return {};
  }

  restore(): void {}

  private emit(e: LoopEpisode): void {
    const start = this.ctx.abs(e.start);
    this.ctx.emit({
      type: 'microloop',
      id: `microloop:${e.key.replace(/,/g, '-')}:${start}`,
      start,
      end: this.ctx.abs(e.end),
      packets: e.packets,
      switches: e.switches,
      ports: e.ports,
      flows: e.flows,
      flowCount: e.flowCount,
      eBitPackets: e.eBit,
      hopCountBefore: e.hopBefore,
      hopCountMax: e.hopMax,
    });
  }
}
