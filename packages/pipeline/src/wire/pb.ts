/**
 * Minimal protocol-buffers primitives (no dependency): a reusable growable writer and a
 * bounds-checked reader. Only what the hopwatch.v1 messages need: varints (uint32, sint32
 * zig-zag), fixed32, fixed64 as (hi, lo) pairs, length-delimited fields, packed repeated.
 */
import { HopwatchError, type HopwatchErrorOptions } from '@hopwatch/codec';

export class WireError extends HopwatchError {
  constructor(message: string, opts?: HopwatchErrorOptions) {
    super(`hopwatch wire: ${message}`, opts);
    this.name = 'WireError';
  }
}

export const WT_VARINT = 0;
export const WT_FIXED64 = 1;
export const WT_LEN = 2;
export const WT_FIXED32 = 5;

export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

export function zigzag(v: number): number {
  return ((v << 1) ^ (v >> 31)) >>> 0;
}

export function unzigzag(v: number): number {
  return (v >>> 1) ^ -(v & 1);
}

export class PbWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(initial = 64 * 1024) {
    this.buf = new Uint8Array(initial);
  }

  reset(): void {
    this.pos = 0;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let len = this.buf.length * 2;
    while (this.pos + n > len) len *= 2;
    const b = new Uint8Array(len);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }

  /** Unsigned 32-bit varint (caller ensured room: at most 5 bytes). */
  varintRaw(v: number): void {
    const b = this.buf;
    let p = this.pos;
    v = v >>> 0;
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  varint(v: number): void {
    this.ensure(5);
    this.varintRaw(v);
  }

  tag(field: number, wireType: number): void {
    this.varint(((field << 3) | wireType) >>> 0);
  }

  fixed32Raw(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v & 0xff;
    b[p + 1] = (v >>> 8) & 0xff;
    b[p + 2] = (v >>> 16) & 0xff;
    b[p + 3] = (v >>> 24) & 0xff;
    this.pos = p + 4;
  }

  /** Length-delimited bytes (a string or a nested message). */
  bytesField(field: number, data: Uint8Array): void {
    this.tag(field, WT_LEN);
    this.varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  uint32Field(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, WT_VARINT);
    this.varint(v);
  }

  /** A copy of the written bytes (the writer's buffer is reused). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** One occurrence of a field: wire type and the byte range of its payload. */
export interface Segment {
  wt: number;
  start: number;
  end: number;
}

/** 2^(7 i): the weight of a varint's i-th byte. */
const POW7 = [1, 128, 16384, 2097152, 268435456];

export class PbReader {
  buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  /** Varint as unsigned 32 bits (the bits above 32 of a longer varint are dropped). */
  varint(): number {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    let v = 0;
    for (let i = 0; i < 10; i++) {
      if (p >= end) throw new WireError(`truncated varint at byte ${p}`);
      const c = b[p++];
      if (i < 5) v += (c & 0x7f) * POW7[i]; // (2 ** shift is a call to pow)
      if (c < 0x80) {
        this.pos = p;
        return v >>> 0;
      }
    }
    throw new WireError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  fixed32(): number {
    const p = this.pos;
    if (p + 4 > this.end) throw new WireError(`truncated fixed32 at byte ${p}`);
    const b = this.buf;
    this.pos = p + 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  /** Skips a field's payload; returns the payload's [start, end) through `seg`. */
  payload(wt: number, seg: Segment): void {
    const start = this.pos;
    switch (wt) {
      case WT_VARINT:
        this.varint();
        break;
      case WT_FIXED64:
        this.pos += 8;
        break;
      case WT_FIXED32:
        this.pos += 4;
        break;
      case WT_LEN: {
        const len = this.varint();
        seg.wt = wt;
        seg.start = this.pos;
        seg.end = this.pos + len;
        this.pos += len;
        if (this.pos > this.end) throw new WireError(`length-delimited field overruns the message`);
        return;
      }
      default:
        throw new WireError(`unsupported wire type ${wt} at byte ${start}`);
    }
    if (this.pos > this.end) throw new WireError(`truncated field at byte ${start}`);
    seg.wt = wt;
    seg.start = start;
    seg.end = this.pos;
  }
}
