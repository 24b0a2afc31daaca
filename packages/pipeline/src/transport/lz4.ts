/**
 * LZ4 frames (the format Kafka's record batches use for compression.type=lz4), in JavaScript,
 * for the kafkajs client: kafkajs ships GZIP only, so a kafkajs consumer could not read what a
 * librdkafka producer compressed with LZ4, and a kafkajs producer could not write it.
 *
 * Decoding is the part that meets input from the network: every length, offset and checksum
 * is checked against the bytes actually there, output is bounded, and anything else is an
 * Lz4Error naming what is wrong. Encoding writes independent 64 KiB blocks with a greedy
 * single-probe match finder (fast, a little less compression than the reference library's
 * default), or stores a block as is when it does not shrink.
 *
 * Format facts (LZ4 frame format 1.6, LZ4 block format): magic 0x184D2204; FLG (version 01,
 * block independence, block checksum, content size, content checksum, dictionary id), BD
 * (block maximum size 64 KiB .. 4 MiB), header checksum = second byte of xxHash32 of the
 * descriptor; blocks of a 32-bit size (high bit: stored uncompressed), end mark 0; optional
 * xxHash32 content checksum. A block is a sequence of (token, literals, 16-bit offset, match
 * length) with the last sequence literals only.
 */

export class Lz4Error extends Error {
  constructor(message: string) {
    super(`lz4: ${message}`);
    this.name = 'Lz4Error';
  }
}

const MAGIC = 0x184d2204;
/** Skippable frames: 0x184D2A50 .. 0x184D2A5F. */
const SKIPPABLE = 0x184d2a50;
/** Largest decompressed frame accepted by default (Kafka's own fetch limits are lower). */
export const LZ4_MAX_OUTPUT = 256 * 1024 * 1024;

// ---- xxHash32 ----
const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;
const imul = Math.imul;

function rd32(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
}
function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}
function round(acc: number, input: number): number {
  return imul(rotl((acc + imul(input, P2)) | 0, 13), P1);
}

