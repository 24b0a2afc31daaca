/**
 * The general walker's network part: IP → UDP/TCP/GRE/IP-in-IP, where each L4 header hands
 * over to a Telemetry Report, a tunnel or an INT shim by port and marker (see the profile).
 */
import { Encap } from '../batch';
import { headerShim, unmarkedInner } from '../int/shim';
import { EtherType, IpProto, parseIp, walkEthernet } from '../layers/ip';
import { Layer } from '../layers/names';
import { Reject } from '../reasons';
import { telemetryReport } from '../report/inner';
import { geneve } from '../tunnel/geneve';
import { walkGre } from '../tunnel/gre';
import { vxlanGpe } from '../tunnel/vxlan-gpe';
import {
  MAX_DEPTH,
  PORT_GENEVE,
  PORT_GPE,
  PORT_INT_TCP,
  PORT_INT_UDP,
  PORT_REPORT,
  u16,
  Walk,
} from './cursor';

/** From a network-layer header at `off` (etherType 0 = by version nibble). */
export function walkL3(w: Walk, off: number, etherType: number): number {
  const ip = w.ip;
  const code = parseIp(w.d, off, w.end, etherType, ip);
  if (code !== 0) {
    if (code === Reject.NOT_INT)
      w.lastDetail = `ethertype 0x${etherType.toString(16).padStart(4, '0')}`;
    return code;
  }
  if (w.trace !== null) w.span(ip.v6 ? Layer.IPV6 : Layer.IPV4, off, ip.headerEnd);
  if (ip.isFragment && !ip.firstFragment)
    return w.reject(Reject.IP_FRAGMENT, 'non-first IP fragment');
  const l4 = ip.headerEnd;
  switch (ip.proto) {
    case IpProto.UDP:
      return walkUdp(w, l4);
    case IpProto.TCP:
      return walkTcp(w, l4);
    case IpProto.GRE:
      return walkGre(w, l4);
    case IpProto.IPV4:
    case IpProto.IPV6:
      return nestedL3(w, l4, ip.proto === IpProto.IPV4 ? EtherType.IPV4 : EtherType.IPV6);
    default:
      if (w.r >= 0) w.setFlowFromIp(ip, -1);
      w.lastDetail = `IP protocol ${ip.proto}`;
      return Reject.NOT_INT;
  }
}

/** An Ethernet frame at `off`: its VLAN tags, then the network layer. */
export function walkFrame(w: Walk, off: number): number {
  const code = walkEthernet(w.d, off, w.end, w.link);
  if (code !== 0) return code;
  if (w.trace !== null) w.span(Layer.ETHERNET, off, w.link.offset);
  return walkL3(w, w.link.offset, w.link.etherType);
}

/** IP in IP: one encapsulation level deeper. */
function nestedL3(w: Walk, off: number, etherType: number): number {
  if (w.depth >= MAX_DEPTH) return w.reject(Reject.TOO_DEEP, 'encapsulation nested too deep');
  w.depth++;
  const c = walkL3(w, off, etherType);
  w.depth--;
  return c;
}

/** The payload of a tunnel without INT of its own, one level deeper: walk it for INT. */
export function nestedTunnelPayload(w: Walk, off: number, protoType: number): number {
  if (w.depth >= MAX_DEPTH) return w.reject(Reject.TOO_DEEP, 'encapsulation nested too deep');
  w.depth++;
  let c: number;
  if (protoType === EtherType.TEB) c = walkFrame(w, off);
  else if (protoType === EtherType.IPV4 || protoType === EtherType.IPV6)
    c = walkL3(w, off, protoType);
  else {
    w.lastDetail = `tunnel protocol 0x${protoType.toString(16)}`;
    c = Reject.NOT_INT;
  }
  w.depth--;
  return c;
}

function walkUdp(w: Walk, off: number): number {
  const d = w.d;
  if (off + 8 > w.end) return w.reject(Reject.TRUNCATED, 'UDP header');
  if (w.trace !== null) w.span(Layer.UDP, off, off + 8);
  const dport = u16(d, off + 2);
  const udpLen = u16(d, off + 4);
  const payload = off + 8;
  const kind = w.portKind[dport];
  if (kind & PORT_REPORT && w.r < 0) return telemetryReport(w, payload);
  if (kind & PORT_GENEVE) return geneve(w, payload);
  if (kind & PORT_GPE) return vxlanGpe(w, payload);
  if (udpLen < 8 && w.r < 0) return w.reject(Reject.BAD_IP_HEADER, `UDP length ${udpLen}`);
  if (kind & PORT_INT_UDP) return headerShim(w, payload, Encap.UDP_PORT, IpProto.UDP, off);
  if (w.probeAt(payload)) {
    if (w.trace !== null) w.span(Layer.PROBE_MARKER, payload, payload + 8);
    return headerShim(w, payload + 8, Encap.UDP_PROBE, IpProto.UDP, off);
  }
  if (w.dscpMarked()) return headerShim(w, payload, Encap.UDP_DSCP, IpProto.UDP, off);
  if (w.r >= 0) return unmarkedInner(w, payload, Encap.UDP_UNMARKED, IpProto.UDP, off);
  w.lastDetail = `UDP port ${dport}`;
  return Reject.NOT_INT;
}

function walkTcp(w: Walk, off: number): number {
  const d = w.d;
  if (off + 20 > w.end) return w.reject(Reject.TRUNCATED, 'TCP header');
  const dataOff = (d[off + 12] >>> 4) * 4;
  if (dataOff < 20) return w.reject(Reject.BAD_IP_HEADER, `TCP data offset ${dataOff}`);
  const dport = u16(d, off + 2);
  const after = w.config.tcpIntAfterOptions ? off + dataOff : off + 20;
  if (w.trace !== null) w.span(Layer.TCP, off, off + dataOff);
  if (off + dataOff > w.end) return w.reject(Reject.TRUNCATED, 'TCP options');
  if (w.portKind[dport] & PORT_INT_TCP)
    return headerShim(w, after, Encap.TCP_PORT, IpProto.TCP, off);
  if (w.probeAt(after)) {
    if (w.trace !== null) w.span(Layer.PROBE_MARKER, after, after + 8);
    return headerShim(w, after + 8, Encap.TCP_PROBE, IpProto.TCP, off);
  }
  if (w.dscpMarked()) return headerShim(w, after, Encap.TCP_DSCP, IpProto.TCP, off);
  if (w.r >= 0) return unmarkedInner(w, after, Encap.TCP_UNMARKED, IpProto.TCP, off);
  w.lastDetail = `TCP port ${dport}`;
  return Reject.NOT_INT;
}
