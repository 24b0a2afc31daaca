/**
 * Microbursts per queue (switch, egress port, queue): hop latency (or occupancy, for queues
 * whose hops carry no latency) above a threshold learned from the queue's baseline, on the
 * queue's own timeline (egress timestamps mapped onto the capture clock when carried). The
 * flows through the queue during a burst are counted (space-saving top-K) and split into
 * aggressors and victims.
 */
import type { AnalyzerContext } from '../context';
import { packColumn, restoreColumn } from '../columns';
import { NONE16, NONE32, QUEUE_KW, type FlowTable } from '../tables';
import type { BoundedTable } from '../table';
import type { AnalyticsConfig, BurstFlow, FlowTuple, MicroburstAnomaly } from '../types';
import type { CheckpointRows, Detector, RestoreRows } from './detector';

const Mth = Math;
const INF = Number.POSITIVE_INFINITY;
/** Samples a queue needs before it can burst (its smallest sample then bounds the pipeline
 * latency). */
const BURST_MIN_HISTORY = 4;
/** Before its baseline is warm, a queue is judged only once it has stayed below its excursion
 * mark for this long since it was first seen (learn before judging: a busy queue starts queueing
 * within its first few packets, and an idle one shows that it is idle). */
const BURST_LEARN_NS = 50e3;
/** A burst opened before warm that drained and refilled this often is a queue turned busy. */
const BUSY_DIPS = 3;
/** How far a queue's mapped timeline may run ahead of the capture clock before it is pulled
 * back. Reports read in one batch (recvmmsg, a receiver that was busy, several reports in one
 * datagram) share one capture time while their egress timestamps go on: pinning each to that
 * time would squeeze a burst into an instant. */
const EGRESS_LEAD_NS = 1e6;
/** Queues watched by the rise rule at once (a rise that finds no room is not watched). */
const MAX_RISES = 4096;

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
  /** Opened before the queue was warm (judged against its idle level). */
  preWarm: boolean;
  /** Times the queue fell below the end level and rose again within the merge gap. */
  dips: number;
  /** Started by the rise rule: judged on the smoothed latency, ends below riseEnd. */
  rise: boolean;
  riseEnd: number;
  // per-burst flow counters (space-saving)
  fSlot: number[];
  fGen: number[];
  fPk: number[];
  fBytes: number[];
  fMaxLat: number[];
  /** First and last arrival (enqueue time) of the flow's packets at the queue in the burst. */
  fFirstA: number[];
  fLastA: number[];
  fTuple: (FlowTuple | null)[];
  total: number;
  totalBytes: number;
  /** Every counted packet carried its IP length: shares (and the ranking) are by bytes. */
  byBytes: boolean;
  distinct: number;
}

/** Per queue: the baselines, and the egress-timestamp mapping. Times are `*T`. */
export interface MicroburstCheckpoint {
  baseLat: string;
  baseOcc: string;
  devLat: string;
  devOcc: string;
  refT: string;
  lastT: string;
  firstT: string;
  samples: string;
  refHi: string;
  refLo: string;
  hasRef: string;
}

export class MicroburstDetector implements Detector<MicroburstCheckpoint> {
  private readonly config: AnalyticsConfig;
  private readonly samples: Uint32Array;
  private readonly baseLat: Float64Array;
  private readonly baseOcc: Float64Array;
  private readonly devLat: Float64Array;
  private readonly devOcc: Float64Array;
  private readonly hasRef: Uint8Array;
  private readonly refHi: Uint32Array;
  private readonly refLo: Uint32Array;
  private readonly refT: Float64Array;
  /** Capture time minus mapped time at the queue's latest sample: how far the queue's timeline
   * trails the clock that `sweep(now)` runs on (a collector that reads late, or reports that
   * arrive slower than the switch sent them, must not make a burst look idle). */
  private readonly lag: Float64Array;
  private readonly lastT: Float64Array;
  private readonly firstT: Float64Array;
  private readonly minLat: Float64Array;
  private readonly minOcc: Float64Array;
  /** Warm-up: 1 while the queue is above its excursion mark outside a burst; `busy`: such an
   * excursion has ended (the queue queues on its own, so it learns before it is judged). */
  private readonly aboveMark: Uint8Array;
  private readonly busy: Uint8Array;
  /** Warm-up: time of the latest sample below the mark before any excursion ended. */
  private readonly calmT: Float64Array;
  private readonly bursts = new Map<number, BurstState>();
  /** Smoothed latency per queue (rise rule) and the time of its last update. */
  private readonly riseS: Float64Array;
  private readonly riseT: Float64Array;
  /** Rises being watched (not yet bursts): queues whose smoothed latency is up. */
  private readonly rises = new Map<number, BurstState>();
  /** 1 while the queue has an entry in `rises`. */
  private readonly rising: Uint8Array;

