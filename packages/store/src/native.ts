/**
 * ClickHouse Native (columnar) encoding of `hops` and `paths` straight from a RecordBatch.
 *
 * Layout of one block as read by `FORMAT Native` over HTTP or `file(…, 'Native')` (no BlockInfo,
 * which only the TCP protocol / `client_protocol_version` adds): varint column count, varint row
 * count, then per column: string name, string type, data. Data of a fixed-width column = its
 * little-endian values back to back; Nullable(T) = one UInt8 null flag per row, then the T
 * column (values of null rows are written as 0); Array(T) = UInt64 cumulative end offsets per
 * row, then the flattened T column. Strings are varint length + bytes.
 *
 * Every insertBatch() appends one complete block per table to a growable buffer; a write sends
 * the concatenated blocks (a valid Native stream) at once. Per-hop columns are copies of the
 * batch's typed arrays (through reusable scratch arrays where a sentinel or a zero for NULL has
 * to be applied); per-record columns are computed once per record and expanded to the record's
 * hop rows. No per-row objects or strings.
 *
 * Length: one encoder per column type, written out for speed (no per-row dispatch); the column
 * lists come from the codec's bit table.
 */
import { endianness } from 'os';
import { HOP_COLUMN_NAMES, HopField, type RecordBatch } from '@hopwatch/codec';
import type { Capabilities } from './capabilities';
import { captureIdWords, flowHashWords, GrowBuf, type LedgerInput } from './rowbinary';
import { hopColumns, pathColumns, type ColumnSpec } from './schema';

if (endianness() !== 'LE')
  throw new Error('@hopwatch/store: Native encoding assumes a little-endian host');

const F_SWITCH_ID = HopField.SWITCH_ID;
const F_L1_PORTS = HopField.L1_PORTS;
const F_HOP_LATENCY = HopField.HOP_LATENCY;
const F_QUEUE = HopField.QUEUE;
const F_INGRESS_TS = HopField.INGRESS_TS;
const F_EGRESS_TS = HopField.EGRESS_TS;
const F_L2_PORTS = HopField.L2_PORTS;
const F_TX_UTIL = HopField.TX_UTIL;
const F_BUFFER = HopField.BUFFER;
const F_DROP_REASON = HopField.DROP_REASON;

/**
 * Number of hop rows when record r's hops are [hopStart[r], hopStart[r] + hopCount[r]) back to
 * back from 0 (what the decoder produces); -1 otherwise.
 */
function contiguousHops(b: RecordBatch): number {
  let k = 0;
  const n = b.count;
  const start = b.hopStart;
  const cnt = b.hopCount;
  for (let r = 0; r < n; r++) {
    if (start[r] !== k) return -1;
    k += cnt[r];
  }
  return k <= b.hopTotal ? k : -1;
}

/** A view of `b` whose hops are contiguous in record order (rare path: allocates). */
function compactHops(b: RecordBatch): RecordBatch {
  const c = Object.create(b) as RecordBatch;
  const n = b.count;
  const start = new Uint32Array(n);
  let k = 0;
  for (let r = 0; r < n; r++) {
    start[r] = k;
    k += b.hopCount[r];
  }
  const cw = c as unknown as Record<string, unknown>;
  const cols = b as unknown as Record<string, Uint32Array>;
  // every per-hop column of RecordBatch
  for (const f of HOP_COLUMN_NAMES) {
    const src = cols[f];
    const dst = new (src.constructor as Uint32ArrayConstructor)(Math.max(k, 1));
    for (let r = 0; r < n; r++) {
      const s = b.hopStart[r];
      const d = start[r];
      for (let i = 0, m = b.hopCount[r]; i < m; i++) dst[d + i] = src[s + i];
    }
    cw[f] = dst;
  }
  cw.hopStart = start;
  cw.hopTotal = k;
  return c;
}

