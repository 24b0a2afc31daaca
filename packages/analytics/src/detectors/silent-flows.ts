/**
 * Silent drops without drop reports (rule in docs/anomalies.md, "Silent drops").
 *
 * A steady flow that stops for much longer than its inter-arrival gaps (`silentFactor` × the
 * mean) is a *silent member*; members that go silent about together and share a switch make one
 * episode. A flow that stops is not a drop by itself: it may simply have ended. An episode is
 * reported only with evidence of loss, and only while the telemetry of the members' sinks is
 * known to be flowing (records of other flows keep arriving from the sink; a gap in the sink's
 * records or in its report sequence is a telemetry outage, and the part of a silence it covers
 * proves nothing):
 * - *interrupted*: a member comes back after a silence that neither its extra queueing delay nor
 *   its sink's outages explain;
 * - *blackhole*: at least two witnessed members that never came back share a switch through
 *   which no other flow has been seen since they went silent (the element common to the silent
 *   flows and unused by the ones that keep going).
 * Episodes always close: when every member came back (after `dropGapNs`), or `dropGapNs` after
 * the last member went silent. Lost packets are estimated per member as its silence (bounded by
 * the episode's end and `dropGapNs`) ÷ its mean inter-arrival.
 */
import type { AnalyzerContext } from '../context';
import type { FlowTable } from '../tables';
import type { AnalyticsConfig, FlowTuple } from '../types';
import type { Detector, NoState, RestoreRows } from './detector';

const Mth = Math;
const INF = Number.POSITIVE_INFINITY;
/** Width of the time buckets of open silent episodes (see SilentFlowDetector.byTime). */
const SILENT_BUCKET_NS = 1e6;
/** Report sequence gaps remembered per sink (the most recent ones). */
const DARK_RING = 8;
/** Sinks tracked (switch / node ids); a flow at an untracked sink proves nothing. */
const MAX_SINKS = 4096;
/** An open blackhole is re-checked (a scan of the flow table) at most this often. */
const VERIFY_NS = 10e6;
/** Quiet stretches of the whole input remembered (the longest ones). */
const QUIET_SLOTS = 8;
/** Length of [a, b] ∩ [x, y] (0 when they do not meet). */
function overlap(a: number, b: number, x: number, y: number): number {
  return Mth.max(0, Mth.min(b, y) - Mth.max(a, x));
}
/** Members that never came back needed for a blackhole. */
const HOLE_MIN_FLOWS = 2;

interface SilentMember {
  gen: number;
  flow: FlowTuple;
  /** Time of its last packet before the silence, and that + one mean gap. */
  last: number;
  silentSince: number;
  meanGap: number;
  /** The silence that counts as abnormal for this flow. */
  wait: number;
  path: number[];
  /** Its sink's slot (-1: unknown). */
  sink: number;
  resumed: number | null;
  /** Came back after an unexplained silence. */
  confirmed: boolean;
  /** Never came back; its silence ended here (evicted, or its blackhole closed). */
  ended: number | null;
}

interface SilentEpisode {
  id: number;
  /** Every switch on a member's path (a newly silent flow joins through one of them). */
  switches: Set<number>;
  members: Map<number, SilentMember>;
  /** Members neither resumed nor ended. */
  open: number;
  lastResume: number;
  confirmed: number;
  /** Latest time a member went silent. */
  lastSilent: number;
  /** When the blackhole evidence is (re)checked next. */
  nextVerify: number;
  /** The blackholed switch once verified (null: none), verified dark until `darkUntil`. */
  hole: number | null;
  darkUntil: number;
}

