/**
 * Link and network layers: Ethernet II with 802.1Q / 802.1ad tags, Linux cooked capture v1/v2,
 * raw IP, BSD loopback; IPv4 with options, IPv6 with extension headers.
 * Functions return 0 on success or a Reject code, and write what they found into an IpInfo.
 */
import { Reject } from '../reasons';

export const EtherType = {
  IPV4: 0x0800,
  IPV6: 0x86dd,
  VLAN: 0x8100,
  QINQ: 0x88a8,
  QINQ_OLD: 0x9100,
  TEB: 0x6558, // transparent Ethernet bridging (Ethernet inside GRE/Geneve)
} as const;

export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LINUX_SLL: 113,
  LOOP: 108,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export const IpProto = { TCP: 6, UDP: 17, GRE: 47, IPV4: 4, IPV6: 41 } as const;

/** Result of walking to the network layer; reused between packets. */
export class IpInfo {
  v6 = false;
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  proto = 0;
  dscp = 0;
  start = 0; // offset of the IP header
  headerEnd = 0; // offset of the L4 header (after options / extension headers)
  /** End of the IP payload by the IP length field (may differ from the captured end). */
  lengthEnd = 0;
  firstFragment = true;
  isFragment = false;
  /** Offsets of the byte carrying DSCP and of the protocol/next-header byte to restore. */
  dscpByte = 0;
  protoByte = 0;
}

export interface LinkResult {
  /** EtherType of what follows, or 0 when the link type is raw IP (version nibble decides). */
  etherType: number;
  offset: number;
  /** VLAN ID of the outermost 802.1Q tag, -1 when untagged (or not Ethernet). */
  vlan: number;
}

function u16(d: Uint8Array, o: number): number {
  return (d[o] << 8) | d[o + 1];
}

