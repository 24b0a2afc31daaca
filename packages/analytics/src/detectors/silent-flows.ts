/**
 * Silent drops without drop reports: a steady flow that stops for much longer than its
 * inter-arrival gaps (`silentFactor` × the mean) while other flows on its path are still seen.
 * Flows that go silent about together and share switches make one episode whose suspect is the
 * last shared switch. A flow that comes back after a silence its extra queueing delay does not
 * explain confirms the episode; one that comes back explained (or with a drop report) is
 * withdrawn.
 */
import type { AnalyzerContext } from '../context';
import type { FlowTable } from '../tables';
import type { AnalyticsConfig, FlowTuple } from '../types';
import type { Detector, NoState, RestoreRows } from './detector';

const Mth = Math;
const INF = Number.POSITIVE_INFINITY;
/** Width of the time buckets of open silent episodes (see SilentFlowDetector.byTime). */
const SILENT_BUCKET_NS = 1e6;

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

export class SilentFlowDetector implements Detector<NoState> {
  private readonly config: AnalyticsConfig;
  /** 1 while the flow is a silent member of an open episode (read by the Analyzer, which calls
   * `check` when a packet ends a long gap and `resumed` when a silent flow is seen again). */
  readonly silentFlag: Uint8Array;
  /** Episode id of each silent flow. */
  private readonly silentOf = new Map<number, number>();
  private ids = 0;
  private readonly silent = new Map<number, SilentEpisode>();
  /** The open silent episodes by floor(lastSilent / SILENT_BUCKET_NS). A newly silent flow
   * joins an episode that went silent within its wait, so only the buckets around it are
   * looked at: scanning every open episode per silent flow grew quadratically over a long
   * capture (finished flows stay open members until evicted). */
  private readonly byTime = new Map<number, Set<SilentEpisode>>();
  /** The open silent episodes none of whose members is still silent (open ≤ 0): the only ones
   * the sweep may close, so it does not walk every open episode. */
  private readonly idle = new Set<SilentEpisode>();
  /** Next flow slot the silence scan looks at. */
  private cursor = 0;

  constructor(
    private readonly ctx: AnalyzerContext,
    private readonly flows: FlowTable,
  ) {
    this.config = ctx.config;
    this.silentFlag = new Uint8Array(ctx.config.maxFlows);
  }

  get open(): number {
    return this.silent.size;
  }

  get bytes(): number {
    return this.silentFlag.byteLength;
  }

  newFlow(fs: number): void {
    this.silentFlag[fs] = 0;
  }

  /** The flow's slot is being freed: a silence of it ends here. */
  onFlowEvict(fs: number): void {
    if (this.silentFlag[fs]) this.resumed(fs, this.ctx.now);
  }

  /** Closes the episodes whose members all came back (or were evicted) long enough ago. */
  sweep(now: number): void {
    if (this.idle.size === 0) return;
    const due: SilentEpisode[] = [];
    for (const e of this.idle) if (now - e.lastResume > this.config.dropGapNs) due.push(e);
    due.sort((a, b) => a.id - b.id); // the order of this.silent: oldest first
    for (const e of due) {
      this.silent.delete(e.id);
      this.index(e, false);
      this.idle.delete(e);
      this.emit(e, e.lastResume);
      for (const fs of e.members.keys())
        if (this.silentOf.get(fs) === e.id) this.silentOf.delete(fs);
    }
  }

  /** Checks the next `n` flow slots (round robin) for silence. */
  scan(n: number): void {
    const table = this.flows.table;
    const cap = table.highWater;
    const k = Mth.min(n, cap);
    for (let i = 0; i < k; i++) {
      const s = this.cursor;
      this.cursor = s + 1 === cap ? 0 : s + 1;
      if (table.live[s]) this.check(s);
    }
  }

  finish(): void {
    for (const [k, e] of this.silent) {
      this.silent.delete(k);
      this.emit(e, this.ctx.now);
    }
    this.byTime.clear();
    this.idle.clear();
    this.silentOf.clear();
  }

  /** Nothing: silences restart (the flows' arrival statistics are in the flow table). */
  checkpoint(): NoState {
    return {};
  }

  restore(_s: NoState, rows: RestoreRows): void {
    for (const s of rows.flows) this.silentFlag[s] = 0;
  }