export class SilentFlowDetector implements Detector<NoState> {
  private readonly config: AnalyticsConfig;
  /** 1 while the flow is a silent member of an open episode (read by the Analyzer, which calls
   * `check` when a packet ends a long gap and `resumed` when a silent flow is seen again). */
  readonly silentFlag: Uint8Array;
  /** Sink slot of each flow's latest record (-1: none). */
  private readonly sinkOf: Int32Array;
  /** Episode id of each silent flow. */
  private readonly silentOf = new Map<number, number>();
  private ids = 0;
  private readonly silent = new Map<number, SilentEpisode>();
  /** The open silent episodes by floor(lastSilent / SILENT_BUCKET_NS). A newly silent flow
   * joins an episode that went silent within its wait, so only the buckets around it are
   * looked at: scanning every open episode per silent flow grew quadratically over a long
   * capture. */
  private readonly byTime = new Map<number, Set<SilentEpisode>>();
  /** Next flow slot the silence scan looks at. */
  private cursor = 0;
  // ---- sinks: where the flows' records come from (report node id, else last switch) ----
  private readonly sinkSlot = new Map<number, number>();
  private readonly sLast = new Float64Array(MAX_SINKS);
  /** The input's last record with a flow, and the mean gap between such records (EWMA; 0:
   * none yet; quiet stretches left out). */
  private gLast = -INF;
  private gGap = 0;
  /** Quiet stretches of the whole input (no record of any flow from any sink for more than
   * silentFactor × the mean gap): QUIET_SLOTS (start, end) pairs, the longest kept. */
  private readonly quiet = new Float64Array(QUIET_SLOTS * 2);
  /** Recent report sequence gaps per sink: DARK_RING (start, end) pairs, round robin. */
  private readonly sDark = new Float64Array(MAX_SINKS * DARK_RING * 2);
  private readonly sDarkNext = new Uint8Array(MAX_SINKS);

  constructor(
    private readonly ctx: AnalyzerContext,
    private readonly flows: FlowTable,
  ) {
    this.config = ctx.config;
    this.silentFlag = new Uint8Array(ctx.config.maxFlows);
    this.sinkOf = new Int32Array(ctx.config.maxFlows).fill(-1);
  }

  get open(): number {
    return this.silent.size;
  }

  get bytes(): number {
    return (
      this.silentFlag.byteLength +
      this.sinkOf.byteLength +
      this.sLast.byteLength +
      this.sDark.byteLength +
      this.quiet.byteLength +
      this.sDarkNext.byteLength
    );
  }

  newFlow(fs: number): void {
    this.silentFlag[fs] = 0;
    this.sinkOf[fs] = -1;
  }

  /** A record of flow `fs` (-1: none) arrived at the context's clock from sink `key` (report
   * node id, else the last switch of its stack). */
  onSinkRecord(fs: number, key: number): void {
    const t = this.ctx.clock[0];
    this.onInput(t);
    let s = this.sinkSlot.get(key);
    if (s === undefined) {
      if (this.sinkSlot.size >= MAX_SINKS) {
        if (fs >= 0) this.sinkOf[fs] = -1;
        return;
      }
      s = this.sinkSlot.size;
      this.sinkSlot.set(key, s);
      this.sLast[s] = t;
    }
    if (fs >= 0) this.sinkOf[fs] = s;
    if (t > this.sLast[s]) this.sLast[s] = t;
  }

  /** Reports `start`..`end` of sink node `node` were lost (a sequence gap). */
  onReportGap(node: number, start: number, end: number): void {
    const s = this.sinkSlot.get(node);
    if (s !== undefined && end >= start) this.addDark(s, start, end);
  }

  private addDark(s: number, start: number, end: number): void {
    const k = this.sDarkNext[s];
    const o = (s * DARK_RING + k) * 2;
    this.sDark[o] = start;
    this.sDark[o + 1] = end;
    this.sDarkNext[s] = (k + 1) % DARK_RING;
  }

  /** How much of [a, b] sink `s`'s reports are known lost (sequence gaps; all of it when the
   * sink is unknown). */
  private darkWithin(s: number, a: number, b: number): number {
    if (s < 0) return b - a;
    const d = this.sDark;
    const o = s * DARK_RING * 2;
    let sum = 0;
    for (let k = 0; k < DARK_RING; k++) sum += overlap(a, b, d[o + 2 * k], d[o + 2 * k + 1]);
    return Mth.min(sum, b - a);
  }

  /** Keeps the input's quiet stretches (see quietCover). */
  private onInput(t: number): void {
    const gap = t - this.gLast;
    if (!(gap > 0)) return;
    const mean = this.gGap;
    if (mean > 0 && gap > this.config.silentFactor * mean) {
      // the shortest kept stretch makes room for a longer one
      const q = this.quiet;
      let k = 0;
      for (let i = 1; i < QUIET_SLOTS; i++)
        if (q[2 * i + 1] - q[2 * i] < q[2 * k + 1] - q[2 * k]) k = i;
      if (q[2 * k + 1] - q[2 * k] < gap) {
        q[2 * k] = this.gLast;
        q[2 * k + 1] = t;
      }
    } else if (this.gLast > -INF) this.gGap = mean > 0 ? mean + (gap - mean) / 16 : gap;
    this.gLast = t;
  }

