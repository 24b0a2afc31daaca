/**
 * Instruction bitmap → per-hop block layout, per INT version and vendor deviation.
 *
 * Which field each bit requests and its size come from the table in bits.ts.
 * A layout is a flat Int32Array of (field, byteOffset, size) triples in wire order, computed
 * once per (version, bitmap) and cached, so decoding a hop is one tight loop.
 */
import type { Deviations } from '../config';
import { bitCount, bitMask, fieldOf, InstructionField, MetadataFormat, sizeOf } from './bits';

/** Field codes in a layout. */
export const F = {
  SWITCH_ID: 0,
  L1_PORTS: 1,
  HOP_LATENCY: 2,
  QUEUE: 3,
  INGRESS_TS: 4,
  EGRESS_TS: 5,
  L2_PORTS: 6,
  TX_UTIL: 7,
  BUFFER: 8,
  CHECKSUM: 9,
  QUEUE_CONGESTION: 10,
  RESERVED: 11,
  DROP: 12, // TR v2.0 bit 15 / TR v1.0 bit 4: queue id + drop reason
} as const;

/** Which metadata format a bitmap is read against. */
export const LayoutKind = { V05: 0, V10: 1, V2: 2, TR10: 3, TR20: 4 } as const;
export type LayoutKindCode = (typeof LayoutKind)[keyof typeof LayoutKind];

export interface HopLayout {
  /** (field, offset, size) triples for baseline fields before DS metadata. */
  fields: Int32Array;
  /** Bytes of baseline metadata (including the checksum complement, if any). */
  baselineBytes: number;
  /** Offset of the checksum complement within the block's baseline part, or -1. */
  checksumAt: number;
  /** Number of reserved instruction bits set. */
  reservedBits: number;
}

/** Field codes of the INSTRUCTION_FIELDS names (the compiled readers switch on numbers). */
const FIELD_CODE: Record<InstructionField, number> = {
  switchId: F.SWITCH_ID,
  l1Ports: F.L1_PORTS,
  hopLatency: F.HOP_LATENCY,
  queue: F.QUEUE,
  ingressTimestamp: F.INGRESS_TS,
  egressTimestamp: F.EGRESS_TS,
  l2Ports: F.L2_PORTS,
  txUtilization: F.TX_UTIL,
  buffer: F.BUFFER,
  checksumComplement: F.CHECKSUM,
  queueCongestion: F.QUEUE_CONGESTION,
  reserved: F.RESERVED,
  drop: F.DROP,
};

/** Metadata format of each layout kind. */
const FORMAT: readonly MetadataFormat[] = ['v0.5', 'v1.0', 'v2', 'tr1.0', 'tr2.0'];

function build(kind: LayoutKindCode, bitmap: number, d: Deviations): HopLayout {
  const triples: number[] = [];
  let off = 0;
  let checksumAt = -1;
  let reservedBits = 0;
  const fmt = FORMAT[kind];
  const nbits = bitCount(fmt);
  for (let bit = 0; bit < nbits; bit++) {
    if (!(bitmap & bitMask(fmt, bit))) continue;
    const field = FIELD_CODE[fieldOf(fmt, bit)];
    const size = sizeOf(fmt, bit, d);
    if (field === F.RESERVED) reservedBits++;
    if (size === 0) continue;
    if (field === F.CHECKSUM) {
      // the checksum complement comes last, after domain-specific metadata (placed later)
      checksumAt = -2;
      continue;
    }
    triples.push(field, off, size);
    off += size;
  }
  if (checksumAt === -2) {
    checksumAt = off;
    off += 4;
  }
  return { fields: Int32Array.from(triples), baselineBytes: off, checksumAt, reservedBits };
}

/**
 * The part of a layout that fits in `bytes` per hop: the fields of the known bits, in bitmap
 * order, that lie wholly within the Hop ML words transit hops actually wrote (bmv2-style
 * pipelines set bits they do not implement). The checksum complement is dropped: its place
 * comes after fields that are absent.
 */
export function within(l: HopLayout, bytes: number): HopLayout {
  const t: number[] = [];
  for (let i = 0; i < l.fields.length; i += 3) {
    if (l.fields[i + 1] + l.fields[i + 2] > bytes) break;
    t.push(l.fields[i], l.fields[i + 1], l.fields[i + 2]);
  }
  return {
    fields: Int32Array.from(t),
    baselineBytes: bytes,
    checksumAt: -1,
    reservedBits: l.reservedBits,
  };
}

/** Caches layouts per deviation set. One cache per decoder. */
export class LayoutCache {
  private readonly cache = new Map<number, HopLayout>();
  constructor(private readonly deviations: Deviations) {}

  get(kind: LayoutKindCode, bitmap: number): HopLayout {
    const key = (kind << 16) | bitmap;
    let l = this.cache.get(key);
    if (l === undefined) {
      l = build(kind, bitmap, this.deviations);
      this.cache.set(key, l);
    }
    return l;
  }

  /** The layout of `bitmap` cut to `bytes` per hop (Hop ML shorter than the bitmap). */
  getWithin(kind: LayoutKindCode, bitmap: number, bytes: number): HopLayout {
    const key = -(((kind << 16) | bitmap) * 1024 + bytes) - 1;
    let l = this.cache.get(key);
    if (l === undefined) {
      l = within(this.get(kind, bitmap), bytes);
      this.cache.set(key, l);
    }
    return l;
  }
}
