/**
 * The fast path: the two common packets in straight functions, without the general walker's
 * dispatch. Ethernet II / IPv4 without options / UDP / DSCP-marked INT v2.x MD, alone or
 * inside a single-report TR v2.0 datagram. Anything unusual (or anything that would raise a
 * finding) returns false having changed nothing the general walker relies on, and the walker
 * decodes the packet; both give identical records (test/fast-path.test.ts).
 */
import { Encap, HdrFlag, HopField, IntVer, Mode, RecordBatch } from '../batch';
import { LayoutKind } from '../int/layout';
import { repFlagsV2 } from '../report/v2';
import { PORT_REPORT, Walk } from './cursor';

/**
 * Ethernet II / IPv4 without options, not a fragment / UDP to a report port: the way every
 * sink sends Telemetry Reports. The general walker would reach the report with nothing to
 * note about these outer headers, so they are skipped.
 */
export function reportOverIpv4(w: Walk, d: Uint8Array): boolean {
  return (
    d.length >= 42 &&
    d[12] === 0x08 &&
    d[13] === 0x00 &&
    d[14] === 0x45 &&
    d[23] === 17 &&
    (((d[20] << 8) | d[21]) & 0x3fff) === 0 &&
    ((d[16] << 8) | d[17]) >= 20 &&
    (w.portKind[(d[36] << 8) | d[37]] & PORT_REPORT) !== 0
  );
}

/**
 * The common Telemetry Report in one function: TR v2.0 at `o` (42: over Ethernet/IPv4/UDP,
 * see reportOverIpv4, the reporter being the IPv4 source; 0: a datagram from `reporter`)
 * with exactly one individual report filling the datagram, RepType 1 (INT) with no
 * domain-specific metadata, InType 3 and an inner packet the fast path takes.
 */
export function fastReportV2(
  w: Walk,
  d: Uint8Array,
  o: number,
  tsSec: number,
  tsNsec: number,
  frame: number,
  b: RecordBatch,
  reporter: Uint32Array | null,
  reporterV6: boolean,
): boolean {
  const end = d.length;
  // v2.0 group header; individual report: RepType 1, InType 3
  if (end < o + 20 || d[o] >>> 4 !== 2 || d[o + 8] !== 0x13) return false;
  const rl = d[o + 9];
  if (rl === 0 || rl === 0xff || o + 12 + rl * 4 !== end) return false;
  const mdLen = d[o + 10];
  const repMd = (d[o + 12] << 8) | d[o + 13];
  const layout = w.trLayoutFor(repMd);
  const inner = o + 20 + mdLen * 4;
  if (layout.baselineBytes !== mdLen * 4 || inner + 14 > end) return false;
  // plausibleInner would accept more; fastInt takes only IPv4
  if (d[inner + 12] !== 0x08 || d[inner + 13] !== 0x00) return false;
  b.ensureRecord();
  const r = b.count;
  if (!fastInt(w, d, inner, end, false, b, r)) {
    b.fillDefaults(r, r + 1); // fastInt may have written INT columns
    return false;
  }
  acceptFast(w, b, r, frame, tsSec, tsNsec); // encap, mode: the inner packet's, as fastInt set them
  b.reportVersion[r] = 3;
  b.hwId[r] = ((d[o] & 0x0f) << 2) | (d[o + 1] >>> 6);
  b.sequence[r] = ((d[o + 1] & 0x3f) << 16) | (d[o + 2] << 8) | d[o + 3];
  const node = ((d[o + 4] << 24) | (d[o + 5] << 16) | (d[o + 6] << 8) | d[o + 7]) >>> 0;
  b.nodeId[r] = node;
  b.hasNodeId[r] = 1;
  const a = r * 4;
  if (reporter === null) {
    b.reporterV6[r] = 0;
    b.reporterAddr[a] = 0;
    b.reporterAddr[a + 1] = 0;
    b.reporterAddr[a + 2] = 0;
    b.reporterAddr[a + 3] = ((d[26] << 24) | (d[27] << 16) | (d[28] << 8) | d[29]) >>> 0;
  } else {
    b.reporterV6[r] = reporterV6 ? 1 : 0;
    b.reporterAddr[a] = reporter[0];
    b.reporterAddr[a + 1] = reporter[1];
    b.reporterAddr[a + 2] = reporter[2];
    b.reporterAddr[a + 3] = reporter[3];
  }
  b.repType[r] = 1;
  b.inType[r] = 3;
  b.repIndex[r] = 0;
  b.repFlags[r] = repFlagsV2(d[o + 11]);
  // the report's own hop, after the stack rows
  b.ensureHops(1);
  const h = b.hopTotal;
  w.trReaderFor(layout, 0)(w.view(), d.byteOffset + o + 20, b, h);
  b.origin[h] = 1;
  b.switchId[h] = node;
  b.present[h] |= HopField.SWITCH_ID;
  if (b.present[h] & HopField.DROP_REASON) b.dropReason[r] = b.hopDropReason[h];
  if ((repMd & 0x7fff) !== 0 || b.hopCount[r] === 0) w.appendReportHop(r, h);
  b.count = r + 1;
  return true;
}

