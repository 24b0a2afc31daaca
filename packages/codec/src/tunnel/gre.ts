/** GRE: a protocol type the profile lists announces an INT shim; else walk the payload. */
import { Encap } from '../batch';
import { intHeaderV2 } from '../int/header-v2';
import { Layer } from '../layers/names';
import { Reject } from '../reasons';
import { u16, Walk } from '../walk/cursor';
import { nestedTunnelPayload } from '../walk/network';

export function walkGre(w: Walk, off: number): number {
  const d = w.d;
  if (off + 4 > w.end) return w.reject(Reject.TRUNCATED, 'GRE header');
  const flags = d[off];
  const proto = u16(d, off + 2);
  let hl = 4;
  if (flags & 0x80) hl += 4; // checksum + reserved1
  if (flags & 0x20) hl += 4; // key
  if (flags & 0x10) hl += 4; // sequence number
  if (off + hl > w.end) return w.reject(Reject.TRUNCATED, 'GRE optional fields');
  if (w.trace !== null) w.span(Layer.GRE, off, off + hl);
  const s = off + hl;
  if (!w.greInt.has(proto)) return nestedTunnelPayload(w, s, proto);
  if (s + 4 > w.end) return w.reject(Reject.TRUNCATED, 'GRE INT shim');
  // Type(4) G(1) Rsvd(3) | Length (excl. shim) | Next Protocol (EtherType)
  const type = d[s] >>> 4;
  const lenW = d[s + 1];
  const next = u16(d, s + 2);
  if (w.trace !== null) w.span(Layer.INT_SHIM_GRE, s, s + 4);
  if (type !== 1 && type !== 3) return w.reject(Reject.UNKNOWN_INT_TYPE, `INT type ${type}`);
  const opened = w.ensureRecordOpen(Encap.GRE);
  const b = w.b;
  b.intType[w.r] = type;
  b.shimLength[w.r] = lenW;
  b.nextProto[w.r] = next;
  const intEnd = s + 4 + lenW * 4;
  const code = intHeaderV2(w, s + 4, intEnd, type);
  if (code === 0) {
    w.checkIpLength(intEnd);
    w.innerFlow(intEnd, next);
  }
  return w.finishOwned(opened, code);
}
