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
 * (view over the packet's ArrayBuffer, absolute byte position of the block, batch, hop row,
 * word mask) → presence bits. A DataView read is markedly faster than assembling bytes.
 */
export type HopReader = (dv: DataView<ArrayBufferLike>, base: number, b: RecordBatch, h: number, m: number) => number;

const word = (off: string): string => `(dv.getUint32(base + ${off}) & m) >>> 0`;

/** Compiles a reader for `layout` with `dsBytes` of domain-specific metadata per hop. */
export function compileHopReader(layout: HopLayout, dsBytes: number, queueIdBits: number): HopReader {
  const t = layout.fields;
  const src: string[] = ['let p = 0, w = 0, w2 = 0;'];
  const occBits = 32 - queueIdBits;
  const occMask = occBits === 24 ? '0xffffff' : '0xffff';
  for (let i = 0; i < t.length; i += 3) {
    const field = t[i];
    const o = String(t[i + 1]);
    const size = t[i + 2];
    switch (field) {
      case F.SWITCH_ID:
        src.push(`w = ${word(o)}; if (w !== 0xffffffff) { b.switchId[h] = w; p |= ${HopField.SWITCH_ID}; }`);
        break;
      case F.L1_PORTS:
        src.push(`w = ${word(o)}; if (w !== 0xffffffff) { b.ingressPort[h] = w >>> 16; b.egressPort[h] = w & 0xffff; p |= ${HopField.L1_PORTS}; }`);
        break;
      case F.HOP_LATENCY:
        src.push(`w = ${word(o)}; if (w !== 0xffffffff) { b.hopLatency[h] = w; p |= ${HopField.HOP_LATENCY}; }`);
        break;
      case F.QUEUE:
        src.push(`w = ${word(o)}; if (w !== 0xffffffff) { b.queueId[h] = w >>> ${occBits}; b.queueOccupancy[h] = w & ${occMask}; p |= ${HopField.QUEUE}; }`);
        break;
      case F.INGRESS_TS:
      case F.EGRESS_TS: {
        const [hi, lo, bit] =
          field === F.INGRESS_TS ? ['ingressTsHi', 'ingressTsLo', HopField.INGRESS_TS] : ['egressTsHi', 'egressTsLo', HopField.EGRESS_TS];
        if (size === 8) {
          src.push(
            `w = ${word(o)}; w2 = ${word(String(t[i + 1] + 4))}; if (w !== 0xffffffff || w2 !== 0xffffffff) { b.${hi}[h] = w; b.${lo}[h] = w2; p |= ${bit}; }`,
          );
        } else {
          src.push(`w = ${word(o)}; if (w !== 0xffffffff) { b.${hi}[h] = 0; b.${lo}[h] = w; p |= ${bit}; }`);
        }
        break;
      }
      case F.L2_PORTS:
        if (size === 8) {
          src.push(
            `w = ${word(o)}; w2 = ${word(String(t[i + 1] + 4))}; if (w !== 0xffffffff || w2 !== 0xffffffff) { b.l2IngressPort[h] = w; b.l2EgressPort[h] = w2; p |= ${HopField.L2_PORTS}; }`,
          );
        } else {
          src.push(`w = ${word(o)}; if (w !== 0xffffffff) { b.l2IngressPort[h] = w >>> 16; b.l2EgressPort[h] = w & 0xffff; p |= ${HopField.L2_PORTS}; }`);
        }
        break;
      case F.TX_UTIL:
        src.push(`w = ${word(o)}; if (w !== 0xffffffff) { b.txUtil[h] = w; p |= ${HopField.TX_UTIL}; }`);
        break;
      case F.BUFFER:
        src.push(`w = ${word(o)}; if (w !== 0xffffffff) { b.bufferId[h] = w >>> 24; b.bufferOccupancy[h] = w & 0xffffff; p |= ${HopField.BUFFER}; }`);
        break;
      case F.QUEUE_CONGESTION:
        src.push(`w = ${word(o)}; if (w !== 0xffffffff) { b.queueCongestion[h] = w; p |= ${HopField.QUEUE_CONGESTION}; }`);
        break;
      case F.DROP:
        src.push(
          `w = ${word(o)}; if (w !== 0xffffffff) { b.queueId[h] = w >>> 24; b.hopDropReason[h] = (w >>> 16) & 0xff; p |= ${HopField.DROP_REASON | HopField.QUEUE}; }`,
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
    src.push(`w = dv.getUint32(base + ${layout.checksumAt + dsBytes}); if (w !== 0xffffffff) { b.checksum[h] = w; p |= ${HopField.CHECKSUM}; }`);
  }
  src.push('b.present[h] = p; b.origin[h] = 0; return p;');
  return new Function('dv', 'base', 'b', 'h', 'm', src.join('\n')) as HopReader;
}

/** Compiled readers per (layout, DS bytes, queue split), one cache per decoder. */
export class HopReaderCache {
  private readonly cache = new Map<HopLayout, Map<number, HopReader>>();
  constructor(private readonly queueIdBits: number) {}

  get(layout: HopLayout, dsBytes: number): HopReader {
    let m = this.cache.get(layout);
    if (!m) {
      m = new Map();
      this.cache.set(layout, m);
    }
    let r = m.get(dsBytes);
    if (!r) {
      r = compileHopReader(layout, dsBytes, this.queueIdBits);
      m.set(dsBytes, r);
    }
    return r;
  }
}

