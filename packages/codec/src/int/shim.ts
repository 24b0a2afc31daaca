/**
 * INT over TCP/UDP: the shim after the L4 header (v0.5 and v1.0 8-bit type; v2.x 4-bit type +
 * NPT), what follows the stack (v0.5 tail, NPT 2 original L4 header, payload) and the length
 * checks of the carrying packet.
 */
import { Encap } from '../batch';
import { IpProto } from '../layers/ip';
import { Layer } from '../layers/names';
import { FindingKind, Reject } from '../reasons';
import { u16, Walk } from '../walk/cursor';
import { intHeaderV05 } from './header-v05';
import { intHeaderV1 } from './header-v1';
import { intHeaderV2 } from './header-v2';

/**
 * Inside a report, an unmarked TCP/UDP packet: the sink reported it because it carried INT,
 * so (when reportInnerProbe is on) decode a shim there if its fields hang together.
 */
export function unmarkedInner(
  w: Walk,
  off: number,
  encap: number,
  l4: number,
  l4Off: number,
): number {
  const d = w.d;
  w.l4PortsOffset = l4Off;
  if (!w.config.reportInnerProbe || off + 12 > w.end) return noInnerInt(w);
  const b0 = d[off];
  const type2 = b0 >>> 4;
  const plausibleV2 = (type2 === 1 || type2 === 3) && d[off + 4] >>> 4 === 2;
  const plausibleOld = (b0 === 1 || b0 === 2) && d[off + 4] >>> 4 <= 1;
  if (!plausibleV2 && !plausibleOld) return noInnerInt(w);
  return headerShim(w, off, encap, l4, l4Off);
}

/** A report whose inner packet carries no INT: the record keeps the inner flow. */
function noInnerInt(w: Walk): number {
  w.setFlowFromIp(w.ip, w.l4PortsOffset);
  return 0;
}

/** INT shim after a TCP/UDP header at `l4Off`; `l4` is its IP protocol. */
export function headerShim(w: Walk, off: number, encap: number, l4: number, l4Off: number): number {
  const d = w.d;
  w.l4PortsOffset = l4Off;
  if (off + 4 > w.end) return w.reject(Reject.TRUNCATED, 'INT shim');
  const b0 = d[off];
  if (b0 >>> 4 !== 0) return shimV2(w, off, encap, l4, l4Off);
  if (b0 === 1 || b0 === 2) return shimV1orV05(w, off, encap, l4, l4Off);
  return w.reject(Reject.UNKNOWN_INT_TYPE, `INT shim type byte 0x${b0.toString(16)}`);
}

function shimV2(w: Walk, off: number, encap: number, l4: number, l4Off: number): number {
  const d = w.d;
  const type = d[off] >>> 4;
  const npt = (d[off] >>> 2) & 3;
  const lenW = d[off + 1];
  if (type !== 1 && type !== 3) return w.reject(Reject.UNKNOWN_INT_TYPE, `INT type ${type}`);
  const intEnd = off + 4 + lenW * 4;
  if (w.trace !== null) w.span(Layer.INT_SHIM_V2, off, off + 4);
  const opened = w.ensureRecordOpen(encap);
  const b = w.b;
  const r = w.r;
  b.npt[r] = npt;
  b.shimLength[r] = lenW;
  b.intType[r] = type;
  if (npt === 1) b.origPort[r] = u16(d, off + 2);
  else if (npt === 2) b.origProto[r] = d[off + 3];
  else if (npt === 0) {
    const dscpByte = d[off + 3];
    if (dscpByte !== 0 || d[off + 2] !== 0) b.origDscp[r] = dscpByte >>> 2;
  }
  if (npt !== 0 && (encap === Encap.UDP_DSCP || encap === Encap.TCP_DSCP)) {
    w.finding(FindingKind.NPT_WITH_DSCP, `NPT ${npt} on a DSCP-marked packet`);
  }
  let code = intHeaderV2(w, off + 4, intEnd, type);
  if (code === 0) {
    // what follows the INT stack: original payload (NPT 0/1) or the original L4 header (NPT 2)
    if (npt === 2 && intEnd + 4 <= w.end) {
      const proto = d[off + 3];
      if (w.trace !== null)
        if (w.trace !== null)
          w.span(
            Layer.ORIGINAL_L4,
            intEnd,
            Math.min(w.end, intEnd + (proto === IpProto.TCP ? 20 : 8)),
          );
      w.setFlowFromIp(w.ip, -1);
      // INT added an L4 header of its own in front of the shim: not the original's either
      w.removeIntFromLength(off, intEnd, off - l4Off);
      b.protocol[r] = proto;
      b.srcPort[r] = u16(d, intEnd);
      b.dstPort[r] = u16(d, intEnd + 2);
    } else {
      w.setFlowFromIp(w.ip, l4Off);
      w.removeIntFromLength(off, intEnd);
      if (npt === 1) b.dstPort[r] = u16(d, off + 2);
    }
    if (l4 === IpProto.UDP) w.checkUdpLength(l4Off);
    w.checkIpLength(intEnd);
    if (w.trace !== null) w.span(Layer.PAYLOAD, intEnd, w.end);
  }
  code = w.finishOwned(opened, code);
  return code;
}

