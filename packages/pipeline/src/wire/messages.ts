/**
 * hopwatch.v1 messages (see packages/pipeline/proto/hopwatch.proto): columnar, one packed
 * repeated field per RecordBatch column, encoded and decoded straight from / into the
 * batch's typed arrays. No protobufjs at run time.
 *
 * Conventions shared by the three messages:
 * - `count` (field 1) is the number of rows (records or samples); every per-row column has
 *   exactly `count` values or is absent, and an absent column means "all zero" (the encoder
 *   omits all-zero columns, as proto3 does for empty repeated fields).
 * - Per-hop columns of RecordsMessage hold the hops of all records back to back, record by
 *   record in travel order; `hop_count` says how many belong to each record.
 * - Columns that use -1 for "not carried" are sint32 (zig-zag).
 * - Addresses: 1 fixed32 per row for IPv4 (the batch's word 3; words 0-2 are zero), 4 for
 *   IPv6 (network order words), chosen by the row's *_v6 flag.
 * - 64-bit values are fixed64: time_ns = tsSec * 1e9 + tsNsec (capture time), device
 *   timestamps = hi << 32 | lo.
 *
 * Length: the three messages share one column table and one hand-written protobuf codec so the
 * encoder and decoder cannot disagree; most lines are that table, read in one place on purpose.
 */
import { RecordBatch } from '@hopwatch/codec';
import {
  PbReader,
  PbWriter,
  Segment,
  WireError,
  WT_FIXED32,
  WT_FIXED64,
  WT_LEN,
  WT_VARINT,
  varintSize,
  zigzag,
} from './pb';
const M_floor = Math.floor; // local: global lookups are slow in jest sandboxes
const M_max = Math.max; // local: global lookups are slow in jest sandboxes

type NumCol = {
  [K in keyof RecordBatch]: RecordBatch[K] extends
    Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array
    ? K
    : never;
}[keyof RecordBatch];

/** p1: a column that uses -1 for "not carried", sent as value + 1 (uint32) so that an absent
 * column (all zero, e.g. from a producer that predates it) decodes as "not carried". */
type Kind = 'u' | 's' | 'p1' | 'f32' | 'f64' | 'time' | 'addr';

interface Col {
  field: number;
  name: string;
  kind: Kind;
  col: NumCol;
  /** f64: low word column; time: nanoseconds column; addr: the v6 flag column. */
  col2?: NumCol;
  /** Value of the batch column when a message does not carry it at all. */
  missing?: number;
  /** p1: the largest value; a message with a larger one is rejected. */
  max?: number;
}

// ---- per-record columns (field numbers shared by the messages that carry them) ----
const C_FRAME: Col = { field: 2, name: 'frame', kind: 'u', col: 'frame' };
const C_TIME: Col = { field: 3, name: 'time_ns', kind: 'time', col: 'tsSec', col2: 'tsNsec' };
const HEADER_COLS: Col[] = [
  { field: 4, name: 'encap', kind: 'u', col: 'encap' },
  { field: 5, name: 'int_version', kind: 'u', col: 'intVersion' },
  { field: 6, name: 'mode', kind: 'u', col: 'mode' },
  { field: 7, name: 'bitmap', kind: 'u', col: 'bitmap' },
  { field: 8, name: 'hop_ml', kind: 'u', col: 'hopMl' },
  { field: 9, name: 'rhc', kind: 's', col: 'rhc', missing: -1 },
  { field: 10, name: 'has_header', kind: 'u', col: 'hasHeader' },
  { field: 11, name: 'int_type', kind: 'u', col: 'intType' },
  { field: 12, name: 'npt', kind: 's', col: 'npt' },
  { field: 13, name: 'shim_length', kind: 'u', col: 'shimLength' },
  { field: 14, name: 'orig_port', kind: 's', col: 'origPort', missing: -1 },
  { field: 15, name: 'orig_proto', kind: 's', col: 'origProto', missing: -1 },
  { field: 16, name: 'orig_dscp', kind: 's', col: 'origDscp', missing: -1 },
  { field: 17, name: 'next_proto', kind: 's', col: 'nextProto', missing: -1 },
  { field: 18, name: 'hdr_flags', kind: 'u', col: 'hdrFlags' },
  { field: 19, name: 'replication', kind: 'u', col: 'replication' },
  { field: 20, name: 'max_hop_cnt', kind: 's', col: 'maxHopCnt', missing: -1 },
  { field: 21, name: 'total_hop_cnt', kind: 's', col: 'totalHopCnt', missing: -1 },
  { field: 22, name: 'ds_id', kind: 'u', col: 'dsId' },
  { field: 23, name: 'ds_instruction', kind: 'u', col: 'dsInstruction' },
  { field: 24, name: 'ds_flags', kind: 'u', col: 'dsFlags' },
  { field: 25, name: 'source_only_bytes', kind: 'u', col: 'sourceOnlyBytes' },
];
const REPORT_COLS: Col[] = [
  { field: 30, name: 'report_version', kind: 'u', col: 'reportVersion' },
  { field: 31, name: 'hw_id', kind: 'u', col: 'hwId' },
  { field: 32, name: 'sequence', kind: 'u', col: 'sequence' },
  { field: 33, name: 'node_id', kind: 'u', col: 'nodeId' },
  { field: 34, name: 'has_node_id', kind: 'u', col: 'hasNodeId' },
  { field: 35, name: 'rep_flags', kind: 'u', col: 'repFlags' },
  { field: 36, name: 'rep_type', kind: 'u', col: 'repType' },
  { field: 37, name: 'in_type', kind: 'u', col: 'inType' },
  { field: 38, name: 'drop_reason', kind: 's', col: 'dropReason', missing: -1 },
  { field: 39, name: 'rep_index', kind: 'u', col: 'repIndex' },
  { field: 40, name: 'reporter_v6', kind: 'u', col: 'reporterV6' },
  { field: 41, name: 'reporter_addr', kind: 'addr', col: 'reporterAddr', col2: 'reporterV6' },
];
const FLOW_COLS: Col[] = [
  { field: 50, name: 'has_flow', kind: 'u', col: 'hasFlow' },
  { field: 51, name: 'flow_v6', kind: 'u', col: 'flowV6' },
  { field: 52, name: 'src_addr', kind: 'addr', col: 'srcAddr', col2: 'flowV6' },
  { field: 53, name: 'dst_addr', kind: 'addr', col: 'dstAddr', col2: 'flowV6' },
  { field: 54, name: 'src_port', kind: 'u', col: 'srcPort' },
  { field: 55, name: 'dst_port', kind: 'u', col: 'dstPort' },
  { field: 56, name: 'protocol', kind: 'u', col: 'protocol' },
];
/** What flow records need besides the 5-tuple (added in v1, compatibly: absent = not carried). */
const FLOW_EXTRA_COLS: Col[] = [
  { field: 57, name: 'ip_length', kind: 'u', col: 'ipLength' },
  { field: 58, name: 'vlan', kind: 'p1', col: 'vlan', missing: -1, max: 4095 },
  { field: 59, name: 'vni', kind: 'p1', col: 'vni', missing: -1, max: 0xffffff },
];
const C_HOP_COUNT: Col = { field: 26, name: 'hop_count', kind: 'u', col: 'hopCount' };

