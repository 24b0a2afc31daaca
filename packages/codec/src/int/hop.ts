/**
 * Reads one hop's metadata block into a RecordBatch hop row.
 *
 * Decoding a hop is the hottest loop of hopwatch, so each (version, bitmap) layout is
 * compiled once into a straight-line reader function (no per-field dispatch). The generated
 * code is built only from the numeric layout table, never from input bytes or user text.
 * All-ones values mean "not available": the field's presence bit stays clear.
 *
 * Only fields whose presence bit is set are written; readers must check `present`.
 */
import { HopField, RecordBatch } from '../batch';
import { F, HopLayout } from './layout';

/**
 * (view over the packet's ArrayBuffer, absolute byte position of the block, batch, hop row)
 * → presence bits. A DataView read is markedly faster than assembling bytes, and words stay
 * int32 (all-ones = -1) so V8 never boxes them; a Uint32Array store wraps them back.
 */
export type HopReader = (
  dv: DataView<ArrayBufferLike>,
  base: number,
  b: RecordBatch,
  h: number,
) => number;

/** Compiles a reader for `layout` with `dsBytes` of domain-specific metadata per hop. */
export function compileHopReader(
  layout: HopLayout,
  dsBytes: number,
  queueIdBits: number,
  bottomOfStackBit = false,
): HopReader {
  const t = layout.fields;
  const src: string[] = ['let p = 0, w = 0, w2 = 0;'];
  // a bottom-of-stack flag in each word's MSB (pre-v1.0 Netronome) is stripped; all-ones then reads 0x7fffffff
  const word = (off: string): string =>
    bottomOfStackBit ? `(dv.getInt32(base + ${off}) & 0x7fffffff)` : `dv.getInt32(base + ${off})`;
  const NA = bottomOfStackBit ? '0x7fffffff' : '-1';
  const occBits = 32 - queueIdBits;
  const occMask = occBits === 24 ? '0xffffff' : '0xffff';
  for (let i = 0; i < t.length; i += 3) {
    const field = t[i];
    const o = String(t[i + 1]);
    const size = t[i + 2];
    switch (field) {
      case F.SWITCH_ID:
        src.push(
          `w = ${word(o)}; if (w !== ${NA}) { b.switchId[h] = w; p |= ${HopField.SWITCH_ID}; }`,
        );
        break;
      case F.L1_PORTS:
        src.push(
          `w = ${word(o)}; if (w !== ${NA}) { b.ingressPort[h] = w >>> 16; b.egressPort[h] = w & 0xffff; p |= ${HopField.L1_PORTS}; }`,
        );
        break;
      case F.HOP_LATENCY:
        src.push(
          `w = ${word(o)}; if (w !== ${NA}) { b.hopLatency[h] = w; p |= ${HopField.HOP_LATENCY}; }`,
        );
        break;
      case F.QUEUE:
        src.push(
          `w = ${word(o)}; if (w !== ${NA}) { b.queueId[h] = w >>> ${occBits}; b.queueOccupancy[h] = w & ${occMask}; p |= ${HopField.QUEUE}; }`,
        );
        break;
      case F.INGRESS_TS:
      case F.EGRESS_TS: {
        const [hi, lo, bit] =
          field === F.INGRESS_TS
            ? ['ingressTsHi', 'ingressTsLo', HopField.INGRESS_TS]
            : ['egressTsHi', 'egressTsLo', HopField.EGRESS_TS];
        if (size === 8) {
          src.push(
            `w = ${word(o)}; w2 = ${word(String(t[i + 1] + 4))}; if (w !== ${NA} || w2 !== ${NA}) { b.${hi}[h] = w; b.${lo}[h] = w2; p |= ${bit}; }`,
          );
        } else {
          src.push(
            `w = ${word(o)}; if (w !== ${NA}) { b.${hi}[h] = 0; b.${lo}[h] = w; p |= ${bit}; }`,
          );
        }
        break;
      }
      case F.L2_PORTS:
        if (size === 8) {
          src.push(
            `w = ${word(o)}; w2 = ${word(String(t[i + 1] + 4))}; if (w !== ${NA} || w2 !== ${NA}) { b.l2IngressPort[h] = w; b.l2EgressPort[h] = w2; p |= ${HopField.L2_PORTS}; }`,
          );
        } else {
          src.push(
            `w = ${word(o)}; if (w !== ${NA}) { b.l2IngressPort[h] = w >>> 16; b.l2EgressPort[h] = w & 0xffff; p |= ${HopField.L2_PORTS}; }`,
          );
        }
        break;
      case F.TX_UTIL:
        src.push(`w = ${word(o)}; if (w !== ${NA}) { b.txUtil[h] = w; p |= ${HopField.TX_UTIL}; }`);
        break;
      case F.BUFFER:
        src.push(
          `w = ${word(o)}; if (w !== ${NA}) { b.bufferId[h] = w >>> 24; b.bufferOccupancy[h] = w & 0xffffff; p |= ${HopField.BUFFER}; }`,
        );
        break;
      case F.QUEUE_CONGESTION:
        src.push(
          `w = ${word(o)}; if (w !== ${NA}) { b.queueCongestion[h] = w; p |= ${HopField.QUEUE_CONGESTION}; }`,
        );
        break;
      case F.DROP:
        src.push(
          `w = ${word(o)}; if (w !== ${NA}) { b.queueId[h] = w >>> 24; b.hopDropReason[h] = (w >>> 16) & 0xff; p |= ${HopField.DROP_REASON | HopField.QUEUE}; }`,
        );
        break;
      default:
        break; // reserved instruction bits: 4 bytes each, nothing to keep
    }
  }
  const dsWords = dsBytes >>> 2;
  if (dsWords > 0) {
    const dsOff = layout.baselineBytes - (layout.checksumAt >= 0 ? 4 : 0);
    src.push(`b.ensureDs(${dsWords}); b.dsStart[h] = b.dsTotal; b.dsCount[h] = ${dsWords};`);
    for (let k = 0; k < dsWords; k++) {
      src.push(`b.dsWords[b.dsTotal++] = dv.getUint32(base + ${dsOff + 4 * k});`);
    }
  } else {
    src.push('b.dsCount[h] = 0;');
  }
  if (layout.checksumAt >= 0) {
    // the checksum complement is a 32-bit value: never masked by a bottom-of-stack bit
    src.push(
      `w = dv.getInt32(base + ${layout.checksumAt + dsBytes}); if (w !== -1) { b.checksum[h] = w; p |= ${HopField.CHECKSUM}; }`,
    );
  }
  src.push('b.present[h] = p; b.origin[h] = 0; return p;');
  return new Function('dv', 'base', 'b', 'h', src.join('\n')) as HopReader;
}

/** Compiled readers per (layout, DS bytes, bottom-of-stack stripping), one cache per decoder. */
export class HopReaderCache {
  private readonly cache = new Map<HopLayout, Map<number, HopReader>>();
  constructor(private readonly queueIdBits: number) {}

  /** Key includes whether words carry a bottom-of-stack bit (odd keys). */

  get(layout: HopLayout, dsBytes: number, bottomOfStackBit = false): HopReader {
    const key = dsBytes * 2 + (bottomOfStackBit ? 1 : 0);
    let m = this.cache.get(layout);
    if (!m) {
      m = new Map();
      this.cache.set(layout, m);
    }
    let r = m.get(key);
    if (!r) {
      r = compileHopReader(layout, dsBytes, this.queueIdBits, bottomOfStackBit);
      m.set(key, r);
    }
    return r;
  }
}
