/**
 * Analyzer: the streaming detectors (micro-loop, microburst, path change, report loss, drops)
 * and latency statistics over RecordBatches.
 *
 * All per-flow / per-queue / per-reporter state lives in typed arrays indexed by slots of
 * BoundedTables (fixed capacity, LRU + idle eviction). The common path of process() allocates
 * nothing; objects are created only for anomaly episodes (rare) and for output.
 *
 * Time: internally a float64 of ns relative to the first record's second (exact for ~104
 * days); anomalies carry bigint ns since the epoch.
 */
import {
  HdrFlag,
  HopField,
  IntVer,
  RecordBatch,
  RepFlag,
  REPORT_VERSION_NAMES,
  formatAddr,
} from '@hopwatch/codec';
import { BoundedTable } from './table';
import { SketchPool } from './sketch';
import { exportCheckpoint, importCheckpoint, type AnalyzerCheckpoint } from './checkpoint';
import {
  DEFAULT_CONFIG,
  type AnalyticsConfig,
  type Anomaly,
  type BurstFlow,
  type DropAnomaly,
  type FlowTuple,
  type LoopPort,
  type MicroburstAnomaly,
} from './types';

// Globals read through module constants: a global lookup per call is slow in vm contexts (jest).
const Mth = Math;
// Codec constants copied into module constants (re-exported bindings are getters in CommonJS).
const HDRFLAG_E = HdrFlag.E;
const HOPFIELD_DROP_REASON = HopField.DROP_REASON;
const HOPFIELD_EGRESS_TS = HopField.EGRESS_TS;
const HOPFIELD_HOP_LATENCY = HopField.HOP_LATENCY;
const HOPFIELD_INGRESS_TS = HopField.INGRESS_TS;
const HOPFIELD_L1_PORTS = HopField.L1_PORTS;
const HOPFIELD_QUEUE = HopField.QUEUE;
const HOPFIELD_SWITCH_ID = HopField.SWITCH_ID;
const INTVER_V20 = IntVer.V20;
const REPFLAG_D = RepFlag.D;
const REPFLAG_I = RepFlag.I;
const INF = Number.POSITIVE_INFINITY;

const NONE32 = 0xffffffff;
const NONE16 = 0xffff;
const FLOW_KW = 10;
/** Housekeeping runs every SWEEP_EVERY records or SWEEP_NS of input time, whichever first,
 * checking SWEEP_SCAN flow slots for silence each time (about one per record at full rate). */
const SWEEP_EVERY = 1024;
/** Width of the time buckets of open silent episodes (see Analyzer.silentByTime). */
const SILENT_BUCKET_NS = 1e6;
const SWEEP_SCAN = 1024;
const SWEEP_NS = 1_000_000;
/** Samples a queue needs before it can burst (its smallest sample then bounds the pipeline
 * latency). */
const BURST_MIN_HISTORY = 4;

/** Detector families run by `Analyzer.process` (each defaults to true). */
export interface AnalyzerParts {
  /** Micro-loops, path changes, silent drops, end-to-end latency per flow. */
  flows?: boolean;
  /** Microbursts and per-hop latency statistics per queue. */
  queues?: boolean;
  /** Report sequence loss and drop reports. */
  reports?: boolean;
}

export interface TableStats {
  size: number;
  cap: number;
  inserted: number;
  evictedIdle: number;
  evictedSize: number;
}

export interface AnalyzerStats {
  records: number;
  hops: number;
  anomalies: number;
  flows: TableStats;
  queues: TableStats;
  reporters: TableStats;
  paths: TableStats;
  latencyFlows: TableStats;
  open: {
    loops: number;
    bursts: number;
    drops: number;
    losses: number;
    flaps: number;
    silent: number;
  };
  reports: { duplicates: number; late: number; restarts: number };
  /** Records with the E bit but no repeated switch (stack truncated before any repeat). */
  eBitWithoutRepeat: number;
  /** Bytes held by the preallocated typed arrays. */
  memoryBytes: number;
}

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

interface BurstState {
  start: number;
  firstAbove: number;
  end: number;
  lastSample: number;
  above: number;
  samples: number;
  peakLat: number;
  peakOcc: number;
  baseLat: number;
  baseOcc: number;
  threshold: number;
  switchClock: boolean;
  cooling: boolean;
  // per-burst flow counters (space-saving)
  fSlot: number[];
  fGen: number[];
  fPk: number[];
  fMaxLat: number[];
  fTuple: (FlowTuple | null)[];
  total: number;
  distinct: number;
}

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

interface LossGap {
  /** First missing sequence number and how many follow it. */
  lo: number;
  missing: number;
  start: number;
  end: number;
}

interface LossEpisode {
  /** Gaps still missing (a late arrival removes one report from its gap). */
  gaps: LossGap[];
  mod: number;
  lost: number;
  reordered: number;
  nodeId: number | null;
  reporterAddr: string;
  hwId: number;
  version: number;
}

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

interface SilentMember {
  gen: number;
  flow: FlowTuple;
  silentSince: number;
  meanGap: number;
  resumed: number | null;
  /** How long the flow had been active before it went silent. */
  active: number;
  /** Other flows on its path were still seen after it went silent. */
  pathAlive: boolean;
}

interface SilentEpisode {
  id: number;
  /** Switches common to every member's path (the suspects), in path order. */
  cands: number[];
  path: number[];
  start: number;
  members: Map<number, SilentMember>;
  open: number;
  lastResume: number;
  /** Members that came back after a silence their queueing delay does not explain. */
  confirmed: number;
  /** Latest time a member went silent. */
  lastSilent: number;
}

function tableStats(t: BoundedTable): TableStats {
  return {
    size: t.size,
    cap: t.cap,
    inserted: t.inserted,
    evictedIdle: t.evictedIdle,
    evictedSize: t.evictedSize,
  };
}

export class Analyzer {
  readonly config: AnalyticsConfig;

  private baseSec = -1;
  private now = -INF;
  private records = 0;
  private hopsSeen = 0;
  private emitted = 0;
  private pending: Anomaly[] = [];
  private doFlows = true;
  private doQueues = true;
  private doReports = true;
  private sinceSweep = 0;
  private readonly silentFactor: number;
  private lastSweepAt = 0;

  // ---- flows ----
  private readonly flows: BoundedTable;
  private readonly fLast: Float64Array;
  private readonly fFirst: Float64Array;
  private readonly fCount: Uint32Array;
  private readonly fGapMean: Float64Array;
  private readonly fGapDev: Float64Array;
  private readonly fPath: Uint32Array;
  private readonly fPathLen: Uint16Array;
  private readonly fPathHash: Uint32Array;
  private readonly fHopCount: Uint16Array;
  private readonly fHoldUntil: Float64Array;
  private readonly fPathSlot: Int32Array;
  private readonly fPathGen: Uint32Array;
  private readonly fLastSwitch: Uint32Array;
  private readonly fSilent: Uint8Array;
  private readonly fLatSum: Float64Array;
  private readonly fDropRepT: Float64Array;
  private readonly silentOf = new Map<number, number>();
  private silentIds = 0;
  private readonly flaps = new Map<number, FlapState>();
  private silentCursor = 0;

