/**
 * Packet builders: plain Ethernet/IP/TCP|UDP packets and INT packets for every carrier
 * (DSCP, UDP/TCP port, probe marker, Geneve, VXLAN-GPE, GRE). Lengths and checksums are right;
 * the outer UDP checksum of an IPv4 tunnel is 0 (as VTEPs send it) unless asked for.
 */
import type { IntVersion } from '../model';
import {
  ByteWriter,
  checkUint,
  concatBytes,
  encodeError,
  ipv4HeaderChecksum,
  parseAddr,
  parseMac,
  setL4Checksum,
} from './bytes';
import type { CarrierSpec, FlowSpec, IntStackSpec, OuterSpec } from './spec';
import { encodeGeneveIntOption, encodeGpeInt, encodeGreInt, encodeTcpUdpInt, isV2 } from './stack';

export const DEFAULT_SRC_MAC = '02:00:00:00:00:01';
export const DEFAULT_DST_MAC = '02:00:00:00:00:02';
export const GENEVE_PORT = 6081;
export const VXLAN_GPE_PORT = 4790;
/** VXLAN-GPE next-protocol values that announce INT, per version (none IANA-assigned). */
export const GPE_INT_NEXT_PROTOCOL: Record<IntVersion, number> = {
  '0.5': 0x05,
  '1.0': 0x08,
  '2.0': 0x80,
  '2.1': 0x82,
};
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_TEB = 0x6558;

export interface IpHeaderOptions {
  ipVersion: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  protocol: number;
  dscp?: number;
  ttl?: number;
  ipId?: number;
}

/** Ethernet II header. */
export function ethernetHeader(
  etherType: number,
  srcMac = DEFAULT_SRC_MAC,
  dstMac = DEFAULT_DST_MAC,
): Uint8Array {
  return new ByteWriter(14)
    .bytes(parseMac(dstMac))
    .bytes(parseMac(srcMac))
    .u16(etherType)
    .toBytes();
}

/** An IPv4 (20-byte, with header checksum) or IPv6 (40-byte) header followed by `payload`. */
export function ipPacket(o: IpHeaderOptions, payload: Uint8Array): Uint8Array {
  const dscp = checkUint('DSCP', o.dscp ?? 0, 63);
  const ttl = checkUint('TTL', o.ttl ?? 64, 255);
  checkUint('IP protocol', o.protocol, 255);
  const w = new ByteWriter(40 + payload.length);
  if (o.ipVersion === 4) {
    const total = 20 + payload.length;
    if (total > 0xffff) encodeError(`IPv4 packet of ${total} bytes exceeds 65535`);
    w.u8(0x45)
      .u8(dscp << 2)
      .u16(total);
    w.u16(checkUint('ipId', o.ipId ?? 0, 0xffff)).u16(0x4000); // DF, no fragment
    w.u8(ttl).u8(o.protocol).u16(0);
    w.bytes(o.src).bytes(o.dst);
    const hdr = w.toBytes();
    const c = ipv4HeaderChecksum(hdr);
    hdr[10] = c >>> 8;
    hdr[11] = c & 0xff;
    return concatBytes(hdr, payload);
  }
  if (payload.length > 0xffff) encodeError(`IPv6 payload of ${payload.length} bytes exceeds 65535`);
  w.u32(((6 << 28) | (dscp << 22)) >>> 0); // version, traffic class (DSCP << 2, ECN 0), flow label 0
  w.u16(payload.length).u8(o.protocol).u8(ttl);
  w.bytes(o.src).bytes(o.dst);
  w.bytes(payload);
  return w.toBytes();
}

function checkPort(name: string, p: number): number {
  return checkUint(name, p, 0xffff);
}

/** A UDP header + payload with its checksum over the pseudo-header (0 = leave it 0). */
export function udpSegment(
  src: Uint8Array,
  dst: Uint8Array,
  srcPort: number,
  dstPort: number,
  payload: Uint8Array,
  checksum = true,
): Uint8Array {
  const len = 8 + payload.length;
  if (len > 0xffff) encodeError(`UDP datagram of ${len} bytes exceeds 65535`);
  const seg = new ByteWriter(len)
    .u16(checkPort('UDP source port', srcPort))
    .u16(checkPort('UDP destination port', dstPort))
    .u16(len)
    .u16(0)
    .bytes(payload)
    .toBytes();
  if (checksum) setL4Checksum(src, dst, 17, seg);
  return seg;
}