/** Reusable scratch columns, grown on demand (never shrunk). */
class Scratch {
  private recCap = 0;
  private hopCap = 0;
  // per record
  time!: Uint32Array; // ns lo, hi
  src!: Uint32Array; // 4 words, bytes in network order in memory
  dst!: Uint32Array;
  sport!: Uint16Array;
  dport!: Uint16Array;
  proto!: Uint8Array;
  hash!: Uint32Array; // lo, hi
  frame!: Uint32Array; // lo, hi
  nodeNull!: Uint8Array;
  node!: Uint32Array;
  ver!: Int8Array;
  enc!: Int8Array;
  cnt8!: Uint8Array;
  offsets!: Uint32Array; // UInt64 lo, hi
  e2eNull!: Uint8Array;
  e2e!: Uint32Array; // lo, hi
  seqNull!: Uint8Array;
  seq!: Uint32Array;
  hwNull!: Uint8Array;
  hw!: Uint8Array;
  findings!: Uint16Array;
  kpart!: Uint16Array;
  koff!: Uint32Array; // lo, hi
  // capture_id (lo, hi) and capture_write: one value per batch, over max(records, hops) rows
  private capCap = 0;
  capFilled = 0;
  capWriteFilled = 0;
  capId = new Uint32Array(0);
  capWrite = new Uint32Array(0);
  // per hop
  sw!: Uint32Array;
  u32!: Uint32Array;
  u64!: Uint32Array;
  u16!: Uint16Array;
  u8!: Uint8Array;
  nulls!: Uint8Array;
  h128!: Uint32Array;

  records(n: number): void {
    if (n <= this.recCap) return;
    const c = Math.max(n, this.recCap * 2, 1024);
    this.recCap = c;
    this.time = new Uint32Array(2 * c);
    this.src = new Uint32Array(4 * c);
    this.dst = new Uint32Array(4 * c);
    this.sport = new Uint16Array(c);
    this.dport = new Uint16Array(c);
    this.proto = new Uint8Array(c);
    this.hash = new Uint32Array(2 * c);
    this.frame = new Uint32Array(2 * c);
    this.nodeNull = new Uint8Array(c);
    this.node = new Uint32Array(c);
    this.ver = new Int8Array(c);
    this.enc = new Int8Array(c);
    this.cnt8 = new Uint8Array(c);
    this.offsets = new Uint32Array(2 * c);
    this.e2eNull = new Uint8Array(c);
    this.e2e = new Uint32Array(2 * c);
    this.seqNull = new Uint8Array(c);
    this.seq = new Uint32Array(c);
    this.hwNull = new Uint8Array(c);
    this.hw = new Uint8Array(c);
    this.findings = new Uint16Array(c);
    this.kpart = new Uint16Array(c);
    this.koff = new Uint32Array(2 * c);
  }

  constants(rows: number): void {
    if (rows <= this.capCap) return;
    const c = Math.max(rows, this.capCap * 2, 4096);
    this.capCap = c;
    this.capId = new Uint32Array(2 * c);
    this.capWrite = new Uint32Array(c);
    this.capFilled = 0;
    this.capWriteFilled = 0;
  }

  hops(h: number): void {
    if (h <= this.hopCap) return;
    const c = Math.max(h, this.hopCap * 2, 4096);
    this.hopCap = c;
    this.sw = new Uint32Array(c);
    this.u32 = new Uint32Array(c);
    this.u64 = new Uint32Array(2 * c);
    this.u16 = new Uint16Array(c);
    this.u8 = new Uint8Array(c);
    this.nulls = new Uint8Array(c);
    this.h128 = new Uint32Array(4 * c);
  }
}

/** Pre-encoded `name` + `type` strings of one column. */
function header(col: ColumnSpec): Buffer {
  const name = Buffer.from(col.name, 'utf8');
  const type = Buffer.from(col.type, 'utf8');
  const out = Buffer.allocUnsafe(name.length + type.length + 10);
  let o = varint(out, 0, name.length);
  o += name.copy(out, o);
  o = varint(out, o, type.length);
  o += type.copy(out, o);
  return out.subarray(0, o);
}