  // ---- paths ----
  private readonly paths: BoundedTable;

  // ---- queues ----
  private readonly queues: BoundedTable;
  private readonly qSketch: SketchPool;
  private readonly qSamples: Uint32Array;
  private readonly qBaseLat: Float64Array;
  private readonly qBaseOcc: Float64Array;
  private readonly qDevLat: Float64Array;
  private readonly qDevOcc: Float64Array;
  private readonly qMaxOcc: Float64Array;
  private readonly qHasOcc: Uint8Array;
  private readonly qHasRef: Uint8Array;
  private readonly qRefHi: Uint32Array;
  private readonly qRefLo: Uint32Array;
  private readonly qRefT: Float64Array;
  private readonly qLastT: Float64Array;
  private readonly qFirstT: Float64Array;
  private readonly qMinLat: Float64Array;
  private readonly qMinOcc: Float64Array;
  private readonly bursts = new Map<number, BurstState>();

  // ---- latency per flow ----
  private readonly latFlows: BoundedTable;
  private readonly lfHop: SketchPool;
  private readonly lfE2e: SketchPool;

  // ---- reporters ----
  private readonly reporters: BoundedTable;
  private readonly rHigh: Uint32Array;
  private readonly rBits: Uint32Array;
  private readonly rLastT: Float64Array;
  private readonly losses = new Map<number, LossEpisode>();
  private duplicates = 0;
  private late = 0;
  private restarts = 0;

  // ---- episodes ----
  private readonly loops = new Map<string, LoopEpisode>();
  private readonly drops = new Map<number, DropEpisode>();
  private readonly silent = new Map<number, SilentEpisode>();
  /** The open silent episodes by floor(lastSilent / SILENT_BUCKET_NS). A newly silent flow
   * joins an episode that went silent within its wait, so only the buckets around it are
   * looked at: scanning every open episode per silent flow grew quadratically over a long
   * capture (finished flows stay open members until evicted). */
  private readonly silentByTime = new Map<number, Set<SilentEpisode>>();
  /** The open silent episodes none of whose members is still silent (open ≤ 0): the only ones
   * the sweep may close, so it does not walk every open episode. */
  private readonly silentIdle = new Set<SilentEpisode>();
  private eBitWithoutRepeat = 0;

  // scratch
  private stackRows = new Int32Array(256);

  constructor(config: Partial<AnalyticsConfig> = {}) {
    const c: AnalyticsConfig = { ...DEFAULT_CONFIG, ...config };
    this.config = c;
    this.silentFactor = c.silentFactor;
    const F = c.maxFlows;
    this.flows = new BoundedTable(F, FLOW_KW);
    this.fLast = new Float64Array(F);
    this.fFirst = new Float64Array(F);
    this.fCount = new Uint32Array(F);
    this.fGapMean = new Float64Array(F);
    this.fGapDev = new Float64Array(F);
    this.fPath = new Uint32Array(F * c.maxPathLength);
    this.fPathLen = new Uint16Array(F);
    this.fPathHash = new Uint32Array(F);
    this.fHopCount = new Uint16Array(F);
    this.fHoldUntil = new Float64Array(F);
    this.fPathSlot = new Int32Array(F);
    this.fPathGen = new Uint32Array(F);
    this.fLastSwitch = new Uint32Array(F);
    this.fSilent = new Uint8Array(F);
    this.fLatSum = new Float64Array(F);
    this.fDropRepT = new Float64Array(F);
    this.flows.onEvict = (s) => this.onFlowEvict(s);

    this.paths = new BoundedTable(c.maxPaths, 2);

    const Q = c.maxQueues;
    this.queues = new BoundedTable(Q, 3);
    this.qSketch = new SketchPool(Q, c.queueSketchBits);
    this.qSamples = new Uint32Array(Q);
    this.qBaseLat = new Float64Array(Q);
    this.qBaseOcc = new Float64Array(Q);
    this.qDevLat = new Float64Array(Q);
    this.qDevOcc = new Float64Array(Q);
    this.qMaxOcc = new Float64Array(Q);
    this.qHasOcc = new Uint8Array(Q);
    this.qHasRef = new Uint8Array(Q);
    this.qRefHi = new Uint32Array(Q);
    this.qRefLo = new Uint32Array(Q);
    this.qRefT = new Float64Array(Q);
    this.qLastT = new Float64Array(Q);
    this.qFirstT = new Float64Array(Q);
    this.qMinLat = new Float64Array(Q);
    this.qMinOcc = new Float64Array(Q);
    this.queues.onEvict = (s) => {
      const b = this.bursts.get(s);
      if (b) this.finishBurst(s, b);
    };

    this.latFlows = new BoundedTable(c.maxLatencyFlows, FLOW_KW);
    this.lfHop = new SketchPool(c.maxLatencyFlows, c.flowSketchBits);
    this.lfE2e = new SketchPool(c.maxLatencyFlows, c.flowSketchBits);

    const R = c.maxReporters;
    this.reporters = new BoundedTable(R, 7);
    this.rHigh = new Uint32Array(R);
    this.rBits = new Uint32Array(R);
    this.rLastT = new Float64Array(R);
    this.reporters.onEvict = (s) => {
      const e = this.losses.get(s);
      if (e) {
        this.losses.delete(s);
        this.emitLoss(e);
      }
    };
  }

  // ================================================================ public API

  /** Consumes every record of the batch, in order. `parts` selects the detector families run on
   * it (default all), for deployments that split the work by input:
   * - `flows`: per-flow detectors (micro-loops, path changes, silent drops, end-to-end latency);
   * - `queues`: per-queue detectors (microbursts, per-hop latency statistics) — records may
   *   carry one hop each (e.g. from a queue-keyed topic);
   * - `reports`: Telemetry Report detectors (sequence loss, drop reports). */
  process(batch: RecordBatch, parts?: AnalyzerParts): void {
    const n = batch.count;
    if (n === 0) return;
    if (this.baseSec < 0) this.baseSec = batch.tsSec[0];
    this.doFlows = parts?.flows ?? true;
    this.doQueues = parts?.queues ?? true;
    this.doReports = parts?.reports ?? true;
    // housekeeping (episode closing, silence checks) every SWEEP_EVERY records, so detection
    // does not depend on how the input was cut into batches
    for (let r = 0; r < n; r++) {
      this.processRecord(batch, r);
      if (++this.sinceSweep >= SWEEP_EVERY || this.now - this.lastSweepAt >= SWEEP_NS) {
        this.sinceSweep = 0;
        this.lastSweepAt = this.now;
        this.sweep(SWEEP_SCAN);
      }
    }
    this.records += n;
    this.sweep(Mth.max(256, n));
  }