  /** Checks flow `fs` for silence at the current time. */
  check(fs: number): void {
    const c = this.config;
    const fl = this.flows;
    if (this.silentFlag[fs] || fl.count[fs] < c.silentMinPackets || fl.pathLen[fs] === 0) return;
    const mean = fl.gapMean[fs];
    // steady: inter-arrival mean absolute deviation ≤ half the mean (Poisson-like arrivals, whose
    // deviation is ~0.74 × the mean, show long gaps by chance)
    if (!(mean > 0) || fl.gapDev[fs] > 0.5 * mean) return;
    const wait = Mth.max(c.silentFactor * mean, c.silentMinNs);
    const last = fl.last[fs];
    if (this.ctx.now - last <= wait) return;
    if (last - fl.first[fs] < wait) return; // too short-lived to call its silence abnormal
    const ps = fl.pathSlot[fs];
    const paths = fl.paths;
    const pathAlive =
      ps >= 0 &&
      paths.live[ps] === 1 &&
      paths.gen[ps] === fl.pathGen[fs] &&
      paths.lastSeen[ps] - last > wait;
    this.silentFlag[fs] = 1;
    const path = fl.pathOf(fs);
    // join an open episode whose suspects this flow's path shares and whose flows went silent
    // about when this one did (one cause)
    const since = last + mean;
    let e = this.joinable(since, wait, path);
    if (!e) {
      e = {
        id: this.ids++,
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
      this.index(e, true);
    }
    if (since > e.lastSilent) {
      this.index(e, false);
      e.lastSilent = since;
      this.index(e, true);
    }
    if (last + mean < e.start) e.start = last + mean;
    e.members.set(fs, {
      gen: fl.table.gen[fs],
      flow: fl.tuple(fs),
      silentSince: last + mean,
      meanGap: mean,
      resumed: null,
      active: last - fl.first[fs],
      pathAlive,
    });
    this.silentOf.set(fs, e.id);
    if (++e.open > 0) this.idle.delete(e);
  }

  /** The oldest open episode that went silent within `wait` of `since` and shares a suspect
   * with `path`, its suspects narrowed to the shared ones; undefined when none. */
  private joinable(since: number, wait: number, path: number[]): SilentEpisode | undefined {
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
      for (let k = lo; k <= hi; k++) this.byTime.get(k)?.forEach(consider);
    }
    if (best) best.cands = bestCommon;
    return best;
  }

  private index(e: SilentEpisode, add: boolean): void {
    const k = Mth.floor(e.lastSilent / SILENT_BUCKET_NS);
    let set = this.byTime.get(k);
    if (add) {
      if (!set) this.byTime.set(k, (set = new Set()));
      set.add(e);
    } else if (set) {
      set.delete(e);
      if (set.size === 0) this.byTime.delete(k);
    }
  }

  /** A silent flow was seen again at `t` (`lat`: the hop latency sum of that packet, -1 when
   * unknown), or evicted (`lat` undefined). A silence that the packet's extra queueing delay
   * explains (it was held in a queue, not lost) is withdrawn. */
  resumed(fs: number, t: number, lat?: number): void {
    const fl = this.flows;
    this.silentFlag[fs] = 0;
    const id = this.silentOf.get(fs);
    this.silentOf.delete(fs);
    const e = id === undefined ? undefined : this.silent.get(id);
    const m = e?.members.get(fs);
    if (!e || !m || m.gen !== fl.table.gen[fs] || m.resumed !== null) return;
    if (--e.open <= 0) this.idle.add(e);
    if (lat !== undefined) {
      const c = this.config;
      const prev = fl.latSum[fs];
      const held = lat >= 0 && prev >= 0 ? Mth.max(0, lat - prev) : 0;
      const wait = Mth.max(c.silentFactor * m.meanGap, c.silentMinNs);
      if (t - fl.last[fs] - held <= wait || fl.dropReportT[fs] >= fl.last[fs]) {
        // delayed, not dropped; or dropped with a drop report (already a drop anomaly)
        e.members.delete(fs);
        if (e.members.size === 0) {
          this.silent.delete(e.id);
          this.index(e, false);
          this.idle.delete(e);
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

  private emit(e: SilentEpisode, end: number): void {
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
    const start = this.ctx.abs(e.start);
    this.ctx.emit({
      type: 'drop',
      id: `drop:silent:${sw}:${start}`,
      start,
      end: this.ctx.abs(last),
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
}