  /** The longest part of [a, b] that one quiet stretch of the whole input covers. When nothing
   * came from any sink over (nearly) a whole silence, the silence proves nothing: the sources
   * stopped, or the telemetry did (a collector cut off, mirror sessions turned off: no reports,
   * so no sequence gap either). The whole input, not the member's sink: a sink whose flows all
   * cross a dropping switch goes quiet too, while the other sinks keep reporting. */
  private quietCover(a: number, b: number): number {
    const q = this.quiet;
    let best = 0;
    for (let k = 0; k < QUIET_SLOTS; k++)
      best = Mth.max(best, overlap(a, b, q[2 * k], q[2 * k + 1]));
    return best;
  }

  /** The flow's slot is being freed: a silence of it ends here, unresolved. */
  onFlowEvict(fs: number): void {
    if (this.silentFlag[fs]) this.resumed(fs, this.ctx.now);
  }

  /** Closes the episodes that are done, re-checks open blackholes. */
  sweep(now: number): void {
    if (this.silent.size === 0) return;
    const hold = this.config.dropGapNs;
    const due: SilentEpisode[] = [];
    for (const e of this.silent.values()) {
      if (e.open > 0) {
        // a bounded time after the last member went silent, an episode closes with what it has
        if (now - e.lastSilent > hold) this.verify(e, now);
        else if (now >= e.nextVerify) this.verify(e, now);
        if (e.open > 0 && now - e.lastSilent > hold) {
          due.push(e);
          continue;
        }
      }
      // every member came back or ended (a blackhole whose switch carries traffic again)
      if (e.open <= 0 && now - e.lastResume > hold) due.push(e);
    }
    due.sort((a, b) => a.id - b.id); // the order of this.silent: oldest first
    for (const e of due) this.close(e, this.endOf(e, now));
  }

  /** Where an episode closed at `now` ends: its last resume or dark check when every member is
   * resolved, else now (the episode's evidence lasted until its close). */
  private endOf(e: SilentEpisode, now: number): number {
    return e.open <= 0 ? Mth.max(e.lastResume, e.darkUntil) : now;
  }

  private close(e: SilentEpisode, end: number): void {
    this.silent.delete(e.id);
    this.index(e, false);
    // members still silent keep their flag (a flow that ended is not checked again until it
    // sends again, which clears it)
    for (const fs of e.members.keys()) if (this.silentOf.get(fs) === e.id) this.silentOf.delete(fs);
    this.emit(e, end);
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
    const now = this.ctx.now;
    for (const e of [...this.silent.values()]) {
      if (e.open > 0) this.verify(e, now);
      this.close(e, this.endOf(e, now));
    }
    this.byTime.clear();
    this.silentOf.clear();
  }

  /** Nothing: silences and sink outages restart (the flows' arrival statistics are in the flow
   * table). */
  checkpoint(): NoState {
    return {};
  }

  restore(_s: NoState, rows: RestoreRows): void {
    for (const s of rows.flows) {
      this.silentFlag[s] = 0;
      this.sinkOf[s] = -1;
    }
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
    this.silentFlag[fs] = 1;
    const path = fl.pathOf(fs);
    const since = last + mean;
    let e = this.joinable(since, wait, path);
    if (!e) {
      e = {
        id: this.ids++,
        switches: new Set(),
        members: new Map(),
        open: 0,
        lastResume: -INF,
        confirmed: 0,
        lastSilent: since,
        // let the flows that went silent with it join before judging
        nextVerify: since + 2 * wait,
        hole: null,
        darkUntil: -INF,
      };
      this.silent.set(e.id, e);
      this.index(e, true);
    }
    if (since > e.lastSilent) {
      this.index(e, false);
      e.lastSilent = since;
      this.index(e, true);
    }
    for (const s of path) e.switches.add(s);
    e.members.set(fs, {
      gen: fl.table.gen[fs],
      flow: fl.tuple(fs),
      last,
      silentSince: since,
      meanGap: mean,
      wait,
      path,
      sink: this.sinkOf[fs],
      resumed: null,
      confirmed: false,
      ended: null,
    });
    this.silentOf.set(fs, e.id);
    e.open++;
  }

