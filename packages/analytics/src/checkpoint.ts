/**
 * Analyzer checkpoints: the detector state that matters after a restart, as a plain
 * JSON-serialisable object (typed arrays as base64), so a restarted or rebalanced analytics
 * worker resumes without re-learning baselines or raising false alarms:
 *
 * - per queue: the latency / occupancy baselines and deviations, sample count, max occupancy,
 *   the egress-timestamp mapping (microburst detection);
 * - per flow: the last path (and its hash, hop count, last switch), packet count and
 *   inter-arrival statistics (path changes, silent flows);
 * - per Telemetry Report source: the highest sequence number and the recent-sequence bitmap
 *   (report loss).
 *
 * Not included: latency sketches (statistics restart), open anomaly episodes (an episode open
 * at the checkpoint is reported again from the evidence seen after the restart) and the paths
 * table used by silent-flow detection (rebuilt as traffic flows).
 *
 * Entries are written least recently used first, so importing them rebuilds the same LRU
 * order. Times are ns relative to the analyzer's base second, which the checkpoint carries.
 */
import type { BoundedTable } from './table';

export const CHECKPOINT_VERSION = 1;

export interface AnalyzerCheckpoint {
  v: number;
  baseSec: number;
  now: number | null;
  records: number;
  queues: {
    n: number;
    keys: string;
    lastSeen: string;
    f64: Record<string, string>;
    u32: Record<string, string>;
    u8: Record<string, string>;
  };
  flows: {
    n: number;
    keys: string;
    lastSeen: string;
    f64: Record<string, string>;
    u32: Record<string, string>;
    u16: Record<string, string>;
    path: string;
    pathStride: number;
  };
  reporters: {
    n: number;
    keys: string;
    lastSeen: string;
    f64: Record<string, string>;
    u32: Record<string, string>;
  };
}

type TA = Float64Array | Uint32Array | Uint16Array | Uint8Array | Int32Array;

/** The Analyzer's private state, as seen from here. */
interface Internals {
  config: { maxPathLength: number };
  baseSec: number;
  now: number;
  records: number;
  flows: BoundedTable;
  queues: BoundedTable;
  reporters: BoundedTable;
  qSketch: { clear(slot: number): void };
  [k: string]: unknown;
}

const Q_F64 = [
  'qBaseLat',
  'qBaseOcc',
  'qDevLat',
  'qDevOcc',
  'qMaxOcc',
  'qRefT',
  'qLastT',
  'qFirstT',
];
const Q_U32 = ['qSamples', 'qRefHi', 'qRefLo'];
const Q_U8 = ['qHasOcc', 'qHasRef'];
const F_F64 = ['fLast', 'fFirst', 'fGapMean', 'fGapDev'];
const F_U32 = ['fCount', 'fPathHash', 'fLastSwitch'];
const F_U16 = ['fPathLen', 'fHopCount'];
const R_F64 = ['rLastT'];
const R_U32 = ['rHigh', 'rBits'];

const b64 = (a: TA): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
function unb64<T extends TA>(
  s: string,
  C: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number },
): T {
  const buf = Buffer.from(s, 'base64');
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  return new C(ab);
}

/** Live slots of a table, least recently used first. */
function lruSlots(t: BoundedTable): number[] {
  const ti = t as unknown as { tail: number; prev: Int32Array };
  const out: number[] = [];
  for (let s = ti.tail; s >= 0 && out.length <= t.cap; s = ti.prev[s]) out.push(s);
  return out;
}

function gather<T extends TA>(src: T, slots: number[], stride = 1): T {
  const C = src.constructor as { new (n: number): T };
  const out = new C(slots.length * stride);
  for (let i = 0; i < slots.length; i++)
    for (let k = 0; k < stride; k++) out[i * stride + k] = src[slots[i] * stride + k];
  return out;
}

function exportTable(
  a: Internals,
  t: BoundedTable,
  f64: string[],
  u32: string[],
  u8: string[] = [],
  u16: string[] = [],
) {
  const slots = lruSlots(t);
  const pick = (names: string[]) =>
    Object.fromEntries(names.map((n) => [n, b64(gather(a[n] as TA, slots))]));
  return {
    slots,
    n: slots.length,
    keys: b64(gather(t.keys, slots, t.kw)),
    lastSeen: b64(gather(t.lastSeen, slots)),
    f64: pick(f64),
    u32: pick(u32),
    u8: pick(u8),
    u16: pick(u16),
  };
}

