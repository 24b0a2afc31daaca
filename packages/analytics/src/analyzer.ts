/**
 * Analyzer: runs the streaming detectors (detectors/: micro-loop, path change, microburst, report
 * loss, drops, silent flows) and the latency statistics over RecordBatches.
 *
 * It owns the shared tables (tables.ts), decodes what each record means for them (its flow, its
 * report, its switch stack, its queues) and hands each detector its part through the detector's
 * own typed entry point; housekeeping (closing idle episodes, evicting idle state, checkpoints)
 * goes through the Detector interface.
 *
 * All per-flow / per-queue / per-reporter state lives in typed arrays indexed by slots of
 * BoundedTables (fixed capacity, LRU + idle eviction). The common path of process() allocates
 * nothing; objects are created only for anomaly episodes (rare) and for output.
 */
import { HdrFlag, HopField, IntVer, RecordBatch, RepFlag } from '@hopwatch/codec';
import { AnalyzerContext } from './context';
import { BoundedTable } from './table';
import {
  FlowTable,
  NONE16,
  NONE32,
  QUEUE_KW,
  REPORTER_KW,
  checkpointTable,
  recordLatency,
  restoreTable,
} from './tables';
import { LatencyTracker, type LatencyStats } from './latency';
import { EndToEnd } from './e2e';
import { CHECKPOINT_VERSION, checkCheckpoint, type AnalyzerCheckpoint } from './checkpoint';
import type { RestoreRows } from './detectors/detector';
import { MicroloopDetector } from './detectors/microloop';
import { PathChangeDetector } from './detectors/path-change';
import { MicroburstDetector } from './detectors/microburst';
import { ReportLossDetector } from './detectors/report-loss';
import { DropDetector } from './detectors/drops';
import { SilentFlowDetector } from './detectors/silent-flows';
import { DEFAULT_CONFIG, type AnalyticsConfig, type Anomaly, type Hairpin } from './types';

export { flowId } from './detectors/path-change';
export type { LatencySummary, QueueLatency, FlowLatency, LatencyStats } from './latency';

// Globals read through module constants: a global lookup per call is slow in vm contexts (jest).
const Mth = Math;
// Codec constants copied into module constants (re-exported bindings are getters in CommonJS).
const HDRFLAG_E = HdrFlag.E;
const HOPFIELD_DROP_REASON = HopField.DROP_REASON;
const HOPFIELD_EGRESS_TS = HopField.EGRESS_TS;
const HOPFIELD_HOP_LATENCY = HopField.HOP_LATENCY;
const HOPFIELD_L1_PORTS = HopField.L1_PORTS;
const HOPFIELD_QUEUE = HopField.QUEUE;
const HOPFIELD_SWITCH_ID = HopField.SWITCH_ID;
const INTVER_V20 = IntVer.V20;
const REPFLAG_D = RepFlag.D;
const REPFLAG_I = RepFlag.I;

/** Housekeeping runs every SWEEP_EVERY records or SWEEP_NS of input time, whichever first.
 * Each time it checks flow slots for silence: one per record since the last sweep, and at least
 * enough for a pass over the flow table every SCAN_PASS_NS of input time, at most SWEEP_SCAN.
 * (It checked min(SWEEP_SCAN, every flow) at each sweep: an analyzer of one partition, whose
 * records come a millisecond apart, checked all its flows at every other record.) A silence
 * is dated from the flow's own arrivals, not from when the scan finds it, and the flow's next
 * record checks it anyway. */