  /** The sample's time on its queue's timeline, for onSample: mapEgress sets it (egress
   * timestamp mapped onto the capture clock), else the caller (capture time). A cell, not an
   * argument: see AnalyzerContext.clock. */
  readonly at = new Float64Array(1);

  constructor(
    private readonly ctx: AnalyzerContext,
    private readonly queues: BoundedTable,
    private readonly flows: FlowTable,
  ) {
    this.config = ctx.config;
    const Q = ctx.config.maxQueues;
    this.samples = new Uint32Array(Q);
    this.baseLat = new Float64Array(Q);
    this.baseOcc = new Float64Array(Q);
    this.devLat = new Float64Array(Q);
    this.devOcc = new Float64Array(Q);
    this.hasRef = new Uint8Array(Q);
    this.refHi = new Uint32Array(Q);
    this.refLo = new Uint32Array(Q);
    this.refT = new Float64Array(Q);
    this.lag = new Float64Array(Q);
    this.lastT = new Float64Array(Q);
    this.firstT = new Float64Array(Q);
    this.minLat = new Float64Array(Q);
    this.minOcc = new Float64Array(Q);
    this.aboveMark = new Uint8Array(Q);
    this.busy = new Uint8Array(Q);
    this.calmT = new Float64Array(Q);
    this.riseS = new Float64Array(Q);
    this.riseT = new Float64Array(Q);
    this.rising = new Uint8Array(Q);
  }

  get open(): number {
    return this.bursts.size;
  }

  get bytes(): number {
    let n = 0;
    for (const a of [
      this.samples,
      this.baseLat,
      this.baseOcc,
      this.devLat,
      this.devOcc,
      this.hasRef,
      this.refHi,
      this.refLo,
      this.refT,
      this.lag,
      this.lastT,
      this.firstT,
      this.minLat,
      this.minOcc,
      this.aboveMark,
      this.busy,
      this.calmT,
      this.riseS,
      this.riseT,
    ])
      n += a.byteLength;
    return n;
  }

  newQueue(q: number, t: number): void {
    this.samples[q] = 0;
    this.baseLat[q] = 0;
    this.baseOcc[q] = 0;
    this.devLat[q] = 0;
    this.devOcc[q] = 0;
    this.hasRef[q] = 0;
    this.lag[q] = 0;
    this.lastT[q] = t;
    this.firstT[q] = t;
    this.minLat[q] = INF;
    this.minOcc[q] = INF;
    this.aboveMark[q] = 0;
    this.busy[q] = 0;
    this.calmT[q] = t;
    this.riseS[q] = -1;
    this.riseT[q] = t;
    this.unwatch(q);
  }

