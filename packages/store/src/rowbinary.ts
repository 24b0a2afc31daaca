/**
 * RowBinary encoding of `hops` and `paths` rows straight from a RecordBatch's typed arrays: no
 * per-row objects, no JSON. Column order = schema.ts hopColumns() / pathColumns().
 */
import { ENCAPSULATIONS, HopField, INT_VERSION_NAMES, type RecordBatch } from '@hopwatch/codec';
import type { Capabilities } from './capabilities';

/** Growable byte buffer. */
export class GrowBuf {
  buf: Buffer;
  len = 0;
  rows = 0;
  constructor(initial = 1 << 20) {
    this.buf = Buffer.allocUnsafe(initial);
  }
  ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const nb = Buffer.allocUnsafe(cap);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }
  /** The encoded bytes (a view; valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }
  reset(): void {
    this.len = 0;
    this.rows = 0;
  }
}

// Hoisted: a re-exported binding is a getter call on every access in CommonJS output.
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

const SENTINEL32 = 0xffffffff;
const SENTINEL16 = 0xffff;

/** Max bytes of one hop row (excluding the per-record block, added separately). */
const HOP_FIXED_MAX = 12 + 4 + 1 + 1 + 4 + 4 + 2 + 5 + 5 + 9 + 9 + 5 + 5 + 5 + 2 + 5 + 2 + 2 + 1;
/** Max bytes of the per-record flow..encapsulation block. */
const REC_BLOCK_MAX = 16 + 16 + 2 + 2 + 1 + 8 + 8 + 5 + 1 + 8 + 1 + 16;

/** Enum8 values of int_version / encapsulation (schema.ts): the codes; '' = 0 / -1. */
const verCode = (v: number): number => (v > 0 && v < INT_VERSION_NAMES.length ? v : 0);
const encCode = (v: number): number => (v < ENCAPSULATIONS.length ? v : 0xff);

// Byte stores: faster than Buffer#writeUInt32LE (no argument checks) for our tight loops.
function w32(buf: Uint8Array, o: number, v: number): void {
  buf[o] = v;
  buf[o + 1] = v >>> 8;
  buf[o + 2] = v >>> 16;
  buf[o + 3] = v >>> 24;
}
function w16(buf: Uint8Array, o: number, v: number): void {
  buf[o] = v;
  buf[o + 1] = v >>> 8;
}
function w32be(buf: Uint8Array, o: number, v: number): void {
  buf[o] = v >>> 24;
  buf[o + 1] = v >>> 16;
  buf[o + 2] = v >>> 8;
  buf[o + 3] = v;
}

