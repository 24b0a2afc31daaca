/**
 * FlowTable: per-flow state over intervals, from RecordBatch columns, closed into FlowRecords
 * the way flow exporters close theirs.
 *
 * A flow is the inner 5-tuple (with the VLAN and VNI where the batch carries them). An
 * interval closes when the flow was idle for `idleTimeoutMs`, when it has lasted
 * `activeTimeoutMs` (a long flow is reported every interval), at the end of input, or early
 * when the table is full (the least recently seen flow is evicted and counted). Time is the
 * records' own (capture or receive time), so a replay closes intervals as the live run would.
 *
 * State is per slot in typed arrays (no per-record allocation); a slot's latency quantiles
 * come from a small log-linear sketch (relative error ≤ 6%, see SketchPool).
 */
import { BoundedTable, EndToEnd, SketchPool, writeFlowKey } from '@hopwatch/analytics';
import { formatAddr, HopField, type RecordBatch } from '@hopwatch/codec';
import { FlowEndReason, type E2eSource, type FlowEndReasonCode, type FlowRecord } from './model';

export interface FlowTableOptions {
  /** Close a flow's interval after this long without a packet (default 15 s). */
  idleTimeoutMs?: number;
  /** Close an interval that has lasted this long, and start the next (default 10 s). */
  activeTimeoutMs?: number;
  /** Flows kept at once (default 32,768; about 1.3 KiB each). */
  maxFlows?: number;
  /**
   * Count report sequence gaps at each flow's reporter (default true). Only meaningful when
   * the table sees every report of a reporter: not in a Kafka partition of the records topic,
   * which holds only its flows' share of each reporter's reports (report_gaps is then 0).
   */
  reportGaps?: boolean;
}

/**
 * A FlowTable's whole state as JSON-safe values (the distributed mode keeps it in the
 * partition's Redis checkpoint): restoring it into a new table and feeding the records that
 * follow gives the intervals an uninterrupted table would have closed.
 */
export interface FlowTableCheckpoint {
  v: 1;
  baseSec: number;
  now: number;
  lastSweep: number;
  /** reporter, last sequence, missing so far */
  reporters: [number, number, number][];
  /** Open flows, least recently seen first (restoring in this order rebuilds the LRU order). */
  flows: FlowSlotCheckpoint[];
}

/** key words, scalars (SCALARS order), path, hops [switch, latency sum, samples]..., sketch. */
export interface FlowSlotCheckpoint {
  k: number[];
  s: (number | null)[];
  p: number[];
  h: number[];
  /** sketch: total, min, max, then [bucket, count]... */
  q: number[];
}

export interface FlowTableStats {
  /** Records that carried a flow (inner 5-tuple). */
  records: number;
  /** Intervals closed, by reason. */
  idle: number;
  active: number;
  forced: number;
  /** Flows evicted early because the table was full (their interval is exported). */
  evicted: number;
  /** Flows in the table now. */
  open: number;
  /**
   * Packets whose first-to-last timestamp span disagreed with their hop latencies (switch
   * clocks not synchronised): their latency is the sum of hop latencies instead.
   */
  clockSkew: number;
}

/** Hops whose latency counts per flow (worst hop): positions of the longest path kept. */
const MAX_PATH = 16;
const KEY_WORDS = 12;
const NONE = 0xffffffff;
const REPFLAG_D = 1;

const Mth = Math;
// module constants: a workspace re-export is a getter, too slow to read per hop
const F_SWITCH_ID = HopField.SWITCH_ID;
const F_HOP_LATENCY = HopField.HOP_LATENCY;
const F_L1_PORTS = HopField.L1_PORTS;

