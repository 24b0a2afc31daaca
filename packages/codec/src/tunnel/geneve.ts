/** Geneve: an INT option (by class and type) carries the INT header; else walk the payload. */
import { Encap } from '../batch';
import { intHeaderV1 } from '../int/header-v1';
import { intHeaderV2 } from '../int/header-v2';
import { Layer } from '../layers/names';
import { FindingKind, Reject } from '../reasons';
import { u16, Walk } from '../walk/cursor';
import { nestedTunnelPayload } from '../walk/network';

export function geneve(w: Walk, off: number): number {
  const d = w.d;
  const cfg = w.config;
  if (off + 8 > w.end) return w.reject(Reject.TRUNCATED, 'Geneve header');
  const optLenW = d[off] & 0x3f;
  const protoType = u16(d, off + 2);
  const optEnd = off + 8 + optLenW * 4;
  if (optEnd > w.end) return w.reject(Reject.TRUNCATED, 'Geneve options');
  if (w.trace !== null) w.span(Layer.GENEVE, off, off + 8);
  let o = off + 8;
  let found = -1;
  let foundType = 0;
  let foundLen = 0;
  let overrun = 0;
  for (let n = 0; o + 4 <= optEnd && n < 64; n++) {
    const cls = u16(d, o);
    const type = d[o + 2] & 0x7f;
    const lenW = d[o + 3] & 0x1f;
    const next = o + 4 + lenW * 4;
    if (w.trace !== null) w.span(Layer.GENEVE_OPTION, o, Math.min(next, w.end));
    const isInt =
      cls === cfg.geneveOptionClass && (type === cfg.geneveMdType || type === cfg.geneveMxType);
    if (isInt && found < 0) {
      found = o;
      foundType = type;
      foundLen = lenW;
    }
    if (next > optEnd) {
      // an option running past OptLen (the spec's own Geneve examples do this)
      if (isInt) overrun = next - optEnd;
      break;
    }
    o = next;
  }
  // no INT option: the INT (if any) is in the tunnelled packet
  if (found < 0) return nestedTunnelPayload(w, optEnd, protoType);
  const inner = Math.max(optEnd, found + 4 + foundLen * 4);
  const opened = w.ensureRecordOpen(Encap.GENEVE);
  const r = w.r;
  w.b.vni[r] = (d[off + 4] << 16) | (d[off + 5] << 8) | d[off + 6];
  if (overrun > 0)
    w.finding(FindingKind.GENEVE_LENGTH, `INT option ends ${overrun} bytes past the Geneve OptLen`);
  w.b.intType[r] = foundType === cfg.geneveMxType ? 3 : 1;
  w.b.shimLength[r] = foundLen;
  const h = found + 4;
  const intEnd = h + foundLen * 4;
  let code =
    d[h] >>> 4 === 1
      ? intHeaderV1(w, h, intEnd)
      : intHeaderV2(w, h, intEnd, foundType === cfg.geneveMxType ? 3 : 1);
  if (code === 0) {
    w.checkIpLength(inner);
    w.innerFlow(inner, protoType);
  }
  code = w.finishOwned(opened, code);
  return code;
}