function varint(buf: Buffer, o: number, v: number): number {
  while (v >= 0x80) {
    buf[o++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[o++] = v;
  return o;
}

/** Writes an IPv4-mapped / IPv6 address (network byte order) from 4 words. */
function putAddr(
  buf: Buffer,
  o: number,
  words: Uint32Array,
  at: number,
  v6: boolean,
  has: boolean,
): number {
  if (!has) {
    buf.fill(0, o, o + 16);
    return o + 16;
  }
  if (v6) {
    w32be(buf, o, words[at]);
    w32be(buf, o + 4, words[at + 1]);
    w32be(buf, o + 8, words[at + 2]);
    w32be(buf, o + 12, words[at + 3]);
  } else {
    buf.fill(0, o, o + 10);
    buf[o + 10] = 0xff;
    buf[o + 11] = 0xff;
    w32be(buf, o + 12, words[at + 3]);
  }
  return o + 16;
}

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * flow_hash: 64 bits = two murmur3-style 32-bit hashes (different seeds) over the 5-tuple words
 * (src[4], dst[4], srcPort<<16|dstPort, protocol). IPv4 addresses hash as their mapped form
 * words (0, 0, 0xffff, v4). 0 when the record has no flow.
 */
export function flowHashWords(b: RecordBatch, r: number, out: Uint32Array): void {
  if (!b.hasFlow[r]) {
    out[0] = 0;
    out[1] = 0;
    return;
  }
  const v6 = b.flowV6[r] === 1;
  let h1 = 0x9747b28c | 0;
  let h2 = 0x5bd1e995 | 0;
  const at = r * 4;
  for (let i = 0; i < 4; i++) {
    const w = v6 ? b.srcAddr[at + i] : i === 2 ? 0xffff : i === 3 ? b.srcAddr[at + 3] : 0;
    h1 = mix(h1, w);
    h2 = mix(h2, w ^ 0x2545f491);
  }
  for (let i = 0; i < 4; i++) {
    const w = v6 ? b.dstAddr[at + i] : i === 2 ? 0xffff : i === 3 ? b.dstAddr[at + 3] : 0;
    h1 = mix(h1, w);
    h2 = mix(h2, w ^ 0x2545f491);
  }
  const pp = (b.srcPort[r] << 16) | b.dstPort[r] | 0;
  h1 = mix(h1, pp);
  h2 = mix(h2, pp ^ 0x2545f491);
  h1 = mix(h1, b.protocol[r]);
  h2 = mix(h2, b.protocol[r] ^ 0x2545f491);
  out[0] = fmix(h1 ^ 37); // hi
  out[1] = fmix(h2 ^ 37); // lo
}

/** Writes ns since the epoch (sec, nsec) as a little-endian 64-bit integer. Exact without BigInt. */
function putNs(buf: Buffer, o: number, sec: number, nsec: number): void {
  const a = (sec >>> 16) * 1e9; // < 2^46, contributes a * 2^16
  const bLow = (sec & 0xffff) * 1e9 + nsec; // < 2^47
  // a * 2^16 = (floor(a / 2^16)) * 2^32 + (a mod 2^16) * 2^16
  const aHi = Math.floor(a / 65536);
  const aLo = (a - aHi * 65536) * 65536;
  const bHi = Math.floor(bLow / 4294967296);
  const bLo = bLow - bHi * 4294967296;
  let lo = aLo + bLo;
  let hi = aHi + bHi;
  if (lo >= 4294967296) {
    lo -= 4294967296;
    hi += 1;
  }
  w32(buf, o, lo);
  w32(buf, o + 4, hi >>> 0);
}

/** Time prefix: modern = DateTime64(9) (8 bytes); legacy = UInt64 ns + DateTime (12 bytes). */
function putTime(buf: Buffer, o: number, sec: number, nsec: number, legacy: boolean): number {
  putNs(buf, o, sec, nsec);
  if (!legacy) return o + 8;
  w32(buf, o + 8, sec >>> 0);
  return o + 12;
}

function putNullU32(buf: Buffer, o: number, has: boolean, v: number): number {
  if (!has) {
    buf[o] = 1;
    return o + 1;
  }
  buf[o] = 0;
  w32(buf, o + 1, v >>> 0);
  return o + 5;
}

/** Kafka origin of a batch's rows (the offset ledger) and the tables to write. */
export interface LedgerInput {
  /** One partition for the whole batch, or one per record. */
  partition?: number | Uint16Array;
  /** One offset for the whole batch, or one per record (integers below 2^53). */
  offset?: number | Float64Array;
  /** Write `hops` rows (default true). */
  hops?: boolean;
  /** Write `paths` rows (default true). */
  paths?: boolean;
  /** Capture ledger: the identity of the capture the rows came from (`capture_id`; 0 = none). */
  captureId?: bigint;
  /** Capture ledger: the store write the rows go out in (`capture_write`; set by the store). */
  captureWrite?: number;
}

/** `captureId` as [lo, hi] 32-bit words (0n when absent), into `out`. */
export function captureIdWords(l: LedgerInput | undefined, out: Uint32Array): void {
  const id = l?.captureId ?? 0n;
  out[0] = Number(id & 0xffffffffn);
  out[1] = Number((id >> 32n) & 0xffffffffn);
}

export interface EncodeResult {
  hopRows: number;
  pathRows: number;
}

const flowScratch = new Uint32Array(2);
const captureScratch = new Uint32Array(2);

/**
 * Appends all records of `b` to `hops` and `paths` (RowBinary). Returns the row counts.
 */
export function encodeBatch(
  b: RecordBatch,
  caps: Capabilities,
  hops: GrowBuf,
  paths: GrowBuf,
  ledger?: LedgerInput,
): EncodeResult {
  const doHops = ledger?.hops !== false;
  const doPaths = ledger?.paths !== false;
  const lp = ledger?.partition;
  const lo = ledger?.offset;
  const legacy = !caps.dateTime64;
  captureIdWords(ledger, captureScratch);
  const capLo = captureScratch[0];
  const capHi = captureScratch[1];
  const capWrite = ledger?.captureWrite ?? 0;
  const n = b.count;
  let findings: Uint16Array | null = null;
  if (b.findings.length) {
    findings = new Uint16Array(n);
    for (const f of b.findings)
      if (f.record < n && findings[f.record] < 0xffff) findings[f.record]++;
  }
  // + 22: the ledger columns (kafka_partition, kafka_offset, capture_id, capture_write)
  hops.ensure(b.hopTotal * (HOP_FIXED_MAX + REC_BLOCK_MAX + 22) + 64);
  paths.ensure(n * (12 + REC_BLOCK_MAX + 64 + 22) + b.hopTotal * 4 + 64);
  const rec = Buffer.allocUnsafe(REC_BLOCK_MAX + 16);
  const hb = hops.buf;
  const pb = paths.buf;
  let ho = hops.len;
  let po = paths.len;
  let hopRows = 0;
  const present = b.present;

  for (let r = 0; r < n; r++) {
    const sec = b.tsSec[r];
    const nsec = b.tsNsec[r];
    const hasFlow = b.hasFlow[r] === 1;
    const v6 = b.flowV6[r] === 1;
    const hasReport = b.reportVersion[r] !== 0;
    const hasNode = hasReport && b.hasNodeId[r] === 1;
    const ver = verCode(b.intVersion[r]);
    const encap = encCode(b.encap[r]);
    flowHashWords(b, r, flowScratch);

    // per-record block: src_addr dst_addr src_port dst_port protocol flow_hash | frame report_node int_version encapsulation
    let ro = 0;
    ro = putAddr(rec, ro, b.srcAddr, r * 4, v6, hasFlow);
    ro = putAddr(rec, ro, b.dstAddr, r * 4, v6, hasFlow);
    w16(rec, ro, hasFlow ? b.srcPort[r] : 0);
    w16(rec, ro + 2, hasFlow ? b.dstPort[r] : 0);
    rec[ro + 4] = hasFlow ? b.protocol[r] : 0;
    w32(rec, ro + 5, flowScratch[1]);
    w32(rec, ro + 9, flowScratch[0]);
    ro += 13;
    const flowEnd = ro;
    w32(rec, ro, b.frame[r]);
    w32(rec, ro + 4, 0);
    ro += 8;
    ro = putNullU32(rec, ro, hasNode, b.nodeId[r]);
    rec[ro++] = ver;
    rec[ro++] = encap;
    // ledgers (last columns of both tables): kafka_partition UInt16, kafka_offset UInt64, then
    // capture_id UInt64, capture_write UInt32 (one value per batch: capLo/capHi/capWrite)
    const kp = lp === undefined ? 0 : typeof lp === 'number' ? lp : lp[r];
    const ko = lo === undefined ? 0 : typeof lo === 'number' ? lo : lo[r];
    const koHi = Math.floor(ko / 4294967296);
    const koLo = ko - koHi * 4294967296;
    const recLen = ro;

    const start = b.hopStart[r];
    const cnt = b.hopCount[r];
    const cnt8 = cnt > 255 ? 255 : cnt;
    let e2e = 0;
    let e2eOk = cnt > 0;

    for (let i = 0; i < cnt; i++) {
      const h = start + i;
      const p = present[h];
      if (!doHops) {
        if (p & F_HOP_LATENCY) e2e += b.hopLatency[h];
        else e2eOk = false;
        continue;
      }
      ho = putTime(hb, ho, sec, nsec, legacy);
      w32(hb, ho, p & F_SWITCH_ID ? b.switchId[h] : SENTINEL32);
      hb[ho + 4] = i > 255 ? 255 : i;
      hb[ho + 5] = cnt8;
      ho += 6;
      if (p & F_L1_PORTS) {
        w32(hb, ho, b.ingressPort[h]);
        w32(hb, ho + 4, b.egressPort[h]);
      } else {
        w32(hb, ho, SENTINEL32);
        w32(hb, ho + 4, SENTINEL32);
      }
      ho += 8;
      w16(hb, ho, p & F_QUEUE ? b.queueId[h] : SENTINEL16);
      ho += 2;
      const hasLat = (p & F_HOP_LATENCY) !== 0;
      if (hasLat) e2e += b.hopLatency[h];
      else e2eOk = false;
      ho = putNullU32(hb, ho, hasLat, b.hopLatency[h]);
      ho = putNullU32(
        hb,
        ho,
        (p & F_QUEUE) !== 0 && (p & F_DROP_REASON) === 0,
        b.queueOccupancy[h],
      );
      if (p & F_INGRESS_TS) {
        hb[ho] = 0;
        w32(hb, ho + 1, b.ingressTsLo[h]);
        w32(hb, ho + 5, b.ingressTsHi[h]);
        ho += 9;
      } else hb[ho++] = 1;
      if (p & F_EGRESS_TS) {
        hb[ho] = 0;
        w32(hb, ho + 1, b.egressTsLo[h]);
        w32(hb, ho + 5, b.egressTsHi[h]);
        ho += 9;
      } else hb[ho++] = 1;
      const l2 = (p & F_L2_PORTS) !== 0;
      ho = putNullU32(hb, ho, l2, b.l2IngressPort[h]);
      ho = putNullU32(hb, ho, l2, b.l2EgressPort[h]);
      ho = putNullU32(hb, ho, (p & F_TX_UTIL) !== 0, b.txUtil[h]);
      if (p & F_BUFFER) {
        hb[ho] = 0;
        hb[ho + 1] = b.bufferId[h];
        ho += 2;
      } else hb[ho++] = 1;
      ho = putNullU32(hb, ho, (p & F_BUFFER) !== 0, b.bufferOccupancy[h]);
      if (p & F_DROP_REASON) {
        hb[ho] = 0;
        hb[ho + 1] = b.hopDropReason[h];
        ho += 2;
      } else hb[ho++] = 1;
      w16(hb, ho, p);
      ho += 2;
      for (let k = 0; k < recLen; k++) hb[ho + k] = rec[k];
      ho += recLen;
      hb[ho++] = b.origin[h] === 1 ? 1 : 0;
      w16(hb, ho, kp);
      w32(hb, ho + 2, koLo);
      w32(hb, ho + 6, koHi);
      w32(hb, ho + 10, capLo);
      w32(hb, ho + 14, capHi);
      w32(hb, ho + 18, capWrite);
      ho += 22;
    }
    if (doHops) hopRows += cnt;
    if (!doPaths) continue;

    // paths row
    po = putTime(pb, po, sec, nsec, legacy);
    for (let k = 0; k < flowEnd; k++) pb[po + k] = rec[k];
    po += flowEnd;
    w32(pb, po, b.frame[r]);
    w32(pb, po + 4, 0);
    po += 8;
    po = varint(pb, po, cnt);
    for (let i = 0; i < cnt; i++) {
      const h = start + i;
      w32(pb, po, present[h] & F_SWITCH_ID ? b.switchId[h] : SENTINEL32);
      po += 4;
    }
    pb[po++] = cnt8;
    if (e2eOk) {
      pb[po] = 0;
      // sum of ≤ 65535 u32 values < 2^48: exact in a double
      const hi = Math.floor(e2e / 4294967296);
      w32(pb, po + 1, e2e - hi * 4294967296);
      w32(pb, po + 5, hi);
      po += 9;
    } else pb[po++] = 1;
    po = putNullU32(pb, po, hasReport, b.sequence[r]);
    po = putNullU32(pb, po, hasNode, b.nodeId[r]);
    if (hasReport) {
      pb[po] = 0;
      pb[po + 1] = b.hwId[r];
      po += 2;
    } else pb[po++] = 1;
    pb[po++] = ver;
    pb[po++] = encap;
    w16(pb, po, findings ? findings[r] : 0);
    po += 2;
    w16(pb, po, kp);
    w32(pb, po + 2, koLo);
    w32(pb, po + 6, koHi);
    w32(pb, po + 10, capLo);
    w32(pb, po + 14, capHi);
    w32(pb, po + 18, capWrite);
    po += 22;
  }
  hops.len = ho;
  paths.len = po;
  hops.rows += hopRows;
  const pathRows = doPaths ? n : 0;
  paths.rows += pathRows;
  return { hopRows, pathRows };
}
