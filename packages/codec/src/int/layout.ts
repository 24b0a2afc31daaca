/**
 * Instruction bitmap → per-hop block layout, per INT version and vendor deviation.
 *
 * A layout is a flat Int32Array of (field, byteOffset, size) triples in wire order, computed
 * once per (version, bitmap) and cached, so decoding a hop is one tight loop.
 */
import type { Deviations } from '../config';

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

function fieldFor(kind: LayoutKindCode, bit: number, d: Deviations): [number, number] {
  // returns [field, size]; size 0 = takes no space
  if (kind === LayoutKind.TR10) {
    // TR v1.0 RepMdBits are 6 bits (bit 0 = MSB of the 6-bit field)
    switch (bit) {
      case 0:
        return [F.L1_PORTS, 4];
      case 1:
        return [F.HOP_LATENCY, 4];
      case 2:
        return [F.QUEUE, 4];
      case 3:
        return [F.EGRESS_TS, 4];
      case 4:
        return [F.DROP, 4];
      case 5:
        return [F.TX_UTIL, 4];
      default:
        return [F.RESERVED, 4];
    }
  }
  switch (bit) {
    case 0:
      return kind === LayoutKind.TR20 ? [F.RESERVED, 0] : [F.SWITCH_ID, 4];
    case 1:
      return [F.L1_PORTS, 4];
    case 2:
      return [F.HOP_LATENCY, 4];
    case 3:
      return [F.QUEUE, 4];
    case 4:
    case 5: {
      const f = bit === 4 ? F.INGRESS_TS : F.EGRESS_TS;
      if (kind === LayoutKind.V2 || kind === LayoutKind.TR20) return [f, 8];
      if (kind === LayoutKind.V10) return [f, d.v1TimestampBytes];
      return [f, 4];
    }
    case 6:
      if (kind === LayoutKind.V05) return [F.QUEUE_CONGESTION, 4];
      return [F.L2_PORTS, d.l2PortBytes];
    case 7:
      return [F.TX_UTIL, 4];
    case 8:
      if (kind === LayoutKind.V2 || kind === LayoutKind.TR20) return [F.BUFFER, 4];
      return [F.RESERVED, 4];
    case 15:
      if (kind === LayoutKind.TR20) return [F.DROP, 4];
      if (kind === LayoutKind.V2 || kind === LayoutKind.V10) return [F.CHECKSUM, 4];
      return [F.RESERVED, 4];
    default:
      return [F.RESERVED, 4];
  }
}

function build(kind: LayoutKindCode, bitmap: number, d: Deviations): HopLayout {
  const triples: number[] = [];
  let off = 0;
  let checksumAt = -1;
  let reservedBits = 0;
  const nbits = kind === LayoutKind.TR10 ? 6 : 16;
  for (let bit = 0; bit < nbits; bit++) {
    if (!(bitmap & (1 << (nbits - 1 - bit)))) continue;
    const [field, size] = fieldFor(kind, bit, d);
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
}