  /** Anomalies finished since the last call. `nowNs` (ns since epoch) advances the clock, closing
   * episodes idle for their gap even when no traffic arrives. */
  flush(nowNs?: bigint): Anomaly[] {
    if (nowNs !== undefined) {
      if (this.baseSec < 0) this.baseSec = Number(nowNs / 1_000_000_000n);
      const t = this.rel(nowNs);
      if (t > this.now) this.now = t;
      this.sweep(0);
    }
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** End of input: closes every open episode and returns all anomalies not yet flushed. */
  finish(): Anomaly[] {
    this.sweep(this.config.maxFlows);
    for (const [k, e] of this.loops) {
      this.loops.delete(k);
      this.emitLoop(e);
    }
    for (const [k, e] of this.drops) {
      this.drops.delete(k);
      this.emitDrop(e);
    }
    for (const [k, e] of this.losses) {
      this.losses.delete(k);
      this.emitLoss(e);
    }
    for (const [k, b] of this.bursts) this.finishBurst(k, b);
    for (const [k, f] of this.flaps) {
      this.flaps.delete(k);
      this.emitFlap(f);
    }
    for (const [k, e] of this.silent) {
      this.silent.delete(k);
      this.emitSilent(e, this.now);
    }
    this.silentByTime.clear();
    this.silentIdle.clear();
    this.silentOf.clear();
    const out = this.flush();
    out.sort((a, b) =>
      a.start < b.start ? -1 : a.start > b.start ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
    return out;
  }

  /** Detector state worth keeping across a restart (see checkpoint.ts). */
  exportCheckpoint(): AnalyzerCheckpoint {
    return exportCheckpoint(this);
  }
  importCheckpoint(c: AnalyzerCheckpoint): void {
    importCheckpoint(this, c);
  }

  stats(): AnalyzerStats {
    let mem = this.qSketch.bytes + this.lfHop.bytes + this.lfE2e.bytes;
    for (const t of [this.flows, this.paths, this.queues, this.reporters, this.latFlows])
      mem += t.bytes;
    for (const a of [
      this.fLast,
      this.fFirst,
      this.fCount,
      this.fGapMean,
      this.fGapDev,
      this.fPath,
      this.fPathLen,
      this.fPathHash,
      this.fHopCount,
      this.fHoldUntil,
      this.fPathSlot,
      this.fPathGen,
      this.fLastSwitch,
      this.fSilent,
      this.fLatSum,
      this.fDropRepT,
      this.qSamples,
      this.qBaseLat,
      this.qBaseOcc,
      this.qDevLat,
      this.qDevOcc,
      this.qMaxOcc,
      this.qHasOcc,
      this.qHasRef,
      this.qRefHi,
      this.qRefLo,
      this.qRefT,
      this.qLastT,
      this.qFirstT,
      this.qMinLat,
      this.qMinOcc,
      this.rHigh,
      this.rBits,
      this.rLastT,
    ])
      mem += a.byteLength;
    return {
      records: this.records,
      hops: this.hopsSeen,
      anomalies: this.emitted,
      flows: tableStats(this.flows),
      queues: tableStats(this.queues),
      reporters: tableStats(this.reporters),
      paths: tableStats(this.paths),
      latencyFlows: tableStats(this.latFlows),
      open: {
        loops: this.loops.size,
        bursts: this.bursts.size,
        drops: this.drops.size,
        losses: this.losses.size,
        flaps: this.flaps.size,
        silent: this.silent.size,
      },
      reports: { duplicates: this.duplicates, late: this.late, restarts: this.restarts },
      eBitWithoutRepeat: this.eBitWithoutRepeat,
      memoryBytes: mem,
    };
  }

  /** Hop-latency percentiles per (switch, egress port, queue) and per flow (the `maxFlows` most
   * recently active flows with latency data, default all tracked). */
  latencyStats(opts: { maxFlows?: number } = {}): LatencyStats {
    const queues: QueueLatency[] = [];
    const q = this.queues;
    for (let s = 0; s < q.cap; s++) {
      if (!q.live[s]) continue;
      const k = s * 3;
      queues.push({
        switchId: q.keys[k],
        egressPort: q.keys[k + 1] === NONE32 ? null : q.keys[k + 1],
        queueId: q.keys[k + 2] === NONE16 ? null : q.keys[k + 2],
        ...this.summary(this.qSketch, s),
        maxOccupancy: this.qHasOcc[s] ? this.qMaxOcc[s] : null,
      });
    }
    queues.sort(
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
        flow: this.tupleOf(lf.keys, s * FLOW_KW),
        ...this.summary(this.lfHop, s),
        endToEnd: this.summary(this.lfE2e, s),
      });
    }
    return {
      queues,
      flows,
      relativeError: { queue: this.qSketch.relativeError, flow: this.lfHop.relativeError },
    };
  }

  // ================================================================ time helpers

  private rel(ns: bigint): number {
    return Number(ns - BigInt(this.baseSec) * 1_000_000_000n);
  }

  private abs(t: number): bigint {
    return BigInt(this.baseSec) * 1_000_000_000n + BigInt(Mth.round(t));
  }

  private summary(p: SketchPool, s: number): LatencySummary {
    const n = p.count(s);
    return {
      count: n,
      p50: p.quantile(s, 0.5),
      p90: p.quantile(s, 0.9),
      p99: p.quantile(s, 0.99),
      max: n ? p.max[s] : null,
    };
  }

  private tupleOf(keys: Uint32Array, k: number): FlowTuple {
    const v6 = keys[k + 9] >>> 8 === 1;
    return {
      srcAddr: formatAddr(keys, k, v6),
      dstAddr: formatAddr(keys, k + 4, v6),
      srcPort: keys[k + 8] >>> 16,
      dstPort: keys[k + 8] & 0xffff,
      protocol: keys[k + 9] & 0xff,
    };
  }

  private flowTuple(slot: number): FlowTuple {
    return this.tupleOf(this.flows.keys, slot * FLOW_KW);
  }

  private emit(a: Anomaly): void {
    this.emitted++;
    this.pending.push(a);
    if (this.config.onAnomaly) this.config.onAnomaly(a);
  }

  // ================================================================ per record

