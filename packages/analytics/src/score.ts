/**
 * Scoring of detected anomalies against ground-truth labels (the simulator's label file):
 * per-type precision / recall / F1 and timing errors, and a printable confusion table.
 */
import type { Anomaly, AnomalyType, FlowTuple } from './types';

export const ANOMALY_TYPES: readonly AnomalyType[] = [
  'microloop',
  'microburst',
  'path_change',
  'report_loss',
  'drop',
];

export interface LabelAnomaly {
  type: AnomalyType;
  start: bigint;
  end?: bigint;
  switchId?: number;
  egressPort?: number;
  queueId?: number;
  aggressors?: FlowTuple[];
  victims?: FlowTuple[];
  peakOccupancy?: number;
  switches?: number[];
  flows?: FlowTuple[];
  packets?: number;
  flow?: FlowTuple;
  oldPath?: number[];
  newPath?: number[];
  nodeId?: number;
  hwId?: number;
  lost?: number;
}

export interface LabelFile {
  scenario: string;
  seed: number;
  packets: number;
  reports: number;
  format: {
    mode: string;
    intVersion: string | null;
    encapsulation: string;
    reportVersion: string | null;
  };
  tolerance: { startNs: bigint; endNs: bigint };
  anomalies: LabelAnomaly[];
  /** Stable detours through non-INT appliances (not anomalies; compare with
   * `Analyzer.hairpins()`), only in scenarios that have them. */
  hairpins?: {
    switchId: number;
    egressPort: number;
    ingressPort: number;
    flows: number;
    packets: number;
  }[];
}

const TIME_KEYS = new Set(['start', 'end', 'startNs', 'endNs']);

/** Parses a label file, reading times (start, end, startNs, endNs) exactly as bigint. */
export function parseLabels(text: string): LabelFile {
  const quoted = text.replace(
    /"(start|end|startNs|endNs)"(\s*):(\s*)(-?\d+)(?=\s*[,}\]])/g,
    '"$1"$2:$3"$4"',
  );
  return JSON.parse(quoted, (k, v) =>
    TIME_KEYS.has(k) && typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : v,
  ) as LabelFile;
}

export interface ScoreOptions {
  /** Defaults to the label file's tolerance. */
  tolerance?: { startNs: bigint | number; endNs: bigint | number };
  /** Microbursts: require a labelled aggressor among the reported aggressors (default true). */
  requireAggressor?: boolean;
}

export interface ErrorStats {
  mean: number;
  max: number;
}

export interface TypeScore {
  type: AnomalyType;
  labels: number;
  found: number;
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
  /** |found.start − label.start| and |found.end − label.end| over matched pairs (ns). */
  startErrorNs: ErrorStats | null;
  endErrorNs: ErrorStats | null;
}

export interface Match {
  label: number;
  found: number;
  startErrorNs: number;
  endErrorNs: number | null;
}

export interface ScoreReport {
  scenario: string | null;
  types: TypeScore[];
  overall: { tp: number; fp: number; fn: number; precision: number; recall: number; f1: number };
  matches: Match[];
  /** Indexes into labels.anomalies / found that were not matched. */
  missed: number[];
  spurious: number[];
}

const big = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(v as number | string));

export function sameFlow(a: FlowTuple, b: FlowTuple): boolean {
  return (
    a.srcPort === b.srcPort &&
    a.dstPort === b.dstPort &&
    a.protocol === b.protocol &&
    a.srcAddr.toLowerCase() === b.srcAddr.toLowerCase() &&
    a.dstAddr.toLowerCase() === b.dstAddr.toLowerCase()
  );
}

function anyFlow(
  a: readonly FlowTuple[] | undefined,
  b: readonly FlowTuple[] | undefined,
): boolean {
  if (!a || !b) return false;
  return a.some((x) => b.some((y) => sameFlow(x, y)));
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  const x = new Set(a);
  const y = new Set(b);
  if (x.size !== y.size) return false;
  for (const v of x) if (!y.has(v)) return false;
  return true;
}

/** Location test (type already equal). */
function sameWhere(f: Anomaly, l: LabelAnomaly, requireAggressor: boolean): boolean {
  switch (f.type) {
    case 'microburst':
      if (l.switchId !== undefined && l.switchId !== f.switchId) return false;
      if (l.egressPort !== undefined && f.egressPort !== null && l.egressPort !== f.egressPort)
        return false;
      if (l.queueId !== undefined && f.queueId !== null && l.queueId !== f.queueId) return false;
      if (requireAggressor && l.aggressors && l.aggressors.length > 0)
        return anyFlow(l.aggressors, f.aggressors);
      return true;
    case 'microloop':
      return l.switches ? sameSet(f.switches, l.switches) : true;
    case 'path_change':
      return l.flow ? sameFlow(f.flow, l.flow) : true;
    case 'report_loss':
      return (
        (l.nodeId === undefined || l.nodeId === f.nodeId) &&
        (l.hwId === undefined || l.hwId === f.hwId)
      );
    case 'drop':
      // the dropping switch, or (silent drops, where the switch is a guess) a common flow
      return (l.switchId !== undefined && l.switchId === f.switchId) || anyFlow(l.flows, f.flows);
  }
}

function errStats(v: number[]): ErrorStats | null {
  if (v.length === 0) return null;
  let s = 0;
  let m = 0;
  for (const x of v) {
    s += x;
    if (x > m) m = x;
  }
  return { mean: s / v.length, max: m };
}