// ---- per-hop columns ----
const HOP_COLS: Col[] = [
  { field: 60, name: 'present', kind: 'u', col: 'present' },
  { field: 61, name: 'origin', kind: 'u', col: 'origin' },
  { field: 62, name: 'switch_id', kind: 'u', col: 'switchId' },
  { field: 63, name: 'ingress_port', kind: 'u', col: 'ingressPort' },
  { field: 64, name: 'egress_port', kind: 'u', col: 'egressPort' },
  { field: 65, name: 'hop_latency', kind: 'u', col: 'hopLatency' },
  { field: 66, name: 'queue_id', kind: 'u', col: 'queueId' },
  { field: 67, name: 'queue_occupancy', kind: 'u', col: 'queueOccupancy' },
  { field: 68, name: 'ingress_ts', kind: 'f64', col: 'ingressTsHi', col2: 'ingressTsLo' },
  { field: 69, name: 'egress_ts', kind: 'f64', col: 'egressTsHi', col2: 'egressTsLo' },
  { field: 70, name: 'l2_ingress_port', kind: 'u', col: 'l2IngressPort' },
  { field: 71, name: 'l2_egress_port', kind: 'u', col: 'l2EgressPort' },
  { field: 72, name: 'tx_util', kind: 'u', col: 'txUtil' },
  { field: 73, name: 'buffer_id', kind: 'u', col: 'bufferId' },
  { field: 74, name: 'buffer_occupancy', kind: 'u', col: 'bufferOccupancy' },
  { field: 75, name: 'checksum', kind: 'u', col: 'checksum' },
  { field: 76, name: 'queue_congestion', kind: 'u', col: 'queueCongestion' },
  { field: 77, name: 'hop_drop_reason', kind: 'u', col: 'hopDropReason' },
];
const C_DS_COUNT: Col = { field: 78, name: 'ds_count', kind: 'u', col: 'dsCount' };
const F_COUNT = 1;
const F_DS_WORDS = 79;
const F_HOP_INDEX = 80;
const F_FINDINGS = 90;

/** Every per-record column of RecordBatch (hopStart is derived), for defaults. */
const ALL_REC_COLS: Col[] = [
  C_FRAME,
  C_TIME,
  ...HEADER_COLS,
  C_HOP_COUNT,
  ...REPORT_COLS,
  ...FLOW_COLS,
  ...FLOW_EXTRA_COLS,
];

export type MessageKind = 'records' | 'queues' | 'reports';

interface Spec {
  kind: MessageKind;
  rec: Col[];
  hop: Col[];
}

const SPECS: Record<MessageKind, Spec> = {
  records: {
    kind: 'records',
    rec: [
      C_FRAME,
      C_TIME,
      ...HEADER_COLS,
      C_HOP_COUNT,
      ...REPORT_COLS,
      ...FLOW_COLS,
      ...FLOW_EXTRA_COLS,
    ],
    hop: [...HOP_COLS, C_DS_COUNT],
  },
  queues: { kind: 'queues', rec: [C_FRAME, C_TIME, ...FLOW_COLS], hop: HOP_COLS },
  reports: { kind: 'reports', rec: [C_FRAME, C_TIME, ...REPORT_COLS], hop: [] },
};