function varint(buf: Uint8Array, o: number, v: number): number {
  while (v >= 0x80) {
    buf[o++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[o++] = v;
  return o;
}

/** Appends raw bytes of a typed array (first `bytes` bytes). */
function putView(g: GrowBuf, a: ArrayBufferView, bytes: number): void {
  g.buf.set(new Uint8Array(a.buffer, a.byteOffset, bytes), g.len);
  g.len += bytes;
}

function bswap(w: number): number {
  return ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24);
}

/** Bit position of a one-bit HopField mask. */
const bit = (mask: number): number => 31 - Math.clz32(mask);
/** A present bit that is never set (bit 15 is unused): "no forbidden field". */
const NONE = 15;

/**
 * Null map + values (0 where null) of a Nullable(UInt32) hop column: present when bit `need`
 * of the presence word is set and bit `forbid` is not. Branch-free.
 */
function nullableU32(
  present: Uint16Array,
  src: Uint32Array,
  need: number,
  forbid: number,
  h: number,
  nulls: Uint8Array,
  out: Uint32Array,
): void {
  for (let k = 0; k < h; k++) {
    const p = present[k];
    const ok = (p >>> need) & ~(p >>> forbid) & 1;
    nulls[k] = ok ^ 1;
    out[k] = src[k] & -ok;
  }
}

function nullableU8(
  present: Uint16Array,
  src: Uint8Array,
  need: number,
  h: number,
  nulls: Uint8Array,
  out: Uint8Array,
): void {
  for (let k = 0; k < h; k++) {
    const ok = (present[k] >>> need) & 1;
    nulls[k] = ok ^ 1;
    out[k] = src[k] & -ok;
  }
}

function nullableU64(
  present: Uint16Array,
  hi: Uint32Array,
  lo: Uint32Array,
  need: number,
  h: number,
  nulls: Uint8Array,
  out: Uint32Array,
): void {
  for (let k = 0; k < h; k++) {
    const ok = (present[k] >>> need) & 1;
    const m = -ok;
    nulls[k] = ok ^ 1;
    out[2 * k] = lo[k] & m;
    out[2 * k + 1] = hi[k] & m;
  }
}

/** A per-hop column whose value is `src[k]` when `need` ⊆ present[k], else `sentinel`. */
function sentinelU32(
  present: Uint16Array,
  src: Uint32Array,
  need: number,
  h: number,
  out: Uint32Array,
): void {
  // branch-free: ok ? v : 0xffffffff == v | (ok - 1)
  for (let k = 0; k < h; k++) out[k] = src[k] | (((present[k] >>> need) & 1) - 1);
}

/** Expands a per-record column of `w` 32-bit words to the records' hop rows. */
function expandWords(
  rec: Uint32Array,
  w: number,
  cnt: Uint16Array,
  n: number,
  out: Uint32Array,
): void {
  let o = 0;
  if (w === 1) {
    for (let r = 0; r < n; r++) {
      const v = rec[r];
      for (let i = cnt[r]; i > 0; i--) out[o++] = v;
    }
  } else if (w === 2) {
    for (let r = 0; r < n; r++) {
      const a = rec[2 * r];
      const b = rec[2 * r + 1];
      for (let i = cnt[r]; i > 0; i--) {
        out[o] = a;
        out[o + 1] = b;
        o += 2;
      }
    }
  } else {
    for (let r = 0; r < n; r++) {
      const a = rec[4 * r];
      const b = rec[4 * r + 1];
      const c = rec[4 * r + 2];
      const d = rec[4 * r + 3];
      for (let i = cnt[r]; i > 0; i--) {
        out[o] = a;
        out[o + 1] = b;
        out[o + 2] = c;
        out[o + 3] = d;
        o += 4;
      }
    }
  }
}

function expand16(rec: Uint16Array, cnt: Uint16Array, n: number, out: Uint16Array): void {
  let o = 0;
  for (let r = 0; r < n; r++) {
    const v = rec[r];
    for (let i = cnt[r]; i > 0; i--) out[o++] = v;
  }
}

function expand8(rec: Uint8Array | Int8Array, cnt: Uint16Array, n: number, out: Uint8Array): void {
  let o = 0;
  for (let r = 0; r < n; r++) {
    const v = rec[r];
    for (let i = cnt[r]; i > 0; i--) out[o++] = v;
  }
}

/** Enum8 code tables: index = RecordBatch code, value = enum value (see schema.ts). */
const VERSION_CODE = new Int8Array(256); // 0 = '' (unknown / no INT header) … 4 = '2.1'
for (let i = 1; i <= 4; i++) VERSION_CODE[i] = i;
const ENCAP_CODE = new Int8Array(256).fill(-1); // -1 = '' (unknown)
for (let i = 0; i < 12; i++) ENCAP_CODE[i] = i;

const hashScratch = new Uint32Array(2);
const captureScratch = new Uint32Array(2);

export interface NativeEncodeResult {
  hopRows: number;
  pathRows: number;
}

/**
 * Encodes RecordBatches as Native blocks of `hops` and `paths` (column order and types =
 * hopColumns() / pathColumns()). Not thread-safe; one per store.
 */
export class NativeEncoder {
  private readonly legacy: boolean;
  private readonly hopHdr: Buffer[];
  private readonly pathHdr: Buffer[];
  private readonly hopCount: number;
  private readonly pathCount: number;
  private readonly s = new Scratch();

  constructor(caps: Pick<Capabilities, 'dateTime64' | 'ipv6Type' | 'lowCardinality'>) {
    this.legacy = !caps.dateTime64;
    const hc = hopColumns(caps as Capabilities);
    const pc = pathColumns(caps as Capabilities);
    this.hopHdr = hc.map(header);
    this.pathHdr = pc.map(header);
    this.hopCount = hc.length;
    this.pathCount = pc.length;
  }

  /** Appends one `hops` block and one `paths` block to the buffers. */
  encode(
    batch: RecordBatch,
    hops: GrowBuf,
    paths: GrowBuf,
    ledger?: LedgerInput,
  ): NativeEncodeResult {
    let b = batch;
    const n = b.count;
    if (n === 0) return { hopRows: 0, pathRows: 0 };
    let H = contiguousHops(b);
    if (H < 0) {
      b = compactHops(b);
      H = b.hopTotal;
    }
    const s = this.s;
    s.records(n);
    s.hops(H);
    this.perRecord(b, n);
    this.ledger(n, H, ledger);
    const doHops = ledger?.hops !== false && H > 0;
    const doPaths = ledger?.paths !== false;
    // switch ids with the sentinel: hops.switch_id and the data of paths.path
    sentinelU32(b.present, b.switchId, bit(F_SWITCH_ID), H, s.sw);
    if (doPaths) this.writePaths(b, n, H, paths);
    if (doHops) this.writeHops(b, n, H, hops);
    const hopRows = doHops ? H : 0;
    const pathRows = doPaths ? n : 0;
    hops.rows += hopRows;
    paths.rows += pathRows;
    return { hopRows, pathRows };
  }

  /**
   * kafka_partition / kafka_offset per record (0 without a ledger); capture_id /
   * capture_write, one value for the whole batch, in `capId` / `capWrite` over max(n, H) rows
   * (the hop columns use them as they are: no per-record expansion needed).
   */
  private ledger(n: number, H: number, l?: LedgerInput): void {
    const s = this.s;
    captureIdWords(l, captureScratch);
    const rows = n > H ? n : H;
    s.constants(rows);
    const cap = s.capId;
    const lo = captureScratch[0];
    const hi = captureScratch[1];
    // refilled only when the value changes (one replay: one capture, one write per 500k rows)
    if (s.capFilled < rows || cap[0] !== lo || cap[1] !== hi) {
      for (let k = 0; k < rows; k++) {
        cap[2 * k] = lo;
        cap[2 * k + 1] = hi;
      }
      s.capFilled = rows;
    }
    const w = l?.captureWrite ?? 0;
    if (s.capWriteFilled < rows || s.capWrite[0] !== w) {
      s.capWrite.fill(w, 0, rows);
      s.capWriteFilled = rows;
    }
    const p = l?.partition;
    const o = l?.offset;
    if (typeof p === 'number' || p === undefined) s.kpart.fill(p ?? 0, 0, n);
    else s.kpart.set(p.subarray(0, n));
    for (let r = 0; r < n; r++) {
      const v = o === undefined ? 0 : typeof o === 'number' ? o : o[r];
      const hi = Math.floor(v / 4294967296);
      s.koff[2 * r] = v - hi * 4294967296;
      s.koff[2 * r + 1] = hi;
    }
  }

  private perRecord(b: RecordBatch, n: number): void {
    const s = this.s;
    const findings = s.findings;
    findings.fill(0, 0, n);
    for (const f of b.findings)
      if (f.record < n && findings[f.record] < 0xffff) findings[f.record]++;
    const { tsSec, tsNsec, hasFlow, flowV6, srcAddr, dstAddr, hopCount, present, hopLatency } = b;
    let start = 0;
    for (let r = 0; r < n; r++) {
      // ns since the epoch, exact without BigInt (see rowbinary.ts putNs)
      const sec = tsSec[r];
      const a = (sec >>> 16) * 1e9;
      const bLow = (sec & 0xffff) * 1e9 + tsNsec[r];
      const aHi = Math.floor(a / 65536);
      const aLo = (a - aHi * 65536) * 65536;
      const bHi = Math.floor(bLow / 4294967296);
      let lo = aLo + bLow - bHi * 4294967296;
      let hi = aHi + bHi;
      if (lo >= 4294967296) {
        lo -= 4294967296;
        hi += 1;
      }
      s.time[2 * r] = lo;
      s.time[2 * r + 1] = hi;

      const at = 4 * r;
      if (hasFlow[r] !== 1) {
        s.src[at] = s.src[at + 1] = s.src[at + 2] = s.src[at + 3] = 0;
        s.dst[at] = s.dst[at + 1] = s.dst[at + 2] = s.dst[at + 3] = 0;
        s.sport[r] = 0;
        s.dport[r] = 0;
        s.proto[r] = 0;
      } else {
        if (flowV6[r] === 1) {
          s.src[at] = bswap(srcAddr[at]);
          s.src[at + 1] = bswap(srcAddr[at + 1]);
          s.src[at + 2] = bswap(srcAddr[at + 2]);
          s.src[at + 3] = bswap(srcAddr[at + 3]);
          s.dst[at] = bswap(dstAddr[at]);
          s.dst[at + 1] = bswap(dstAddr[at + 1]);
          s.dst[at + 2] = bswap(dstAddr[at + 2]);
          s.dst[at + 3] = bswap(dstAddr[at + 3]);
        } else {
          // ::ffff:a.b.c.d → bytes 00×10 ff ff a b c d
          s.src[at] = s.src[at + 1] = 0;
          s.src[at + 2] = 0xffff0000;
          s.src[at + 3] = bswap(srcAddr[at + 3]);
          s.dst[at] = s.dst[at + 1] = 0;
          s.dst[at + 2] = 0xffff0000;
          s.dst[at + 3] = bswap(dstAddr[at + 3]);
        }
        s.sport[r] = b.srcPort[r];
        s.dport[r] = b.dstPort[r];
        s.proto[r] = b.protocol[r];
      }
      flowHashWords(b, r, hashScratch);
      s.hash[2 * r] = hashScratch[1];
      s.hash[2 * r + 1] = hashScratch[0];
      s.frame[2 * r] = b.frame[r];
      s.frame[2 * r + 1] = 0;
      const hasReport = b.reportVersion[r] !== 0;
      const hasNode = hasReport && b.hasNodeId[r] === 1;
      s.nodeNull[r] = hasNode ? 0 : 1;
      s.node[r] = hasNode ? b.nodeId[r] : 0;
      s.seqNull[r] = hasReport ? 0 : 1;
      s.seq[r] = hasReport ? b.sequence[r] : 0;
      s.hwNull[r] = hasReport ? 0 : 1;
      s.hw[r] = hasReport ? b.hwId[r] : 0;
      s.ver[r] = VERSION_CODE[b.intVersion[r]];
      s.enc[r] = ENCAP_CODE[b.encap[r]];
      const cnt = hopCount[r];
      s.cnt8[r] = cnt > 255 ? 255 : cnt;
      const end = start + cnt;
      s.offsets[2 * r] = end;
      s.offsets[2 * r + 1] = 0;
      // e2e latency: sum of hop latencies when every hop has one (< 2^48: exact)
      let e2e = 0;
      let ok = cnt > 0;
      for (let h = start; h < end; h++) {
        if (present[h] & F_HOP_LATENCY) e2e += hopLatency[h];
        else ok = false;
      }
      if (ok) {
        const eh = Math.floor(e2e / 4294967296);
        s.e2eNull[r] = 0;
        s.e2e[2 * r] = e2e - eh * 4294967296;
        s.e2e[2 * r + 1] = eh;
      } else {
        s.e2eNull[r] = 1;
        s.e2e[2 * r] = 0;
        s.e2e[2 * r + 1] = 0;
      }
      start = end;
    }
  }

  private writePaths(b: RecordBatch, n: number, H: number, g: GrowBuf): void {
    const s = this.s;
    g.ensure(this.pathHdr.reduce((x, h) => x + h.length, 0) + 20 + n * 140 + H * 4);
    g.len = varint(g.buf, g.len, this.pathCount);
    g.len = varint(g.buf, g.len, n);
    const hdr = this.pathHdr;
    let c = 0;
    const col = (): void => {
      const h = hdr[c++];
      h.copy(g.buf, g.len);
      g.len += h.length;
    };
    // time
    col();
    putView(g, s.time, 8 * n);
    if (this.legacy) {
      col();
      putView(g, b.tsSec, 4 * n);
    }
    // flow
    col();
    putView(g, s.src, 16 * n);
    col();
    putView(g, s.dst, 16 * n);
    col();
    putView(g, s.sport, 2 * n);
    col();
    putView(g, s.dport, 2 * n);
    col();
    putView(g, s.proto, n);
    col();
    putView(g, s.hash, 8 * n);
    // frame
    col();
    putView(g, s.frame, 8 * n);
    // path: offsets + data
    col();
    putView(g, s.offsets, 8 * n);
    putView(g, s.sw, 4 * H);
    // hop_count
    col();
    putView(g, s.cnt8, n);
    // e2e_latency
    col();
    putView(g, s.e2eNull, n);
    putView(g, s.e2e, 8 * n);
    // report_seq, report_node, report_hw_id
    col();
    putView(g, s.seqNull, n);
    putView(g, s.seq, 4 * n);
    col();
    putView(g, s.nodeNull, n);
    putView(g, s.node, 4 * n);
    col();
    putView(g, s.hwNull, n);
    putView(g, s.hw, n);
    // int_version, encapsulation, findings
    col();
    putView(g, s.ver, n);
    col();
    putView(g, s.enc, n);
    col();
    putView(g, s.findings, 2 * n);
    // kafka_partition, kafka_offset
    col();
    putView(g, s.kpart, 2 * n);
    col();
    putView(g, s.koff, 8 * n);
    // capture_id, capture_write
    col();
    putView(g, s.capId, 8 * n);
    col();
    putView(g, s.capWrite, 4 * n);
    if (c !== hdr.length) throw new Error(`paths: wrote ${c} of ${hdr.length} columns`);
  }

  private writeHops(b: RecordBatch, n: number, H: number, g: GrowBuf): void {
    const s = this.s;
    const present = b.present;
    const cnt = b.hopCount;
    g.ensure(this.hopHdr.reduce((x, h) => x + h.length, 0) + 20 + H * 182);
    g.len = varint(g.buf, g.len, this.hopCount);
    g.len = varint(g.buf, g.len, H);
    const hdr = this.hopHdr;
    let c = 0;
    const col = (): void => {
      const h = hdr[c++];
      h.copy(g.buf, g.len);
      g.len += h.length;
    };
    // time (legacy: time_ns UInt64, time DateTime)
    col();
    expandWords(s.time, 2, cnt, n, s.u64);
    putView(g, s.u64, 8 * H);
    if (this.legacy) {
      col();
      expandWords(b.tsSec, 1, cnt, n, s.u32);
      putView(g, s.u32, 4 * H);
    }
    // switch_id
    col();
    putView(g, s.sw, 4 * H);
    // hop_index, hop_count
    col();
    {
      const u8 = s.u8;
      let o = 0;
      for (let r = 0; r < n; r++) {
        const m = cnt[r];
        for (let i = 0; i < m; i++) u8[o++] = i > 255 ? 255 : i;
      }
      putView(g, u8, H);
    }
    col();
    expand8(s.cnt8, cnt, n, s.u8);
    putView(g, s.u8, H);
    // ingress_port, egress_port, queue_id (sentinels)
    col();
    sentinelU32(present, b.ingressPort, bit(F_L1_PORTS), H, s.u32);
    putView(g, s.u32, 4 * H);
    col();
    sentinelU32(present, b.egressPort, bit(F_L1_PORTS), H, s.u32);
    putView(g, s.u32, 4 * H);
    col();
    {
      const q = b.queueId;
      const u16 = s.u16;
      const qb = bit(F_QUEUE);
      for (let k = 0; k < H; k++) u16[k] = q[k] | (((present[k] >>> qb) & 1) - 1);
      putView(g, u16, 2 * H);
    }
    // Nullable(UInt32) / (UInt64) / (UInt8) hop fields
    const nu32 = (src: Uint32Array, need: number, forbid = 0): void => {
      col();
      nullableU32(present, src, bit(need), forbid ? bit(forbid) : NONE, H, s.nulls, s.u32);
      putView(g, s.nulls, H);
      putView(g, s.u32, 4 * H);
    };
    const nu64 = (hi: Uint32Array, lo: Uint32Array, need: number): void => {
      col();
      nullableU64(present, hi, lo, bit(need), H, s.nulls, s.u64);
      putView(g, s.nulls, H);
      putView(g, s.u64, 8 * H);
    };
    const nu8 = (src: Uint8Array, need: number): void => {
      col();
      nullableU8(present, src, bit(need), H, s.nulls, s.u8);
      putView(g, s.nulls, H);
      putView(g, s.u8, H);
    };
    nu32(b.hopLatency, F_HOP_LATENCY);
    nu32(b.queueOccupancy, F_QUEUE, F_DROP_REASON);
    nu64(b.ingressTsHi, b.ingressTsLo, F_INGRESS_TS);
    nu64(b.egressTsHi, b.egressTsLo, F_EGRESS_TS);
    nu32(b.l2IngressPort, F_L2_PORTS);
    nu32(b.l2EgressPort, F_L2_PORTS);
    nu32(b.txUtil, F_TX_UTIL);
    nu8(b.bufferId, F_BUFFER);
    nu32(b.bufferOccupancy, F_BUFFER);
    nu8(b.hopDropReason, F_DROP_REASON);
    // present
    col();
    putView(g, present, 2 * H);
    // flow
    col();
    expandWords(s.src, 4, cnt, n, s.h128);
    putView(g, s.h128, 16 * H);
    col();
    expandWords(s.dst, 4, cnt, n, s.h128);
    putView(g, s.h128, 16 * H);
    col();
    expand16(s.sport, cnt, n, s.u16);
    putView(g, s.u16, 2 * H);
    col();
    expand16(s.dport, cnt, n, s.u16);
    putView(g, s.u16, 2 * H);
    col();
    expand8(s.proto, cnt, n, s.u8);
    putView(g, s.u8, H);
    col();
    expandWords(s.hash, 2, cnt, n, s.u64);
    putView(g, s.u64, 8 * H);
    // frame
    col();
    expandWords(s.frame, 2, cnt, n, s.u64);
    putView(g, s.u64, 8 * H);
    // report_node
    col();
    expand8(s.nodeNull, cnt, n, s.nulls);
    putView(g, s.nulls, H);
    expandWords(s.node, 1, cnt, n, s.u32);
    putView(g, s.u32, 4 * H);
    // int_version, encapsulation (Enum8)
    col();
    expand8(s.ver, cnt, n, s.u8);
    putView(g, s.u8, H);
    col();
    expand8(s.enc, cnt, n, s.u8);
    putView(g, s.u8, H);
    // origin Enum8('stack' = 0, 'report' = 1)
    col();
    {
      const u8 = s.u8;
      const origin = b.origin;
      for (let k = 0; k < H; k++) u8[k] = origin[k] === 1 ? 1 : 0;
      putView(g, u8, H);
    }
    // kafka_partition, kafka_offset
    col();
    expand16(s.kpart, cnt, n, s.u16);
    putView(g, s.u16, 2 * H);
    col();
    expandWords(s.koff, 2, cnt, n, s.u64);
    putView(g, s.u64, 8 * H);
    // capture_id, capture_write
    col();
    putView(g, s.capId, 8 * H);
    col();
    putView(g, s.capWrite, 4 * H);
    if (c !== hdr.length) throw new Error(`hops: wrote ${c} of ${hdr.length} columns`);
  }
}
