/**
 * Reads one hop's metadata block into a RecordBatch hop row, per a precomputed layout.
 * All-ones values mean "not available": the field stays absent (its presence bit clear).
 */
import { HopField, RecordBatch } from '../batch';
import { F, HopLayout } from './layout';

const ONES = 0xffffffff;

function u32(d: Uint8Array, o: number): number {
  return ((d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;
}

/**
 * @param base   offset of the block in `d`
 * @param dsBytes bytes of domain-specific metadata in this block (between baseline and checksum)
 * @param wordMask 0x7fffffff strips a bottom-of-stack bit, else 0xffffffff
 * @param queueIdBits 8 (spec) or 16 (INTCollector)
 */
export function readHop(
  d: Uint8Array,
  base: number,
  layout: HopLayout,
  dsBytes: number,
  b: RecordBatch,
  h: number,
  wordMask: number,
  queueIdBits: number,
): void {
  b.clearHop(h);
  const t = layout.fields;
  let present = 0;
  for (let i = 0; i < t.length; i += 3) {
    const field = t[i];
    const o = base + t[i + 1];
    const size = t[i + 2];
    let w = (u32(d, o) & wordMask) >>> 0;
    switch (field) {
      case F.SWITCH_ID:
        if (w !== ONES) {
          b.switchId[h] = w;
          present |= HopField.SWITCH_ID;
        }
        break;
      case F.L1_PORTS:
        if (w !== ONES) {
          b.ingressPort[h] = w >>> 16;
          b.egressPort[h] = w & 0xffff;
          present |= HopField.L1_PORTS;
        }
        break;
      case F.HOP_LATENCY:
        if (w !== ONES) {
          b.hopLatency[h] = w;
          present |= HopField.HOP_LATENCY;
        }
        break;
      case F.QUEUE:
        if (w !== ONES) {
          const occBits = 32 - queueIdBits;
          b.queueId[h] = w >>> occBits;
          b.queueOccupancy[h] = occBits === 24 ? w & 0xffffff : w & 0xffff;
          present |= HopField.QUEUE;
        }
        break;
      case F.INGRESS_TS:
      case F.EGRESS_TS: {
        let hi = 0;
        let lo = w;
        let allOnes = w === ONES;
        if (size === 8) {
          hi = w;
          lo = (u32(d, o + 4) & wordMask) >>> 0;
          allOnes = hi === ONES && lo === ONES;
        }
        if (!allOnes) {
          if (field === F.INGRESS_TS) {
            b.ingressTsHi[h] = hi;
            b.ingressTsLo[h] = lo;
            present |= HopField.INGRESS_TS;
          } else {
            b.egressTsHi[h] = hi;
            b.egressTsLo[h] = lo;
            present |= HopField.EGRESS_TS;
          }
        }
        break;
      }
      case F.L2_PORTS:
        if (size === 8) {
          const w2 = (u32(d, o + 4) & wordMask) >>> 0;
          if (!(w === ONES && w2 === ONES)) {
            b.l2IngressPort[h] = w;
            b.l2EgressPort[h] = w2;
            present |= HopField.L2_PORTS;
          }
        } else if (w !== ONES) {
          b.l2IngressPort[h] = w >>> 16;
          b.l2EgressPort[h] = w & 0xffff;
          present |= HopField.L2_PORTS;
        }
        break;
      case F.TX_UTIL:
        if (w !== ONES) {
          b.txUtil[h] = w;
          present |= HopField.TX_UTIL;
        }
        break;
      case F.BUFFER:
        if (w !== ONES) {
          b.bufferId[h] = w >>> 24;
          b.bufferOccupancy[h] = w & 0xffffff;
          present |= HopField.BUFFER;
        }
        break;
      case F.QUEUE_CONGESTION:
        if (w !== ONES) {
          b.queueCongestion[h] = w;
          present |= HopField.QUEUE_CONGESTION;
        }
        break;
      case F.DROP:
        if (w !== ONES) {
          b.queueId[h] = w >>> 24;
          b.hopDropReason[h] = (w >>> 16) & 0xff;
          present |= HopField.DROP_REASON | HopField.QUEUE;
        }
        break;
      default:
        // reserved instruction bits: 4 bytes each (0xFFFFFFFF by spec); nothing to keep
        w = 0;
    }
  }
  const dsWordsCount = dsBytes >>> 2;
  if (dsWordsCount > 0) {
    const dsOff = base + layout.baselineBytes - (layout.checksumAt >= 0 ? 4 : 0);
    b.ensureDs(dsWordsCount);
    b.dsStart[h] = b.dsTotal;
    b.dsCount[h] = dsWordsCount;
    for (let k = 0; k < dsWordsCount; k++) b.dsWords[b.dsTotal++] = u32(d, dsOff + 4 * k);
  }
  if (layout.checksumAt >= 0) {
    const w = u32(d, base + layout.checksumAt + dsBytes);
    if (w !== ONES) {
      b.checksum[h] = w;
      present |= HopField.CHECKSUM;
    }
  }
  b.present[h] = present;
}
