/**
 * Byte-level packet editing for the sink: IP headers (read with the codec's parser), DSCP
 * and protocol rewriting, removing a byte range while keeping every enclosing IP/UDP length
 * and every enclosing IPv4/TCP/UDP/GRE checksum right. Works from the layer spans the decoder records when tracing.
 */
import {
  internetChecksum,
  IpInfo,
  ipv4HeaderChecksum,
  l4Checksum,
  Layer,
  parseIp,
  type LayerSpan,
} from '@hopwatch/codec';

/** A copy of d[from, to) as a plain Uint8Array (Buffer.slice would share memory). */
export function copyBytes(d: Uint8Array, from = 0, to = d.length): Uint8Array {
  return Uint8Array.prototype.slice.call(d, from, to);
}

export function u16(d: Uint8Array, o: number): number {
  return (d[o] << 8) | d[o + 1];
}
export function put16(d: Uint8Array, o: number, v: number): void {
  d[o] = (v >>> 8) & 0xff;
  d[o + 1] = v & 0xff;
}

/** An IPv4 or IPv6 header found in a packet. */
export interface IpHeader {
  v6: boolean;
  start: number;
  /** Offset of the L4 header (after options / extension headers). */
  headerEnd: number;
  /** End of the IP packet by its length field. */
  lengthEnd: number;
  /** Offset of the protocol / (last) next-header byte. */
  protoByte: number;
  proto: number;
  dscp: number;
  ttlByte: number;
  /** A fragment (IPv4 MF or offset; IPv6 fragment header). */
  fragment: boolean;
}

const ipScratch = new IpInfo();

/**
 * Parses the IP header at `off` with the codec's parser (null when it is not a whole
 * IPv4/IPv6 header there, or its lengths are inconsistent).
 */
export function parseIpHeader(d: Uint8Array, off: number): IpHeader | null {
  const ip = ipScratch;
  if (parseIp(d, off, d.length, 0, ip) !== 0) return null;
  return {
    v6: ip.v6,
    start: off,
    headerEnd: ip.headerEnd,
    lengthEnd: ip.lengthEnd,
    protoByte: ip.protoByte,
    proto: ip.proto,
    dscp: ip.dscp,
    ttlByte: off + (ip.v6 ? 7 : 8),
    fragment: ip.isFragment,
  };
}

export function ipAddrs(d: Uint8Array, ip: IpHeader): { src: Uint8Array; dst: Uint8Array } {
  return ip.v6
    ? {
        src: copyBytes(d, ip.start + 8, ip.start + 24),
        dst: copyBytes(d, ip.start + 24, ip.start + 40),
      }
    : {
        src: copyBytes(d, ip.start + 12, ip.start + 16),
        dst: copyBytes(d, ip.start + 16, ip.start + 20),
      };
}

/** Writes a DSCP, keeping ECN (IPv4: byte 1; IPv6: traffic class across bytes 0-1). */
export function setDscp(d: Uint8Array, ip: IpHeader, dscp: number): void {
  if (ip.v6) {
    d[ip.start] = (d[ip.start] & 0xf0) | (dscp >>> 2);
    d[ip.start + 1] = ((dscp & 3) << 6) | (d[ip.start + 1] & 0x3f);
  } else {
    d[ip.start + 1] = (dscp << 2) | (d[ip.start + 1] & 3);
  }
}

export function fixIpv4Checksum(d: Uint8Array, ip: IpHeader): void {
  if (ip.v6) return;
  put16(d, ip.start + 10, 0);
  put16(d, ip.start + 10, ipv4HeaderChecksum(d, ip.start));
}

export function ipv4ChecksumOk(d: Uint8Array, ip: IpHeader): boolean {
  return ip.v6 || ipv4HeaderChecksum(d, ip.start) === u16(d, ip.start + 10);
}

/** Is the TCP/UDP checksum of the segment [l4, ip.lengthEnd) right? (UDP 0 over IPv4 = unused.) */
export function l4ChecksumOk(
  d: Uint8Array,
  ip: IpHeader,
  l4: number,
  proto: number,
): boolean | null {
  const at = l4 + (proto === 6 ? 16 : 6);
  if (ip.lengthEnd > d.length || at + 2 > ip.lengthEnd) return null;
  const cur = u16(d, at);
  if (proto === 17 && cur === 0 && !ip.v6) return null;
  const { src, dst } = ipAddrs(d, ip);
  const want = l4Checksum(src, dst, proto, d.subarray(l4, ip.lengthEnd));
  return (
    want === cur ||
    (proto === 6 && ((want === 0 && cur === 0xffff) || (want === 0xffff && cur === 0)))
  );
}