/**
 * A whole packet on the fast path: Ethernet II / IPv4 without options / UDP to a port with no
 * other meaning / DSCP-marked INT v2.x MD with no flags, no DS metadata and consistent
 * lengths. Returns 1 (one record) or 0 (the general walker decodes it).
 */
export function fastUdpDscp(
  w: Walk,
  d: Uint8Array,
  tsSec: number,
  tsNsec: number,
  frame: number,
  b: RecordBatch,
): number {
  b.ensureRecord();
  const r = b.count;
  if (!fastInt(w, d, 0, d.length, true, b, r)) return 0;
  // all checks passed: the record cannot be rejected or carry a finding
  acceptFast(w, b, r, frame, tsSec, tsNsec);
  b.count = r + 1;
  return 1;
}

/** Counts a record a fast path accepted (one packet, one record, nothing rejected) and
 * stamps its frame and capture time. */
function acceptFast(
  w: Walk,
  b: RecordBatch,
  r: number,
  frame: number,
  tsSec: number,
  tsNsec: number,
): void {
  w.stats.packets++;
  w.stats.records++;
  w.lastDetail = '';
  w.lastReject = 0;
  b.frame[r] = frame;
  b.tsSec[r] = tsSec;
  b.tsNsec[r] = tsNsec;
}

/**
 * Fast path body: an Ethernet frame at `o` (ending at `end`) that is IPv4 without options /
 * UDP / DSCP-marked INT v2.x MD fills the INT and flow columns of record `r` and returns
 * true; anything unusual returns false having written nothing the general path relies on.
 */