  private processRecord(b: RecordBatch, r: number): void {
    const t = (b.tsSec[r] - this.baseSec) * 1e9 + b.tsNsec[r];
    if (t > this.now) this.now = t;

    // ---- flow ----
    let fs = -1;
    if (b.hasFlow[r]) {
      const key = this.flows.scratch;
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
      fs = this.flows.findOrInsert(t);
      if (this.flows.isNew) {
        this.fCount[fs] = 0;
        this.fFirst[fs] = t;
        this.fGapMean[fs] = 0;
        this.fGapDev[fs] = 0;
        this.fPathLen[fs] = 0;
        this.fPathHash[fs] = 0;
        this.fHopCount[fs] = 0;
        this.fHoldUntil[fs] = -INF;
        this.fPathSlot[fs] = -1;
        this.fLastSwitch[fs] = NONE32;
        this.fSilent[fs] = 0;
        this.fLatSum[fs] = -1;
        this.fDropRepT[fs] = -INF;
      } else if (this.doFlows) {
        const gap = t - this.fLast[fs];
        // a silence no sweep saw (it ends here); only a gap beyond silentFactor × the mean can be one
        if (!this.fSilent[fs] && gap > this.silentFactor * this.fGapMean[fs]) this.checkSilent(fs);
        if (this.fSilent[fs]) this.flowResumed(fs, t, recordLatency(b, r));
        else if (gap >= 0) {
          const n = this.fCount[fs];
          if (n === 1) this.fGapMean[fs] = gap;
          else {
            const w = n < 16 ? 1 / n : 1 / 16;
            const d = gap - this.fGapMean[fs];
            this.fGapMean[fs] += w * d;
            this.fGapDev[fs] += w * (Mth.abs(d) - this.fGapDev[fs]);
          }
        }
      }
      if (this.doFlows) {
        this.fLatSum[fs] = recordLatency(b, r);
        this.fCount[fs]++;
        if (t > this.fLast[fs] || this.fCount[fs] === 1) this.fLast[fs] = t;
      }
    }

    // ---- reports ----
    const rv = b.reportVersion[r];
    // a drop report carries the packet as the dropping switch received it (the stack stops
    // there), an intermediate report the stack so far: neither is the flow's full path
    const dropRep = rv !== 0 && ((b.repFlags[r] & REPFLAG_D) !== 0 || b.dropReason[r] >= 0);
    const partial = dropRep || (rv !== 0 && (b.repFlags[r] & REPFLAG_I) !== 0);
    if (rv !== 0 && this.doReports) {
      if (b.repIndex[r] === 0) this.sequence(b, r, t, rv);
      if (dropRep) this.dropReport(b, r, t, fs);
    }

    // ---- hops ----
    const hc = b.hopCount[r];
    if (hc === 0 || !(this.doFlows || this.doQueues)) return;
    this.hopsSeen += hc;
    const hs = b.hopStart[r];
    if (this.stackRows.length < hc) this.stackRows = new Int32Array(hc * 2);
    const rows = this.stackRows;
    let m = 0;
    let allIds = true;
    for (let h = hs; h < hs + hc; h++) {
      if (b.origin[h] !== 0) continue;
      rows[m++] = h;
      if ((b.present[h] & HOPFIELD_SWITCH_ID) === 0) allIds = false;
    }
    const eBit = (b.hdrFlags[r] & HDRFLAG_E) !== 0;

    if (!this.doFlows) {
      // per-queue input only
    } else if (m > 0 && allIds) {
      // micro-loop: first switch id that repeats within the stack
      let li = -1;
      let lj = -1;
      for (let j = 1; j < m && lj < 0; j++) {
        const sj = b.switchId[rows[j]];
        for (let i = 0; i < j; i++) {
          if (b.switchId[rows[i]] === sj) {
            li = i;
            lj = j;
            break;
          }
        }
      }
      if (lj >= 0) this.loopPacket(b, rows, li, lj, m, t, fs, eBit);
      else {
        if (eBit) this.eBitWithoutRepeat++;
        else if (fs >= 0 && !partial) this.pathPacket(b, rows, m, t, fs);
      }
    } else if (eBit) this.eBitWithoutRepeat++;

    // ---- queues: bursts and latency stats ----
    const intV = b.intVersion[r];
    let e2eSum = 0;
    let e2eOk = true;
    let lf = -1;
    if (fs >= 0 && this.doFlows) {
      let any = false;
      for (let h = hs; h < hs + hc; h++) if (b.present[h] & HOPFIELD_HOP_LATENCY) any = true;
      if (any) {
        this.latFlows.scratch.set(this.flows.scratch);
        lf = this.latFlows.findOrInsert(t);
        if (this.latFlows.isNew) {
          this.lfHop.clear(lf);
          this.lfE2e.clear(lf);
        }
      }
    }
    for (let h = hs; h < hs + hc; h++) {
      const p = b.present[h];
      const hasLat = (p & HOPFIELD_HOP_LATENCY) !== 0;
      if (hasLat) {
        e2eSum += b.hopLatency[h];
        if (lf >= 0) this.lfHop.add(lf, b.hopLatency[h]);
      } else if (b.origin[h] === 0) e2eOk = false;
      const hasOcc = (p & HOPFIELD_QUEUE) !== 0 && (p & HOPFIELD_DROP_REASON) === 0;
      if (!this.doQueues || (p & HOPFIELD_SWITCH_ID) === 0 || (!hasLat && !hasOcc)) continue;
      const qk = this.queues.scratch;
      qk[0] = b.switchId[h];
      qk[1] = p & HOPFIELD_L1_PORTS ? b.egressPort[h] : NONE32;
      qk[2] = p & HOPFIELD_QUEUE ? b.queueId[h] : NONE16;
      const q = this.queues.findOrInsert(t);
      if (this.queues.isNew) {
        this.qSketch.clear(q);
        this.qSamples[q] = 0;
        this.qBaseLat[q] = 0;
        this.qBaseOcc[q] = 0;
        this.qDevLat[q] = 0;
        this.qDevOcc[q] = 0;
        this.qMaxOcc[q] = 0;
        this.qHasOcc[q] = 0;
        this.qHasRef[q] = 0;
        this.qLastT[q] = t;
        this.qFirstT[q] = t;
        this.qMinLat[q] = INF;
        this.qMinOcc[q] = INF;
      }
      const lat = hasLat ? b.hopLatency[h] : -1;
      const occ = hasOcc ? b.queueOccupancy[h] : -1;
      if (hasLat) this.qSketch.add(q, lat);
      if (hasOcc) {
        this.qHasOcc[q] = 1;
        if (occ > this.qMaxOcc[q]) this.qMaxOcc[q] = occ;
      }
      // timeline: egress timestamp mapped onto the capture clock, else capture time
      let td = t;
      let sw = false;
      if (p & HOPFIELD_EGRESS_TS) {
        td = this.mapEgress(q, b.egressTsHi[h], b.egressTsLo[h], intV < INTVER_V20, t);
        sw = true;
      }
      this.queueSample(q, td, lat, occ, fs, sw);
    }
    if (lf >= 0 && m > 0) {
      const first = rows[0];
      const last = rows[m - 1];
      let e2e = -1;
      if (b.present[first] & HOPFIELD_INGRESS_TS && b.present[last] & HOPFIELD_EGRESS_TS) {
        if (intV < INTVER_V20) e2e = (b.egressTsLo[last] - b.ingressTsLo[first]) >>> 0;
        else
          e2e =
            (b.egressTsHi[last] - b.ingressTsHi[first]) * 4294967296 +
            (b.egressTsLo[last] - b.ingressTsLo[first]);
        if (e2e < 0 || e2e > 0xffffffff) e2e = -1;
      }
      if (e2e < 0 && e2eOk) e2e = e2eSum;
      if (e2e >= 0) this.lfE2e.add(lf, e2e);
    }
  }

  /** Maps a hop's egress timestamp onto the capture timeline (per queue: the offset is the
   * smallest capture − egress seen, i.e. egress time plus the shortest remaining transit). */
  private mapEgress(q: number, hi: number, lo: number, wrap32: boolean, t: number): number {
    if (!this.qHasRef[q]) {
      this.qHasRef[q] = 1;
      this.qRefHi[q] = hi;
      this.qRefLo[q] = lo;
      this.qRefT[q] = t;
      return t;
    }
    let d: number;
    if (wrap32) {
      d = (lo - this.qRefLo[q]) | 0; // signed 32-bit difference
    } else d = (hi - this.qRefHi[q]) * 4294967296 + (lo - this.qRefLo[q]);
    let mapped = this.qRefT[q] + d;
    const slack = t - mapped;
    if (slack < 0 || slack > 1e9) mapped = t; // earlier than capture (re-anchor) or a clock jump
    this.qRefHi[q] = hi;
    this.qRefLo[q] = lo;
    this.qRefT[q] = mapped;
    return mapped;
  }