export class FlowTable {
  readonly stats: FlowTableStats = {
    records: 0,
    idle: 0,
    active: 0,
    forced: 0,
    evicted: 0,
    open: 0,
    clockSkew: 0,
  };
  private readonly t: BoundedTable;
  private readonly sketch: SketchPool;
  private readonly e2e = new EndToEnd();
  private readonly idleNs: number;
  private readonly activeNs: number;
  private baseSec = -1;
  private now = 0;
  private lastSweep = 0;
  private out: FlowRecord[] = [];
  // per slot
  private readonly startT: Float64Array;
  private readonly lastT: Float64Array;
  private readonly packets: Float64Array;
  private readonly bytes: Float64Array;
  private readonly bytesPackets: Float64Array;
  private readonly e2eMin: Float64Array;
  private readonly e2eMax: Float64Array;
  private readonly e2eSum: Float64Array;
  private readonly e2eN: Float64Array;
  private readonly e2eSrc: Uint8Array; // 0 none, 1 timestamps, 2 hop sum (the last seen)
  private readonly lastE2e: Float64Array;
  private readonly jitSum: Float64Array;
  private readonly jitN: Float64Array;
  private readonly pathHash: Uint32Array;
  private readonly pathChanges: Uint32Array;
  private readonly path: Uint32Array; // MAX_PATH per slot
  private readonly pathLen: Uint8Array;
  private readonly hopSw: Uint32Array; // MAX_PATH per slot: switch, latency sum, samples
  private readonly hopLat: Float64Array;
  private readonly hopN: Uint32Array;
  private readonly inIf: Uint32Array;
  private readonly outIf: Uint32Array;
  private readonly drops: Uint32Array;
  private readonly gapsAtStart: Float64Array;
  private readonly reporter: Float64Array; // -1: none
  // per reporter (node id or hw id): last sequence, missing reports so far
  private readonly repSeq = new Map<number, { seq: number; missing: number }>();
  private readonly gaps: boolean;

  constructor(opts: FlowTableOptions = {}) {
    const cap = opts.maxFlows ?? 32_768;
    this.gaps = opts.reportGaps ?? true;
    this.idleNs = (opts.idleTimeoutMs ?? 15_000) * 1e6;
    this.activeNs = (opts.activeTimeoutMs ?? 10_000) * 1e6;
    if (!(cap >= 1 && this.idleNs > 0 && this.activeNs > 0))
      throw new RangeError('flow table: maxFlows, idle and active timeouts must be positive');
    this.t = new BoundedTable(cap, KEY_WORDS);
    this.sketch = new SketchPool(cap, 3);
    this.startT = new Float64Array(cap);
    this.lastT = new Float64Array(cap);
    this.packets = new Float64Array(cap);
    this.bytes = new Float64Array(cap);
    this.bytesPackets = new Float64Array(cap);
    this.e2eMin = new Float64Array(cap);
    this.e2eMax = new Float64Array(cap);
    this.e2eSum = new Float64Array(cap);
    this.e2eN = new Float64Array(cap);
    this.e2eSrc = new Uint8Array(cap);
    this.lastE2e = new Float64Array(cap);
    this.jitSum = new Float64Array(cap);
    this.jitN = new Float64Array(cap);
    this.pathHash = new Uint32Array(cap);
    this.pathChanges = new Uint32Array(cap);
    this.path = new Uint32Array(cap * MAX_PATH);
    this.pathLen = new Uint8Array(cap);
    this.hopSw = new Uint32Array(cap * MAX_PATH);
    this.hopLat = new Float64Array(cap * MAX_PATH);
    this.hopN = new Uint32Array(cap * MAX_PATH);
    this.inIf = new Uint32Array(cap);
    this.outIf = new Uint32Array(cap);
    this.drops = new Uint32Array(cap);
    this.gapsAtStart = new Float64Array(cap);
    this.reporter = new Float64Array(cap);
    // 'removed' slots (finish) export themselves first
    this.t.onEvict = (slot, reason) => {
      if (reason === 'idle') {
        this.stats.idle++;
        this.out.push(this.record(slot, FlowEndReason.IDLE));
      } else if (reason === 'size') {
        this.stats.evicted++;
        this.out.push(this.record(slot, FlowEndReason.EVICTED));
      }
    };
  }