const SWEEP_EVERY = 1024;
const SWEEP_SCAN = 1024;
const SWEEP_NS = 1_000_000;
const SCAN_PASS_NS = 10_000_000;

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
  /** Hairpins tracked (`hairpins()`), and those not kept because `maxHairpins` were. */
  hairpins: { size: number; overflow: number };
  /** Bytes held by the preallocated typed arrays. */
  memoryBytes: number;
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

  private readonly ctx: AnalyzerContext;
  private records = 0;
  private hopsSeen = 0;
  private doFlows = true;
  private doQueues = true;
  private doReports = true;
  private sinceSweep = 0;
  private lastSweepAt = 0;
  private eBitWithoutRepeat = 0;
  private readonly silentFactor: number;

  // ---- shared tables ----
  private readonly flows: FlowTable;
  private readonly queues: BoundedTable;
  private readonly reporters: BoundedTable;
  private readonly latency: LatencyTracker;
  private readonly e2e = new EndToEnd();

  // ---- detectors (concrete types: one monomorphic call site each in the per-record path) ----
  private readonly microloop: MicroloopDetector;
  private readonly pathChange: PathChangeDetector;
  private readonly microburst: MicroburstDetector;
  private readonly reportLoss: ReportLossDetector;
  private readonly drops: DropDetector;
  private readonly silentFlows: SilentFlowDetector;

  // scratch
  private stackRows = new Int32Array(256);

  constructor(config: Partial<AnalyticsConfig> = {}) {
    const c: AnalyticsConfig = { ...DEFAULT_CONFIG, ...config };
    this.config = c;
    this.silentFactor = c.silentFactor;
    const ctx = (this.ctx = new AnalyzerContext(c));
    this.flows = new FlowTable(c);
    this.queues = new BoundedTable(c.maxQueues, QUEUE_KW);
    this.reporters = new BoundedTable(c.maxReporters, REPORTER_KW);
    this.latency = new LatencyTracker(c);

    this.microloop = new MicroloopDetector(ctx, this.flows);
    this.pathChange = new PathChangeDetector(ctx, this.flows);
    this.microburst = new MicroburstDetector(ctx, this.queues, this.flows);
    this.reportLoss = new ReportLossDetector(ctx, this.reporters);
    this.drops = new DropDetector(ctx, this.flows);
    this.silentFlows = new SilentFlowDetector(ctx, this.flows);

    // a freed slot ends the episodes that belong to it
    this.flows.table.onEvict = (s) => {
      this.silentFlows.onFlowEvict(s);
      this.pathChange.onFlowEvict(s);
    };
    this.queues.onEvict = (s) => this.microburst.onQueueEvict(s);
    this.reporters.onEvict = (s) => this.reportLoss.onReporterEvict(s);
    this.reportLoss.onGap = (node, start, end) => this.silentFlows.onReportGap(node, start, end);
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
    const ctx = this.ctx;
    if (ctx.baseSec < 0) ctx.baseSec = batch.tsSec[0];
    this.doFlows = parts?.flows ?? true;
    this.doQueues = parts?.queues ?? true;
    this.doReports = parts?.reports ?? true;
    // housekeeping (episode closing, silence checks) every SWEEP_EVERY records, so detection
    // does not depend on how the input was cut into batches
    for (let r = 0; r < n; r++) {
      this.processRecord(batch, r);
      const since = ctx.now - this.lastSweepAt;
      if (++this.sinceSweep >= SWEEP_EVERY || since >= SWEEP_NS) {
        const pass = Mth.ceil((this.flows.table.highWater * since) / SCAN_PASS_NS);
        const scan = Mth.min(SWEEP_SCAN, Mth.max(this.sinceSweep, pass)) | 0;
        this.sinceSweep = 0;
        this.lastSweepAt = ctx.now;
        this.sweep(scan);
      }
    }
    this.records += n;
    this.sweep(Mth.max(256, n));
  }

  /** Anomalies finished since the last call. `nowNs` (ns since epoch) advances the clock, closing
   * episodes idle for their gap even when no traffic arrives. */
  flush(nowNs?: bigint): Anomaly[] {
    const ctx = this.ctx;
    if (nowNs !== undefined) {
      if (ctx.baseSec < 0) ctx.baseSec = Number(nowNs / 1_000_000_000n);
      const t = ctx.rel(nowNs);
      if (t > ctx.now) ctx.now = t;
      this.sweep(0);
    }
    const out = ctx.pending;
    ctx.pending = [];
    return out;
  }

  /** End of input: closes every open episode and returns all anomalies not yet flushed. */
  finish(): Anomaly[] {
    this.sweep(this.config.maxFlows);
    this.microloop.finish();
    this.drops.finish();
    this.reportLoss.finish();
    this.microburst.finish();
    this.pathChange.finish();
    this.silentFlows.finish();
    const out = this.flush();
    out.sort((a, b) =>
      a.start < b.start ? -1 : a.start > b.start ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
    return out;
  }

  /** Detector state worth keeping across a restart (see checkpoint.ts). */
  exportCheckpoint(): AnalyzerCheckpoint {
    const ctx = this.ctx;
    const flows = this.flows.checkpoint();
    const queues = checkpointTable(this.queues);
    const reporters = checkpointTable(this.reporters);
    const rows = { flows: flows.slots, queues: queues.slots, reporters: reporters.slots };
    return {
      v: CHECKPOINT_VERSION,
      baseSec: ctx.baseSec,
      now: Number.isFinite(ctx.now) ? ctx.now : null,
      records: this.records,
      flows: flows.state,
      queues: queues.state,
      reporters: reporters.state,
      latency: this.latency.checkpoint(rows),
      detectors: {
        microloop: this.microloop.checkpoint(),
        pathChange: this.pathChange.checkpoint(),
        microburst: this.microburst.checkpoint(rows),
        reportLoss: this.reportLoss.checkpoint(rows),
        drops: this.drops.checkpoint(),
        silentFlows: this.silentFlows.checkpoint(),
      },
    };
  }

  /** Loads a checkpoint (normally into a fresh analyzer, before its first batch). A checkpoint
   * of another version, or a malformed one, is an error. */
  importCheckpoint(c: AnalyzerCheckpoint): void {
    checkCheckpoint(c);
    const ctx = this.ctx;
    if (ctx.baseSec < 0) ctx.baseSec = c.baseSec;
    const shift = (c.baseSec - ctx.baseSec) * 1e9;
    if (c.now !== null && c.now + shift > ctx.now) ctx.now = c.now + shift;
    this.records += c.records;
    const queues = restoreTable(this.queues, c.queues, shift);
    const flows = this.flows.restore(c.flows, shift);
    const reporters = restoreTable(this.reporters, c.reporters, shift);
    const rows: RestoreRows = { flows, queues, reporters, shift };
    const d = c.detectors;
    this.latency.restore(c.latency, rows);
    this.microloop.restore();
    this.pathChange.restore(d.pathChange, rows);
    this.microburst.restore(d.microburst, rows);
    this.reportLoss.restore(d.reportLoss, rows);
    this.drops.restore();
    this.silentFlows.restore(d.silentFlows, rows);
  }

  stats(): AnalyzerStats {
    const mem =
      this.flows.bytes +
      this.queues.bytes +
      this.reporters.bytes +
      this.latency.bytes +
      this.microloop.bytes +
      this.pathChange.bytes +
      this.microburst.bytes +
      this.reportLoss.bytes +
      this.drops.bytes +
      this.silentFlows.bytes;
    return {
      records: this.records,
      hops: this.hopsSeen,
      anomalies: this.ctx.emitted,
      flows: tableStats(this.flows.table),
      queues: tableStats(this.queues),
      reporters: tableStats(this.reporters),
      paths: tableStats(this.flows.paths),
      latencyFlows: tableStats(this.latency.latFlows),
      open: {
        loops: this.microloop.open,
        bursts: this.microburst.open,
        drops: this.drops.open,
        losses: this.reportLoss.open,
        flaps: this.pathChange.open,
        silent: this.silentFlows.open,
      },
      reports: {
        duplicates: this.reportLoss.duplicates,
        late: this.reportLoss.late,
        restarts: this.reportLoss.restarts,
      },
      eBitWithoutRepeat: this.eBitWithoutRepeat,
      hairpins: { size: this.microloop.hairpinCount, overflow: this.microloop.pinOverflow },
      memoryBytes: mem,
    };
  }

  /** Flows' stable out-and-back detours through a non-INT appliance (a path attribute, not an
   * anomaly; see detectors/microloop.ts). */
  hairpins(): Hairpin[] {
    return this.microloop.hairpins();
  }

  /** Hop-latency percentiles per (switch, egress port, queue) and per flow (the `maxFlows` most
   * recently active flows with latency data, default all tracked). */
  latencyStats(opts: { maxFlows?: number } = {}): LatencyStats {
    return this.latency.stats(this.queues, opts);
  }

  // ================================================================ per record

  private processRecord(b: RecordBatch, r: number): void {
    const ctx = this.ctx;
    const t = (b.tsSec[r] - ctx.baseSec) * 1e9 + b.tsNsec[r];
    if (t > ctx.now) ctx.now = t;
    // the detectors' per-record methods read t from here (a double argument would be boxed)
    const clock = ctx.clock;
    clock[0] = t;

    // ---- report sequence first: a gap this record reveals is a telemetry outage the silent-flow
    // check below must know about ----
    const rv = b.reportVersion[r];
    // a drop report carries the packet as the dropping switch received it (the stack stops
    // there), an intermediate report the stack so far: neither is the flow's full path
    const dropRep = rv !== 0 && ((b.repFlags[r] & REPFLAG_D) !== 0 || b.dropReason[r] >= 0);
    const partial = dropRep || (rv !== 0 && (b.repFlags[r] & REPFLAG_I) !== 0);
    if (rv !== 0 && this.doReports && b.repIndex[r] === 0) this.reportLoss.onReport(b, r, rv);

    // ---- flow ----
    const fl = this.flows;
    let fs = -1;
    if (b.hasFlow[r]) {
      // the key (layout in tables.ts), the silence check, the loop search and the latency slot
      // are inline here, not calls: the per-hop calls below use up V8's inlining budget, and
      // these four as calls cost about 2-3% of the analyzer's time (measured)
      const key = fl.table.scratch;
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
      fs = fl.table.findOrInsertAt(clock);
      if (fl.table.isNew) {
        fl.init(fs, t);
        this.pathChange.newFlow(fs);
        this.silentFlows.newFlow(fs);
      }
      // where the record comes from (sink liveness for silent drops): the reporting node, else
      // the last switch of its stack; a drop report comes from where the packet died, not its sink
      if (this.doFlows && !dropRep) {
        let sink = -1;
        if (b.hasNodeId[r]) sink = b.nodeId[r];
        else {
          const hs = b.hopStart[r];
          for (let h = hs + b.hopCount[r] - 1; h >= hs; h--)
            if (b.present[h] & HOPFIELD_SWITCH_ID) {
              sink = b.switchId[h];
              break;
            }
        }
        if (sink >= 0) this.silentFlows.onSinkRecord(fs, sink);
      }
      if (!fl.table.isNew && this.doFlows) {
        const gap = t - fl.last[fs];
        const sil = this.silentFlows;
        // a silence no sweep saw (it ends here); only a gap beyond silentFactor × the mean can be one
        if (!sil.silentFlag[fs] && gap > this.silentFactor * fl.gapMean[fs]) sil.check(fs);
        if (sil.silentFlag[fs]) sil.resumed(fs, t, recordLatency(b, r));
        else if (gap >= 0) {
          const n = fl.count[fs];
          if (n === 1) fl.gapMean[fs] = gap;
          else {
            const w = n < 16 ? 1 / n : 1 / 16;
            const d = gap - fl.gapMean[fs];
            fl.gapMean[fs] += w * d;
            fl.gapDev[fs] += w * (Mth.abs(d) - fl.gapDev[fs]);
          }
        }
      }
      if (this.doFlows) {
        fl.latSum[fs] = recordLatency(b, r);
        fl.count[fs]++;
        if (t > fl.last[fs] || fl.count[fs] === 1) fl.last[fs] = t;
      }
    }

    // ---- drop reports ----
    if (dropRep && this.doReports) this.drops.onDropReport(b, r, fs);

    // ---- hops: the switch stack ----
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
      // micro-loop: the first switch id that repeats within the stack
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
      if (lj >= 0) {
        const ml = this.microloop;
        if (ml.isHairpin(b, rows, li, lj, m, fs, eBit)) {
          // a service chain, not a loop: the stack is the flow's path
          ml.onHairpin(b, rows, li, lj, t, fs);
          if (fs >= 0 && !partial) this.pathChange.onPath(b, rows, m, fs);
        } else ml.onLoop(b, rows, li, lj, m, t, fs, eBit);
      } else if (eBit) this.eBitWithoutRepeat++;
      else if (fs >= 0 && !partial) this.pathChange.onPath(b, rows, m, fs);
    } else if (eBit) this.eBitWithoutRepeat++;

    // ---- queues: bursts and latency stats ----
    const lt = this.latency;
    const intV = b.intVersion[r];
    let e2eSum = 0;
    let e2eOk = true;
    let lf = -1;
    if (fs >= 0 && this.doFlows) {
      let any = false;
      for (let h = hs; h < hs + hc; h++) if (b.present[h] & HOPFIELD_HOP_LATENCY) any = true;
      if (any) {
        const lft = lt.latFlows;
        lft.scratch.set(fl.table.scratch);
        lf = lft.findOrInsertAt(clock);
        if (lft.isNew) lt.newFlow(lf);
      }
    }
    for (let h = hs; h < hs + hc; h++) {
      const p = b.present[h];
      const hasLat = (p & HOPFIELD_HOP_LATENCY) !== 0;
      if (hasLat) {
        e2eSum += b.hopLatency[h];
        if (lf >= 0) lt.flowHop(lf, b.hopLatency[h]);
      } else if (b.origin[h] === 0) e2eOk = false;
      const hasOcc = (p & HOPFIELD_QUEUE) !== 0 && (p & HOPFIELD_DROP_REASON) === 0;
      if (!this.doQueues || (p & HOPFIELD_SWITCH_ID) === 0 || (!hasLat && !hasOcc)) continue;
      const qt = this.queues;
      const qk = qt.scratch;
      qk[0] = b.switchId[h];
      qk[1] = p & HOPFIELD_L1_PORTS ? b.egressPort[h] : NONE32;
      qk[2] = p & HOPFIELD_QUEUE ? b.queueId[h] : NONE16;
      const q = qt.findOrInsertAt(clock);
      if (qt.isNew) {
        lt.newQueue(q);
        this.microburst.newQueue(q, t);
      }
      const lat = hasLat ? b.hopLatency[h] : -1;
      const occ = hasOcc ? b.queueOccupancy[h] : -1;
      if (hasLat) lt.queueLatency(q, lat);
      if (hasOcc) lt.queueOccupancy(q, occ);
      // timeline (microburst.at): egress timestamp mapped onto the capture clock, else capture
      // time
      const mb = this.microburst;
      const sw = (p & HOPFIELD_EGRESS_TS) !== 0;
      if (sw) mb.mapEgress(q, b.egressTsHi[h], b.egressTsLo[h], intV < INTVER_V20);
      else mb.at[0] = t;
      mb.onSample(q, lat, occ, fs, sw, b.ipLength[r]);
    }
    if (lf >= 0 && m > 0) {
      const first = rows[0];
      const last = rows[m - 1];
      const e2e = this.e2e.measure(b, r, first, last, e2eOk ? e2eSum : -1);
      if (e2e >= 0) lt.flowEndToEnd(lf, e2e);
    }
  }

  // ================================================================ housekeeping

  /** Closes idle episodes, evicts idle state, scans `scan` flow slots for silence. The order is
   * part of the output: anomalies closed by one sweep come out in this order. */
  private sweep(scan: number): void {
    const c = this.config;
    const now = this.ctx.now;
    this.microloop.sweep(now);
    this.drops.sweep(now);
    this.reportLoss.sweep(now);
    this.microburst.sweep(now);
    this.pathChange.sweep(now);
    this.silentFlows.sweep(now);
    this.flows.table.evictIdle(now, c.flowIdleNs);
    this.queues.evictIdle(now, c.queueIdleNs);
    this.reporters.evictIdle(now, c.reporterIdleNs);
    this.flows.paths.evictIdle(now, c.pathIdleNs);
    this.latency.evictIdle(now, c.flowIdleNs);
    this.silentFlows.scan(scan);
  }
}