/**
 * v0.5 / v1.0 shims share the 8-bit type. Byte 2 is the length in both; they differ in
 * the INT header that follows (and v0.5 carries a tail). The INT header version nibble
 * decides; INTCollector writes 0 in v1.0 headers, so that case is decided by which
 * reading makes the lengths consistent.
 */
function shimV1orV05(w: Walk, off: number, encap: number, l4: number, l4Off: number): number {
  const d = w.d;
  if (off + 12 > w.end) return w.reject(Reject.TRUNCATED, 'INT v0.5/v1.0 header');
  const lenW = d[off + 2];
  const ver = d[off + 4] >>> 4;
  const v1Ver = w.config.deviations.v1HeaderVersion;
  let v1 = ver === 1;
  if (!v1 && ver === v1Ver && v1Ver !== 1) {
    const hopMl = d[off + 6] & 0x1f;
    const stack = lenW * 4 - 12;
    v1 = hopMl > 0 && stack >= 0 && stack % (hopMl * 4) === 0;
  }
  if (!v1 && ver > 1) return w.reject(Reject.UNKNOWN_INT_VERSION, `INT header version ${ver}`);
  const opened = w.ensureRecordOpen(encap);
  const b = w.b;
  const r = w.r;
  b.intType[r] = d[off];
  b.shimLength[r] = lenW;
  let code: number;
  let intEnd: number;
  if (w.trace !== null) w.span(Layer.INT_SHIM_V1, off, off + 4);
  if (v1) {
    b.origDscp[r] = d[off + 3] >>> 2;
    if (d[off + 3] === 0) b.origDscp[r] = -1;
    intEnd = off + lenW * 4;
    if (ver !== 1) w.finding(FindingKind.VERSION_FIELD, `INT v1.0 header with version ${ver}`);
    code = intHeaderV1(w, off + 4, intEnd);
  } else {
    const r0 = intHeaderV05(w, off + 4, off + lenW * 4, true);
    code = r0 < 0 ? -r0 : 0;
    intEnd = r0 < 0 ? off : r0;
  }
  if (code === 0) {
    w.setFlowFromIp(w.ip, l4Off);
    if (!v1) {
      // v0.5 tail: original protocol, destination port, DSCP
      const t = intEnd;
      if (w.trace !== null) w.span(Layer.INT_TAIL, t, t + 4);
      b.nextProto[r] = d[t];
      b.origProto[r] = d[t];
      const tailDscp = d[t + 3] & 0x3f; // v0.5 tail: the whole byte holds the DSCP
      if (encap === Encap.UDP_PORT || encap === Encap.TCP_PORT) {
        b.origPort[r] = u16(d, t + 1);
        b.dstPort[r] = u16(d, t + 1);
      }
      b.origDscp[r] = tailDscp;
      if (d[t] !== l4 && d[t] !== 0)
        w.finding(FindingKind.TAIL, `tail protocol ${d[t]}, packet protocol ${l4}`);
      intEnd = t + 4;
    }
    w.removeIntFromLength(off, intEnd);
    if (l4 === IpProto.UDP) w.checkUdpLength(l4Off);
    w.checkIpLength(intEnd);
    if (w.trace !== null) w.span(Layer.PAYLOAD, intEnd, w.end);
  }
  return w.finishOwned(opened, code);
}