  // ================================================================ micro-loop

  private loopPacket(
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
      this.emitLoop(e);
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
      const g = this.flows.gen[fs];
      if (e.seen.get(fs) !== g) {
        e.seen.set(fs, g);
        e.flowCount++;
        if (e.flows.length < c.maxFlowsPerAnomaly) e.flows.push(this.flowTuple(fs));
        const hb = this.fHopCount[fs];
        if (hb > 0 && (e.hopBefore === null || hb < e.hopBefore)) e.hopBefore = hb;
      }
    }
  }

  private emitLoop(e: LoopEpisode): void {
    const start = this.abs(e.start);
    this.emit({
      type: 'microloop',
      id: `microloop:${e.key.replace(/,/g, '-')}:${start}`,
      start,
      end: this.abs(e.end),
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

  // ================================================================ path change

  private pathPacket(b: RecordBatch, rows: Int32Array, m: number, t: number, fs: number): void {
    const c = this.config;
    let h = 0x811c9dc5 ^ m;
    for (let k = 0; k < m; k++) {
      h = Mth.imul(h ^ b.switchId[rows[k]], 0x01000193);
      h ^= h >>> 13;
    }
    h >>>= 0;
    this.fHopCount[fs] = m;
    this.fLastSwitch[fs] = b.switchId[rows[m - 1]];
    // path activity (silent-flow detection)
    const pk = this.paths.scratch;
    pk[0] = h;
    pk[1] = m;
    const ps = this.paths.findOrInsert(t);
    this.fPathSlot[fs] = ps;
    this.fPathGen[fs] = this.paths.gen[ps];

    const len = this.fPathLen[fs];
    if (len > 0 && this.fPathHash[fs] === h) return;
    const P = c.maxPathLength;
    const base = fs * P;
    if (len > 0) {
      const oldPath: number[] = [];
      for (let k = 0; k < Mth.min(len, P); k++) oldPath.push(this.fPath[base + k]);
      const newPath: number[] = [];
      for (let k = 0; k < m; k++) newPath.push(b.switchId[rows[k]]);
      if (t < this.fHoldUntil[fs]) {
        // inside the hold-down window of a reported change: summarise
        let f = this.flaps.get(fs);
        if (!f || f.gen !== this.flows.gen[fs]) {
          f = {
            gen: this.flows.gen[fs],
            flow: this.flowTuple(fs),
            until: this.fHoldUntil[fs],
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
        const start = this.abs(t);
        const flow = this.flowTuple(fs);
        this.emit({
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
        this.fHoldUntil[fs] = t + c.pathHoldDownNs;
      }
    }
    for (let k = 0; k < Mth.min(m, P); k++) this.fPath[base + k] = b.switchId[rows[k]];
    this.fPathLen[fs] = m;
    this.fPathHash[fs] = h;
  }

  private emitFlap(f: FlapState): void {
    if (f.changes === 0) return;
    const start = this.abs(f.first);
    this.emit({
      type: 'path_change',
      id: `path_change:${flowId(f.flow)}:${start}:flap`,
      start,
      end: this.abs(f.last),
      packets: f.changes,
      flow: f.flow,
      oldPath: f.before,
      newPath: f.after,
      summary: true,
      changes: f.changes,
      paths: [...f.paths.values()],
    });
  }

  // ================================================================ microburst

  private queueSample(
    q: number,
    td: number,
    lat: number,
    occ: number,
    fs: number,
    sw: boolean,
  ): void {
    const c = this.config;
    const n = this.qSamples[q];
    const useLat = lat >= 0;
    const x = useLat ? lat : occ;
    const thr = useLat ? this.latThreshold(q) : this.occThreshold(q);
    if (lat >= 0 && lat < this.qMinLat[q]) this.qMinLat[q] = lat;
    if (occ >= 0 && occ < this.qMinOcc[q]) this.qMinOcc[q] = occ;
    let burst = this.bursts.get(q);
    if (burst) {
      const endThr = burst.threshold * c.burstEndRatio;
      if (burst.cooling) {
        if (x >= burst.threshold && td - burst.end <= c.burstMergeGapNs) {
          burst.cooling = false; // the same burst goes on
        } else if (td - burst.end > c.burstMergeGapNs) {
          this.finishBurst(q, burst);
          burst = undefined;
        }
      } else if (x < endThr) {
        burst.cooling = true;
      } else if (td - burst.start > c.burstMaxNs) {
        // a level shift, not a burst: report it and re-learn the baseline from here
        this.finishBurst(q, burst);
        burst = undefined;
        if (useLat) this.qBaseLat[q] = this.qMinLat[q] = x;
        else this.qBaseOcc[q] = this.qMinOcc[q] = x;
        this.qSamples[q] = 1;
        return;
      }
      if (burst && !burst.cooling) {
        this.burstSample(burst, td, lat, occ, fs, x >= burst.threshold);
        return;
      }
      if (burst) return; // cooling: baseline stays frozen until the burst is finished
    }
    const warm = n >= c.baselineWarmupSamples && td - this.qFirstT[q] >= c.baselineTauNs;
    if (n >= BURST_MIN_HISTORY && x >= thr) {
      const b: BurstState = {
        start: useLat ? td - lat : td,
        firstAbove: td,
        end: td,
        lastSample: td,
        above: 0,
        samples: 0,
        peakLat: -1,
        peakOcc: -1,
        baseLat: this.qBaseLat[q],
        baseOcc: this.qBaseOcc[q],
        threshold: thr,
        switchClock: sw,
        cooling: false,
        fSlot: [],
        fGen: [],
        fPk: [],
        fMaxLat: [],
        fTuple: [],
        total: 0,
        distinct: 0,
      };
      this.bursts.set(q, b);
      this.burstSample(b, td, lat, occ, fs, true);
      return;
    }
    // baseline: EWMA (plain mean at first), weighted by the time since the previous sample so
    // that a fast ramp (many samples in a few µs) cannot drag it up; samples clipped at the
    // threshold once warm
    const dt = td - this.qLastT[q];
    this.qLastT[q] = td;
    const w = !warm ? 1 / (n + 1) : Mth.min(c.baselineAlpha, dt > 0 ? dt / c.baselineTauNs : 0);
    if (lat >= 0) {
      const v = n >= 4 ? Mth.min(lat, this.latThreshold(q)) : lat;
      const d = v - this.qBaseLat[q];
      this.qBaseLat[q] += w * d;
      this.qDevLat[q] += w * (Mth.abs(d) - this.qDevLat[q]);
    }
    if (occ >= 0) {
      const v = n >= 4 ? Mth.min(occ, this.occThreshold(q)) : occ;
      const d = v - this.qBaseOcc[q];
      this.qBaseOcc[q] += w * d;
      this.qDevOcc[q] += w * (Mth.abs(d) - this.qDevOcc[q]);
    }
    this.qSamples[q] = n + 1;
  }

  /** Burst threshold: max(k × baseline, baseline + z × mean absolute deviation, floor). Until the
   * baseline is warm, the queue's smallest sample stands for it (hop latency = fixed pipeline
   * latency + queueing; the smallest sample is the pipeline latency of an empty queue), so a
   * burst early in a queue's life is still caught. */
  private latThreshold(q: number): number {
    const c = this.config;
    if (!this.isWarm(q)) {
      const m = this.qMinLat[q];
      return Mth.max(c.burstLatencyFactor * (m < INF ? m : 0), c.burstLatencyFloorNs);
    }
    const b = this.qBaseLat[q];
    return Mth.max(
      c.burstLatencyFactor * b,
      b + c.burstDeviationFactor * this.qDevLat[q],
      c.burstLatencyFloorNs,
    );
  }

  private occThreshold(q: number): number {
    const c = this.config;
    if (!this.isWarm(q)) {
      const m = this.qMinOcc[q];
      return Mth.max(c.burstOccupancyFactor * (m < INF ? m : 0), c.burstOccupancyFloor);
    }
    const b = this.qBaseOcc[q];
    return Mth.max(
      c.burstOccupancyFactor * b,
      b + c.burstDeviationFactor * this.qDevOcc[q],
      c.burstOccupancyFloor,
    );
  }

  private isWarm(q: number): boolean {
    const c = this.config;
    return (
      this.qSamples[q] >= c.baselineWarmupSamples &&
      this.qLastT[q] - this.qFirstT[q] >= c.baselineTauNs
    );
  }

  private burstSample(
    b: BurstState,
    td: number,
    lat: number,
    occ: number,
    fs: number,
    above: boolean,
  ): void {
    b.samples++;
    if (above) {
      b.above++;
      if (td > b.end) b.end = td;
    }
    if (td > b.lastSample) b.lastSample = td;
    if (lat > b.peakLat) b.peakLat = lat;
    if (occ > b.peakOcc) b.peakOcc = occ;
    if (fs < 0) return;
    b.total++;
    const g = this.flows.gen[fs];
    const K = this.config.burstTopK;
    let i = 0;
    for (; i < b.fSlot.length; i++) if (b.fSlot[i] === fs && b.fGen[i] === g) break;
    if (i === b.fSlot.length) {
      b.distinct++;
      if (b.fSlot.length < K) {
        b.fSlot.push(fs);
        b.fGen.push(g);
        b.fPk.push(0);
        b.fMaxLat.push(-1);
        b.fTuple.push(this.flowTuple(fs));
      } else {
        // space-saving: replace the smallest counter, inheriting its count
        let mi = 0;
        for (let k = 1; k < b.fPk.length; k++) if (b.fPk[k] < b.fPk[mi]) mi = k;
        i = mi;
        b.fSlot[i] = fs;
        b.fGen[i] = g;
        b.fMaxLat[i] = -1;
        b.fTuple[i] = this.flowTuple(fs);
      }
    }
    b.fPk[i]++;
    if (lat > b.fMaxLat[i]) b.fMaxLat[i] = lat;
  }

  private finishBurst(q: number, b: BurstState): void {
    this.bursts.delete(q);
    if (b.above < this.config.burstMinSamples) return;
    const c = this.config;
    const idx = b.fPk.map((_, i) => i);
    idx.sort((x, y) => b.fPk[y] - b.fPk[x] || b.fMaxLat[y] - b.fMaxLat[x]);
    const top = idx.length ? b.fPk[idx[0]] : 0;
    const aggressors: BurstFlow[] = [];
    const victims: BurstFlow[] = [];
    for (const i of idx) {
      const f: BurstFlow = {
        ...(b.fTuple[i] as FlowTuple),
        packets: b.fPk[i],
        share: b.total ? b.fPk[i] / b.total : 0,
        maxLatency: b.fMaxLat[i] >= 0 ? b.fMaxLat[i] : null,
      };
      if (b.fPk[i] >= c.aggressorRelShare * top) {
        if (aggressors.length < c.maxFlowsPerAnomaly) aggressors.push(f);
      } else if (victims.length < c.maxFlowsPerAnomaly) victims.push(f);
    }
    const k = q * 3;
    const qk = this.queues.keys;
    const start = this.abs(b.start);
    const a: MicroburstAnomaly = {
      type: 'microburst',
      id: `microburst:${qk[k]}:${qk[k + 1] === NONE32 ? '-' : qk[k + 1]}:${qk[k + 2] === NONE16 ? '-' : qk[k + 2]}:${start}`,
      start,
      end: this.abs(Mth.max(b.end, b.start)),
      packets: b.samples,
      switchId: qk[k],
      egressPort: qk[k + 1] === NONE32 ? null : qk[k + 1],
      queueId: qk[k + 2] === NONE16 ? null : qk[k + 2],
      peakOccupancy: b.peakOcc >= 0 ? b.peakOcc : null,
      peakLatency: b.peakLat >= 0 ? b.peakLat : null,
      baselineLatency: b.peakLat >= 0 ? Mth.round(b.baseLat) : null,
      baselineOccupancy: b.peakOcc >= 0 ? Mth.round(b.baseOcc) : null,
      threshold: Mth.round(b.threshold),
      clock: b.switchClock ? 'switch' : 'capture',
      aggressors,
      victims,
      flowCount: b.distinct,
    };
    this.emit(a);
  }

  // ================================================================ report loss

  private sequence(b: RecordBatch, r: number, t: number, rv: number): void {
    const c = this.config;
    const k = this.reporters.scratch;
    const hasNode = b.hasNodeId[r] === 1;
    k[0] = hasNode ? 1 : 0;
    k[1] = hasNode ? b.nodeId[r] : 0;
    k[2] = b.hwId[r] | (rv << 8);
    const a = r * 4;
    k[3] = hasNode ? 0 : b.reporterAddr[a];
    k[4] = hasNode ? 0 : b.reporterAddr[a + 1];
    k[5] = hasNode ? 0 : b.reporterAddr[a + 2];
    k[6] = hasNode ? 0 : b.reporterAddr[a + 3];
    const s = this.reporters.findOrInsert(t);
    const seq = b.sequence[r] >>> 0;
    if (this.reporters.isNew) {
      this.rHigh[s] = seq;
      this.rBits[s] = 1;
      this.rLastT[s] = t;
      return;
    }
    const wrap22 = rv === 3;
    const M = wrap22 ? 4194304 : 4294967296;
    const hi = this.rHigh[s];
    const d = wrap22 ? (seq - hi) & 0x3fffff : (seq - hi) >>> 0;
    if (d === 0) {
      this.duplicates++;
      return;
    }
    if (d <= c.maxSequenceJump) {
      if (d > 1) {
        // reports hi+1 .. seq-1 are missing (for now: late arrivals give them back)
        const missing = d - 1;
        const step = (t - this.rLastT[s]) / d;
        const gs = this.rLastT[s] + step;
        const ge = t - step;
        let e = this.losses.get(s);
        if (e && gs - lossEnd(e) > c.lossGapNs) {
          this.losses.delete(s);
          this.emitLoss(e);
          e = undefined;
        }
        if (!e) {
          e = {
            gaps: [],
            mod: M,
            lost: 0,
            reordered: 0,
            nodeId: hasNode ? b.nodeId[r] : null,
            reporterAddr: formatAddr(b.reporterAddr, a, b.reporterV6[r] === 1),
            hwId: b.hwId[r],
            version: rv,
          };
          this.losses.set(s, e);
        }
        e.lost += missing;
        const lo = wrap22 ? (hi + 1) & 0x3fffff : (hi + 1) >>> 0;
        if (e.gaps.length < 1024) e.gaps.push({ lo, missing, start: gs, end: ge });
        else {
          const g = e.gaps[e.gaps.length - 1];
          g.missing += missing;
          g.end = ge;
        }
      }
      this.rBits[s] = d >= 32 ? 1 : ((this.rBits[s] << d) | 1) >>> 0;
      this.rHigh[s] = seq;
      this.rLastT[s] = t;
      return;
    }
    const back = M - d; // behind the highest sequence by `back`
    if (back < 32) {
      const bit = 1 << back;
      if (this.rBits[s] & bit) {
        this.duplicates++;
        return;
      }
      this.rBits[s] = (this.rBits[s] | bit) >>> 0;
      const e = this.losses.get(s);
      if (e) {
        for (let i = e.gaps.length - 1; i >= 0; i--) {
          const g = e.gaps[i];
          const off = wrap22 ? (seq - g.lo) & 0x3fffff : (seq - g.lo) >>> 0;
          if (off < g.missing) {
            g.missing--;
            e.lost--;
            e.reordered++;
            if (g.missing === 0) e.gaps.splice(i, 1);
            break;
          }
        }
        if (e.lost <= 0) this.losses.delete(s); // the gap was reordering, not loss
      }
      return;
    }
    if (back <= c.maxSequenceJump) {
      this.late++;
      return;
    }
    // a jump in either direction beyond maxSequenceJump: the reporter restarted
    this.restarts++;
    this.rHigh[s] = seq;
    this.rBits[s] = 1;
    this.rLastT[s] = t;
  }

  private emitLoss(e: LossEpisode): void {
    if (e.lost <= 0 || e.gaps.length === 0) return;
    let s0 = INF;
    for (const g of e.gaps) if (g.start < s0) s0 = g.start;
    const start = this.abs(s0);
    this.emit({
      type: 'report_loss',
      id: `report_loss:${e.nodeId ?? e.reporterAddr}:${e.hwId}:${start}`,
      start,
      end: this.abs(Mth.max(s0, lossEnd(e))),
      packets: e.lost,
      nodeId: e.nodeId,
      reporterAddr: e.reporterAddr,
      hwId: e.hwId,
      lost: e.lost,
      reordered: e.reordered,
      reportVersion: REPORT_VERSION_NAMES[e.version] ?? null,
      modulus: e.mod,
    });
  }

  // ================================================================ drops

  private dropReport(b: RecordBatch, r: number, t: number, fs: number): void {
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
      this.emitDrop(e);
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
      this.fDropRepT[fs] = t;
      const g = this.flows.gen[fs];
      if (e.seen.get(fs) !== g) {
        e.seen.set(fs, g);
        e.flowCount++;
        if (e.flows.length < this.config.maxFlowsPerAnomaly) e.flows.push(this.flowTuple(fs));
      }
    }
  }

  private emitDrop(e: DropEpisode): void {
    const start = this.abs(e.start);
    const a: DropAnomaly = {
      type: 'drop',
      id: `drop:${e.switchId ?? '-'}:${e.reason ?? '-'}:${start}`,
      start,
      end: this.abs(e.end),
      packets: e.packets,
      switchId: e.switchId,
      dropReason: e.reason,
      flows: e.flows,
      flowCount: e.flowCount,
      silent: false,
      lastSwitch: null,
      path: [],
    };
    this.emit(a);
  }

  // ---- silent flows ----

  private checkSilent(fs: number): void {
    const c = this.config;
    if (this.fSilent[fs] || this.fCount[fs] < c.silentMinPackets || this.fPathLen[fs] === 0) return;
    const mean = this.fGapMean[fs];
    // steady: inter-arrival mean absolute deviation ≤ half the mean (Poisson-like arrivals, whose
    // deviation is ~0.74 × the mean, show long gaps by chance)
    if (!(mean > 0) || this.fGapDev[fs] > 0.5 * mean) return;
    const wait = Mth.max(c.silentFactor * mean, c.silentMinNs);
    const last = this.fLast[fs];
    if (this.now - last <= wait) return;
    if (last - this.fFirst[fs] < wait) return; // too short-lived to call its silence abnormal
    const ps = this.fPathSlot[fs];
    const pathAlive =
      ps >= 0 &&
      this.paths.live[ps] === 1 &&
      this.paths.gen[ps] === this.fPathGen[fs] &&
      this.paths.lastSeen[ps] - last > wait;
    this.fSilent[fs] = 1;
    const P = this.config.maxPathLength;
    const path: number[] = [];
    for (let k = 0; k < Mth.min(this.fPathLen[fs], P); k++) path.push(this.fPath[fs * P + k]);
    // join an open episode whose suspects this flow's path shares and whose flows went silent
    // about when this one did (one cause)
    const since = last + mean;
    let e = this.joinableSilent(since, wait, path);
    if (!e) {
      e = {
        id: this.silentIds++,
        cands: path,
        path,
        start: last + mean,
        members: new Map(),
        open: 0,
        lastResume: -INF,
        confirmed: 0,
        lastSilent: since,
      };
      this.silent.set(e.id, e);
      this.indexSilent(e, true);
    }
    if (since > e.lastSilent) {
      this.indexSilent(e, false);
      e.lastSilent = since;
      this.indexSilent(e, true);
    }
    if (last + mean < e.start) e.start = last + mean;
    e.members.set(fs, {
      gen: this.flows.gen[fs],
      flow: this.flowTuple(fs),
      silentSince: last + mean,
      meanGap: mean,
      resumed: null,
      active: last - this.fFirst[fs],
      pathAlive,
    });
    this.silentOf.set(fs, e.id);
    if (++e.open > 0) this.silentIdle.delete(e);
  }

  /** The oldest open episode that went silent within `wait` of `since` and shares a suspect
   * with `path`, its suspects narrowed to the shared ones; undefined when none. */
  private joinableSilent(since: number, wait: number, path: number[]): SilentEpisode | undefined {
    const lo = Mth.floor((since - wait) / SILENT_BUCKET_NS);
    const hi = Mth.floor((since + wait) / SILENT_BUCKET_NS);
    const near = (x: SilentEpisode): boolean =>
      !(since - x.lastSilent > wait || x.lastSilent - since > wait);
    let best: SilentEpisode | undefined;
    let bestCommon: number[] = [];
    const consider = (x: SilentEpisode): void => {
      if ((best && x.id > best.id) || !near(x)) return;
      const common = x.cands.filter((s) => path.includes(s));
      if (common.length > 0) {
        best = x;
        bestCommon = common;
      }
    };
    if (hi - lo + 1 > this.silent.size) {
      for (const x of this.silent.values()) consider(x);
    } else {
      for (let k = lo; k <= hi; k++) this.silentByTime.get(k)?.forEach(consider);
    }
    if (best) best.cands = bestCommon;
    return best;
  }

  private indexSilent(e: SilentEpisode, add: boolean): void {
    const k = Mth.floor(e.lastSilent / SILENT_BUCKET_NS);
    let set = this.silentByTime.get(k);
    if (add) {
      if (!set) this.silentByTime.set(k, (set = new Set()));
      set.add(e);
    } else if (set) {
      set.delete(e);
      if (set.size === 0) this.silentByTime.delete(k);
    }
  }

  /** A silent flow was seen again at `t` (`lat`: the hop latency sum of that packet, -1 when
   * unknown), or evicted (`lat` undefined). A silence that the packet's extra queueing delay
   * explains (it was held in a queue, not lost) is withdrawn. */
  private flowResumed(fs: number, t: number, lat?: number): void {
    this.fSilent[fs] = 0;
    const id = this.silentOf.get(fs);
    this.silentOf.delete(fs);
    const e = id === undefined ? undefined : this.silent.get(id);
    const m = e?.members.get(fs);
    if (!e || !m || m.gen !== this.flows.gen[fs] || m.resumed !== null) return;
    if (--e.open <= 0) this.silentIdle.add(e);
    if (lat !== undefined) {
      const c = this.config;
      const prev = this.fLatSum[fs];
      const held = lat >= 0 && prev >= 0 ? Mth.max(0, lat - prev) : 0;
      const wait = Mth.max(c.silentFactor * m.meanGap, c.silentMinNs);
      if (t - this.fLast[fs] - held <= wait || this.fDropRepT[fs] >= this.fLast[fs]) {
        // delayed, not dropped; or dropped with a drop report (already a drop anomaly)
        e.members.delete(fs);
        if (e.members.size === 0) {
          this.silent.delete(e.id);
          this.indexSilent(e, false);
          this.silentIdle.delete(e);
        } else {
          let s0 = INF;
          for (const x of e.members.values()) if (x.silentSince < s0) s0 = x.silentSince;
          e.start = s0;
        }
        return;
      }
      e.confirmed++;
    }
    m.resumed = t;
    if (t > e.lastResume) e.lastResume = t;
  }

  private emitSilent(e: SilentEpisode, end: number): void {
    const c = this.config;
    if (e.members.size === 0) return;
    if (e.confirmed === 0) {
      // no flow came back: flows that simply ended look the same, so only long-lived flows whose
      // path stayed busy count (a whole path going quiet at once is its sources stopping)
      let longLived = false;
      for (const m of e.members.values())
        if (m.active >= c.silentMinActiveNs && m.pathAlive) longLived = true;
      if (!longLived) return;
    }
    let packets = 0;
    let last = e.start;
    const flows: FlowTuple[] = [];
    for (const m of e.members.values()) {
      const stop = m.resumed ?? end;
      if (stop > last) last = stop;
      packets += Mth.max(1, Mth.round((stop - m.silentSince) / m.meanGap));
      if (flows.length < c.maxFlowsPerAnomaly) flows.push(m.flow);
    }
    const sw = e.cands[e.cands.length - 1];
    const start = this.abs(e.start);
    this.emit({
      type: 'drop',
      id: `drop:silent:${sw}:${start}`,
      start,
      end: this.abs(last),
      packets,
      switchId: sw,
      dropReason: null,
      flows,
      flowCount: e.members.size,
      silent: true,
      lastSwitch: sw,
      path: e.path,
    });
  }

  private onFlowEvict(fs: number): void {
    if (this.fSilent[fs]) this.flowResumed(fs, this.now);
    const f = this.flaps.get(fs);
    if (f) {
      this.flaps.delete(fs);
      this.emitFlap(f);
    }
  }

  // ================================================================ housekeeping

  /** Closes idle episodes, evicts idle state, scans `scan` flow slots for silence. */
  private sweep(scan: number): void {
    const c = this.config;
    const now = this.now;
    for (const [k, e] of this.loops)
      if (now - e.end > c.loopGapNs) {
        this.loops.delete(k);
        this.emitLoop(e);
      }
    for (const [k, e] of this.drops)
      if (now - e.end > c.dropGapNs) {
        this.drops.delete(k);
        this.emitDrop(e);
      }
    for (const [k, e] of this.losses)
      if (now - lossEnd(e) > c.lossGapNs) {
        this.losses.delete(k);
        this.emitLoss(e);
      }
    for (const [k, b] of this.bursts)
      if (
        now - b.lastSample > c.burstIdleNs ||
        (b.cooling && now - b.end > Mth.max(c.burstMergeGapNs, c.burstIdleNs))
      )
        this.finishBurst(k, b);
    for (const [k, f] of this.flaps)
      if (now >= f.until) {
        this.flaps.delete(k);
        this.emitFlap(f);
      }
    if (this.silentIdle.size > 0) {
      const due: SilentEpisode[] = [];
      for (const e of this.silentIdle) if (now - e.lastResume > c.dropGapNs) due.push(e);
      due.sort((a, b) => a.id - b.id); // the order of this.silent: oldest first
      for (const e of due) {
        this.silent.delete(e.id);
        this.indexSilent(e, false);
        this.silentIdle.delete(e);
        this.emitSilent(e, e.lastResume);
        for (const fs of e.members.keys())
          if (this.silentOf.get(fs) === e.id) this.silentOf.delete(fs);
      }
    }
    this.flows.evictIdle(now, c.flowIdleNs);
    this.queues.evictIdle(now, c.queueIdleNs);
    this.reporters.evictIdle(now, c.reporterIdleNs);
    this.paths.evictIdle(now, c.pathIdleNs);
    this.latFlows.evictIdle(now, c.flowIdleNs);
    const cap = this.flows.highWater;
    const n = Mth.min(scan, cap);
    for (let i = 0; i < n; i++) {
      const s = this.silentCursor;
      this.silentCursor = s + 1 === cap ? 0 : s + 1;
      if (this.flows.live[s]) this.checkSilent(s);
    }
  }
}

/** Sum of the hop latencies a record carries, -1 when it carries none. */
function recordLatency(b: RecordBatch, r: number): number {
  const hs = b.hopStart[r];
  let sum = -1;
  for (let h = hs; h < hs + b.hopCount[r]; h++)
    if (b.present[h] & HOPFIELD_HOP_LATENCY) sum = (sum < 0 ? 0 : sum) + b.hopLatency[h];
  return sum;
}

function lossEnd(e: LossEpisode): number {
  let x = -INF;
  for (const g of e.gaps) if (g.end > x) x = g.end;
  return x;
}

export function flowId(f: FlowTuple): string {
  return `${f.srcAddr}:${f.srcPort}>${f.dstAddr}:${f.dstPort}/${f.protocol}`;
}
