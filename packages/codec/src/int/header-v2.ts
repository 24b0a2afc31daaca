/** INT v2.x metadata header (INT-MD and INT-MX, 12 bytes), then its stack. */
import { HdrFlag, IntVer, Mode } from '../batch';
import { Layer } from '../layers/names';
import { FindingKind, Reject } from '../reasons';
import { u16, Walk } from '../walk/cursor';
import { intHeaderV1 } from './header-v1';
import { LayoutKind } from './layout';
import { stack } from './stack';

/** v2.x INT-MD / INT-MX metadata header (12 bytes) at `h`, stack up to `intEnd`. */
export function intHeaderV2(w: Walk, h: number, intEnd: number, type: number): number {
  const d = w.d;
  const b = w.b;
  const r = w.r;
  if (h + 12 > w.end) return w.reject(Reject.TRUNCATED, 'INT-MD/MX header');
  if (intEnd < h + 12)
    return w.reject(Reject.LENGTH_MISMATCH, `INT length ${intEnd - h} bytes < 12-byte header`);
  if (intEnd > w.end)
    return w.reject(Reject.TRUNCATED, `INT stack runs ${intEnd - w.end} bytes past the packet`);
  const ver = d[h] >>> 4;
  if (ver !== 2) {
    if (ver === 1 && intEnd - h >= 8) {
      // v1.0 header under a v2-style carrier (Geneve v1.0 examples)
      return intHeaderV1(w, h, intEnd);
    }
    return w.reject(Reject.UNKNOWN_INT_VERSION, `INT header version ${ver} under a v2 shim`);
  }
  if (w.trace !== null) w.span(type === 3 ? Layer.INT_MX_HEADER : Layer.INT_MD_HEADER, h, h + 12);
  b.hasHeader[r] = 1;
  if (b.intVersion[r] === IntVer.NONE) b.intVersion[r] = IntVer.V21;
  let flags = 0;
  if (d[h] & 0x08) flags |= HdrFlag.D;
  if (d[h] & 0x04) flags |= HdrFlag.E;
  if (d[h] & 0x02) flags |= HdrFlag.M;
  b.hdrFlags[r] = flags;
  const hopMl = d[h + 2] & 0x1f;
  const bitmap = u16(d, h + 4);
  b.hopMl[r] = hopMl;
  b.bitmap[r] = bitmap;
  b.dsId[r] = u16(d, h + 6);
  b.dsInstruction[r] = u16(d, h + 8);
  b.dsFlags[r] = u16(d, h + 10);
  if ((d[h] & 0x01) !== 0 || d[h + 1] !== 0 || (d[h + 2] & 0xe0) !== 0) {
    w.finding(FindingKind.RESERVED_BITS, 'reserved bits of the INT header are set');
  }
  if (flags & HdrFlag.E)
    w.finding(FindingKind.HOP_LIMIT_EXCEEDED, 'E bit set: a node could not push metadata');
  if (flags & HdrFlag.M)
    w.finding(FindingKind.MTU_EXCEEDED, 'M bit set: a node skipped insertion for MTU');
  const stackOff = h + 12;
  if (type === 3) {
    b.mode[r] = Mode.MX;
    if (d[h + 3] !== 0) w.finding(FindingKind.RESERVED_BITS, 'INT-MX byte 3 is reserved but set');
    if (intEnd === stackOff) return 0;
    // non-conformant: per-hop metadata after an MX header (bmv2 P4-INT reports do this)
    w.finding(
      FindingKind.MX_WITH_METADATA,
      `${intEnd - stackOff} bytes of metadata follow an INT-MX header`,
    );
    return stack(w, stackOff, intEnd, LayoutKind.V2, bitmap, hopMl);
  }
  b.mode[r] = Mode.MD;
  b.rhc[r] = d[h + 3];
  return stack(w, stackOff, intEnd, LayoutKind.V2, bitmap, hopMl);
}