  /** Adds a batch's records; intervals that closed meanwhile are returned by take(). */
  process(b: RecordBatch): void {
    for (let r = 0; r < b.count; r++) {
      if (!b.hasFlow[r]) continue;
      this.add(b, r);
    }
    if (this.now - this.lastSweep >= 1e9) this.sweep();
  }

  /** Closed intervals since the last call. */
  take(): FlowRecord[] {
    const o = this.out;
    this.out = [];
    return o;
  }

  /**
   * Advances time to `nowNs` (wall clock, for live sources whose feed went quiet) and closes
   * what timed out.
   */
  tick(nowNs: bigint): void {
    if (this.baseSec < 0) return;
    const t =
      Number(nowNs / 1_000_000_000n - BigInt(this.baseSec)) * 1e9 + Number(nowNs % 1_000_000_000n);
    if (t > this.now) this.now = t;
    this.sweep();
  }

  /** End of input: every open interval closes (FORCED). */
  finish(): FlowRecord[] {
    const slots: number[] = [];
    for (let s = 0; s < this.t.highWater; s++) if (this.t.live[s]) slots.push(s);
    for (const s of slots) {
      this.out.push(this.record(s, FlowEndReason.FORCED));
      this.stats.forced++;
      this.t.remove(s);
    }
    this.stats.open = this.t.size;
    return this.take();
  }

  /** The whole state (see FlowTableCheckpoint); closed intervals not yet taken are not in it. */
  checkpoint(): FlowTableCheckpoint {
    const sk = this.sketch;
    const flows: FlowSlotCheckpoint[] = [];
    for (const s of this.t.lruSlots()) {
      const kb = s * KEY_WORDS;
      const pb = s * MAX_PATH;
      const h: number[] = [];
      for (let i = pb; i < pb + MAX_PATH && this.hopSw[i] !== NONE; i++)
        h.push(this.hopSw[i], this.hopLat[i], this.hopN[i]);
      const q = [sk.total[s], sk.min[s], sk.max[s]];
      const cb = s * sk.buckets;
      for (let i = 0; i < sk.buckets; i++) if (sk.counts[cb + i]) q.push(i, sk.counts[cb + i]);
      flows.push({
        k: Array.from(this.t.keys.subarray(kb, kb + KEY_WORDS)),
        s: this.scalars().map((a) => {
          const v = a[s];
          return Number.isFinite(v) ? v : null; // e2eMin is Infinity before a sample
        }),
        p: Array.from(this.path.subarray(pb, pb + Mth.min(this.pathLen[s], MAX_PATH))),
        h,
        q,
      });
    }
    return {
      v: 1,
      baseSec: this.baseSec,
      now: this.now,
      lastSweep: this.lastSweep,
      reporters: [...this.repSeq].map(([k, v]) => [k, v.seq, v.missing]),
      flows,
    };
  }

  /** Loads a checkpoint into this table, which must not have seen records yet. A malformed
   * checkpoint is an error (the table is then unusable: make a new one). */
  restore(c: FlowTableCheckpoint): void {
    if (this.baseSec >= 0 || this.t.size > 0)
      throw new Error('flow table: restore into a used table');
    if (c?.v !== 1 || !Array.isArray(c.flows) || !Array.isArray(c.reporters))
      throw new Error('flow table checkpoint: unknown version or shape');
    if (c.flows.length > this.t.cap)
      throw new Error(`flow table checkpoint: ${c.flows.length} flows > maxFlows ${this.t.cap}`);
    this.baseSec = c.baseSec;
    this.now = c.now;
    this.lastSweep = c.lastSweep;
    for (const [k, seq, missing] of c.reporters) this.repSeq.set(k, { seq, missing });
    const arrays = this.scalars();
    const sk = this.sketch;
    for (const f of c.flows) {
      if (f.k.length !== KEY_WORDS || f.s.length !== arrays.length)
        throw new Error('flow table checkpoint: a flow of the wrong shape');
      this.t.scratch.set(f.k);
      const s = this.t.findOrInsert(f.s[f.s.length - 1] ?? 0);
      this.reset(s, 0);
      arrays.forEach((a, i) => (a[s] = f.s[i] ?? Infinity));
      const pb = s * MAX_PATH;
      this.path.set(f.p.slice(0, MAX_PATH), pb);
      for (let i = 0, j = pb; i + 2 < f.h.length && j < pb + MAX_PATH; i += 3, j++) {
        this.hopSw[j] = f.h[i];
        this.hopLat[j] = f.h[i + 1];
        this.hopN[j] = f.h[i + 2];
      }
      sk.total[s] = f.q[0];
      sk.min[s] = f.q[1];
      sk.max[s] = f.q[2];
      const cb = s * sk.buckets;
      for (let i = 3; i + 1 < f.q.length; i += 2) {
        if (f.q[i] >= sk.buckets)
          throw new Error('flow table checkpoint: sketch bucket out of range');
        sk.counts[cb + f.q[i]] = f.q[i + 1];
      }
    }
    this.stats.open = this.t.size;
  }

