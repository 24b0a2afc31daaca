/** VXLAN-GPE: a next protocol the profile maps to an INT version announces an INT shim. */
import { Encap, IntVer } from '../batch';
import { intHeaderV05 } from '../int/header-v05';
import { intHeaderV1 } from '../int/header-v1';
import { intHeaderV2 } from '../int/header-v2';
import { EtherType } from '../layers/ip';
import { Layer } from '../layers/names';
import { Reject } from '../reasons';
import type { Walk } from '../walk/cursor';
import { nestedTunnelPayload } from '../walk/network';

/** GPE next protocols that are not INT: 1 IPv4, 2 IPv6, 3 Ethernet (0 = none of them). */
function gpeEtherType(np: number): number {
  return np === 1 ? EtherType.IPV4 : np === 2 ? EtherType.IPV6 : np === 3 ? EtherType.TEB : 0;
}

export function vxlanGpe(w: Walk, off: number): number {
  const d = w.d;
  if (off + 8 > w.end) return w.reject(Reject.TRUNCATED, 'VXLAN-GPE header');
  const np = d[off + 3];
  if (w.trace !== null) w.span(Layer.VXLAN_GPE, off, off + 8);
  const ver = w.gpeVersion[np];
  const s = off + 8;
  if (ver === IntVer.NONE) {
    const et = gpeEtherType(np);
    if (et === 0) {
      w.lastDetail = `VXLAN-GPE next protocol 0x${np.toString(16)}`;
      return Reject.NOT_INT;
    }
    return nestedTunnelPayload(w, s, et);
  }
  if (s + 4 > w.end) return w.reject(Reject.TRUNCATED, 'GPE INT shim');
  const opened = w.ensureRecordOpen(Encap.VXLAN_GPE);
  const b = w.b;
  const r = w.r;
  b.intVersion[r] = ver;
  b.vni[r] = (d[off + 4] << 16) | (d[off + 5] << 8) | d[off + 6];
  if (w.trace !== null)
    if (w.trace !== null)
      w.span(ver >= IntVer.V20 ? Layer.INT_SHIM_GPE_V2 : Layer.INT_SHIM_GPE_V1, s, s + 4);
  let code: number;
  let intEnd: number;
  let shimNext: number;
  if (ver === IntVer.V20 || ver === IntVer.V21) {
    // Type(4) Rsvd(4) | Length (excl. shim) | G + Rsvd | Next Protocol
    const type = d[s] >>> 4;
    const lenW = d[s + 1];
    b.intType[r] = type;
    b.shimLength[r] = lenW;
    shimNext = d[s + 3];
    intEnd = s + 4 + lenW * 4;
    if (type !== 1 && type !== 3) code = w.reject(Reject.UNKNOWN_INT_TYPE, `INT type ${type}`);
    else code = intHeaderV2(w, s + 4, intEnd, type);
  } else {
    // Type(8) Rsvd(8) | Length (incl. shim) | Next Protocol
    const lenW = d[s + 2];
    b.intType[r] = d[s];
    b.shimLength[r] = lenW;
    shimNext = d[s + 3];
    intEnd = s + lenW * 4;
    if (d[s] !== 1) code = w.reject(Reject.UNKNOWN_INT_TYPE, `INT type ${d[s]}`);
    else if (ver === IntVer.V10) code = intHeaderV1(w, s + 4, intEnd);
    else {
      const e = intHeaderV05(w, s + 4, intEnd, false);
      code = e < 0 ? -e : 0;
    }
  }
  if (code === 0) {
    b.nextProto[r] = shimNext;
    w.checkIpLength(intEnd);
    const et = gpeEtherType(shimNext);
    if (et !== 0) w.innerFlow(intEnd, et);
  }
  return w.finishOwned(opened, code);
}