  /** The oldest open episode that went silent within `wait` of `since` and shares a switch
   * with `path`; undefined when none. */
  private joinable(since: number, wait: number, path: number[]): SilentEpisode | undefined {
    const lo = Mth.floor((since - wait) / SILENT_BUCKET_NS);
    const hi = Mth.floor((since + wait) / SILENT_BUCKET_NS);
    let best: SilentEpisode | undefined;
    const consider = (x: SilentEpisode): void => {
      if ((best && x.id > best.id) || since - x.lastSilent > wait || x.lastSilent - since > wait)
        return;
      if (path.some((s) => x.switches.has(s))) best = x;
    };
    if (hi - lo + 1 > this.silent.size) {
      for (const x of this.silent.values()) consider(x);
    } else {
      for (let k = lo; k <= hi; k++) this.byTime.get(k)?.forEach(consider);
    }
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
   * or its sink's telemetry outages explain (it was held in a queue, or only its reports were
   * lost) is withdrawn. */
  resumed(fs: number, t: number, lat?: number): void {
    const fl = this.flows;
    this.silentFlag[fs] = 0;
    const id = this.silentOf.get(fs);
    this.silentOf.delete(fs);
    const e = id === undefined ? undefined : this.silent.get(id);
    if (!e) {
      // its episode closed (dropGapNs after it went silent) before it came back: the silence is
      // judged on its own, in an episode with the other flows that come back with it
      if (lat !== undefined && id === undefined) {
        this.check(fs);
        if (this.silentFlag[fs]) this.resumed(fs, t, lat);
      }
      return;
    }
    const m = e.members.get(fs);
    if (!m || m.gen !== fl.table.gen[fs] || m.resumed !== null || m.ended !== null) return;
    e.open--;
    if (lat === undefined) {
      m.ended = t;
      return;
    }
    const prev = fl.latSum[fs];
    const held = lat >= 0 && prev >= 0 ? Mth.max(0, lat - prev) : 0;
    const last = fl.last[fs];
    const unexplained =
      t - last - held - this.darkWithin(this.sinkOf[fs], last, t) - this.quietCover(last, t);
    if (unexplained <= m.wait || fl.dropReportT[fs] >= last) {
      // delayed, not dropped; its reports lost, not its packets; or dropped with a drop report
      // (already a drop anomaly)
      e.members.delete(fs);
      if (e.members.size === 0) {
        this.silent.delete(e.id);
        this.index(e, false);
      }
      return;
    }
    m.confirmed = true;
    e.confirmed++;
    m.resumed = t;
    if (t > e.lastResume) e.lastResume = t;
  }

  /** Its sink kept reporting other flows for longer than its wait while it was silent. */
  private witnessed(m: SilentMember): boolean {
    if (m.sink < 0) return false;
    const until = this.sLast[m.sink];
    return until - m.last - this.darkWithin(m.sink, m.last, until) > m.wait;
  }

  /** Blackhole evidence at `now`: the switch shared by the most (≥ HOLE_MIN_FLOWS) witnessed
   * unresolved members through which no other flow was seen since they went silent. A verified
   * blackhole whose switch carries traffic again is over: its unresolved members ended. */
  private verify(e: SilentEpisode, now: number): void {
    e.nextVerify = now + VERIFY_NS;
    if (e.hole !== null) {
      if (this.darkSwitch(e, e.hole)) e.darkUntil = now;
      else {
        for (const m of e.members.values())
          if (m.resumed === null && m.ended === null) {
            m.ended = e.darkUntil;
            e.open--;
          }
      }
      return;
    }
    const count = new Map<number, number>();
    for (const m of e.members.values())
      if (m.resumed === null && m.ended === null && this.witnessed(m))
        for (const s of new Set(m.path)) count.set(s, (count.get(s) ?? 0) + 1);
    const cands = [...count].filter(([, n]) => n >= HOLE_MIN_FLOWS).sort((a, b) => b[1] - a[1]);
    for (const [s] of cands)
      if (this.darkSwitch(e, s)) {
        e.hole = s;
        e.darkUntil = now;
        return;
      }
  }

  /** No flow other than `e`'s members, through switch `sw`, was seen after the latest of those
   * members went silent. */
  private darkSwitch(e: SilentEpisode, sw: number): boolean {
    let since = -INF;
    for (const m of e.members.values())
      if (m.path.includes(sw) && m.silentSince > since) since = m.silentSince;
    const fl = this.flows;
    const table = fl.table;
    const P = fl.pathStride;
    const n = table.highWater;
    for (let s = 0; s < n; s++) {
      if (!table.live[s] || !(fl.last[s] > since)) continue;
      const len = Mth.min(fl.pathLen[s], P);
      let through = false;
      for (let k = 0; k < len; k++)
        if (fl.path[s * P + k] === sw) {
          through = true;
          break;
        }
      if (!through) continue;
      const m = e.members.get(s);
      if (m && m.gen === table.gen[s] && m.resumed === null) continue;
      return false;
    }
    return true;
  }