  /** Per-slot scalar arrays in checkpoint order; the table's lastSeen last (restore reads it). */
  private scalars(): (Float64Array | Uint32Array | Uint8Array)[] {
    return [
      this.startT,
      this.lastT,
      this.packets,
      this.bytes,
      this.bytesPackets,
      this.e2eMin,
      this.e2eMax,
      this.e2eSum,
      this.e2eN,
      this.e2eSrc,
      this.lastE2e,
      this.jitSum,
      this.jitN,
      this.pathHash,
      this.pathChanges,
      this.pathLen,
      this.inIf,
      this.outIf,
      this.drops,
      this.gapsAtStart,
      this.reporter,
      this.t.lastSeen,
    ];
  }

  private add(b: RecordBatch, r: number): void {
    if (this.baseSec < 0) this.baseSec = b.tsSec[r];
    const t = (b.tsSec[r] - this.baseSec) * 1e9 + b.tsNsec[r];
    if (t > this.now) this.now = t;
    this.stats.records++;
    const k = this.t.scratch;
    writeFlowKey(k, b, r); // words 0-9, then VLAN and VNI
    k[10] = b.vlan[r] >= 0 ? b.vlan[r] : NONE;
    k[11] = b.vni[r] >= 0 ? b.vni[r] : NONE;
    const s = this.t.findOrInsert(t);
    if (this.t.isNew) this.reset(s, t);
    else if (t - this.lastT[s] > this.idleNs) {
      // idle since its last packet, but no sweep ran in between (no other records came): the
      // same interval a sweep would have closed, so the result does not depend on sweep timing
      this.stats.idle++;
      this.out.push(this.record(s, FlowEndReason.IDLE));
      this.reset(s, t);
    } else if (t - this.startT[s] >= this.activeNs) {
      // the active timeout passed: this packet starts the next interval
      this.out.push(this.record(s, FlowEndReason.ACTIVE));
      this.stats.active++;
      this.reset(s, t);
    }
    if (t > this.lastT[s]) this.lastT[s] = t;
    this.packets[s]++;
    const len = b.ipLength[r];
    if (len > 0) {
      this.bytes[s] += len;
      this.bytesPackets[s]++;
    }
    this.reports(b, r, s);
    this.hops(b, r, s);
  }

  private reset(s: number, t: number): void {
    this.startT[s] = t;
    this.lastT[s] = t;
    this.packets[s] = 0;
    this.bytes[s] = 0;
    this.bytesPackets[s] = 0;
    this.e2eMin[s] = Infinity;
    this.e2eMax[s] = 0;
    this.e2eSum[s] = 0;
    this.e2eN[s] = 0;
    this.e2eSrc[s] = 0;
    this.lastE2e[s] = -1;
    this.jitSum[s] = 0;
    this.jitN[s] = 0;
    this.pathChanges[s] = 0;
    this.pathLen[s] = 0;
    this.pathHash[s] = 0;
    this.hopSw.fill(NONE, s * MAX_PATH, (s + 1) * MAX_PATH);
    this.hopLat.fill(0, s * MAX_PATH, (s + 1) * MAX_PATH);
    this.hopN.fill(0, s * MAX_PATH, (s + 1) * MAX_PATH);
    this.inIf[s] = NONE;
    this.outIf[s] = NONE;
    this.drops[s] = 0;
    this.reporter[s] = -1;
    this.gapsAtStart[s] = 0;
    this.sketch.clear(s);
  }