  /** Maps a hop's egress timestamp onto the capture timeline (per queue: the offset is the
   * smallest capture − egress seen, i.e. egress time plus the shortest remaining transit, give
   * or take EGRESS_LEAD_NS of capture times shared by a batch). */
  mapEgress(q: number, hi: number, lo: number, wrap32: boolean): void {
    const t = this.ctx.clock[0];
    if (!this.hasRef[q]) {
      this.hasRef[q] = 1;
      this.refHi[q] = hi;
      this.refLo[q] = lo;
      this.refT[q] = t;
      this.lag[q] = 0;
      this.at[0] = t;
      return;
    }
    let d: number;
    if (wrap32) {
      d = (lo - this.refLo[q]) | 0; // signed 32-bit difference
    } else d = (hi - this.refHi[q]) * 4294967296 + (lo - this.refLo[q]);
    let mapped = this.refT[q] + d;
    const slack = t - mapped;
    if (slack < -EGRESS_LEAD_NS)
      mapped = t + EGRESS_LEAD_NS; // re-anchor, never backwards
    else if (slack > 1e9) mapped = t; // a clock jump
    this.refHi[q] = hi;
    this.refLo[q] = lo;
    this.refT[q] = mapped;
    this.lag[q] = t - mapped;
    this.at[0] = mapped;
  }

  /** A sample of queue `q` at `at[0]` on its timeline: hop latency `lat` and occupancy `occ` (-1
   * when not carried), from flow `fs` (-1 when unknown) whose packet is `len` IP bytes (0 when
   * unknown); `sw`: the time is on the switch clock. */
  onSample(q: number, lat: number, occ: number, fs: number, sw: boolean, len = 0): void {
    const td = this.at[0];
    const c = this.config;
    const n = this.samples[q];
    const useLat = lat >= 0;
    const x = useLat ? lat : occ;
    // warm by this sample's time (the thresholds and the judging agree on it)
    const warm = n >= c.baselineWarmupSamples && td - this.firstT[q] >= c.baselineTauNs;
    const thr = useLat ? this.latThreshold(q, warm) : this.occThreshold(q, warm);
    if (lat >= 0 && lat < this.minLat[q]) this.minLat[q] = lat;
    if (occ >= 0 && occ < this.minOcc[q]) this.minOcc[q] = occ;
    // smoothed latency (rise rule), weighted by time like the baseline
    let S = -1;
    if (useLat && c.burstRiseFactor > 0) {
      S = this.riseS[q];
      const dt = td - this.riseT[q];
      S = S < 0 ? lat : S + Mth.min(1, dt > 0 ? dt / c.burstRiseSmoothNs : 0) * (lat - S);
      this.riseS[q] = S;
      if (td > this.riseT[q]) this.riseT[q] = td;
    }
    let burst = this.bursts.get(q);
    if (burst) {
      // a rise burst is judged on the smoothed latency: single samples of a busy queue dip
      // to the pipeline latency between trains
      const v = burst.rise ? S : x;
      const endThr = burst.rise ? burst.riseEnd : burst.threshold * c.burstEndRatio;
      if (burst.cooling) {
        if (v >= burst.threshold && td - burst.end <= c.burstMergeGapNs) {
          burst.cooling = false; // the same burst goes on
          burst.dips++;
        } else if (td - burst.end > c.burstMergeGapNs) {
          this.finishBurst(q, burst);
          burst = undefined;
        }
      } else if (v < endThr) {
        burst.cooling = true;
      } else if (
        burst.preWarm &&
        burst.dips >= BUSY_DIPS &&
        td - burst.start > c.burstWarmupMaxNs
      ) {
        // judged against its idle level, the queue has stayed up while draining again and again:
        // it turned busy while it was learning, which is no burst (an overload does not drain);
        // it learns again from here (busy: only learns until warm)
        this.bursts.delete(q);
        this.relearn(q, td);
        return;
      } else if (td - burst.start > c.burstMaxNs) {
        // a level shift, not a burst: report it and re-learn the baseline from here
        this.finishBurst(q, burst);
        burst = undefined;
        if (useLat) this.baseLat[q] = this.minLat[q] = x;
        else this.baseOcc[q] = this.minOcc[q] = x;
        this.samples[q] = 1;
        return;
      }
      if (burst && !burst.cooling) {
        this.burstSample(burst, td, lat, occ, fs, len, v >= burst.threshold);
        return;
      }
      if (burst) return; // cooling: baseline stays frozen until the burst is finished
    }
    if (!warm) {
      // learn before judging: a queue that has queued and drained on its own (an excursion
      // above its mark that was not a burst) is busy, and its level is unknown until warm
      // (it ends back near the queue's smallest sample: a noisy ramp into a burst is not one)
      const m = useLat ? this.minLat[q] : this.minOcc[q];
      if (x >= (useLat ? this.latMark(q) : this.occMark(q))) this.aboveMark[q] = 1;
      else if (this.aboveMark[q] && x <= 1.5 * m) {
        this.aboveMark[q] = 0;
        this.busy[q] = 1;
      } else if (!this.busy[q] && !this.aboveMark[q]) this.calmT[q] = td;
    }
    if (
      n >= BURST_MIN_HISTORY &&
      x >= thr &&
      (warm || (!this.busy[q] && this.calmT[q] - this.firstT[q] >= BURST_LEARN_NS))
    ) {
      // before warm, a queue's first burst is its one judgement: afterwards it learns (a busy
      // queue whose every excursion crosses the floor would otherwise never be marked busy)
      if (!warm) this.busy[q] = 1;
      // a rise being watched becomes this burst (its flows since the rise count too)
      const b = this.rises.get(q) ?? this.newBurst(q, useLat ? td - lat : td, td, thr, sw);
      this.unwatch(q);
      b.threshold = thr;
      b.rise = false;
      b.preWarm = !warm;
      this.bursts.set(q, b);
      this.burstSample(b, td, lat, occ, fs, len, true);
      return;
    }
    // (the map is only looked at while a rise is watched or S is up: this runs per sample)
    if (
      S >= 0 &&
      warm &&
      (this.rising[q] === 1 || S >= c.burstRiseFactor * this.baseLat[q]) &&
      this.watchRise(q, S, td, lat, occ, fs, len, sw)
    )
      return;
    // baseline: EWMA (plain mean at first), weighted by the time since the previous sample so
    // that a fast ramp (many samples in a few µs) cannot drag it up; samples clipped at the
    // threshold once warm
    const dt = td - this.lastT[q];
    this.lastT[q] = td;
    const w = !warm ? 1 / (n + 1) : Mth.min(c.baselineAlpha, dt > 0 ? dt / c.baselineTauNs : 0);
    if (lat >= 0) {
      const v = n >= 4 ? Mth.min(lat, this.latRule(q)) : lat;
      const d = v - this.baseLat[q];
      this.baseLat[q] += w * d;
      this.devLat[q] += w * (Mth.abs(d) - this.devLat[q]);
    }
    if (occ >= 0) {
      const v = n >= 4 ? Mth.min(occ, this.occRule(q)) : occ;
      const d = v - this.baseOcc[q];
      this.baseOcc[q] += w * d;
      this.devOcc[q] += w * (Mth.abs(d) - this.devOcc[q]);
    }
    this.samples[q] = n + 1;
  }