/** The record columns each message carries (the others are filled with their missing value). */
const CARRIED: Record<MessageKind, ReadonlySet<Col>> = {
  records: new Set(SPECS.records.rec),
  queues: new Set(SPECS.queues.rec),
  reports: new Set(SPECS.reports.rec),
};

/** Field numbers and names of each message (used by the tests and docs). */
export function messageFields(kind: MessageKind): { field: number; name: string }[] {
  const s = SPECS[kind];
  const out = [{ field: F_COUNT, name: 'count' }, ...s.rec, ...s.hop].map((c) => ({
    field: c.field,
    name: c.name,
  }));
  if (kind === 'records') {
    out.push({ field: F_DS_WORDS, name: 'ds_words' }, { field: F_FINDINGS, name: 'findings' });
  }
  if (kind === 'queues') out.push({ field: F_HOP_INDEX, name: 'hop_index' });
  return out;
}

// ---------------------------------------------------------------------------------------
// 64-bit nanosecond time <-> (sec, nsec), exact, without BigInt.

let outHi = 0;
let outLo = 0;
const TWO32 = 4294967296;

/*
 * Only exact double arithmetic: products below 2^53, and divisions by powers of two or by 1e9
 * whose floor is exact (see secOf). No `%` on doubles: V8 calls fmod for it, and these run for
 * every row of every message (about 5 per report on each side; they were a third of ingest's
 * encoding time).
 */
function nsOf(sec: number, nsec: number): void {
  // ns = (a * 2^16 + b) * 1e9 + nsec = p * 2^16 + q
  const a = sec >>> 16;
  const p = a * 1e9; // < 2^46
  const q = (sec & 0xffff) * 1e9 + nsec; // < 2^47
  const pHi = M_floor(p / 65536);
  const qHi = M_floor(q / TWO32);
  let lo = (p - pHi * 65536) * 65536 + (q - qHi * TWO32); // < 2^33
  let hi = pHi + qHi;
  if (lo >= TWO32) {
    lo -= TWO32;
    hi++;
  }
  outHi = hi >>> 0;
  outLo = lo;
}

let outSec = 0;
let outNsec = 0;
/** (hi * 2^32 + lo) ns as seconds and nanoseconds: long division by 1e9 in base 2^16 digits.
 * Each partial dividend is below 1e9 * 2^16 < 2^46, so `r * 65536 + d` is exact, and the
 * floor of its quotient is exact too (the division's rounding error, under 2^-36, is smaller
 * than the distance 1/1e9 of a non-integer quotient from the next integer). */
function secOf(hi: number, lo: number): void {
  // the first digit, hi >>> 16, is below 1e9: its quotient is 0 and it is the first remainder
  let cur = (hi >>> 16) * 65536 + (hi & 0xffff);
  const q2 = M_floor(cur / 1e9);
  // seconds = q2 * 2^32 + q1 * 2^16 + q0: beyond 32 bits they do not fit the batch's column
  if (q2 !== 0) throw new WireError(`time_ns ${hi}:${lo} is out of range`);
  cur = cur * 65536 + (lo >>> 16);
  const q1 = M_floor(cur / 1e9);
  cur = (cur - q1 * 1e9) * 65536 + (lo & 0xffff);
  const q0 = M_floor(cur / 1e9);
  outSec = q1 * 65536 + q0;
  outNsec = cur - q0 * 1e9;
}

/** Capture time in ns of (sec, nsec) as a bigint (for callers that want one). */
export function timeNs(sec: number, nsec: number): bigint {
  nsOf(sec, nsec);
  return (BigInt(outHi) << 32n) | BigInt(outLo);
}

// ---------------------------------------------------------------------------------------
// Encoding

type Arr = Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array;

function colArr(b: RecordBatch, c: NumCol): Arr {
  return b[c] as Arr;
}

/*
 * The 'u'/'s' columns are typed arrays of six classes: one loop reading them all would be
 * megamorphic (V8's slowest element access). Each class gets its own gather loop into one
 * Int32Array scratch (bit patterns kept: 'u' values are read back with >>> 0), and the varint
 * loops read only that scratch.
 */
let gathered = new Int32Array(8192);
function gatherU8(a: Uint8Array, rows: Uint32Array, n: number, o: Int32Array): number {
  let any = 0;
  for (let i = 0; i < n; i++) any |= o[i] = a[rows[i]];
  return any;
}
function gatherU16(a: Uint16Array, rows: Uint32Array, n: number, o: Int32Array): number {
  let any = 0;
  for (let i = 0; i < n; i++) any |= o[i] = a[rows[i]];
  return any;
}
function gatherU32(a: Uint32Array, rows: Uint32Array, n: number, o: Int32Array): number {
  let any = 0;
  for (let i = 0; i < n; i++) any |= o[i] = a[rows[i]];
  return any;
}
function gatherI8(a: Int8Array, rows: Uint32Array, n: number, o: Int32Array): number {
  let any = 0;
  for (let i = 0; i < n; i++) any |= o[i] = a[rows[i]];
  return any;
}
function gatherI16(a: Int16Array, rows: Uint32Array, n: number, o: Int32Array): number {
  let any = 0;
  for (let i = 0; i < n; i++) any |= o[i] = a[rows[i]];
  return any;
}
function gatherI32(a: Int32Array, rows: Uint32Array, n: number, o: Int32Array): number {
  let any = 0;
  for (let i = 0; i < n; i++) any |= o[i] = a[rows[i]];
  return any;
}
/** Gathers column `a` of `rows` into `gathered`; returns whether any value is non-zero. */
function gather(a: Arr, rows: Uint32Array, n: number): boolean {
  if (gathered.length < n) gathered = new Int32Array(M_max(n, gathered.length * 2));
  const o = gathered;
  if (a instanceof Uint8Array) return gatherU8(a, rows, n, o) !== 0;
  if (a instanceof Uint32Array) return gatherU32(a, rows, n, o) !== 0;
  if (a instanceof Uint16Array) return gatherU16(a, rows, n, o) !== 0;
  if (a instanceof Int32Array) return gatherI32(a, rows, n, o) !== 0;
  if (a instanceof Int16Array) return gatherI16(a, rows, n, o) !== 0;
  return gatherI8(a, rows, n, o) !== 0;
}

