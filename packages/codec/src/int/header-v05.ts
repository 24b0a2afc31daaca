/** INT v0.5 header (8 bytes: instruction count, max and total hop counts), then its stack. */
import { HdrFlag, IntVer, Mode } from '../batch';
import { Layer } from '../layers/names';
import { FindingKind, Reject } from '../reasons';
import { u16, Walk } from '../walk/cursor';
import { LayoutKind } from './layout';
import { stack } from './stack';

/**
 * v0.5 INT header (8 bytes) at `h`. `claimedEnd` is where the shim length says the INT
 * data (with the tail, when `hasTail`) ends. Returns the offset after the stack (where the
 * tail starts), or -Reject.
 */
export function intHeaderV05(w: Walk, h: number, claimedEnd: number, hasTail: boolean): number {
  const d = w.d;
  const b = w.b;
  const r = w.r;
  if (h + 8 > w.end) return -w.reject(Reject.TRUNCATED, 'INT v0.5 header');
  if (w.trace !== null) w.span(Layer.INT_MD_HEADER_V05, h, h + 8);
  b.hasHeader[r] = 1;
  b.intVersion[r] = IntVer.V05;
  b.mode[r] = Mode.MD;
  let flags = 0;
  b.replication[r] = (d[h] >>> 2) & 3;
  if (d[h] & 0x02) flags |= HdrFlag.C;
  if (d[h] & 0x01) flags |= HdrFlag.E;
  b.hdrFlags[r] = flags;
  const insCnt = d[h + 1] & 0x1f;
  const maxHop = d[h + 2];
  const totalHop = d[h + 3];
  const bitmap = u16(d, h + 4);
  b.hopMl[r] = insCnt;
  b.bitmap[r] = bitmap;
  b.maxHopCnt[r] = maxHop;
  b.totalHopCnt[r] = totalHop;
  b.rhc[r] = maxHop >= totalHop ? maxHop - totalHop : 0;
  if (flags & HdrFlag.E)
    w.finding(FindingKind.HOP_LIMIT_EXCEEDED, 'E bit set: the hop limit was reached');
  const stackBytes = totalHop * insCnt * 4;
  const stackEnd = h + 8 + stackBytes;
  const expectEnd = stackEnd + (hasTail ? 4 : 0);
  if (claimedEnd !== expectEnd) {
    w.finding(
      FindingKind.SHIM_LENGTH,
      `shim length says ${claimedEnd - h + 4} bytes, header says ${expectEnd - h + 4} (total hops ${totalHop} x ${insCnt} instructions)`,
    );
  }
  if (expectEnd > w.end) return -w.reject(Reject.TRUNCATED, 'INT v0.5 stack');
  if (totalHop > w.config.maxHops) return -w.reject(Reject.TOO_MANY_HOPS, `${totalHop} hops`);
  const popcount = popcount16(bitmap);
  if (insCnt !== popcount) {
    w.finding(
      FindingKind.HOP_ML_BITMAP,
      `instruction count ${insCnt}, bitmap has ${popcount} bits`,
    );
  }
  const code = stack(w, h + 8, stackEnd, LayoutKind.V05, bitmap, insCnt);
  return code === 0 ? stackEnd : -code;
}

function popcount16(x: number): number {
  x = x - ((x >>> 1) & 0x5555);
  x = (x & 0x3333) + ((x >>> 2) & 0x3333);
  x = (x + (x >>> 4)) & 0x0f0f;
  return (x + (x >>> 8)) & 0x1f;
}
