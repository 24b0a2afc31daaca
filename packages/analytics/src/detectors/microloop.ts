/**
 * Micro-loops: a switch id that repeats within one INT stack. Looping packets whose cycle visits
 * the same set of switches, closer than `loopGapNs`, make one episode.
 *
 * Not every repeat is a loop: a flow sent out of a switch to a non-INT appliance (firewall,
 * load balancer) and back into the same switch carries that switch twice for its whole life.
 * Such a repeat is a **hairpin** (a path attribute, listed by `hairpins()`, never an anomaly)
 * when the packet gives no loop evidence: no E bit, the cycle does not go round again back to
 * back, and the stack is the flow's path since its first full path (same switches, same hop
 * count) — or is that first path, while no micro-loop on the same switches is open. Anything
 * else is a micro-loop.
 */
import { HopField, type RecordBatch } from '@hopwatch/codec';
import type { AnalyzerContext } from '../context';
import type { FlowTable } from '../tables';
import type { AnalyticsConfig, FlowTuple, Hairpin, LoopPort } from '../types';
import type { Detector, NoState } from './detector';
import { pathHash } from './path-change';

const HOPFIELD_L1_PORTS = HopField.L1_PORTS;
const NO_PORT = -1;

interface HairpinEntry {
  id: number;
  switchId: number;
  egressPort: number;
  ingressPort: number;
  first: number;
  last: number;
  packets: number;
  flowCount: number;
}

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
  /** Hairpins by switch id → egress port (to the appliance) → ingress port (back from it). */
  private readonly pins = new Map<number, Map<number, Map<number, HairpinEntry>>>();
  private pinCount = 0;
  private pinIds = 0;
  /** Hairpin entries not kept because `maxHairpins` were tracked. */
  pinOverflow = 0;
  /** Per flow: the hairpin entry (id + 1) it was last counted in, and the flow slot's generation
   * then, so that each flow counts once per hairpin. */
  private readonly pinMark: Uint32Array;
  private readonly pinGen: Uint32Array;

  constructor(
    private readonly ctx: AnalyzerContext,
    private readonly flows: FlowTable,
  ) {
    this.config = ctx.config;
    this.pinMark = new Uint32Array(ctx.config.maxFlows);
    this.pinGen = new Uint32Array(ctx.config.maxFlows);
  }

  get open(): number {
    return this.loops.size;
  }

  get bytes(): number {
    return this.pinMark.byteLength + this.pinGen.byteLength;
  }

  /** Hairpins tracked now. */
  get hairpinCount(): number {
    return this.pinCount;
  }

  /**
   * Whether the repeat of rows[li] at rows[lj] (the first repeat in the stack rows[0..m) of `b`)
   * is a stable hairpin rather than a loop (see the file comment). Allocation-free: hairpinned
   * traffic can be the common case.
   */
  isHairpin(
    b: RecordBatch,
    rows: Int32Array,
    li: number,
    lj: number,
    m: number,
    fs: number,
    eBit: boolean,
  ): boolean {
    if (eBit) return false;
    const ids = b.switchId;
    const len = lj - li;
    // the cycle goes round again right after (A B A B): a loop
    if (len >= 2 && lj + len <= m) {
      let again = true;
      for (let k = 0; k < len && again; k++)
        if (ids[rows[lj + k]] !== ids[rows[li + k]]) again = false;
      if (again) return false;
    }
    const fl = this.flows;
    // a flow with a full path: the same path as before (same switches, same hop count)
    if (fs >= 0 && fl.hopCount[fs] > 0)
      return fl.hopCount[fs] === m && fl.pathHash[fs] === pathHash(b, rows, m);
    // its first full path: a hairpin unless a micro-loop on these switches is open (a flow
    // caught in it from its first packet)
    if (this.loops.size > 0)
      for (const e of this.loops.values()) {
        let all = true;
        for (let k = li; k < lj && all; k++) if (!e.switches.includes(ids[rows[k]])) all = false;
        if (all) return false;
      }
    return true;
  }

  /** A hairpinned packet: rows[li] leaves its switch to an appliance, rows[lj] comes back. */
  onHairpin(b: RecordBatch, rows: Int32Array, li: number, lj: number, t: number, fs: number): void {
    const out = rows[li];
    const back = rows[lj];
    const sw = b.switchId[out];
    const eg = (b.present[out] & HOPFIELD_L1_PORTS) !== 0 ? b.egressPort[out] : NO_PORT;
    const ing = (b.present[back] & HOPFIELD_L1_PORTS) !== 0 ? b.ingressPort[back] : NO_PORT;
    let bySw = this.pins.get(sw);
    let byEg = bySw?.get(eg);
    let e = byEg?.get(ing);
    if (!e) {
      if (this.pinCount >= this.config.maxHairpins) {
        this.pinOverflow++;
        return;
      }
      if (!bySw) this.pins.set(sw, (bySw = new Map()));
      if (!byEg) bySw.set(eg, (byEg = new Map()));
      e = {
        id: ++this.pinIds,
        switchId: sw,
        egressPort: eg,
        ingressPort: ing,
        first: t,
        last: t,
        packets: 0,
        flowCount: 0,
      };
      byEg.set(ing, e);
      this.pinCount++;
    }
    e.packets++;
    if (t > e.last) e.last = t;
    if (fs >= 0) {
      const g = this.flows.table.gen[fs];
      if (this.pinMark[fs] !== e.id || this.pinGen[fs] !== g) {
        this.pinMark[fs] = e.id;
        this.pinGen[fs] = g;
        e.flowCount++;
      }
    }
  }

  /** The hairpins seen (idle ones are forgotten after `pathIdleNs`), by switch and ports. */
  hairpins(): Hairpin[] {
    const out: Hairpin[] = [];
    for (const bySw of this.pins.values())
      for (const byEg of bySw.values())
        for (const e of byEg.values())
          out.push({
            switchId: e.switchId,
            egressPort: e.egressPort === NO_PORT ? null : e.egressPort,
            ingressPort: e.ingressPort === NO_PORT ? null : e.ingressPort,
            flowCount: e.flowCount,
            packets: e.packets,
            first: this.ctx.abs(e.first),
            last: this.ctx.abs(e.last),
          });
    out.sort(
      (x, y) =>
        x.switchId - y.switchId ||
        (x.egressPort ?? -1) - (y.egressPort ?? -1) ||
        (x.ingressPort ?? -1) - (y.ingressPort ?? -1),
    );
    return out;
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
    if (this.pinCount === 0) return;
    const idle = this.config.pathIdleNs;
    for (const [sw, bySw] of this.pins) {
      for (const [eg, byEg] of bySw) {
        for (const [ing, e] of byEg)
          if (now - e.last > idle) {
            byEg.delete(ing);
            this.pinCount--;
          }
        if (byEg.size === 0) bySw.delete(eg);
      }
      if (bySw.size === 0) this.pins.delete(sw);
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
