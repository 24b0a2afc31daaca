/**
 * Telemetry Report builders: Ethernet / IP / UDP to the collector port, then a Telemetry
 * Report v0.5 (12-byte fixed header + drop / switch-local header + Ethernet frame), v1.0
 * (16-byte header + RepMdBits metadata + inner packet per NProt) or v2.0 (8-byte group header
 * + individual reports, each padded to a word).
 */
import { ByteWriter, checkUint, concatBytes, encodeError, parseAddr } from './bytes';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ethernetHeader, ipPacket, udpSegment } from './packet';
import type { IndividualReportSpec, ReportSpec } from './spec';
import { baselineBytes, writeHop } from './stack';

const ONES = 0xffffffff;

function u32ts(name: string, v: bigint | number | undefined): number {
  if (v === undefined) return ONES;
  const n = typeof v === 'bigint' ? v : BigInt(v);
  if (n < 0n || n > 0xffffffffn) encodeError(`${name} ${String(v)} does not fit in 32 bits`);
  return Number(n);
}

/** InType (3 Ethernet / 4 IPv4 / 5 IPv6) → TR v1.0 NProt (0 / 1 / 2). */
function nprotOf(inType: number): number {
  if (inType === 3) return 0;
  if (inType === 4) return 1;
  if (inType === 5) return 2;
  return encodeError(
    `TR v1.0 carries an Ethernet, IPv4 or IPv6 packet (inType 3/4/5), got inType ${inType}`,
  );
}

/** The Telemetry Report header(s) and contents: the UDP payload of a report datagram. */
export function encodeReportPayload(spec: ReportSpec): Uint8Array {
  const hwId = checkUint('hwId', spec.hwId ?? 0, 0x3f);
  const reports = spec.reports ?? [];
  switch (spec.version) {
    case '0.5':
      return reportV05(spec, hwId, reports);
    case '1.0':
      return reportV10(spec, hwId, reports);
    case '2.0':
      return reportV20(spec, hwId, reports);
    default:
      return encodeError(`unknown Telemetry Report version '${String(spec.version)}'`);
  }
}

function single(spec: ReportSpec, reports: IndividualReportSpec[]): IndividualReportSpec {
  if (reports.length !== 1)
    encodeError(`a TR v${spec.version} datagram carries exactly one report, got ${reports.length}`);
  return reports[0];
}

function reportV05(spec: ReportSpec, hwId: number, reports: IndividualReportSpec[]): Uint8Array {
  const rep = single(spec, reports);
  const np = spec.v05NextProto ?? 0;
  if (np !== 0 && np !== 1 && np !== 2)
    encodeError(`v05NextProto must be 0, 1 or 2, got ${String(np)}`);
  const m = rep.metadata ?? {};
  const w = new ByteWriter(64 + (rep.inner?.length ?? 0));
  w.u8(np); // Ver 0 | NProto
  w.u8((rep.dropped ? 0x80 : 0) | (rep.congestedQueue ? 0x40 : 0) | (rep.trackedFlow ? 0x20 : 0));
  w.u8(0);
  w.u8(hwId);
  w.u32(checkUint('sequence', spec.sequence, ONES));
  w.u32(u32ts('ingressTimestamp', spec.ingressTimestamp));
  if (np !== 0) {
    w.u32(checkUint('nodeId', spec.nodeId, ONES));
    w.u16(checkUint('ingressPort', m.ingressPort ?? 0xffff, 0xffff));
    w.u16(checkUint('egressPort', m.egressPort ?? 0xffff, 0xffff));
    if (np === 1) {
      w.u8(checkUint('queueId', m.queueId ?? 0xff, 0xff));
      w.u8(checkUint('dropReason', m.dropReason ?? 0xff, 0xff));
      w.u16(0);
    } else {
      w.u8(checkUint('queueId', m.queueId ?? 0xff, 0xff));
      w.u24(checkUint('queueOccupancy', m.queueOccupancy ?? 0xffffff, 0xffffff));
      w.u32(u32ts('egressTimestamp', m.egressTimestamp));
    }
  }
  if (rep.inner) w.bytes(rep.inner);
  return w.toBytes();
}

function reportV10(spec: ReportSpec, hwId: number, reports: IndividualReportSpec[]): Uint8Array {
  const rep = single(spec, reports);
  const md = checkUint('repMdBits (TR v1.0, 6 bits)', rep.repMdBits ?? 0, 0x3f);
  const mdBytes = baselineBytes('tr1.0', md);
  const lenW = 4 + mdBytes / 4;
  const nprot = nprotOf(rep.inType);
  const w = new ByteWriter(64 + (rep.inner?.length ?? 0));
  w.u8(0x10 | lenW);
  w.u8((nprot << 5) | (md >>> 1));
  w.u8(((md & 1) << 7) | (rep.dropped ? 0x01 : 0));
  w.u8((rep.congestedQueue ? 0x80 : 0) | (rep.trackedFlow ? 0x40 : 0) | hwId);
  w.u32(checkUint('nodeId', spec.nodeId, ONES));
  w.u32(checkUint('sequence', spec.sequence, ONES));
  w.u32(u32ts('ingressTimestamp', spec.ingressTimestamp));
  writeHop(w, 'tr1.0', md, rep.metadata ?? {}, 0);
  if (rep.inner) w.bytes(rep.inner);
  return w.toBytes();
}