  /** The queue's slot is being freed: its open burst (if any) is final. */
  onQueueEvict(q: number): void {
    this.unwatch(q);
    const b = this.bursts.get(q);
    if (b) this.finishBurst(q, b);
  }

  sweep(now: number): void {
    const c = this.config;
    // `now` on each queue's own timeline
    const lag = this.lag;
    for (const [k, b] of this.bursts)
      if (
        now - lag[k] - b.lastSample > c.burstIdleNs ||
        (b.cooling && now - lag[k] - b.end > Mth.max(c.burstMergeGapNs, c.burstIdleNs))
      )
        this.finishBurst(k, b);
    for (const [k, r] of this.rises)
      if (now - lag[k] - r.lastSample > c.burstIdleNs) this.unwatch(k);
  }

  finish(): void {
    for (const [k, b] of this.bursts) this.finishBurst(k, b);
  }

  checkpoint(rows: CheckpointRows): MicroburstCheckpoint {
    const s = rows.queues;
    return {
      baseLat: packColumn(this.baseLat, s),
      baseOcc: packColumn(this.baseOcc, s),
      devLat: packColumn(this.devLat, s),
      devOcc: packColumn(this.devOcc, s),
      refT: packColumn(this.refT, s),
      lastT: packColumn(this.lastT, s),
      firstT: packColumn(this.firstT, s),
      samples: packColumn(this.samples, s),
      refHi: packColumn(this.refHi, s),
      refLo: packColumn(this.refLo, s),
      hasRef: packColumn(this.hasRef, s),
    };
  }