  /** Drop reports naming the flow; sequence gaps at the reporter of its reports. */
  private reports(b: RecordBatch, r: number, s: number): void {
    const rv = b.reportVersion[r];
    if (rv === 0) return;
    if ((b.repFlags[r] & REPFLAG_D) !== 0 || b.dropReason[r] >= 0) this.drops[s]++;
    if (b.repIndex[r] !== 0 || !this.gaps) return; // one sequence number per report, not per record
    const rep = b.hasNodeId[r] ? b.nodeId[r] : 0x80000000 + b.hwId[r];
    let st = this.repSeq.get(rep);
    if (!st) {
      st = { seq: b.sequence[r], missing: 0 };
      this.repSeq.set(rep, st);
    } else {
      const d = (b.sequence[r] - st.seq) >>> 0;
      // a forward jump of less than 2^31 is a gap; a step back is a restart or reordering
      if (d > 1 && d < 0x80000000) st.missing += d - 1;
      if (d !== 0 && d < 0x80000000) st.seq = b.sequence[r];
    }
    if (this.reporter[s] !== rep) {
      this.reporter[s] = rep;
      this.gapsAtStart[s] = st.missing;
    }
  }

  /** Path, interfaces, end-to-end latency and jitter, the per-hop latencies. */
  private hops(b: RecordBatch, r: number, s: number): void {
    const hs = b.hopStart[r];
    const hc = b.hopCount[r];
    let first = -1;
    let last = -1;
    let m = 0;
    let hash = 0x811c9dc5;
    let sum = 0;
    let sumOk = true;
    const pb = s * MAX_PATH;
    for (let h = hs; h < hs + hc; h++) {
      if (b.origin[h] !== 0) continue; // the reporting node's own fields, not a hop
      if (first < 0) first = h;
      last = h;
      const p = b.present[h];
      const sw = p & F_SWITCH_ID ? b.switchId[h] : NONE;
      hash = Mth.imul(hash ^ sw, 0x01000193);
      if (m < MAX_PATH) this.path[pb + m] = sw;
      m++;
      if (p & F_HOP_LATENCY) {
        const lat = b.hopLatency[h];
        sum += lat;
        if (sw !== NONE) this.hopAdd(pb, sw, lat);
      } else sumOk = false;
    }
    if (m === 0) return;
    hash >>>= 0;
    if (this.pathLen[s] > 0 && hash !== this.pathHash[s]) this.pathChanges[s]++;
    this.pathHash[s] = hash;
    this.pathLen[s] = m > 255 ? 255 : m;
    const pf = b.present[first];
    const pl = b.present[last];
    this.inIf[s] = pf & F_L1_PORTS ? b.ingressPort[first] : NONE;
    this.outIf[s] = pl & F_L1_PORTS ? b.egressPort[last] : NONE;
    const e2e = this.e2e.measure(b, r, first, last, sumOk ? sum : -1);
    if (this.e2e.skewed) this.stats.clockSkew++;
    const src = this.e2e.source;
    if (e2e < 0) return;
    this.e2eSrc[s] = src;
    if (e2e < this.e2eMin[s]) this.e2eMin[s] = e2e;
    if (e2e > this.e2eMax[s]) this.e2eMax[s] = e2e;
    this.e2eSum[s] += e2e;
    this.e2eN[s]++;
    this.sketch.add(s, e2e);
    const prev = this.lastE2e[s];
    if (prev >= 0) {
      this.jitSum[s] += Mth.abs(e2e - prev);
      this.jitN[s]++;
    }
    this.lastE2e[s] = e2e;
  }

