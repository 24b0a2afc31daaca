/** Hand-made capture bytes (either byte order) and small utilities shared by the tests. */
import type { CaptureReader } from '../src';

export class Bytes {
  private readonly parts: number[] = [];
  constructor(private readonly le: boolean) {}

  u8(x: number): this {
    this.parts.push(x & 0xff);
    return this;
  }
  u16(x: number): this {
    const b = [x & 0xff, (x >>> 8) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  u32(x: number): this {
    const b = [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  /** 64-bit value given as a BigInt (two's complement for negatives). */
  u64(x: bigint): this {
    const v = BigInt.asUintN(64, x);
    const hi = Number(v >> 32n);
    const lo = Number(v & 0xffffffffn);
    return this.le ? this.u32(lo).u32(hi) : this.u32(hi).u32(lo);
  }
  /** pcapng packet timestamps: high word first in either byte order (unlike a real u64). */
  ts(x: bigint): this {
    return this.u32(Number(x >> 32n)).u32(Number(x & 0xffffffffn));
  }
  bytes(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  pad4(): this {
    while (this.parts.length % 4) this.parts.push(0);
    return this;
  }
  toBuffer(): Buffer {
    return Buffer.from(this.parts);
  }
}

export interface RawPacket {
  sec: number;
  frac: number;
  data: Uint8Array;
  orig?: number;
}

/** A classic pcap file, built byte by byte. */
export function pcapFile(
  o: { le: boolean; ns?: boolean; snaplen?: number; linkType?: number; major?: number },
  packets: RawPacket[],
): Buffer {
  const b = new Bytes(o.le)
    .u32(o.ns ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(o.major ?? 2)
    .u16(4)
    .u32(0)
    .u32(0)
    .u32(o.snaplen ?? 65535)
    .u32(o.linkType ?? 1);
  for (const p of packets) {
    b.u32(p.sec)
      .u32(p.frac)
      .u32(p.data.length)
      .u32(p.orig ?? p.data.length)
      .bytes(p.data);
  }
  return b.toBuffer();
}

/** A pcapng block: type, length, body padded to 4, length. */
export function block(le: boolean, type: number, body: Uint8Array): Buffer {
  const padded = (body.length + 3) & ~3;
  const len = 12 + padded;
  return new Bytes(le).u32(type).u32(len).bytes(body).pad4().u32(len).toBuffer();
}

export function shb(le: boolean, major = 1): Buffer {
  return block(le, 0x0a0d0d0a, new Bytes(le).u32(0x1a2b3c4d).u16(major).u16(0).u64(-1n).toBuffer());
}

export function idb(
  le: boolean,
  o: {
    linkType?: number;
    snaplen?: number;
    tsresol?: number;
    tsoffset?: bigint;
    name?: string;
  } = {},
): Buffer {
  const b = new Bytes(le)
    .u16(o.linkType ?? 1)
    .u16(0)
    .u32(o.snaplen ?? 0);
  if (o.name !== undefined) {
    const n = Buffer.from(o.name);
    b.u16(2).u16(n.length).bytes(n).pad4();
  }
  if (o.tsresol !== undefined) b.u16(9).u16(1).u8(o.tsresol).pad4();
  if (o.tsoffset !== undefined) b.u16(14).u16(8).u64(o.tsoffset);
  b.u16(0).u16(0);
  return block(le, 1, b.toBuffer());
}

/** EPB with a 64-bit timestamp in the interface's units. */
export function epb(
  le: boolean,
  ifId: number,
  ts: bigint,
  data: Uint8Array,
  orig?: number,
): Buffer {
  const b = new Bytes(le)
    .u32(ifId)
    .ts(ts)
    .u32(data.length)
    .u32(orig ?? data.length)
    .bytes(data);
  return block(le, 6, b.pad4().toBuffer());
}

export function opb(le: boolean, ifId: number, ts: bigint, data: Uint8Array): Buffer {
  const b = new Bytes(le).u16(ifId).u16(0).ts(ts).u32(data.length).u32(data.length).bytes(data);
  return block(le, 2, b.pad4().toBuffer());
}

export function spb(le: boolean, origLen: number, data: Uint8Array): Buffer {
  return block(le, 3, new Bytes(le).u32(origLen).bytes(data).pad4().toBuffer());
}

export interface Read {
  data: Buffer;
  tsSec: number;
  tsNsec: number;
  linkType: number;
  interfaceId: number;
  capturedLength: number;
  originalLength: number;
  index: number;
}

/** Drains a reader, copying each packet (views die on the next `next()`). */
export function readAll(r: CaptureReader, limit = 1e7): Read[] {
  const out: Read[] = [];
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    out.push({
      data: Buffer.from(rec.data),
      tsSec: rec.tsSec,
      tsNsec: rec.tsNsec,
      linkType: rec.linkType,
      interfaceId: rec.interfaceId,
      capturedLength: rec.capturedLength,
      originalLength: rec.originalLength,
      index: rec.index,
    });
    if (out.length > limit) throw new Error('reader did not stop');
  }
  return out;
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  return b;
}

/** Fast equality of two packet lists (jest's deep equality on big Buffers is slow). */
export function expectSameReads(a: Read[], b: Read[]): void {
  const meta = (r: Read[]): unknown[] =>
    r.map((p) => [
      p.tsSec,
      p.tsNsec,
      p.linkType,
      p.interfaceId,
      p.capturedLength,
      p.originalLength,
      p.index,
    ]);
  expect(meta(a)).toEqual(meta(b));
  for (let i = 0; i < a.length; i++) {
    if (!a[i].data.equals(b[i].data)) throw new Error(`packet ${i + 1} data differs`);
  }
}
