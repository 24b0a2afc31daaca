/**
 * Telemetry Report loss: gaps in the sequence numbers of each report source (node id or
 * reporter address, hw_id, report version), 22-bit wrap for TR v2.0 and 32-bit before. A
 * recent-sequence bitmap tells late arrivals (which give a missing report back) from
 * duplicates; a jump beyond `maxSequenceJump` is a reporter restart. Gaps closer than
 * `lossGapNs` make one episode.
 */
import { formatAddr, REPORT_VERSION_NAMES, type RecordBatch } from '@hopwatch/codec';
import type { AnalyzerContext } from '../context';
import type { AnalyticsConfig } from '../types';
import { packColumn, restoreColumn } from '../columns';
import type { BoundedTable } from '../table';
import type { CheckpointRows, Detector, RestoreRows } from './detector';

const Mth = Math;
const INF = Number.POSITIVE_INFINITY;

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

/** Per report source: the highest sequence number, the bitmap of the 32 before it, and the
 * time of the highest (`lastT`). */
export interface ReportLossCheckpoint {
  high: string;
  bits: string;
  lastT: string;
}

export class ReportLossDetector implements Detector<ReportLossCheckpoint> {
  private readonly config: AnalyticsConfig;
  private readonly high: Uint32Array;
  private readonly bits: Uint32Array;
  private readonly lastT: Float64Array;
  private readonly losses = new Map<number, LossEpisode>();
  /** Called with each sequence gap of a source with a node id (reports of `node` lost between
   * `start` and `end`), for the silent-flow detector: a telemetry outage is not a drop. */
  onGap: ((node: number, start: number, end: number) => void) | null = null;
  duplicates = 0;
  late = 0;
  restarts = 0;

  constructor(
    private readonly ctx: AnalyzerContext,
    private readonly reporters: BoundedTable,
  ) {
    this.config = ctx.config;
    const R = ctx.config.maxReporters;
    this.high = new Uint32Array(R);
    this.bits = new Uint32Array(R);
    this.lastT = new Float64Array(R);
  }

  get open(): number {
    return this.losses.size;
  }

  get bytes(): number {
    return this.high.byteLength + this.bits.byteLength + this.lastT.byteLength;
  }

  /** The first report of record r (report version `rv`), at the context's clock. */
  onReport(b: RecordBatch, r: number, rv: number): void {
    const t = this.ctx.clock[0];
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
    const s = this.reporters.findOrInsertAt(this.ctx.clock);
    const seq = b.sequence[r] >>> 0;
    if (this.reporters.isNew) {
      this.high[s] = seq;
      this.bits[s] = 1;
      this.lastT[s] = t;
      return;
    }
    const wrap22 = rv === 3;
    const M = wrap22 ? 4194304 : 4294967296;
    const hi = this.high[s];
    const d = wrap22 ? (seq - hi) & 0x3fffff : (seq - hi) >>> 0;
    if (d === 0) {
      this.duplicates++;
      return;
    }
    if (d <= c.maxSequenceJump) {
      if (d > 1) {
        // reports hi+1 .. seq-1 are missing (for now: late arrivals give them back)
        const missing = d - 1;
        const step = (t - this.lastT[s]) / d;
        const gs = this.lastT[s] + step;
        const ge = t - step;
        let e = this.losses.get(s);
        if (e && gs - lossEnd(e) > c.lossGapNs) {
          this.losses.delete(s);
          this.emit(e);
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
        if (hasNode && this.onGap) this.onGap(b.nodeId[r], gs, ge);
        const lo = wrap22 ? (hi + 1) & 0x3fffff : (hi + 1) >>> 0;
        if (e.gaps.length < 1024) e.gaps.push({ lo, missing, start: gs, end: ge });
        else {
          const g = e.gaps[e.gaps.length - 1];
          g.missing += missing;
          g.end = ge;
        }
      }
      this.bits[s] = d >= 32 ? 1 : ((this.bits[s] << d) | 1) >>> 0;
      this.high[s] = seq;
      this.lastT[s] = t;
      return;
    }
    const back = M - d; // behind the highest sequence by `back`
    if (back < 32) {
      const bit = 1 << back;
      if (this.bits[s] & bit) {
        this.duplicates++;
        return;
      }
      this.bits[s] = (this.bits[s] | bit) >>> 0;
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
    this.high[s] = seq;
    this.bits[s] = 1;
    this.lastT[s] = t;
  }

  /** The source's slot is being freed: its open episode (if any) is final. */
  onReporterEvict(s: number): void {
    const e = this.losses.get(s);
    if (e) {
      this.losses.delete(s);
      this.emit(e);
    }
  }

  sweep(now: number): void {
    const gap = this.config.lossGapNs;
    for (const [k, e] of this.losses)
      if (now - lossEnd(e) > gap) {
        this.losses.delete(k);
        this.emit(e);
      }
  }

  finish(): void {
    for (const [k, e] of this.losses) {
      this.losses.delete(k);
      this.emit(e);
    }
  }

  checkpoint(rows: CheckpointRows): ReportLossCheckpoint {
    const s = rows.reporters;
    return {
      high: packColumn(this.high, s),
      bits: packColumn(this.bits, s),
      lastT: packColumn(this.lastT, s),
    };
  }

  restore(c: ReportLossCheckpoint, rows: RestoreRows): void {
    const s = rows.reporters;
    restoreColumn(this.high, c.high, Uint32Array, s, 'reportLoss.high');
    restoreColumn(this.bits, c.bits, Uint32Array, s, 'reportLoss.bits');
    restoreColumn(this.lastT, c.lastT, Float64Array, s, 'reportLoss.lastT', rows.shift);
  }

  private emit(e: LossEpisode): void {
    if (e.lost <= 0 || e.gaps.length === 0) return;
    let s0 = INF;
    for (const g of e.gaps) if (g.start < s0) s0 = g.start;
    const start = this.ctx.abs(s0);
    this.ctx.emit({
      type: 'report_loss',
      id: `report_loss:${e.nodeId ?? e.reporterAddr}:${e.hwId}:${start}`,
      start,
      end: this.ctx.abs(Mth.max(s0, lossEnd(e))),
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
}

function lossEnd(e: LossEpisode): number {
  let x = -INF;
  for (const g of e.gaps) if (g.end > x) x = g.end;
  return x;
}