  /** The smallest samples (`minLat`, `minOcc`) are not carried: restored queues keep theirs. */
  restore(c: MicroburstCheckpoint, rows: RestoreRows): void {
    const s = rows.queues;
    const sh = rows.shift;
    restoreColumn(this.baseLat, c.baseLat, Float64Array, s, 'microburst.baseLat');
    restoreColumn(this.baseOcc, c.baseOcc, Float64Array, s, 'microburst.baseOcc');
    restoreColumn(this.devLat, c.devLat, Float64Array, s, 'microburst.devLat');
    restoreColumn(this.devOcc, c.devOcc, Float64Array, s, 'microburst.devOcc');
    restoreColumn(this.refT, c.refT, Float64Array, s, 'microburst.refT', sh);
    restoreColumn(this.lastT, c.lastT, Float64Array, s, 'microburst.lastT', sh);
    restoreColumn(this.firstT, c.firstT, Float64Array, s, 'microburst.firstT', sh);
    restoreColumn(this.samples, c.samples, Uint32Array, s, 'microburst.samples');
    restoreColumn(this.refHi, c.refHi, Uint32Array, s, 'microburst.refHi');
    restoreColumn(this.refLo, c.refLo, Uint32Array, s, 'microburst.refLo');
    restoreColumn(this.hasRef, c.hasRef, Uint8Array, s, 'microburst.hasRef');
  }

  private unwatch(q: number): void {
    if (this.rises.delete(q)) this.rising[q] = 0;
  }

  /** Starts the queue's warm-up again at `td`, as a busy queue. */
  private relearn(q: number, td: number): void {
    this.samples[q] = 0;
    this.baseLat[q] = 0;
    this.baseOcc[q] = 0;
    this.devLat[q] = 0;
    this.devOcc[q] = 0;
    this.firstT[q] = td;
    this.lastT[q] = td;
    this.busy[q] = 1;
    this.aboveMark[q] = 0;
    this.riseS[q] = -1;
  }

  private newBurst(
    q: number,
    start: number,
    td: number,
    threshold: number,
    sw: boolean,
  ): BurstState {
    return {
      start,
      firstAbove: td,
      end: td,
      lastSample: td,
      above: 0,
      samples: 0,
      peakLat: -1,
      peakOcc: -1,
      baseLat: this.baseLat[q],
      baseOcc: this.baseOcc[q],
      threshold,
      switchClock: sw,
      cooling: false,
      preWarm: false,
      dips: 0,
      rise: false,
      riseEnd: 0,
      fSlot: [],
      fGen: [],
      fPk: [],
      fBytes: [],
      fMaxLat: [],
      fFirstA: [],
      fLastA: [],
      fTuple: [],
      total: 0,
      totalBytes: 0,
      byBytes: true,
      distinct: 0,
    };
  }