export function exportCheckpoint(analyzer: object): AnalyzerCheckpoint {
  const a = analyzer as Internals;
  const q = exportTable(a, a.queues, Q_F64, Q_U32, Q_U8);
  const f = exportTable(a, a.flows, F_F64, F_U32, [], F_U16);
  const r = exportTable(a, a.reporters, R_F64, R_U32);
  const stride = a.config.maxPathLength;
  return {
    v: CHECKPOINT_VERSION,
    baseSec: a.baseSec,
    now: Number.isFinite(a.now) ? a.now : null,
    records: a.records,
    queues: { n: q.n, keys: q.keys, lastSeen: q.lastSeen, f64: q.f64, u32: q.u32, u8: q.u8 },
    flows: {
      n: f.n,
      keys: f.keys,
      lastSeen: f.lastSeen,
      f64: f.f64,
      u32: f.u32,
      u16: f.u16,
      path: b64(gather(a.fPath as Uint32Array, f.slots, stride)),
      pathStride: stride,
    },
    reporters: { n: r.n, keys: r.keys, lastSeen: r.lastSeen, f64: r.f64, u32: r.u32 },
  };
}

function importTable(
  a: Internals,
  t: BoundedTable,
  part: {
    n: number;
    keys: string;
    lastSeen: string;
    f64: Record<string, string>;
    u32: Record<string, string>;
    u8?: Record<string, string>;
    u16?: Record<string, string>;
  },
  shift: number,
  timeFields: string[],
  onNew: (slot: number) => void,
): { slots: number[] } {
  const keys = unb64(part.keys, Uint32Array);
  const last = unb64(part.lastSeen, Float64Array);
  const cols: [TA, TA, boolean][] = [];
  for (const [n, s] of Object.entries(part.f64))
    cols.push([a[n] as TA, unb64(s, Float64Array), timeFields.includes(n)]);
  for (const [n, s] of Object.entries(part.u32))
    cols.push([a[n] as TA, unb64(s, Uint32Array), false]);
  for (const [n, s] of Object.entries(part.u8 ?? {}))
    cols.push([a[n] as TA, unb64(s, Uint8Array), false]);
  for (const [n, s] of Object.entries(part.u16 ?? {}))
    cols.push([a[n] as TA, unb64(s, Uint16Array), false]);
  const slots: number[] = [];
  for (let i = 0; i < part.n; i++) {
    t.scratch.set(keys.subarray(i * t.kw, (i + 1) * t.kw));
    const slot = t.findOrInsert(last[i] + shift);
    onNew(slot);
    for (const [dst, src, isTime] of cols) dst[slot] = isTime ? src[i] + shift : src[i];
    slots.push(slot);
  }
  return { slots };
}

/** Loads a checkpoint into an analyzer (normally a fresh one, before its first batch). */
export function importCheckpoint(analyzer: object, c: AnalyzerCheckpoint): void {
  if (!c || c.v !== CHECKPOINT_VERSION)
    throw new Error(`unsupported analyzer checkpoint version ${c?.v}`);
  const a = analyzer as Internals;
  if (a.baseSec < 0) a.baseSec = c.baseSec;
  const shift = (c.baseSec - a.baseSec) * 1e9;
  if (c.now !== null && c.now + shift > a.now) a.now = c.now + shift;
  a.records += c.records;
  importTable(a, a.queues, c.queues, shift, ['qRefT', 'qLastT', 'qFirstT'], (s) =>
    a.qSketch.clear(s),
  );
  const INF = Number.POSITIVE_INFINITY;
  const fl = importTable(a, a.flows, c.flows, shift, ['fLast', 'fFirst'], (s) => {
    (a.fHoldUntil as Float64Array)[s] = -INF;
    (a.fPathSlot as Int32Array)[s] = -1;
    (a.fSilent as Uint8Array)[s] = 0;
  });
  const path = unb64(c.flows.path, Uint32Array);
  const stride = Math.min(c.flows.pathStride, a.config.maxPathLength);
  const fPath = a.fPath as Uint32Array;
  fl.slots.forEach((slot, i) => {
    for (let k = 0; k < stride; k++)
      fPath[slot * a.config.maxPathLength + k] = path[i * c.flows.pathStride + k];
  });
  importTable(a, a.reporters, c.reporters, shift, ['rLastT'], () => undefined);
}