export function fastInt(
  w: Walk,
  d: Uint8Array,
  o: number,
  end: number,
  outermost: boolean,
  b: RecordBatch,
  r: number,
): boolean {
  if (
    end - o < 58 ||
    d[o + 12] !== 0x08 ||
    d[o + 13] !== 0x00 ||
    d[o + 14] !== 0x45 ||
    d[o + 23] !== 17
  )
    return false;
  if ((((d[o + 20] << 8) | d[o + 21]) & 0x3fff) !== 0) return false; // fragment
  const ipEnd = o + 14 + ((d[o + 16] << 8) | d[o + 17]);
  // captures cut by a snap length keep the INT stack: only bytes beyond the IP length matter
  if (ipEnd < o + 58 || (outermost && end > 64 && end - ipEnd > 4)) return false;
  if (((d[o + 15] >>> 2) & w.dscpMask) !== w.dscpValue || w.hasProbe) return false;
  if (w.portKind[(d[o + 36] << 8) | d[o + 37]] !== 0) return false;
  if (ipEnd <= end && ((d[o + 38] << 8) | d[o + 39]) !== ipEnd - o - 34) return false; // UDP length
  if (((d[o + 38] << 8) | d[o + 39]) < 8) return false;
  const b0 = d[o + 42];
  if (b0 >>> 4 !== 1 || ((b0 >>> 2) & 3) !== 0) return false; // INT-MD, NPT 0
  const intEnd = o + 46 + d[o + 43] * 4;
  if (intEnd > ipEnd || intEnd > end || intEnd < o + 58) return false;
  const h0 = d[o + 46];
  if (h0 >>> 4 !== 2 || (h0 & 0x07) !== 0 || d[o + 47] !== 0 || (d[o + 48] & 0xe0) !== 0)
    return false;
  const hopMl = d[o + 48] & 0x1f;
  const bitmap = (d[o + 50] << 8) | d[o + 51];
  const layout = w.layoutFor(LayoutKind.V2, bitmap);
  const perHop = hopMl * 4;
  if (
    perHop === 0 ||
    perHop !== layout.baselineBytes ||
    layout.reservedBits !== 0 ||
    w.wordMask !== 0xffffffff
  )
    return false;
  const stackBytes = intEnd - o - 58;
  const hops = (stackBytes / perHop) | 0;
  if (hops * perHop !== stackBytes || hops > w.config.maxHops) return false;
  let reader = w.lastReader;
  if (reader === null || w.lastDsBytes !== 0) {
    reader = w.readers.get(layout, 0, false);
    w.lastReader = reader;
    w.lastDsBytes = 0;
  }
  w.d = d;
  w.b = b;
  b.encap[r] = Encap.UDP_DSCP;
  b.intVersion[r] = IntVer.V21;
  b.mode[r] = Mode.MD;
  b.hasHeader[r] = 1;
  b.intType[r] = 1;
  b.npt[r] = 0;
  b.shimLength[r] = d[o + 43];
  if (d[o + 45] !== 0 || d[o + 44] !== 0) b.origDscp[r] = d[o + 45] >>> 2;
  b.hdrFlags[r] = h0 & 0x08 ? HdrFlag.D : 0;
  b.hopMl[r] = hopMl;
  b.rhc[r] = d[o + 49];
  b.bitmap[r] = bitmap;
  b.dsId[r] = (d[o + 52] << 8) | d[o + 53];
  b.dsInstruction[r] = (d[o + 54] << 8) | d[o + 55];
  b.dsFlags[r] = (d[o + 56] << 8) | d[o + 57];
  b.ensureHops(hops);
  const first = b.hopTotal;
  b.hopStart[r] = first;
  b.hopCount[r] = hops;
  const dv = w.view();
  const base = d.byteOffset + o + 58;
  for (let i = 0; i < hops; i++) reader(dv, base + i * perHop, b, first + hops - 1 - i);
  b.hopTotal = first + hops;
  b.hasFlow[r] = 1;
  b.flowV6[r] = 0;
  const a = r * 4;
  b.srcAddr[a] = 0;
  b.srcAddr[a + 1] = 0;
  b.srcAddr[a + 2] = 0;
  b.srcAddr[a + 3] = ((d[o + 26] << 24) | (d[o + 27] << 16) | (d[o + 28] << 8) | d[o + 29]) >>> 0;
  b.dstAddr[a] = 0;
  b.dstAddr[a + 1] = 0;
  b.dstAddr[a + 2] = 0;
  b.dstAddr[a + 3] = ((d[o + 30] << 24) | (d[o + 31] << 16) | (d[o + 32] << 8) | d[o + 33]) >>> 0;
  b.protocol[r] = 17;
  // the IP total length less the INT (shim to end of stack), as the general walk computes it
  b.ipLength[r] = ((d[o + 16] << 8) | d[o + 17]) - (intEnd - o - 42);
  b.vlan[r] = -1;
  b.srcPort[r] = (d[o + 34] << 8) | d[o + 35];
  b.dstPort[r] = (d[o + 36] << 8) | d[o + 37];
  return true;
}