  /**
   * The rise rule on a warm queue outside a burst: while the smoothed latency S is ≥
   * burstRiseFactor × baseline the queue's flows are counted; once that has lasted
   * burstRiseHoldNs and new flows sustain the rise (newFlowShare), it is a burst from the
   * rise's start. Returns true when the sample opened one.
   */
  private watchRise(
    q: number,
    S: number,
    td: number,
    lat: number,
    occ: number,
    fs: number,
    len: number,
    sw: boolean,
  ): boolean {
    const c = this.config;
    const base = this.baseLat[q];
    let r = this.rises.get(q);
    // hysteresis: a rise starts at the factor and lasts while S stays above its end level
    if (!(base > 0) || S < (r ? r.riseEnd : c.burstRiseFactor * base)) {
      if (r) this.unwatch(q);
      return false;
    }
    if (!r) {
      if (this.rises.size >= MAX_RISES) return false;
      r = this.newBurst(q, td - lat, td, c.burstRiseFactor * base, sw);
      r.rise = true;
      // back to near the baseline: half-way between it and the trigger
      r.riseEnd = base * (1 + (c.burstRiseFactor - 1) * c.burstEndRatio);
      this.rises.set(q, r);
      this.rising[q] = 1;
    }
    this.burstSample(r, td, lat, occ, fs, len, true);
    const held = td - lat - r.start;
    if (held < c.burstRiseHoldNs || this.newFlowShare(r, held) < c.burstRiseShare) return false;
    this.unwatch(q);
    this.bursts.set(q, r);
    return true;
  }

  /** Share of a rise's bytes (packets when a length is missing) carried by flows first seen at
   * most burstRiseNewFlowNs before it that kept arriving for at least half of it so far. */
  private newFlowShare(r: BurstState, span: number): number {
    const c = this.config;
    const fl = this.flows;
    const byBytes = r.byBytes && r.totalBytes > 0;
    const total = byBytes ? r.totalBytes : r.total;
    if (!total) return 0;
    let n = 0;
    for (let i = 0; i < r.fSlot.length; i++) {
      const f = r.fSlot[i];
      if (fl.table.gen[f] !== r.fGen[i] || fl.first[f] < r.start - c.burstRiseNewFlowNs) continue;
      if (r.fLastA[i] - r.fFirstA[i] < span / 2) continue;
      n += byBytes ? r.fBytes[i] : r.fPk[i];
    }
    return n / total;
  }

  /** Burst threshold: max(k × baseline, baseline + z × mean absolute deviation, floor). Until the
   * baseline is warm, the queue's smallest sample stands for it (hop latency = fixed pipeline
   * latency + queueing; the smallest sample is the pipeline latency of an empty queue), so a
   * burst early in a queue's life is still caught. */
  private latThreshold(q: number, warm: boolean): number {
    const c = this.config;
    if (!warm) {
      const m = this.minLat[q];
      return Mth.max(c.burstLatencyFactor * (m < INF ? m : 0), c.burstLatencyFloorNs);
    }
    return this.latRule(q);
  }

  /** The rule on the learned baseline (also what baseline samples are clipped at, warm or not:
   * clipping a busy queue's warm-up samples at its smallest sample × k kept its baseline near
   * the pipeline latency, so it raised alarms every fraction of a ms once warm). */
  private latRule(q: number): number {
    const c = this.config;
    const b = this.baseLat[q];
    return Mth.max(
      c.burstLatencyFactor * b,
      b + c.burstDeviationFactor * this.devLat[q],
      c.burstLatencyFloorNs,
    );
  }

  private occThreshold(q: number, warm: boolean): number {
    const c = this.config;
    if (!warm) {
      const m = this.minOcc[q];
      return Mth.max(c.burstOccupancyFactor * (m < INF ? m : 0), c.burstOccupancyFloor);
    }
    return this.occRule(q);
  }

  private occRule(q: number): number {
    const c = this.config;
    const b = this.baseOcc[q];
    return Mth.max(
      c.burstOccupancyFactor * b,
      b + c.burstDeviationFactor * this.devOcc[q],
      c.burstOccupancyFloor,
    );
  }

  /** Warm-up excursion mark: queueing beyond the pipeline latency's jitter, and beyond one
   * or two packets' serialisation (half the floor), which an idle queue also shows. */
  private latMark(q: number): number {
    const m = this.minLat[q];
    return Mth.max(2 * (m < INF ? m : 0), this.config.burstLatencyFloorNs / 2);
  }