  /**
   * The switch to blame for an interrupted episode (no verified blackhole): of the switches on
   * the first flow's path that most of the returning flows share, one that no witness proves
   * was forwarding during the silence, the last such on that path. A witness is a steady flow outside the episode, seen
   * before the first member went silent and after the last came back, that never went silent
   * itself: steady flows with a long gap are checked on their next packet, so it was not stopped.
   */
  private suspect(e: SilentEpisode, shown: readonly { m: SilentMember; stop: number }[]): number {
    const count = new Map<number, number>();
    for (const { m } of shown)
      for (const s of new Set(m.path)) count.set(s, (count.get(s) ?? 0) + 1);
    // candidates lie on the first flow's path, as the reported `path` does
    const first = shown[0].m.path;
    let best = 0;
    for (const s of first) best = Mth.max(best, count.get(s) ?? 0);
    const tied = new Set(first.filter((s) => count.get(s) === best));
    if (tied.size > 1) {
      let a = INF;
      let b = -INF;
      for (const { m, stop } of shown) {
        if (m.silentSince < a) a = m.silentSince;
        if (stop > b) b = stop;
      }
      const forwarded = this.witnessedSwitches(e, tied, a, b);
      if (forwarded.size < tied.size) for (const s of forwarded) tied.delete(s);
    }
    let sw = first[0];
    for (const s of first) if (tied.has(s)) sw = s;
    return sw;
  }

  /** Which of `switches` a witness flow (see `suspect`) crossed over the whole of [a, b]. */
  private witnessedSwitches(
    e: SilentEpisode,
    switches: Set<number>,
    a: number,
    b: number,
  ): Set<number> {
    const out = new Set<number>();
    const c = this.config;
    const fl = this.flows;
    const table = fl.table;
    const P = fl.pathStride;
    const n = table.highWater;
    for (let s = 0; s < n && out.size < switches.size; s++) {
      if (!table.live[s] || this.silentFlag[s] || !(fl.first[s] < a) || !(fl.last[s] > b)) continue;
      const mean = fl.gapMean[s];
      if (fl.count[s] < c.silentMinPackets || !(mean > 0) || fl.gapDev[s] > 0.5 * mean) continue;
      if (Mth.max(c.silentFactor * mean, c.silentMinNs) >= b - a) continue;
      if (e.members.has(s)) continue;
      const len = Mth.min(fl.pathLen[s], P);
      for (let k = 0; k < len; k++) {
        const sw = fl.path[s * P + k];
        if (switches.has(sw)) out.add(sw);
      }
    }
    return out;
  }

  private emit(e: SilentEpisode, end: number): void {
    const c = this.config;
    const hold = c.dropGapNs;
    const hole = e.hole;
    if (e.confirmed === 0 && hole === null) return; // no evidence: flows that ended
    // the reported members: those that came back after an unexplained silence, and the
    // witnessed ones that never came back through a verified blackhole
    const shown: { m: SilentMember; stop: number }[] = [];
    for (const m of e.members.values()) {
      if (m.confirmed) shown.push({ m, stop: m.resumed as number });
      else if (hole !== null && m.path.includes(hole) && this.witnessed(m)) {
        const stop = Mth.min(m.ended ?? Mth.max(e.darkUntil, end), m.silentSince + hold);
        shown.push({ m, stop: Mth.max(stop, m.silentSince) });
      }
    }
    if (shown.length === 0) return;
    const sw = hole ?? this.suspect(e, shown);
    let start = INF;
    let last = -INF;
    let packets = 0;
    const flows: FlowTuple[] = [];
    for (const { m, stop } of shown) {
      if (m.silentSince < start) start = m.silentSince;
      if (stop > last) last = stop;
      const a = m.silentSince;
      const lost = stop - a - this.darkWithin(m.sink, a, stop) - this.quietCover(a, stop);
      packets += Mth.max(1, Mth.round(lost / m.meanGap));
      if (flows.length < c.maxFlowsPerAnomaly) flows.push(m.flow);
    }
    const path = shown.find(({ m }) => sw !== null && m.path.includes(sw))?.m.path ?? [];
    const s0 = this.ctx.abs(start);
    this.ctx.emit({
      type: 'drop',
      id: `drop:silent:${sw}:${s0}`,
      start: s0,
      end: this.ctx.abs(Mth.max(start, last)),
      packets,
      switchId: sw,
      dropReason: null,
      flows,
      flowCount: shown.length,
      silent: true,
      lastSwitch: sw,
      path,
    });
  }
}
