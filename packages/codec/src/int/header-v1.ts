/** INT v1.0 metadata header (8 bytes), then its stack. */
import { HdrFlag, IntVer, Mode } from '../batch';
import { Layer } from '../layers/names';
import { FindingKind, Reject } from '../reasons';
import { u16, Walk } from '../walk/cursor';
import { LayoutKind } from './layout';
import { stack } from './stack';

/** v1.0 INT metadata header (8 bytes) at `h`, stack to `intEnd`. */
export function intHeaderV1(w: Walk, h: number, intEnd: number): number {
  const d = w.d;
  const b = w.b;
  const r = w.r;
  if (h + 8 > w.end) return w.reject(Reject.TRUNCATED, 'INT v1.0 header');
  if (intEnd < h + 8)
    return w.reject(Reject.LENGTH_MISMATCH, `INT length ${intEnd - h} bytes < 8-byte header`);
  if (intEnd > w.end)
    return w.reject(Reject.TRUNCATED, `INT stack runs ${intEnd - w.end} bytes past the packet`);
  if (w.trace !== null) w.span(Layer.INT_MD_HEADER_V1, h, h + 8);
  b.hasHeader[r] = 1;
  b.intVersion[r] = IntVer.V10;
  b.mode[r] = Mode.MD;
  let flags = 0;
  b.replication[r] = (d[h] >>> 2) & 3;
  if (d[h] & 0x02) flags |= HdrFlag.C;
  if (d[h] & 0x01) flags |= HdrFlag.E;
  if (d[h + 1] & 0x80) flags |= HdrFlag.M;
  b.hdrFlags[r] = flags;
  if ((d[h + 1] & 0x7f) !== 0 || (d[h + 2] & 0xe0) !== 0 || u16(d, h + 6) !== 0) {
    w.finding(FindingKind.RESERVED_BITS, 'reserved bits of the v1.0 INT header are set');
  }
  if (flags & HdrFlag.E)
    w.finding(FindingKind.HOP_LIMIT_EXCEEDED, 'E bit set: a node could not push metadata');
  if (flags & HdrFlag.M)
    w.finding(FindingKind.MTU_EXCEEDED, 'M bit set: a node skipped insertion for MTU');
  const hopMl = d[h + 2] & 0x1f;
  const bitmap = u16(d, h + 4);
  b.hopMl[r] = hopMl;
  b.bitmap[r] = bitmap;
  b.rhc[r] = d[h + 3];
  return stack(w, h + 8, intEnd, LayoutKind.V10, bitmap, hopMl);
}