/** A packed varint column in one pass: the values are written 7 bytes ahead (room for the
 * tag and the longest length), then moved back behind the tag and length once the size is
 * known (a memmove, cheaper than a second pass computing the size). */
function writeVarintColumn(w: PbWriter, field: number, g: Int32Array, n: number, zz: boolean) {
  w.ensure(7 + 5 * n);
  const buf = w.buf;
  const start = w.pos;
  const from = start + 7;
  let p = from;
  let any = 0;
  if (zz) {
    for (let i = 0; i < n; i++) {
      let v = zigzag(g[i]);
      any |= v;
      while (v >= 0x80) {
        buf[p++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[p++] = v;
    }
  } else {
    for (let i = 0; i < n; i++) {
      let v = g[i] >>> 0;
      any |= v;
      while (v >= 0x80) {
        buf[p++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[p++] = v;
    }
  }
  if (any === 0) return; // (the caller skips all-zero columns; kept for other callers)
  w.tag(field, WT_LEN);
  w.varint(p - from);
  buf.copyWithin(w.pos, from, p);
  w.pos += p - from;
}

function writeColumn(w: PbWriter, b: RecordBatch, c: Col, rows: Uint32Array, n: number): void {
  if (n === 0) return;
  const a = colArr(b, c.col);
  switch (c.kind) {
    case 'u':
    case 's':
      // an all-zero column is omitted: known from the gather, before any varint is written
      if (gather(a, rows, n)) writeVarintColumn(w, c.field, gathered, n, c.kind === 's');
      return;
    case 'p1': {
      let size = 0;
      let any = 0;
      for (let i = 0; i < n; i++) {
        const v = (a[rows[i]] + 1) >>> 0;
        any |= v;
        size += varintSize(v);
      }
      if (any === 0) return;
      w.tag(c.field, WT_LEN);
      w.varint(size);
      w.ensure(size);
      for (let i = 0; i < n; i++) w.varintRaw((a[rows[i]] + 1) >>> 0);
      return;
    }
    case 'f32': {
      let any = 0;
      for (let i = 0; i < n; i++) any |= a[rows[i]];
      if (any === 0) return;
      w.tag(c.field, WT_LEN);
      w.varint(n * 4);
      w.ensure(n * 4);
      for (let i = 0; i < n; i++) w.fixed32Raw(a[rows[i]]);
      return;
    }
    case 'f64':
    case 'time': {
      const a2 = colArr(b, c.col2!);
      let any = 0;
      for (let i = 0; i < n; i++) any |= a[rows[i]] | a2[rows[i]];
      if (any === 0) return;
      w.tag(c.field, WT_LEN);
      w.varint(n * 8);
      w.ensure(n * 8);
      if (c.kind === 'f64') {
        for (let i = 0; i < n; i++) {
          w.fixed32Raw(a2[rows[i]]);
          w.fixed32Raw(a[rows[i]]);
        }
      } else {
        for (let i = 0; i < n; i++) {
          nsOf(a[rows[i]], a2[rows[i]]);
          w.fixed32Raw(outLo);
          w.fixed32Raw(outHi);
        }
      }
      return;
    }
    case 'addr': {
      const v6 = colArr(b, c.col2!);
      let words = 0;
      let any = 0;
      for (let i = 0; i < n; i++) {
        const r = rows[i];
        if (v6[r]) {
          words += 4;
          any |= a[4 * r] | a[4 * r + 1] | a[4 * r + 2] | a[4 * r + 3];
        } else {
          words += 1;
          any |= a[4 * r + 3];
        }
      }
      if (any === 0) return;
      w.tag(c.field, WT_LEN);
      w.varint(words * 4);
      w.ensure(words * 4);
      for (let i = 0; i < n; i++) {
        const r = rows[i];
        if (v6[r]) {
          w.fixed32Raw(a[4 * r]);
          w.fixed32Raw(a[4 * r + 1]);
          w.fixed32Raw(a[4 * r + 2]);
        }
        w.fixed32Raw(a[4 * r + 3]);
      }
      return;
    }
  }
}

function writePackedU32(
  w: PbWriter,
  field: number,
  vals: ArrayLike<number>,
  from: number,
  to: number,
): void {
  let size = 0;
  let any = 0;
  for (let i = from; i < to; i++) {
    any |= vals[i];
    size += varintSize(vals[i] >>> 0);
  }
  if (any === 0) return;
  w.tag(field, WT_LEN);
  w.varint(size);
  w.ensure(size);
  for (let i = from; i < to; i++) w.varintRaw(vals[i]);
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

// Scratch row lists, reused between calls.
let scratchRec = new Uint32Array(1024);
let scratchHop = new Uint32Array(8192);
let scratchIdx = new Uint32Array(8192);
function ensureScratch(nRec: number, nHop: number): void {
  if (scratchRec.length < nRec) scratchRec = new Uint32Array(M_max(nRec, scratchRec.length * 2));
  if (scratchHop.length < nHop) {
    const len = M_max(nHop, scratchHop.length * 2);
    scratchHop = new Uint32Array(len);
    scratchIdx = new Uint32Array(len);
  }
}

const sharedWriter = new PbWriter(256 * 1024);

/**
 * RecordsMessage of records `recs` (indices into `b`, in the order to send) with all their
 * hops, domain-specific words and conformance findings.
 */
export function encodeRecordsMessage(
  b: RecordBatch,
  recs: ArrayLike<number>,
  w: PbWriter = sharedWriter,
): Uint8Array {
  const n = recs.length;
  let nHop = 0;
  for (let i = 0; i < n; i++) nHop += b.hopCount[recs[i]];
  ensureScratch(n, nHop);
  const rows = scratchRec;
  const hops = scratchHop;
  let k = 0;
  let nDs = 0;
  for (let i = 0; i < n; i++) {
    const r = recs[i];
    rows[i] = r;
    const hs = b.hopStart[r];
    const hc = b.hopCount[r];
    for (let j = 0; j < hc; j++) {
      hops[k++] = hs + j;
      nDs += b.dsCount[hs + j];
    }
  }
  w.reset();
  w.uint32Field(F_COUNT, n);
  const spec = SPECS.records;
  for (const c of spec.rec) writeColumn(w, b, c, rows, n);
  for (const c of spec.hop) writeColumn(w, b, c, hops, nHop);
  if (nDs > 0) {
    let size = 0;
    let any = 0;
    for (let i = 0; i < nHop; i++) {
      const h = hops[i];
      const s = b.dsStart[h];
      for (let j = 0, e = b.dsCount[h]; j < e; j++) {
        const v = b.dsWords[s + j];
        any |= v;
        size += varintSize(v);
      }
    }
    if (any !== 0) {
      w.tag(F_DS_WORDS, WT_LEN);
      w.varint(size);
      w.ensure(size);
      for (let i = 0; i < nHop; i++) {
        const h = hops[i];
        const s = b.dsStart[h];
        for (let j = 0, e = b.dsCount[h]; j < e; j++) w.varintRaw(b.dsWords[s + j]);
      }
    }
  }
  if (b.findings.length) {
    const local = new Map<number, number>();
    for (let i = 0; i < n; i++) local.set(recs[i], i);
    for (const f of b.findings) {
      const li = local.get(f.record);
      if (li === undefined) continue;
      const sub = new PbWriter(64 + f.kind.length * 3 + f.detail.length * 3);
      sub.uint32Field(1, li);
      if (f.kind) sub.bytesField(2, textEncoder.encode(f.kind));
      if (f.detail) sub.bytesField(3, textEncoder.encode(f.detail));
      w.bytesField(F_FINDINGS, sub.finish());
    }
  }
  return w.finish();
}

/**
 * QueueSamplesMessage: one row per hop `hops[i]` (hop row indices into `b`) of record
 * `recs[i]`, with that record's frame, time and flow.
 */
export function encodeQueuesMessage(
  b: RecordBatch,
  recs: ArrayLike<number>,
  hops: ArrayLike<number>,
  w: PbWriter = sharedWriter,
): Uint8Array {
  const n = recs.length;
  if (hops.length !== n) throw new WireError('encodeQueuesMessage: recs and hops differ in length');
  ensureScratch(n, n);
  for (let i = 0; i < n; i++) {
    scratchRec[i] = recs[i];
    scratchHop[i] = hops[i];
    scratchIdx[i] = hops[i] - b.hopStart[recs[i]];
  }
  w.reset();
  w.uint32Field(F_COUNT, n);
  const spec = SPECS.queues;
  for (const c of spec.rec) writeColumn(w, b, c, scratchRec, n);
  for (const c of spec.hop) writeColumn(w, b, c, scratchHop, n);
  writePackedU32(w, F_HOP_INDEX, scratchIdx, 0, n);
  return w.finish();
}

/** ReportsMessage of records `recs`: their report headers, frame and time. */
export function encodeReportsMessage(
  b: RecordBatch,
  recs: ArrayLike<number>,
  w: PbWriter = sharedWriter,
): Uint8Array {
  const n = recs.length;
  ensureScratch(n, 0);
  for (let i = 0; i < n; i++) scratchRec[i] = recs[i];
  w.reset();
  w.uint32Field(F_COUNT, n);
  for (const c of SPECS.reports.rec) writeColumn(w, b, c, scratchRec, n);
  return w.finish();
}

// ---------------------------------------------------------------------------------------
// Decoding

/** Occurrences of each field number < 128 in a message (unknown fields are skipped). */
class Fields {
  private segs: (Segment[] | undefined)[] = new Array(128);
  count = 0;
  /** Field numbers with segments from the last parse (their lists are emptied by the next). */
  private used: number[] = [];
  private pool: Segment[] = [];
  private readonly reader = new PbReader(new Uint8Array(0));

  /** Indexes the fields of a message; reuses its lists and segments (one message is decoded
   * at a time: per message they were a tenth of analyze's allocations). */
  parse(bytes: Uint8Array, kind: MessageKind): this {
    for (const f of this.used) this.segs[f]!.length = 0;
    this.used.length = 0;
    this.count = 0;
    let pooled = 0;
    const r = this.reader;
    r.buf = bytes;
    r.pos = 0;
    r.end = bytes.length;
    while (r.pos < r.end) {
      const tag = r.varint();
      const field = tag >>> 3;
      const wt = tag & 7;
      if (field === 0) throw new WireError(`${kind} message: field number 0 at byte ${r.pos}`);
      const seg = pooled < this.pool.length ? this.pool[pooled] : { wt: 0, start: 0, end: 0 };
      if (pooled === this.pool.length) this.pool.push(seg);
      r.payload(wt, seg);
      if (field === F_COUNT) {
        if (wt !== WT_VARINT) throw new WireError(`${kind} message: count has wire type ${wt}`);
        this.count = new PbReader(bytes, seg.start, seg.end).varint();
        continue;
      }
      if (field >= 128) continue;
      pooled++;
      const list = (this.segs[field] ??= []);
      if (list.length === 0) this.used.push(field);
      list.push(seg);
    }
    return this;
  }

  /** The segments of `field` in the last parse, undefined when it is absent. */
  get(field: number): Segment[] | undefined {
    const l = this.segs[field];
    return l !== undefined && l.length > 0 ? l : undefined;
  }
}
const fields = new Fields();

function countMismatch(
  kind: MessageKind,
  c: { name: string },
  got: number,
  want: number,
): WireError {
  return new WireError(`${kind} message: column ${c.name} has ${got} values, expected ${want}`);
}

// Monomorphic scratch for decoded values: filling the batch's columns (six typed-array
// types) value by value would make the stores megamorphic; TypedArray.set converts natively.
let scratchU32 = new Uint32Array(8192);
let scratchI32 = new Int32Array(8192);
function scratchFor(n: number): void {
  if (scratchU32.length < n) {
    const len = M_max(n, scratchU32.length * 2);
    scratchU32 = new Uint32Array(len);
    scratchI32 = new Int32Array(len);
  }
}

/** Varints of a column (packed or not) into scratchU32[0..); returns how many (<= max+1). */
function gatherVarints(
  bytes: Uint8Array,
  kind: MessageKind,
  c: { name: string },
  segs: Segment[],
  max: number,
): number {
  const out = scratchU32;
  let k = 0;
  for (const s of segs) {
    let p = s.start;
    const end = s.end;
    if (s.wt !== WT_LEN && s.wt !== WT_VARINT)
      throw new WireError(`${kind} message: column ${c.name} has wire type ${s.wt}`);
    while (p < end) {
      if (k >= max) return k + 1;
      let b0 = bytes[p++];
      if (b0 < 0x80) {
        out[k++] = b0;
        continue;
      }
      let v = b0 & 0x7f;
      let shift = 7;
      for (;;) {
        if (p >= end) throw new WireError(`${kind} message: truncated varint in column ${c.name}`);
        b0 = bytes[p++];
        if (shift < 28) v |= (b0 & 0x7f) << shift;
        else if (shift === 28) v = (v >>> 0) + (b0 & 0x0f) * 0x10000000;
        shift += 7;
        if (b0 < 0x80) break;
        if (shift > 63) throw new WireError(`${kind} message: varint too long in column ${c.name}`);
      }
      out[k++] = v;
    }
  }
  return k;
}

/** Decodes a varint column (packed or not) into a[base..base+n); absent = zeros. */
function readVarintCol(
  bytes: Uint8Array,
  kind: MessageKind,
  c: Col,
  segs: Segment[] | undefined,
  a: Arr,
  base: number,
  n: number,
): void {
  if (!segs) {
    a.fill(c.kind === 'p1' ? -1 : 0, base, base + n);
    return;
  }
  scratchFor(n + 1);
  const k = gatherVarints(bytes, kind, c, segs, n);
  if (k !== n) throw countMismatch(kind, c, k, n);
  if (c.kind === 'p1') {
    const max = c.max ?? 0x7fffffff;
    for (let i = 0; i < n; i++) {
      const v = scratchU32[i] - 1;
      if (v > max) throw new WireError(`${kind} message: column ${c.name} value ${v} > ${max}`);
      a[base + i] = v;
    }
  } else if (c.kind === 's') {
    const u = scratchU32;
    const o = scratchI32;
    for (let i = 0; i < n; i++) o[i] = (u[i] >>> 1) ^ -(u[i] & 1);
    a.set(o.subarray(0, n), base);
  } else {
    a.set(scratchU32.subarray(0, n), base);
  }
}

/** fixed32 words of a column (packed or not; fixed64 as lo, hi) into scratchU32; count. */
function gatherFixed(
  bytes: Uint8Array,
  kind: MessageKind,
  c: Col,
  segs: Segment[],
  width: 4 | 8,
  maxWords: number,
): number {
  let k = 0;
  const wtScalar = width === 4 ? WT_FIXED32 : WT_FIXED64;
  for (const s of segs) {
    if (s.wt !== WT_LEN && s.wt !== wtScalar)
      throw new WireError(`${kind} message: column ${c.name} has wire type ${s.wt}`);
    const len = s.end - s.start;
    if (len % width !== 0)
      throw new WireError(`${kind} message: column ${c.name} is not a multiple of ${width} bytes`);
    const words = len >> 2;
    if (k + words > maxWords) return k + words;
    const out = scratchU32;
    let p = s.start;
    for (let i = 0; i < words; i++, p += 4)
      out[k++] =
        (bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24)) >>> 0;
  }
  return k;
}

function readColumn(
  bytes: Uint8Array,
  kind: MessageKind,
  f: Fields,
  b: RecordBatch,
  c: Col,
  base: number,
  n: number,
): void {
  const segs = f.get(c.field);
  const a = colArr(b, c.col);
  switch (c.kind) {
    case 'u':
    case 's':
    case 'p1':
      readVarintCol(bytes, kind, c, segs, a, base, n);
      return;
    case 'f32': {
      if (!segs) return void a.fill(0, base, base + n);
      scratchFor(n);
      const got = gatherFixed(bytes, kind, c, segs, 4, n);
      if (got !== n) throw countMismatch(kind, c, got, n);
      a.set(scratchU32.subarray(0, n), base);
      return;
    }
    case 'f64':
    case 'time': {
      const a2 = colArr(b, c.col2!);
      if (!segs) {
        a.fill(0, base, base + n);
        a2.fill(0, base, base + n);
        return;
      }
      scratchFor(2 * n);
      const got = gatherFixed(bytes, kind, c, segs, 8, 2 * n);
      if (got !== 2 * n) throw countMismatch(kind, c, got >> 1, n);
      const w = scratchU32;
      if (c.kind === 'time') {
        const sec = a as Uint32Array;
        const ns = a2 as Uint32Array;
        for (let i = 0; i < n; i++) {
          secOf(w[2 * i + 1], w[2 * i]);
          sec[base + i] = outSec;
          ns[base + i] = outNsec;
        }
      } else {
        const hi = a as Uint32Array;
        const lo = a2 as Uint32Array;
        for (let i = 0; i < n; i++) {
          lo[base + i] = w[2 * i];
          hi[base + i] = w[2 * i + 1];
        }
      }
      return;
    }
    case 'addr': {
      const v6 = colArr(b, c.col2!) as Uint8Array;
      const words = a as Uint32Array;
      words.fill(0, 4 * base, 4 * (base + n));
      if (!segs) return;
      let want = 0;
      for (let i = 0; i < n; i++) want += v6[base + i] ? 4 : 1;
      scratchFor(want);
      const got = gatherFixed(bytes, kind, c, segs, 4, want);
      if (got !== want) throw countMismatch(kind, c, got, want);
      const w = scratchU32;
      let k = 0;
      for (let i = 0; i < n; i++) {
        const o = 4 * (base + i);
        if (v6[base + i]) {
          words[o] = w[k];
          words[o + 1] = w[k + 1];
          words[o + 2] = w[k + 2];
          words[o + 3] = w[k + 3];
          k += 4;
        } else words[o + 3] = w[k++];
      }
      return;
    }
  }
}

function growRecords(b: RecordBatch, n: number): void {
  const count = b.count;
  while (b.capacity < count + n) {
    b.count = b.capacity;
    b.ensureRecord();
  }
  b.count = count;
}

/*
 * What one message may claim. An absent column means "all zero", so a few bytes can claim any
 * number of rows, and a hop_count column any number of hops: without a bound a hostile or
 * corrupt message on the topic makes analyze allocate gigabytes (and, re-read after the crash,
 * again). hopwatch's encoder writes at most 1,000 rows and about 256 KiB a message (splitBatch),
 * a few thousand hops; these bounds are far above that and keep a message's batch within tens
 * of MB.
 */
export const MAX_MESSAGE_ROWS = 1 << 16;
export const MAX_MESSAGE_HOPS = 1 << 19;
export const MAX_MESSAGE_DS_WORDS = 1 << 20;

function decodeInto(
  bytes: Uint8Array,
  kind: MessageKind,
  b: RecordBatch,
  hopIndexOut?: number[],
): number {
  const f = fields.parse(bytes, kind);
  const spec = SPECS[kind];
  const n = f.count;
  if (n === 0) return 0;
  if (n > MAX_MESSAGE_ROWS)
    throw new WireError(`${kind} message: ${n} rows, more than ${MAX_MESSAGE_ROWS}`);
  growRecords(b, n);
  const base = b.count;
  const hopBase = b.hopTotal;
  let nHop: number;
  if (kind === 'records') {
    readColumn(bytes, kind, f, b, C_HOP_COUNT, base, n);
    nHop = 0;
    for (let i = 0; i < n; i++) {
      b.hopStart[base + i] = hopBase + nHop;
      nHop += b.hopCount[base + i];
    }
    if (nHop > MAX_MESSAGE_HOPS)
      throw new WireError(`${kind} message: ${nHop} hops, more than ${MAX_MESSAGE_HOPS}`);
  } else if (kind === 'queues') {
    nHop = n;
    for (let i = 0; i < n; i++) {
      b.hopStart[base + i] = hopBase + i;
      b.hopCount[base + i] = 1;
    }
  } else {
    nHop = 0;
    b.hopStart.fill(hopBase, base, base + n);
    b.hopCount.fill(0, base, base + n);
  }
  b.ensureHops(nHop);
  // Flags before the addresses that depend on them.
  const carried = CARRIED[kind];
  for (const c of ALL_REC_COLS) {
    if (c === C_HOP_COUNT) continue;
    if (!carried.has(c)) {
      const fill = c.missing ?? 0;
      if (c.kind === 'addr') colArr(b, c.col).fill(0, 4 * base, 4 * (base + n));
      else colArr(b, c.col).fill(fill, base, base + n);
      if (c.kind === 'time' || c.kind === 'f64') colArr(b, c.col2!).fill(0, base, base + n);
      continue;
    }
    if (c.kind !== 'addr') readColumn(bytes, kind, f, b, c, base, n);
  }
  for (const c of spec.rec) if (c.kind === 'addr') readColumn(bytes, kind, f, b, c, base, n);
  if (nHop > 0) {
    for (const c of HOP_COLS) readColumn(bytes, kind, f, b, c, hopBase, nHop);
    if (kind === 'records') {
      readColumn(bytes, kind, f, b, C_DS_COUNT, hopBase, nHop);
      let nDs = 0;
      for (let i = 0; i < nHop; i++) {
        b.dsStart[hopBase + i] = b.dsTotal + nDs;
        nDs += b.dsCount[hopBase + i];
      }
      if (nDs > MAX_MESSAGE_DS_WORDS)
        throw new WireError(
          `${kind} message: ${nDs} domain-specific words, more than ${MAX_MESSAGE_DS_WORDS}`,
        );
      b.ensureDs(nDs);
      readVarintCol(
        bytes,
        kind,
        { field: F_DS_WORDS, name: 'ds_words', kind: 'u', col: 'dsCount' },
        f.get(F_DS_WORDS),
        b.dsWords,
        b.dsTotal,
        nDs,
      );
      b.dsTotal += nDs;
    } else {
      b.dsCount.fill(0, hopBase, hopBase + nHop);
      b.dsStart.fill(b.dsTotal, hopBase, hopBase + nHop);
    }
  }
  if (kind === 'queues' && hopIndexOut) {
    const tmp = new Uint32Array(n);
    readVarintCol(
      bytes,
      kind,
      { field: F_HOP_INDEX, name: 'hop_index', kind: 'u', col: 'dsCount' },
      f.get(F_HOP_INDEX),
      tmp,
      0,
      n,
    );
    for (let i = 0; i < n; i++) hopIndexOut.push(tmp[i]);
  }
  if (kind === 'records') {
    for (const s of f.get(F_FINDINGS) ?? []) {
      if (s.wt !== WT_LEN) throw new WireError(`records message: findings has wire type ${s.wt}`);
      const r = new PbReader(bytes, s.start, s.end);
      let rec = 0;
      let fkind = '';
      let detail = '';
      while (r.pos < r.end) {
        const tag = r.varint();
        const seg: Segment = { wt: 0, start: 0, end: 0 };
        r.payload(tag & 7, seg);
        const fld = tag >>> 3;
        if (fld === 1) rec = new PbReader(bytes, seg.start, seg.end).varint();
        else if (fld === 2) fkind = textDecoder.decode(bytes.subarray(seg.start, seg.end));
        else if (fld === 3) detail = textDecoder.decode(bytes.subarray(seg.start, seg.end));
      }
      if (rec >= n) throw new WireError(`records message: finding for record ${rec} of ${n}`);
      b.findings.push({ record: base + rec, kind: fkind, detail });
    }
  }
  b.count = base + n;
  b.hopTotal = hopBase + nHop;
  return n;
}

/** Appends the records of a RecordsMessage to `into`; returns how many. */
export function decodeRecordsMessage(bytes: Uint8Array, into: RecordBatch): number {
  return decodeInto(bytes, 'records', into);
}

/**
 * Appends the samples of a QueueSamplesMessage to `into`, one 1-hop record per sample
 * (frame, time and flow of the sampled packet; header/report columns zero or -1). The
 * sample's position in its path is pushed to `hopIndex` when given.
 */
export function decodeQueuesMessage(
  bytes: Uint8Array,
  into: RecordBatch,
  hopIndex?: number[],
): number {
  return decodeInto(bytes, 'queues', into, hopIndex);
}

/** Appends the rows of a ReportsMessage to `into` as records without hops. */
export function decodeReportsMessage(bytes: Uint8Array, into: RecordBatch): number {
  return decodeInto(bytes, 'reports', into);
}

/**
 * Decodes by message kind. All or nothing: a message that fails to decode (WireError) leaves
 * `into` as it was, so the caller can skip it and keep the rest of its batch.
 */
export function decodeMessage(kind: MessageKind, bytes: Uint8Array, into: RecordBatch): number {
  const count = into.count;
  const hops = into.hopTotal;
  const ds = into.dsTotal;
  const findings = into.findings.length;
  try {
    return decodeInto(bytes, kind, into);
  } catch (e) {
    into.count = count;
    into.hopTotal = hops;
    into.dsTotal = ds;
    into.findings.length = findings;
    throw e instanceof WireError ? e : new WireError(`${kind} message: ${String(e)}`, { cause: e });
  }
}