function prf(
  tp: number,
  fp: number,
  fn: number,
): { precision: number; recall: number; f1: number } {
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/**
 * Matches found anomalies to labels one-to-one: same type, same location, and time overlap of
 * [start, end] widened by the tolerance (path changes: |Δstart| ≤ tolerance). Among candidates,
 * pairs with the smallest start error are taken first.
 */
export function score(
  found: readonly Anomaly[],
  labels: LabelFile,
  opts: ScoreOptions = {},
): ScoreReport {
  const tolS = big(opts.tolerance?.startNs ?? labels.tolerance?.startNs ?? 1_000_000);
  const tolE = big(opts.tolerance?.endNs ?? labels.tolerance?.endNs ?? 1_000_000);
  const requireAggressor = opts.requireAggressor ?? true;
  const L = labels.anomalies;
  const cands: { i: number; j: number; ds: bigint; de: bigint | null }[] = [];
  for (let i = 0; i < L.length; i++) {
    const l = L[i];
    const ls = big(l.start);
    const le = l.end === undefined ? ls : big(l.end);
    for (let j = 0; j < found.length; j++) {
      const f = found[j];
      if (f.type !== l.type) continue;
      if (!sameWhere(f, l, requireAggressor)) continue;
      const ds = f.start > ls ? f.start - ls : ls - f.start;
      if (f.type === 'path_change') {
        if (ds > tolS) continue;
      } else if (!(f.start <= le + tolE && f.end >= ls - tolS)) continue;
      const de = l.end === undefined ? null : f.end > le ? f.end - le : le - f.end;
      cands.push({ i, j, ds, de });
    }
  }
  cands.sort((a, b) => (a.ds < b.ds ? -1 : a.ds > b.ds ? 1 : a.i - b.i || a.j - b.j));
  const li = new Set<number>();
  const fj = new Set<number>();
  const matches: Match[] = [];
  for (const c of cands) {
    if (li.has(c.i) || fj.has(c.j)) continue;
    li.add(c.i);
    fj.add(c.j);
    matches.push({
      label: c.i,
      found: c.j,
      startErrorNs: Number(c.ds),
      endErrorNs: c.de === null ? null : Number(c.de),
    });
  }
  matches.sort((a, b) => a.label - b.label);
  const types: TypeScore[] = [];
  let TP = 0;
  let FP = 0;
  let FN = 0;
  for (const type of ANOMALY_TYPES) {
    const nl = L.filter((l) => l.type === type).length;
    const nf = found.filter((f) => f.type === type).length;
    const ms = matches.filter((m) => L[m.label].type === type);
    const tp = ms.length;
    const fp = nf - tp;
    const fn = nl - tp;
    TP += tp;
    FP += fp;
    FN += fn;
    types.push({
      type,
      labels: nl,
      found: nf,
      tp,
      fp,
      fn,
      ...prf(tp, fp, fn),
      startErrorNs: errStats(ms.map((m) => m.startErrorNs)),
      endErrorNs: errStats(
        ms.filter((m) => m.endErrorNs !== null).map((m) => m.endErrorNs as number),
      ),
    });
  }
  const missed: number[] = [];
  for (let i = 0; i < L.length; i++) if (!li.has(i)) missed.push(i);
  const spurious: number[] = [];
  for (let j = 0; j < found.length; j++) if (!fj.has(j)) spurious.push(j);
  return {
    scenario: labels.scenario ?? null,
    types,
    overall: { tp: TP, fp: FP, fn: FN, ...prf(TP, FP, FN) },
    matches,
    missed,
    spurious,
  };
}

function fmtNs(e: ErrorStats | null): string {
  if (!e) return '-';
  const v = e.mean;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}ms`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}µs`;
  return `${Math.round(v)}ns`;
}

/** A fixed-width table: one row per anomaly type plus the total. */
export function formatConfusion(report: ScoreReport): string {
  const head = [
    'type',
    'labels',
    'found',
    'TP',
    'FP',
    'FN',
    'precision',
    'recall',
    'F1',
    '|Δstart|',
    '|Δend|',
  ];
  const rows: string[][] = [head];
  for (const t of report.types)
    rows.push([
      t.type,
      String(t.labels),
      String(t.found),
      String(t.tp),
      String(t.fp),
      String(t.fn),
      t.precision.toFixed(3),
      t.recall.toFixed(3),
      t.f1.toFixed(3),
      fmtNs(t.startErrorNs),
      fmtNs(t.endErrorNs),
    ]);
  const o = report.overall;
  rows.push([
    'total',
    String(o.tp + o.fn),
    String(o.tp + o.fp),
    String(o.tp),
    String(o.fp),
    String(o.fn),
    o.precision.toFixed(3),
    o.recall.toFixed(3),
    o.f1.toFixed(3),
    '',
    '',
  ]);
  const w = head.map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]): string =>
    r.map((v, c) => (c === 0 ? v.padEnd(w[c]) : v.padStart(w[c]))).join('  ');
  const out = [
    report.scenario ? `scenario: ${report.scenario}` : null,
    line(rows[0]),
    w.map((n) => '-'.repeat(n)).join('  '),
    ...rows.slice(1).map(line),
  ];
  return out.filter((x) => x !== null).join('\n');
}