/**
 * Makes the TCP/UDP checksum right: kept when it already verifies (a checksum complement did
 * its job, or nothing it covers changed), left 0 when UDP says "no checksum", else recomputed.
 */
export function refreshL4Checksum(
  d: Uint8Array,
  ip: IpHeader,
  l4: number,
  proto: number,
): 'kept' | 'recomputed' | 'none' {
  const at = l4 + (proto === 6 ? 16 : 6);
  if (ip.lengthEnd > d.length || at + 2 > ip.lengthEnd) return 'none';
  if (proto === 17 && u16(d, at) === 0) return 'none';
  if (l4ChecksumOk(d, ip, l4, proto)) return 'kept';
  const { src, dst } = ipAddrs(d, ip);
  put16(d, at, l4Checksum(src, dst, proto, d.subarray(l4, ip.lengthEnd)));
  return 'recomputed';
}

/** A header that contains a position, found among the decoder's layer spans. */
interface Enclosing {
  kind: 'ip' | 'udp' | 'tcp' | 'gre';
  start: number;
  ip: IpHeader | null;
}

/**
 * The IP/UDP/TCP/GRE headers whose payload contains byte `at` (outermost first), from the
 * spans of a decode of `d`.
 */
export function enclosingHeaders(
  d: Uint8Array,
  spans: readonly LayerSpan[],
  at: number,
): Enclosing[] {
  const out: Enclosing[] = [];
  const ipAtDepth = new Map<number, IpHeader>();
  for (const s of spans) {
    if (s.start >= at) break;
    if (s.layer === Layer.IPV4 || s.layer === Layer.IPV6) {
      const ip = parseIpHeader(d, s.start);
      if (!ip) continue;
      ipAtDepth.set(s.depth, ip);
      if (ip.headerEnd <= at && at <= ip.lengthEnd) out.push({ kind: 'ip', start: s.start, ip });
    } else if (s.layer === Layer.UDP || s.layer === Layer.TCP || s.layer === Layer.GRE) {
      const ip = ipAtDepth.get(s.depth) ?? null;
      if (!ip || s.end > at || at > ip.lengthEnd) continue;
      if (s.layer === Layer.UDP && s.start + u16(d, s.start + 4) < at) continue;
      const kind = s.layer === Layer.UDP ? 'udp' : s.layer === Layer.TCP ? 'tcp' : 'gre';
      out.push({ kind, start: s.start, ip });
    }
  }
  return out;
}

/**
 * Removes d[from, to) (and inserts `insert` there), adjusting the lengths of every enclosing
 * IP and UDP header and then every enclosing checksum (innermost first). Headers that start
 * at or after `from` are left alone (the caller's concern). Returns the new packet.
 */
export function spliceAndFix(
  d: Uint8Array,
  spans: readonly LayerSpan[],
  from: number,
  to: number,
  insert: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const encl = enclosingHeaders(d, spans, from);
  const delta = insert.length - (to - from);
  const out = new Uint8Array(d.length + delta);
  out.set(d.subarray(0, from), 0);
  out.set(insert, from);
  out.set(d.subarray(to), from + insert.length);
  for (const e of encl) {
    if (e.kind === 'ip') {
      const ip = e.ip!;
      if (ip.v6) put16(out, ip.start + 4, u16(out, ip.start + 4) + delta);
      else put16(out, ip.start + 2, u16(out, ip.start + 2) + delta);
    } else if (e.kind === 'udp') {
      put16(out, e.start + 4, u16(out, e.start + 4) + delta);
    }
  }
  fixChecksums(out, encl);
  return out;
}

/** Innermost first, so that an outer checksum covers inner headers already fixed. */
function fixChecksums(out: Uint8Array, encl: Enclosing[]): void {
  for (let i = encl.length - 1; i >= 0; i--) {
    const e = encl[i];
    const ip = parseIpHeader(out, e.ip ? e.ip.start : e.start);
    if (!ip) continue;
    if (e.kind === 'ip') {
      if (!ip.v6) fixIpv4Checksum(out, ip);
    } else if (e.kind === 'gre') {
      if (out[e.start] & 0x80 && ip.lengthEnd <= out.length) {
        put16(out, e.start + 4, 0);
        put16(out, e.start + 4, internetChecksum(out, e.start, ip.lengthEnd));
      }
    } else {
      refreshL4Checksum(out, ip, e.start, e.kind === 'udp' ? 17 : 6);
    }
  }
}

/** Recomputes every checksum enclosing byte `at` (after an in-place field rewrite). */
export function refreshChecksums(d: Uint8Array, spans: readonly LayerSpan[], at: number): void {
  fixChecksums(d, enclosingHeaders(d, spans, at));
}
