/**
 * Byte-level helpers for the encoder (and for tools that rewrite packets): a growable
 * big-endian writer, address parsers, and the Internet checksum (IPv4 header, TCP/UDP with
 * IPv4 and IPv6 pseudo-headers).
 */

/** Throws an Error with a uniform prefix; builders throw on impossible specs. */
export function encodeError(message: string): never {
  throw new Error(`encode: ${message}`);
}

/** Checks that `v` is an integer in [0, max]. */
export function checkUint(name: string, v: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    encodeError(`${name} must be an integer in 0..${max}, got ${String(v)}`);
  }
  return v;
}

/** A growable big-endian byte writer. */
export class ByteWriter {
  private buf: Uint8Array;
  length = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.length));
    this.buf = b;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.buf[this.length++] = (v >>> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  u24(v: number): this {
    this.room(3);
    this.buf[this.length++] = (v >>> 16) & 0xff;
    this.buf[this.length++] = (v >>> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.buf[this.length++] = (v >>> 24) & 0xff;
    this.buf[this.length++] = (v >>> 16) & 0xff;
    this.buf[this.length++] = (v >>> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  u64(v: bigint): this {
    const x = BigInt.asUintN(64, v);
    this.u32(Number(x >> 32n));
    this.u32(Number(x & 0xffffffffn));
    return this;
  }

  bytes(b: ArrayLike<number>): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  zeros(n: number): this {
    this.room(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
    return this;
  }

  /** Overwrites a 16-bit value at an absolute offset already written. */
  set16(at: number, v: number): this {
    this.buf[at] = (v >>> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
    return this;
  }

  set8(at: number, v: number): this {
    this.buf[at] = v & 0xff;
    return this;
  }

  /** A copy of the bytes written so far. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function hexToBytes(hex: string): Uint8Array {
  const h = hex.replace(/[\s:|]/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(h)) encodeError(`not a hex string: '${hex}'`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

// ------------------------------------------------------------------ addresses

export function parseIpv4(s: string): Uint8Array {
  const parts = s.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    encodeError(`not an IPv4 address: '${s}'`);
  }
  return Uint8Array.from(parts.map(Number));
}

export function parseIpv6(s: string): Uint8Array {
  const bad = (): never => encodeError(`not an IPv6 address: '${s}'`);
  let str = s;
  const tail: number[] = [];
  // embedded IPv4 in the last 32 bits
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(str);
  if (m) {
    const v4 = parseIpv4(m[2]);
    tail.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    str = m[1].endsWith('::') ? m[1] : m[1].slice(0, -1);
  }
  const halves = str.split('::');
  if (halves.length > 2) bad();
  const parseGroups = (t: string): number[] =>
    t === ''
      ? []
      : t.split(':').map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : bad()));
  const head = parseGroups(halves[0]);
  const rest = halves.length === 2 ? parseGroups(halves[1]) : [];
  const total = head.length + rest.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    if (total > 7) bad();
    groups = [...head, ...new Array<number>(8 - total).fill(0), ...rest, ...tail];
  } else {
    if (total !== 8) bad();
    groups = [...head, ...tail];
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Parses an IPv4 or IPv6 address and checks it against the expected version. */
export function parseAddr(s: string, version?: 4 | 6): Uint8Array {
  const v = s.includes(':') ? 6 : 4;
  if (version !== undefined && v !== version) encodeError(`address '${s}' is not IPv${version}`);
  return v === 6 ? parseIpv6(s) : parseIpv4(s);
}

export function parseMac(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p)))
    encodeError(`not a MAC address: '${s}'`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

// ------------------------------------------------------------------ checksums

/** 32-bit running one's-complement sum of 16-bit big-endian words of d[start, end). */
export function onesSum(d: Uint8Array, start = 0, end = d.length, initial = 0): number {
  let s = initial;
  let i = start;
  for (; i + 1 < end; i += 2) s += (d[i] << 8) | d[i + 1];
  if (i < end) s += d[i] << 8; // odd length: pad with a zero byte
  // fold often enough to stay far from 2^53
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** Folds a running sum into the final 16-bit checksum (one's complement). */
export function finishChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** RFC 1071 Internet checksum of d[start, end). */
export function internetChecksum(d: Uint8Array, start = 0, end = d.length): number {
  return finishChecksum(onesSum(d, start, end));
}

/** IPv4 header checksum of the header at d[off, off+ihl) (its checksum field is ignored). */
export function ipv4HeaderChecksum(d: Uint8Array, off = 0): number {
  const ihl = (d[off] & 0x0f) * 4;
  let s = onesSum(d, off, off + 10);
  s = onesSum(d, off + 12, off + ihl, s);
  return finishChecksum(s);
}

/** Sum of the TCP/UDP pseudo-header (IPv4 when the addresses are 4 bytes, else IPv6). */
export function pseudoHeaderSum(
  src: Uint8Array,
  dst: Uint8Array,
  proto: number,
  l4Length: number,
): number {
  let s = onesSum(src);
  s = onesSum(dst, 0, dst.length, s);
  if (src.length === 4) {
    s += proto + l4Length;
  } else {
    s += Math.floor(l4Length / 0x10000) + (l4Length & 0xffff) + proto;
  }
  return s;
}

/**
 * TCP/UDP checksum of `segment` (L4 header + payload; its checksum field must be zero or is
 * skipped at `checksumAt`). For UDP a computed 0 is sent as 0xFFFF (RFC 768).
 */
export function l4Checksum(
  src: Uint8Array,
  dst: Uint8Array,
  proto: number,
  segment: Uint8Array,
  checksumAt = proto === 6 ? 16 : 6,
): number {
  let s = pseudoHeaderSum(src, dst, proto, segment.length);
  s = onesSum(segment, 0, checksumAt, s);
  s = onesSum(segment, checksumAt + 2, segment.length, s);
  // the range after the checksum starts on an even offset, so word alignment is kept
  const c = finishChecksum(s);
  return proto === 17 && c === 0 ? 0xffff : c;
}

/** Writes the TCP/UDP checksum into `segment` in place. */
export function setL4Checksum(
  src: Uint8Array,
  dst: Uint8Array,
  proto: number,
  segment: Uint8Array,
): void {
  const at = proto === 6 ? 16 : 6;
  const c = l4Checksum(src, dst, proto, segment, at);
  segment[at] = c >>> 8;
  segment[at + 1] = c & 0xff;
}