function tlvTypeOf(inner: Uint8Array): number {
  const v = inner.length > 0 ? inner[0] >>> 4 : 0;
  return v === 4 ? 2 : v === 6 ? 3 : 1;
}

function padWord(b: Uint8Array): Uint8Array {
  const pad = (4 - (b.length % 4)) % 4;
  return pad === 0 ? b : concatBytes(b, new Uint8Array(pad));
}

function reportV20(spec: ReportSpec, hwId: number, reports: IndividualReportSpec[]): Uint8Array {
  if (reports.length === 0) encodeError('a TR v2.0 datagram needs at least one individual report');
  const seq = checkUint('sequence (TR v2.0, 22 bits)', spec.sequence, 0x3fffff);
  const w = new ByteWriter(256);
  w.u8(0x20 | (hwId >>> 2));
  w.u8(((hwId & 3) << 6) | (seq >>> 16));
  w.u16(seq & 0xffff);
  w.u32(checkUint('nodeId', spec.nodeId, ONES));
  reports.forEach((rep, i) => {
    const repType = rep.repType;
    if (repType !== 0 && repType !== 1)
      encodeError(`report ${i}: RepType must be 0 or 1, got ${String(repType)}`);
    const inType = checkUint(`report ${i}: inType`, rep.inType, 15);
    // inner contents
    let inner: Uint8Array = new Uint8Array(0);
    if (rep.inner && rep.inner.length > 0) {
      if (inType === 0) encodeError(`report ${i}: inType 0 (none) with an inner packet`);
      if (inType === 1) {
        const body = padWord(rep.inner);
        inner = concatBytes(
          new ByteWriter(4)
            .u8(tlvTypeOf(rep.inner) << 4)
            .u8(body.length / 4)
            .u16(0)
            .toBytes(),
          body,
        );
      } else {
        inner = padWord(rep.inner);
      }
    }
    // main contents
    let main: Uint8Array = new Uint8Array(0);
    let mdLen = 0;
    if (repType === 1) {
      const bits = checkUint(`report ${i}: repMdBits`, rep.repMdBits ?? 0, 0xffff);
      const ds = rep.metadata?.dsMetadata ?? [];
      const mw = new ByteWriter(64);
      mw.u16(bits);
      mw.u16(checkUint('dsId', rep.dsId ?? 0, 0xffff));
      mw.u16(checkUint('dsMdBits', rep.dsMdBits ?? 0, 0xffff));
      mw.u16(checkUint('dsMdStatus', rep.dsMdStatus ?? 0, 0xffff));
      writeHop(mw, 'tr2.0', bits, rep.metadata ?? {}, ds.length);
      main = mw.toBytes();
      mdLen = main.length / 4 - 2;
    } else if (rep.repMdBits || rep.metadata) {
      encodeError(`report ${i}: RepType 0 (inner only) carries no metadata`);
    }
    const rl = (main.length + inner.length) / 4;
    if (rl > 254)
      encodeError(`report ${i}: Report Length ${rl} words exceeds 254 (0xFF is reserved)`);
    w.u8((repType << 4) | inType);
    w.u8(rl);
    w.u8(mdLen);
    w.u8(
      (rep.dropped ? 0x80 : 0) |
        (rep.congestedQueue ? 0x40 : 0) |
        (rep.trackedFlow ? 0x20 : 0) |
        (rep.intermediate ? 0x10 : 0),
    );
    w.bytes(main).bytes(inner);
  });
  return w.toBytes();
}

/** A whole report datagram: Ethernet / IPv4|IPv6 / UDP (checksummed) / Telemetry Report. */
export function buildReport(spec: ReportSpec): Uint8Array {
  const v6 = spec.srcAddr.includes(':');
  const src = parseAddr(spec.srcAddr, v6 ? 6 : 4);
  const dst = parseAddr(spec.dstAddr, v6 ? 6 : 4);
  const payload = encodeReportPayload(spec);
  const seg = udpSegment(
    src,
    dst,
    spec.srcPort ?? 0,
    checkUint('dstPort', spec.dstPort, 0xffff),
    payload,
  );
  const ip = ipPacket({ ipVersion: v6 ? 6 : 4, src, dst, protocol: 17 }, seg);
  return concatBytes(ethernetHeader(v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4), ip);
}
