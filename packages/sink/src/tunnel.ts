/**
 * What an INT sink forwards for tunnel carriers: the Geneve / VXLAN-GPE / GRE tunnel packet
 * without its INT option or shim. Built with the same defaults as the codec's
 * `buildIntPacket` (entropy source port, VNI, outer TTL, tunnel UDP checksum rule), so that
 * `strip(buildIntPacket(flow, stack, carrier))` equals `buildTunnelPacket(flow, carrier)`.
 */
import {
  buildPlainPacket,
  concatBytes,
  ethernetHeader,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_TEB,
  GENEVE_PORT,
  geneveHeader,
  ipPacket,
  parseAddr,
  udpSegment,
  VXLAN_GPE_PORT,
  type CarrierSpec,
  type FlowSpec,
  type OuterSpec,
} from '@hopwatch/codec';

function entropyPort(f: FlowSpec): number {
  return 49152 + ((f.srcPort * 31 + f.dstPort * 7 + f.protocol) % 16384);
}

function outerFrame(
  outer: OuterSpec,
  protocol: number,
  payload: Uint8Array,
  udp?: { dstPort: number; srcPort: number },
): Uint8Array {
  const src = parseAddr(outer.srcAddr, outer.ipVersion);
  const dst = parseAddr(outer.dstAddr, outer.ipVersion);
  let ipPayload = payload;
  if (udp)
    ipPayload = udpSegment(
      src,
      dst,
      udp.srcPort,
      udp.dstPort,
      payload,
      outer.udpChecksum ?? outer.ipVersion === 6,
    );
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

/**
 * The packet an INT sink should forward for `carrier`: for tunnel carriers the tunnel without
 * INT (Geneve without the INT option, VXLAN-GPE with next protocol Ethernet, GRE with protocol
 * TEB); for TCP/UDP carriers the plain packet.
 */
export function buildTunnelPacket(flow: FlowSpec, carrier: CarrierSpec): Uint8Array {
  switch (carrier.kind) {
    case 'geneve':
      return outerFrame(
        carrier.outer,
        17,
        concatBytes(
          geneveHeader(new Uint8Array(0), ETHERTYPE_TEB, carrier.vni ?? 0),
          buildPlainPacket(flow),
        ),
        {
          dstPort: carrier.udpPort ?? GENEVE_PORT,
          srcPort: carrier.outer.srcPort ?? entropyPort(flow),
        },
      );
    case 'vxlan-gpe': {
      const vni = carrier.vni ?? 0;
      const gpe = Uint8Array.of(
        0x0c,
        0,
        0,
        3,
        (vni >>> 16) & 0xff,
        (vni >>> 8) & 0xff,
        vni & 0xff,
        0,
      );
      return outerFrame(carrier.outer, 17, concatBytes(gpe, buildPlainPacket(flow)), {
        dstPort: carrier.udpPort ?? VXLAN_GPE_PORT,
        srcPort: carrier.outer.srcPort ?? entropyPort(flow),
      });
    }
    case 'gre':
      return outerFrame(
        carrier.outer,
        47,
        concatBytes(
          Uint8Array.of(0, 0, ETHERTYPE_TEB >>> 8, ETHERTYPE_TEB & 0xff),
          buildPlainPacket(flow),
        ),
      );
    default:
      return buildPlainPacket(flow);
  }
}