  private hopAdd(pb: number, sw: number, lat: number): void {
    for (let i = pb; i < pb + MAX_PATH; i++) {
      const cur = this.hopSw[i];
      if (cur === sw || cur === NONE) {
        this.hopSw[i] = sw;
        this.hopLat[i] += lat;
        this.hopN[i]++;
        return;
      }
    }
  }

  private sweep(): void {
    this.lastSweep = this.now;
    // idle flows are at the LRU tail: evictIdle walks from there
    this.t.evictIdle(this.now, this.idleNs);
    // the active timeout of a flow that keeps sending is closed by its next packet (add());
    // one that goes quiet closes by its idle timeout here
    this.stats.open = this.t.size;
  }

  /** The FlowRecord of slot `s`'s current interval. */
  private record(s: number, endReason: FlowEndReasonCode): FlowRecord {
    const k = this.t.keys;
    const kb = s * KEY_WORDS;
    const v6 = (k[kb + 9] >>> 8) & 1;
    const base = BigInt(this.baseSec) * 1_000_000_000n;
    const n = this.e2eN[s];
    let worst: number | null = null;
    let worstLat: number | null = null;
    for (let i = s * MAX_PATH; i < (s + 1) * MAX_PATH && this.hopSw[i] !== NONE; i++) {
      const mean = this.hopLat[i] / this.hopN[i];
      if (worstLat === null || mean > worstLat) {
        worst = this.hopSw[i];
        worstLat = mean;
      }
    }
    const m = Mth.min(this.pathLen[s], MAX_PATH);
    const path: number[] = [];
    for (let i = 0; i < m; i++) path.push(this.path[s * MAX_PATH + i]);
    const rep = this.reporter[s];
    const missing = rep >= 0 ? (this.repSeq.get(rep)?.missing ?? 0) : 0;
    const src: E2eSource =
      this.e2eSrc[s] === 1 ? 'timestamps' : this.e2eSrc[s] === 2 ? 'hop-latency-sum' : 'none';
    return {
      ipVersion: v6 ? 6 : 4,
      src: formatAddr(k, kb, v6 === 1),
      dst: formatAddr(k, kb + 4, v6 === 1),
      srcPort: k[kb + 8] >>> 16,
      dstPort: k[kb + 8] & 0xffff,
      protocol: k[kb + 9] & 0xff,
      vlan: k[kb + 10] === NONE ? null : k[kb + 10],
      vni: k[kb + 11] === NONE ? null : k[kb + 11],
      startNs: base + BigInt(Mth.round(this.startT[s])),
      endNs: base + BigInt(Mth.round(this.lastT[s])),
      packets: this.packets[s],
      bytes: this.bytes[s],
      bytesPackets: this.bytesPackets[s],
      path,
      pathChanges: this.pathChanges[s],
      ingressInterface: this.inIf[s] === NONE ? null : this.inIf[s],
      egressInterface: this.outIf[s] === NONE ? null : this.outIf[s],
      e2e:
        n > 0
          ? {
              min: this.e2eMin[s],
              mean: this.e2eSum[s] / n,
              max: this.e2eMax[s],
              p50: clamp(this.sketch.quantile(s, 0.5) ?? 0, this.e2eMin[s], this.e2eMax[s]),
              p99: clamp(this.sketch.quantile(s, 0.99) ?? 0, this.e2eMin[s], this.e2eMax[s]),
              samples: n,
            }
          : null,
      e2eSource: src,
      jitter: this.jitN[s] > 0 ? this.jitSum[s] / this.jitN[s] : null,
      worstHop: worst,
      worstHopLatency: worstLat,
      dropReports: this.drops[s],
      reportGaps: Mth.max(0, missing - this.gapsAtStart[s]),
      endReason,
    };
  }
}

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);
