/** The INT metadata stack: hop blocks, last hop first, read by compiled per-layout readers. */
import { Mode } from '../batch';
import { Layer } from '../layers/names';
import { FindingKind, Reject } from '../reasons';
import type { Walk } from '../walk/cursor';
import { LayoutKind, LayoutKindCode } from './layout';

/**
 * Decodes a metadata stack [off, end) of hop blocks, last hop first, into hop rows in
 * travel order. Bytes that do not fill a whole block are source-only DS metadata (at the
 * bottom) or a malformed stack.
 */
export function stack(
  w: Walk,
  off: number,
  end: number,
  kind: LayoutKindCode,
  bitmap: number,
  hopMl: number,
): number {
  const b = w.b;
  const r = w.r;
  let layout = w.layoutFor(kind, bitmap);
  const stackBytes = end - off;
  let perHop = hopMl * 4;
  if (stackBytes === 0) return 0;
  if (perHop === 0) {
    // Hop ML 0 with a stack: only the non-conformant MX-with-metadata case can be read
    if (b.mode[r] !== Mode.MX)
      return w.reject(Reject.HOP_ML_MISMATCH, `Hop ML 0 with ${stackBytes} stack bytes`);
    perHop = layout.baselineBytes;
    if (perHop === 0) return w.reject(Reject.HOP_ML_MISMATCH, 'empty bitmap with metadata');
  }
  let cut = false;
  if (perHop < layout.baselineBytes && kind !== LayoutKind.V05 && b.mode[r] !== Mode.MX) {
    // Hop ML is what transit hops wrote: trust it for the stride, decode the known fields
    // that fit (bmv2-style pipelines set every bitmap bit but insert only what they implement)
    w.finding(
      FindingKind.HOP_ML_BELOW_BITMAP,
      `Hop ML ${hopMl} words < ${layout.baselineBytes / 4} words the bitmap 0x${bitmap.toString(16).padStart(4, '0')} demands; decoded the fields within Hop ML`,
    );
    layout = w.layouts.getWithin(kind, bitmap, perHop);
    cut = true;
  } else if (perHop < layout.baselineBytes) {
    return w.reject(
      Reject.HOP_ML_MISMATCH,
      `Hop ML ${hopMl} words < ${layout.baselineBytes / 4} words the bitmap 0x${bitmap.toString(16).padStart(4, '0')} demands`,
    );
  }
  if (layout.reservedBits > 0) {
    w.finding(
      FindingKind.RESERVED_INSTRUCTIONS,
      `${layout.reservedBits} reserved instruction bit(s) set`,
    );
  }
  const dsBytes = perHop - layout.baselineBytes;
  if (dsBytes > 0 && kind !== LayoutKind.V05 && b.dsId[r] === 0) {
    // with a DS ID set, per-hop bytes beyond the bitmap are that domain's metadata (conformant)
    w.finding(
      FindingKind.HOP_ML_BITMAP,
      `${dsBytes} bytes per hop beyond the bitmap (domain-specific metadata)`,
    );
  }
  const hops = Math.floor(stackBytes / perHop);
  const rem = stackBytes - hops * perHop;
  if (hops > w.config.maxHops)
    return w.reject(Reject.TOO_MANY_HOPS, `${hops} hops > limit ${w.config.maxHops}`);
  if (rem !== 0) {
    b.sourceOnlyBytes[r] = rem;
    if (b.dsId[r] === 0 || rem % 4 !== 0) {
      w.finding(
        FindingKind.STACK_REMAINDER,
        `${rem} bytes left after ${hops} hop(s) of ${perHop} bytes`,
      );
    }
  }
  if (w.trace !== null) w.span(Layer.INT_STACK, off, end);
  b.ensureHops(hops);
  const first = b.hopTotal;
  const wordMask = w.wordMask;
  let reader = w.lastReader;
  if (cut) {
    reader = w.readers.get(layout, 0, wordMask !== 0xffffffff);
    w.lastReader = null;
  } else if (reader === null || dsBytes !== w.lastDsBytes) {
    reader = w.readers.get(layout, dsBytes, wordMask !== 0xffffffff);
    w.lastReader = reader;
    w.lastDsBytes = dsBytes;
  }
  const dv = w.view();
  const base = w.d.byteOffset + off;
  // stack block i (0 = top = last hop) → travel index hops-1-i
  for (let i = 0; i < hops; i++) reader(dv, base + i * perHop, b, first + hops - 1 - i);
  if (wordMask !== 0xffffffff && hops > 0) checkBottomOfStack(w, off, hops * perHop);
  if (b.hopCount[r] === 0) b.hopStart[r] = first;
  b.hopTotal = first + hops;
  b.hopCount[r] += hops;
  return 0;
}

function checkBottomOfStack(w: Walk, off: number, bytes: number): void {
  const d = w.d;
  for (let o = off; o < off + bytes; o += 4) {
    const last = o === off + bytes - 4;
    const bos = (d[o] & 0x80) !== 0;
    if (bos !== last) {
      w.finding(
        FindingKind.BOTTOM_OF_STACK,
        `bottom-of-stack bit ${bos ? 'set' : 'clear'} at stack byte ${o - off}`,
      );
      return;
    }
  }
}