/** xxHash32 of b[start..end) with `seed`. */
export function xxh32(b: Uint8Array, start = 0, end = b.length, seed = 0): number {
  let p = start;
  let h: number;
  if (end - start >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    for (const limit = end - 16; p <= limit; p += 16) {
      v1 = round(v1, rd32(b, p));
      v2 = round(v2, rd32(b, p + 4));
      v3 = round(v3, rd32(b, p + 8));
      v4 = round(v4, rd32(b, p + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else h = (seed + P5) | 0;
  h = (h + (end - start)) | 0;
  for (; p + 4 <= end; p += 4) h = imul(rotl((h + imul(rd32(b, p), P3)) | 0, 17), P4);
  for (; p < end; p++) h = imul(rotl((h + imul(b[p], P5)) | 0, 11), P1);
  h ^= h >>> 15;
  h = imul(h, P2);
  h ^= h >>> 13;
  h = imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

// ---- decoding ----

const TOO_BIG = "a block decompresses to more than the frame's block size";

/** A growing output buffer with a hard bound. */
class Out {
  buf: Uint8Array;
  pos = 0;
  constructor(
    hint: number,
    private readonly max: number,
  ) {
    this.buf = new Uint8Array(Math.max(1024, Math.min(hint, max)));
  }
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    if (need > this.max) throw new Lz4Error(`decompressed data exceeds ${this.max} bytes`);
    const next = new Uint8Array(Math.min(this.max, Math.max(need, this.buf.length * 2)));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
}

/** Copies n bytes: short runs (most literals) byte by byte, without a subarray per call. */
function copy(src: Uint8Array, s: number, n: number, dst: Uint8Array, d: number): void {
  if (n > 32) dst.set(src.subarray(s, s + n), d);
  else for (let i = 0; i < n; i++) dst[d + i] = src[s + i];
}

/** Sum of the length bytes at src[s..) (255 means another follows), in `extended`; returns
 * the position after them. */
let extended = 0;
function extendLength(src: Uint8Array, s: number, e: number, what: string): number {
  let n = 0;
  let b: number;
  do {
    if (s >= e) throw new Lz4Error(`block ends inside a ${what} length`);
    b = src[s++];
    n += b;
  } while (b === 255);
  extended = n;
  return s;
}

/** Decodes the block src[s..e) onto `out`, up to output position `limit` (the frame's block
 * size); matches may reach back to `floor` (frame start, or the block's start for
 * independent blocks). */
function decodeBlock(
  src: Uint8Array,
  s: number,
  e: number,
  out: Out,
  floor: number,
  limit: number,
): void {
  for (;;) {
    if (s >= e) throw new Lz4Error('block ends inside a sequence');
    const token = src[s++];
    let lit = token >>> 4;
    if (lit === 15) {
      s = extendLength(src, s, e, 'literal');
      lit += extended;
    }
    if (lit > e - s) throw new Lz4Error('literals run past the end of the block');
    if (lit > limit - out.pos) throw new Lz4Error(TOO_BIG);
    out.ensure(lit);
    copy(src, s, lit, out.buf, out.pos);
    out.pos += lit;
    s += lit;
    if (s === e) return; // the last sequence has literals only
    if (e - s < 2) throw new Lz4Error('block ends inside a match offset');
    const off = src[s] | (src[s + 1] << 8);
    s += 2;
    if (off === 0) throw new Lz4Error('match offset 0');
    if (off > out.pos - floor) throw new Lz4Error('match offset before the start of the data');
    let ml = token & 15;
    if (ml === 15) {
      s = extendLength(src, s, e, 'match');
      ml += extended;
    }
    ml += 4;
    if (ml > limit - out.pos) throw new Lz4Error(TOO_BIG);
    out.ensure(ml);
    const o = out.buf;
    let d = out.pos;
    let from = d - off;
    if (off >= ml && ml > 32) o.copyWithin(d, from, from + ml);
    else for (const end = d + ml; d < end;) o[d++] = o[from++]; // (overlapping: repeats)
    out.pos += ml;
  }
}

/** Decompresses one or more concatenated LZ4 frames (skippable frames are skipped). */
export function lz4Decompress(buf: Uint8Array, maxOutput = LZ4_MAX_OUTPUT): Buffer {
  const out = new Out(buf.length * 4, maxOutput);
  let p = 0;
  const need = (n: number, what: string): void => {
    if (buf.length - p < n) throw new Lz4Error(`truncated ${what}`);
  };
  do {
    need(4, 'frame magic');
    const magic = rd32(buf, p) >>> 0;
    if ((magic & 0xfffffff0) === SKIPPABLE) {
      need(8, 'skippable frame');
      const size = rd32(buf, p + 4) >>> 0;
      p += 8;
      need(size, 'skippable frame');
      p += size;
      continue;
    }
    if (magic !== MAGIC) throw new Lz4Error(`not an LZ4 frame (magic 0x${magic.toString(16)})`);
    const d0 = p + 4;
    need(7, 'frame descriptor');
    const flg = buf[d0];
    const bd = buf[d0 + 1];
    if (flg >>> 6 !== 1) throw new Lz4Error(`frame version ${flg >>> 6}`);
    if (flg & 0x02 || bd & 0x8f) throw new Lz4Error('reserved bits set in the frame descriptor');
    const bsId = (bd >>> 4) & 7;
    if (bsId < 4) throw new Lz4Error(`block maximum size code ${bsId}`);
    const blockMax = 1 << (8 + 2 * bsId);
    const indep = (flg & 0x20) !== 0;
    const blockSum = (flg & 0x10) !== 0;
    const hasSize = (flg & 0x08) !== 0;
    const contentSum = (flg & 0x04) !== 0;
    if (flg & 0x01) throw new Lz4Error('dictionary frames are not supported');
    p = d0 + 2;
    let size = -1;
    if (hasSize) {
      need(9, 'frame content size');
      const lo = rd32(buf, p) >>> 0;
      const hi = rd32(buf, p + 4) >>> 0;
      size = hi * 4294967296 + lo;
      if (size > maxOutput) throw new Lz4Error(`content size ${size} exceeds ${maxOutput} bytes`);
      p += 8;
    }
    need(1, 'frame header checksum');
    const hc = buf[p];
    // Kafka's message format v0/v1 hashed the magic too (KAFKA-3160); accept that as well
    if (((xxh32(buf, d0, p) >>> 8) & 0xff) !== hc && ((xxh32(buf, d0 - 4, p) >>> 8) & 0xff) !== hc)
      throw new Lz4Error('frame header checksum mismatch');
    p++;
    const start = out.pos;
    for (;;) {
      need(4, 'block size');
      const word = rd32(buf, p) >>> 0;
      p += 4;
      if (word === 0) break;
      const stored = word >= 0x80000000;
      const n = word & 0x7fffffff;
      if (n > blockMax) throw new Lz4Error(`block of ${n} bytes over the frame's ${blockMax}`);
      need(n + (blockSum ? 4 : 0), 'block');
      if (blockSum && xxh32(buf, p, p + n) !== rd32(buf, p + n) >>> 0)
        throw new Lz4Error('block checksum mismatch');
      const before = out.pos;
      if (stored) {
        out.ensure(n);
        out.buf.set(buf.subarray(p, p + n), out.pos);
        out.pos += n;
      } else decodeBlock(buf, p, p + n, out, indep ? before : start, before + blockMax);
      p += n + (blockSum ? 4 : 0);
    }
    if (contentSum) {
      need(4, 'content checksum');
      if (xxh32(out.buf, start, out.pos) !== rd32(buf, p) >>> 0)
        throw new Lz4Error('content checksum mismatch');
      p += 4;
    }
    if (size >= 0 && out.pos - start !== size)
      throw new Lz4Error(`frame announced ${size} bytes, decompressed ${out.pos - start}`);
  } while (p < buf.length);
  return Buffer.from(out.buf.buffer, out.buf.byteOffset, out.pos);
}

// ---- encoding ----

const BLOCK = 64 * 1024;
const HASH_LOG = 13;
const MIN_MATCH = 4;
/** The block format's end rules: the last 5 bytes are literals, the last match starts at
 * least 12 bytes before the end. */
const LAST_LITERALS = 5;
const MF_LIMIT = 12;

function writeLength(dst: Uint8Array, d: number, n: number): number {
  for (; n >= 255; n -= 255) dst[d++] = 255;
  dst[d++] = n;
  return d;
}

/** Compresses src[s..e) as one block at dst[d..); returns the end, or -1 when the block would
 * not be smaller than `e - s` (it is then stored). `table`: positions + 1 by hash. */
function encodeBlock(
  src: Uint8Array,
  s: number,
  e: number,
  dst: Uint8Array,
  d: number,
  table: Int32Array,
): number {
  const limit = d + (e - s) - 1;
  let anchor = s;
  let ip = s;
  const matchLimit = e - LAST_LITERALS;
  const ipLimit = e - MF_LIMIT;
  let misses = 0;
  while (ip < ipLimit) {
    const seq = rd32(src, ip);
    const h = imul(seq, P1) >>> (32 - HASH_LOG);
    const ref = table[h] - 1;
    table[h] = ip + 1;
    if (ref < s || ip - ref > 65535 || rd32(src, ref) !== seq) {
      ip += 1 + (misses++ >> 6); // skip faster through data that does not match
      continue;
    }
    misses = 0;
    let ml = MIN_MATCH;
    while (ip + ml < matchLimit && src[ref + ml] === src[ip + ml]) ml++;
    const lit = ip - anchor;
    // worst case of this sequence: token, literal length bytes, literals, offset, match length
    if (d + 1 + ((lit / 255) | 0) + 1 + lit + 2 + (((ml - 4) / 255) | 0) + 1 > limit) return -1;
    const tok = d++;
    dst[tok] = (lit >= 15 ? 15 : lit) << 4;
    if (lit >= 15) d = writeLength(dst, d, lit - 15);
    copy(src, anchor, lit, dst, d);
    d += lit;
    const off = ip - ref;
    dst[d++] = off & 0xff;
    dst[d++] = off >>> 8;
    const m = ml - MIN_MATCH;
    dst[tok] |= m >= 15 ? 15 : m;
    if (m >= 15) d = writeLength(dst, d, m - 15);
    ip += ml;
    anchor = ip;
  }
  const lit = e - anchor;
  if (d + 1 + ((lit / 255) | 0) + 1 + lit > limit) return -1;
  dst[d++] = (lit >= 15 ? 15 : lit) << 4;
  if (lit >= 15) d = writeLength(dst, d, lit - 15);
  dst.set(src.subarray(anchor, e), d);
  return d + lit;
}

/** One LZ4 frame of `src`: independent 64 KiB blocks, content size and checksum included. */
export function lz4Compress(src: Uint8Array): Buffer {
  const n = src.length;
  const blocks = Math.ceil(n / BLOCK);
  // header 15, per block 4 + at most the block itself (stored), end mark 4, checksum 4
  const dst = Buffer.allocUnsafe(15 + blocks * (4 + BLOCK) + 8);
  let d = 0;
  dst.writeUInt32LE(MAGIC, 0);
  dst[4] = 0x40 | 0x20 | 0x08 | 0x04; // version 1, independent blocks, content size, checksum
  dst[5] = 4 << 4; // 64 KiB blocks
  dst.writeUInt32LE(n >>> 0, 6);
  dst.writeUInt32LE(Math.floor(n / 4294967296), 10);
  dst[14] = (xxh32(dst, 4, 14) >>> 8) & 0xff;
  d = 15;
  const table = new Int32Array(1 << HASH_LOG);
  for (let s = 0; s < n; s += BLOCK) {
    const e = Math.min(n, s + BLOCK);
    const end = encodeBlock(src, s, e, dst, d + 4, table);
    if (end < 0) {
      dst.writeUInt32LE((0x80000000 | (e - s)) >>> 0, d);
      dst.set(src.subarray(s, e), d + 4);
      d += 4 + (e - s);
    } else {
      dst.writeUInt32LE(end - d - 4, d);
      d = end;
    }
  }
  dst.writeUInt32LE(0, d);
  dst.writeUInt32LE(xxh32(src), d + 4);
  return dst.subarray(0, d + 8);
}