function u32(d: Uint8Array, o: number): number {
  return ((d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;
}

/** Walks Ethernet and up to 4 VLAN tags; returns the offset of the payload or -reason. */
export function walkEthernet(d: Uint8Array, off: number, end: number, out: LinkResult): number {
  if (off + 14 > end) return Reject.TRUNCATED;
  let o = off + 12;
  let et = u16(d, o);
  o += 2;
  out.vlan = -1;
  for (
    let tags = 0;
    et === EtherType.VLAN || et === EtherType.QINQ || et === EtherType.QINQ_OLD;
    tags++
  ) {
    if (tags >= 4) return Reject.TOO_DEEP;
    if (o + 4 > end) return Reject.TRUNCATED;
    if (tags === 0) out.vlan = u16(d, o) & 0x0fff;
    et = u16(d, o + 2);
    o += 4;
  }
  out.etherType = et;
  out.offset = o;
  return 0;
}

/** Walks the capture's link layer to the network layer. */
export function walkLink(d: Uint8Array, end: number, linkType: number, out: LinkResult): number {
  out.vlan = -1;
  switch (linkType) {
    case LinkType.ETHERNET:
      return walkEthernet(d, 0, end, out);
    case LinkType.LINUX_SLL:
      if (end < 16) return Reject.TRUNCATED;
      out.etherType = u16(d, 14);
      out.offset = 16;
      return 0;
    case LinkType.LINUX_SLL2:
      if (end < 20) return Reject.TRUNCATED;
      out.etherType = u16(d, 0);
      out.offset = 20;
      return 0;
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      out.etherType = 0;
      out.offset = 0;
      return 0;
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (end < 4) return Reject.TRUNCATED;
      // the family is in host byte order of the capturing machine: accept either
      const fam = d[0] | d[3];
      out.etherType =
        fam === 2 ? EtherType.IPV4 : fam === 24 || fam === 28 || fam === 30 ? EtherType.IPV6 : 0;
      out.offset = 4;
      return 0;
    }
    default:
      return Reject.UNSUPPORTED_LINK_TYPE;
  }
}

/**
 * Parses an IPv4 or IPv6 header at `off` (`etherType` 0 = decide by version nibble).
 * Returns 0, Reject.NOT_INT for non-IP, or another Reject code.
 */
export function parseIp(
  d: Uint8Array,
  off: number,
  end: number,
  etherType: number,
  ip: IpInfo,
): number {
  if (off >= end) return Reject.TRUNCATED;
  const ver = d[off] >>> 4;
  if (etherType === 0) {
    if (ver === 4) etherType = EtherType.IPV4;
    else if (ver === 6) etherType = EtherType.IPV6;
    else return Reject.BAD_IP_HEADER;
  }
  ip.start = off;
  if (etherType === EtherType.IPV4) {
    if (off + 20 > end) return Reject.TRUNCATED;
    if (ver !== 4) return Reject.BAD_IP_HEADER;
    const ihl = (d[off] & 0x0f) * 4;
    if (ihl < 20) return Reject.BAD_IP_HEADER;
    if (off + ihl > end) return Reject.TRUNCATED;
    const total = u16(d, off + 2);
    if (total < ihl) return Reject.BAD_IP_HEADER;
    ip.v6 = false;
    ip.dscp = d[off + 1] >>> 2;
    ip.dscpByte = off + 1;
    ip.proto = d[off + 9];
    ip.protoByte = off + 9;
    const frag = u16(d, off + 6);
    const fragOffset = frag & 0x1fff;
    ip.isFragment = fragOffset !== 0 || (frag & 0x2000) !== 0;
    ip.firstFragment = fragOffset === 0;
    ip.src[0] = ip.src[1] = ip.src[2] = 0;
    ip.dst[0] = ip.dst[1] = ip.dst[2] = 0;
    ip.src[3] = u32(d, off + 12);
    ip.dst[3] = u32(d, off + 16);
    ip.headerEnd = off + ihl;
    ip.lengthEnd = off + total;
    return 0;
  }
  if (etherType === EtherType.IPV6) {
    if (off + 40 > end) return Reject.TRUNCATED;
    if (ver !== 6) return Reject.BAD_IP_HEADER;
    ip.v6 = true;
    ip.dscp = ((d[off] & 0x0f) << 2) | (d[off + 1] >>> 6);
    ip.dscpByte = off; // DSCP straddles bytes 0-1 in IPv6
    for (let i = 0; i < 4; i++) {
      ip.src[i] = u32(d, off + 8 + 4 * i);
      ip.dst[i] = u32(d, off + 24 + 4 * i);
    }
    ip.lengthEnd = off + 40 + u16(d, off + 4);
    ip.isFragment = false;
    ip.firstFragment = true;
    let nh = d[off + 6];
    let nhByte = off + 6;
    let o = off + 40;
    // walk extension headers (bounded): hop-by-hop, routing, fragment, destination, AH, mobility
    for (let n = 0; n < 8; n++) {
      if (nh === 0 || nh === 43 || nh === 60 || nh === 135 || nh === 139 || nh === 140) {
        if (o + 8 > end) return Reject.TRUNCATED;
        nhByte = o;
        const len = (d[o + 1] + 1) * 8;
        nh = d[o];
        o += len;
      } else if (nh === 44) {
        if (o + 8 > end) return Reject.TRUNCATED;
        const fo = u16(d, o + 2);
        ip.isFragment = true;
        ip.firstFragment = fo >>> 3 === 0;
        nhByte = o;
        nh = d[o];
        o += 8;
      } else if (nh === 51) {
        if (o + 8 > end) return Reject.TRUNCATED;
        nhByte = o;
        const len = (d[o + 1] + 2) * 4;
        nh = d[o];
        o += len;
      } else {
        break;
      }
    }
    if (o > end) return Reject.TRUNCATED;
    ip.proto = nh;
    ip.protoByte = nhByte;
    ip.headerEnd = o;
    return 0;
  }
  return Reject.NOT_INT;
}

/** Formats an address held as 4 words (IPv4 in the last word). */
export function formatAddr(words: Uint32Array, at: number, v6: boolean): string {
  if (!v6) {
    const w = words[at + 3];
    return `${w >>> 24}.${(w >>> 16) & 0xff}.${(w >>> 8) & 0xff}.${w & 0xff}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) {
    const w = words[at + i];
    groups.push(w >>> 16, w & 0xffff);
  }
  // RFC 5952: compress the longest run (≥ 2) of zero groups
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