  private occMark(q: number): number {
    const m = this.minOcc[q];
    return Mth.max(2 * (m < INF ? m : 0), this.config.burstOccupancyFloor / 2);
  }

  private burstSample(
    b: BurstState,
    td: number,
    lat: number,
    occ: number,
    fs: number,
    len: number,
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
    const arrival = lat >= 0 ? td - lat : td;
    b.total++;
    b.totalBytes += len;
    if (len <= 0) b.byBytes = false;
    const g = this.flows.table.gen[fs];
    const K = this.config.burstTopK;
    let i = 0;
    for (; i < b.fSlot.length; i++) if (b.fSlot[i] === fs && b.fGen[i] === g) break;
    if (i === b.fSlot.length) {
      b.distinct++;
      if (b.fSlot.length < K) {
        b.fSlot.push(fs);
        b.fGen.push(g);
        b.fPk.push(0);
        b.fBytes.push(0);
        b.fMaxLat.push(-1);
        b.fFirstA.push(arrival);
        b.fLastA.push(arrival);
        b.fTuple.push(this.flows.tuple(fs));
      } else {
        // space-saving: replace the smallest counter (by bytes while every packet carried its
        // length), inheriting its counts
        const cnt = b.byBytes ? b.fBytes : b.fPk;
        let mi = 0;
        for (let k = 1; k < cnt.length; k++) if (cnt[k] < cnt[mi]) mi = k;
        i = mi;
        b.fSlot[i] = fs;
        b.fGen[i] = g;
        b.fMaxLat[i] = -1;
        b.fFirstA[i] = arrival;
        b.fLastA[i] = arrival;
        b.fTuple[i] = this.flows.tuple(fs);
      }
    }
    b.fPk[i]++;
    b.fBytes[i] += len;
    if (arrival > b.fLastA[i]) b.fLastA[i] = arrival;
    if (lat > b.fMaxLat[i]) b.fMaxLat[i] = lat;
  }

  private finishBurst(q: number, b: BurstState): void {
    this.bursts.delete(q);
    const c = this.config;
    if (b.above < c.burstMinSamples) return;
    // shares by bytes when every counted packet carried its length (a few jumbo packets can
    // fill a queue more than many small ones), by packets otherwise
    const byBytes = b.byBytes && b.total > 0;
    const cnt = byBytes ? b.fBytes : b.fPk;
    const total = byBytes ? b.totalBytes : b.total;
    const idx = cnt.map((_, i) => i);
    idx.sort((x, y) => cnt[y] - cnt[x] || b.fMaxLat[y] - b.fMaxLat[x]);
    const top = idx.length ? cnt[idx[0]] : 0;
    const aggressors: BurstFlow[] = [];
    const victims: BurstFlow[] = [];
    for (const i of idx) {
      const f: BurstFlow = {
        ...(b.fTuple[i] as FlowTuple),
        packets: b.fPk[i],
        bytes: byBytes ? b.fBytes[i] : null,
        share: total ? cnt[i] / total : 0,
        maxLatency: b.fMaxLat[i] >= 0 ? b.fMaxLat[i] : null,
      };
      if (cnt[i] >= c.aggressorRelShare * top) {
        if (aggressors.length < c.maxFlowsPerAnomaly) aggressors.push(f);
      } else if (victims.length < c.maxFlowsPerAnomaly) victims.push(f);
    }
    const k = q * QUEUE_KW;
    const qk = this.queues.keys;
    const start = this.ctx.abs(b.start);
    const a: MicroburstAnomaly = {
      type: 'microburst',
      id: `microburst:${qk[k]}:${qk[k + 1] === NONE32 ? '-' : qk[k + 1]}:${qk[k + 2] === NONE16 ? '-' : qk[k + 2]}:${start}`,
      start,
      end: this.ctx.abs(Mth.max(b.end, b.start)),
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
      shareBy: byBytes ? 'bytes' : 'packets',
      aggressors,
      victims,
      flowCount: b.distinct,
    };
    this.ctx.emit(a);
  }
}