/** A 20-byte TCP header (PSH|ACK, no options) + payload with its checksum. */
export function tcpSegment(
  src: Uint8Array,
  dst: Uint8Array,
  srcPort: number,
  dstPort: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array {
  const seg = new ByteWriter(20 + payload.length)
    .u16(checkPort('TCP source port', srcPort))
    .u16(checkPort('TCP destination port', dstPort))
    .u32(checkUint('tcpSeq', seq, 0xffffffff))
    .u32(0)
    .u8(5 << 4)
    .u8(0x18)
    .u16(0xffff)
    .u16(0)
    .u16(0)
    .bytes(payload)
    .toBytes();
  setL4Checksum(src, dst, 6, seg);
  return seg;
}

interface ResolvedFlow {
  f: FlowSpec;
  src: Uint8Array;
  dst: Uint8Array;
  payload: Uint8Array;
}

function resolve(flow: FlowSpec): ResolvedFlow {
  if (flow.ipVersion !== 4 && flow.ipVersion !== 6)
    encodeError(`ipVersion must be 4 or 6, got ${String(flow.ipVersion)}`);
  if (flow.protocol !== 6 && flow.protocol !== 17)
    encodeError(`protocol must be 6 (TCP) or 17 (UDP), got ${String(flow.protocol)}`);
  checkPort('srcPort', flow.srcPort);
  checkPort('dstPort', flow.dstPort);
  return {
    f: flow,
    src: parseAddr(flow.srcAddr, flow.ipVersion),
    dst: parseAddr(flow.dstAddr, flow.ipVersion),
    payload: flow.payload ?? new Uint8Array(0),
  };
}

/** The flow's L4 segment with `l4Payload` after its header (dst port optionally replaced). */
function l4(r: ResolvedFlow, l4Payload: Uint8Array, dstPort = r.f.dstPort): Uint8Array {
  return r.f.protocol === 17
    ? udpSegment(r.src, r.dst, r.f.srcPort, dstPort, l4Payload)
    : tcpSegment(r.src, r.dst, r.f.srcPort, dstPort, r.f.tcpSeq ?? 1, l4Payload);
}

function frame(
  r: ResolvedFlow,
  ipPayload: Uint8Array,
  protocol: number,
  dscp: number | undefined,
): Uint8Array {
  const ip = ipPacket(
    {
      ipVersion: r.f.ipVersion,
      src: r.src,
      dst: r.dst,
      protocol,
      dscp,
      ttl: r.f.ttl,
      ipId: r.f.ipId,
    },
    ipPayload,
  );
  return concatBytes(
    ethernetHeader(r.f.ipVersion === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6, r.f.srcMac, r.f.dstMac),
    ip,
  );
}

/** Ethernet / IPv4|IPv6 / TCP|UDP / payload, lengths and checksums right. */
export function buildPlainPacket(flow: FlowSpec): Uint8Array {
  const r = resolve(flow);
  return frame(r, l4(r, r.payload), flow.protocol, flow.dscp);
}

function parseMarker(marker: string): Uint8Array {
  const hex = marker.replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{16}$/.test(hex))
    encodeError(`probe marker must be 16 hex digits, got '${marker}'`);
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Outer Ethernet / IP / (UDP) around a tunnel payload. */
function outerFrame(
  outer: OuterSpec,
  protocol: number,
  payload: Uint8Array,
  udp?: { dstPort: number; srcPort: number },
): Uint8Array {
  if (outer.ipVersion !== 4 && outer.ipVersion !== 6) encodeError('outer.ipVersion must be 4 or 6');
  const src = parseAddr(outer.srcAddr, outer.ipVersion);
  const dst = parseAddr(outer.dstAddr, outer.ipVersion);
  let ipPayload = payload;
  if (udp) {
    // tunnel UDP checksum: 0 over IPv4 like real VTEPs; computed over IPv6 (RFC 8200)
    const sum = outer.udpChecksum ?? outer.ipVersion === 6;
    ipPayload = udpSegment(src, dst, udp.srcPort, udp.dstPort, payload, sum);
  }
  const ip = ipPacket(
    { ipVersion: outer.ipVersion, src, dst, protocol, ttl: outer.ttl ?? 64 },
    ipPayload,
  );
  return concatBytes(
    ethernetHeader(
      outer.ipVersion === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6,
      outer.srcMac,
      outer.dstMac,
    ),
    ip,
  );
}

/** Entropy source port for a tunnel (from the inner flow), in the dynamic range. */
function entropyPort(f: FlowSpec): number {
  return 49152 + ((f.srcPort * 31 + f.dstPort * 7 + f.protocol) % 16384);
}

const UDP_INSERTION = new Set(['udp-dscp', 'udp-probe', 'udp-port']);

/**
 * quirks.staleUdpLength: the UDP length as it was before `inserted` INT bytes went in (the
 * checksum still covers the whole datagram, as a device that recomputes it would leave it).
 */
function stale(
  r: ResolvedFlow,
  stack: IntStackSpec,
  seg: Uint8Array,
  inserted: number,
): Uint8Array {
  if (!stack.quirks?.staleUdpLength) return seg;
  if (r.f.protocol !== 17) encodeError('quirks.staleUdpLength needs a UDP flow');
  const len = seg.length - inserted;
  seg[4] = len >>> 8;
  seg[5] = len & 0xff;
  seg[6] = 0;
  seg[7] = 0;
  setL4Checksum(r.src, r.dst, 17, seg);
  return seg;
}

function requireProto(kind: string, flow: FlowSpec, proto: 6 | 17): void {
  if (flow.protocol !== proto)
    encodeError(
      `carrier '${kind}' needs a ${proto === 6 ? 'TCP' : 'UDP'} flow, got protocol ${flow.protocol}`,
    );
}

/** The Geneve base header + options, with OptLen right (or as given, to build bad packets). */
export function geneveHeader(
  options: Uint8Array,
  protocolType: number,
  vni: number,
  optLenOverride?: number,
): Uint8Array {
  const optW = options.length / 4;
  if (!Number.isInteger(optW) || optW > 63)
    encodeError(`Geneve options of ${options.length} bytes exceed 63 words`);
  const optLen = optLenOverride ?? optW;
  return new ByteWriter(8 + options.length)
    .u8(checkUint('Geneve OptLen', optLen, 63)) // Ver 0
    .u8(0) // O, C, reserved
    .u16(protocolType)
    .u24(checkUint('VNI', vni, 0xffffff))
    .u8(0)
    .bytes(options)
    .toBytes();
}

/** An INT packet: the flow's packet with INT inserted per `carrier`. */
export function buildIntPacket(
  flow: FlowSpec,
  stack: IntStackSpec,
  carrier: CarrierSpec,
): Uint8Array {
  const r = resolve(flow);
  const v = stack.version;
  const dscp = flow.dscp ?? 0;
  checkUint('flow DSCP', dscp, 63);
  if (stack.quirks?.staleUdpLength && !UDP_INSERTION.has(carrier.kind))
    encodeError(
      `quirks.staleUdpLength needs INT inserted after a UDP header, not '${carrier.kind}'`,
    );
  switch (carrier.kind) {
    case 'udp-dscp':
    case 'tcp-dscp': {
      requireProto(carrier.kind, flow, carrier.kind === 'udp-dscp' ? 17 : 6);
      checkUint('dscpValue', carrier.dscpValue, 63);
      const int = encodeTcpUdpInt(stack, {
        npt: 0,
        originalDscp: dscp,
        tailProtocol: flow.protocol,
        tailDstPort: flow.dstPort,
      });
      const seg = stale(r, stack, l4(r, concatBytes(int, r.payload)), int.length);
      return frame(r, seg, flow.protocol, carrier.dscpValue);
    }
    case 'udp-probe':
    case 'tcp-probe': {
      requireProto(carrier.kind, flow, carrier.kind === 'udp-probe' ? 17 : 6);
      const marker = parseMarker(carrier.marker);
      const int = encodeTcpUdpInt(stack, {
        npt: 0,
        originalDscp: dscp,
        tailProtocol: flow.protocol,
        tailDstPort: flow.dstPort,
      });
      const ipDscp =
        carrier.dscpValue !== undefined ? checkUint('dscpValue', carrier.dscpValue, 63) : dscp;
      const seg = stale(r, stack, l4(r, concatBytes(marker, int, r.payload)), 8 + int.length);
      return frame(r, seg, flow.protocol, ipDscp);
    }
    case 'udp-port':
    case 'tcp-port': {
      const port = checkUint('INT port', carrier.port, 0xffff);
      if (v === '1.0') encodeError('INT v1.0 removed port-based INT: use DSCP or a probe marker');
      if (v === '0.5') {
        requireProto(carrier.kind, flow, carrier.kind === 'udp-port' ? 17 : 6);
        if (carrier.kind === 'udp-port' && carrier.npt !== undefined)
          encodeError('INT v0.5 has no NPT (it uses a tail)');
        const int = encodeTcpUdpInt(stack, {
          npt: 0,
          originalDscp: dscp,
          tailProtocol: flow.protocol,
          tailDstPort: flow.dstPort,
        });
        const seg = stale(r, stack, l4(r, concatBytes(int, r.payload), port), int.length);
        return frame(r, seg, flow.protocol, dscp);
      }
      const npt = carrier.kind === 'udp-port' ? (carrier.npt ?? 1) : 1;
      if (npt === 1) {
        requireProto(carrier.kind, flow, carrier.kind === 'udp-port' ? 17 : 6);
        const int = encodeTcpUdpInt(stack, { npt: 1, originalDstPort: flow.dstPort });
        const seg = stale(r, stack, l4(r, concatBytes(int, r.payload), port), int.length);
        return frame(r, seg, flow.protocol, dscp);
      }
      if (npt !== 2) encodeError(`NPT must be 1 or 2, got ${String(npt)}`);
      if (stack.quirks?.staleUdpLength)
        encodeError('quirks.staleUdpLength: with NPT 2 the INT source adds the UDP header itself');
      // NPT 2: a new UDP header, then INT, then the original L4 header (checksummed as sent)
      const original = l4(r, r.payload);
      const int = encodeTcpUdpInt(stack, { npt: 2, originalProtocol: flow.protocol });
      const seg = udpSegment(r.src, r.dst, flow.srcPort, port, concatBytes(int, original));
      return frame(r, seg, 17, dscp);
    }
    case 'geneve': {
      const opt = encodeGeneveIntOption(stack, carrier.optionClass ?? 0x0103);
      const inner = buildPlainPacket(flow);
      const gen = geneveHeader(opt, ETHERTYPE_TEB, carrier.vni ?? 0, carrier.optLenOverride);
      return outerFrame(carrier.outer, 17, concatBytes(gen, inner), {
        dstPort: carrier.udpPort ?? GENEVE_PORT,
        srcPort: carrier.outer.srcPort ?? entropyPort(flow),
      });
    }
    case 'vxlan-gpe': {
      const np = checkUint('VXLAN-GPE next protocol', carrier.nextProtocol, 0xff);
      const shim = encodeGpeInt(stack, 3);
      const inner = buildPlainPacket(flow);
      const gpe = new ByteWriter(8)
        .u8(0x0c) // Ver 0, I (VNI valid) and P (next protocol present)
        .u16(0)
        .u8(np)
        .u24(checkUint('VNI', carrier.vni ?? 0, 0xffffff))
        .u8(0)
        .toBytes();
      return outerFrame(carrier.outer, 17, concatBytes(gpe, shim, inner), {
        dstPort: carrier.udpPort ?? VXLAN_GPE_PORT,
        srcPort: carrier.outer.srcPort ?? entropyPort(flow),
      });
    }
    case 'gre': {
      if (!isV2(v)) encodeError(`INT v${v} has no GRE encapsulation (the GRE shim is v2.x)`);
      const proto = checkUint('GRE protocol', carrier.protocol, 0xffff);
      const shim = encodeGreInt(stack, ETHERTYPE_TEB, true);
      const gre = new ByteWriter(4).u16(0).u16(proto).toBytes();
      return outerFrame(carrier.outer, 47, concatBytes(gre, shim, buildPlainPacket(flow)));
    }
    default:
      return encodeError(`unknown carrier kind '${(carrier as { kind: string }).kind}'`);
  }
}
