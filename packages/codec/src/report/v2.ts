/** Telemetry Report v2.0: a group header, then individual reports until the datagram ends. */
import { HopField, Mode, RepFlag } from '../batch';
import { Layer } from '../layers/names';
import { FindingKind, Reject } from '../reasons';
import { u16, u32, Walk } from '../walk/cursor';
import { INNER_ETHERNET, INNER_IPV4, INNER_IPV6, plausibleInner, reportInner } from './inner';

/** `versionSeen`: the version nibble (a deviation reads v1 reports with this layout). */
export function reportV2(w: Walk, off: number, versionSeen: number): number {
  const d = w.d;
  if (off + 8 > w.end) return w.reject(Reject.TRUNCATED, 'Telemetry Report group header');
  if (w.trace !== null) w.span(Layer.REPORT_V20_GROUP, off, off + 8);
  const hwId = ((d[off] & 0x0f) << 2) | (d[off + 1] >>> 6);
  const seq = ((d[off + 1] & 0x3f) << 16) | (d[off + 2] << 8) | d[off + 3];
  const node = u32(d, off + 4);
  let o = off + 8;
  let index = 0;
  let lastCode = 0;
  const udpEnd = w.end;
  while (o + 4 <= udpEnd && index < 255) {
    const repType = d[o] >>> 4;
    const inType = d[o] & 0x0f;
    const rl = d[o + 1];
    const mdLen = d[o + 2];
    const fl = d[o + 3];
    let repEnd = o + 4 + rl * 4;
    const r = w.openReportRecord(3);
    const b = w.b;
    b.hwId[r] = hwId;
    b.sequence[r] = seq;
    b.nodeId[r] = node;
    b.hasNodeId[r] = 1;
    b.repType[r] = repType;
    b.inType[r] = inType;
    b.repIndex[r] = index;
    b.repFlags[r] = repFlagsV2(fl);
    if (versionSeen !== 2)
      w.finding(FindingKind.REPORT_VERSION, `v2.0 report layout with version ${versionSeen}`);
    if (rl === 0xff) {
      repEnd = udpEnd; // post-2.0 draft: extends to the end of the datagram
    } else if (rl === 0 && udpEnd - o > 4) {
      w.finding(
        FindingKind.REPORT_LENGTH,
        `report length 0 with ${udpEnd - o - 4} bytes following; read to the end`,
      );
      repEnd = udpEnd;
    } else if (repEnd > udpEnd) {
      w.finding(
        FindingKind.REPORT_LENGTH,
        `report length ${rl} words runs ${repEnd - udpEnd} bytes past the datagram`,
      );
      repEnd = udpEnd;
    }
    if (w.trace !== null) w.span(Layer.REPORT_V20, o, Math.min(o + 4, repEnd));
    const c = reportV2Contents(w, o, repEnd, repType, inType, mdLen, r, node);
    if (c === 0) {
      w.commitRecord();
    } else {
      w.abortRecord();
      lastCode = c;
    }
    index++;
    if (repEnd <= o) break;
    o = repEnd;
  }
  if (w.recordsThisPacket === 0 && lastCode === 0) {
    if (o < udpEnd) return w.reject(Reject.TRUNCATED, 'individual report header');
    return w.reject(Reject.BAD_REPORT, 'Telemetry Report v2.0 without individual reports');
  }
  return lastCode;
}

/** The D, Q, F, I flags of an individual report's byte 3. */
export function repFlagsV2(fl: number): number {
  return (
    (fl & 0x80 ? RepFlag.D : 0) |
    (fl & 0x40 ? RepFlag.Q : 0) |
    (fl & 0x20 ? RepFlag.F : 0) |
    (fl & 0x10 ? RepFlag.I : 0)
  );
}

/** InType → kind of inner packet (3 Ethernet, 4 IPv4, 5 IPv6). */
function innerKind(inType: number): number {
  return inType === 3 ? INNER_ETHERNET : inType === 4 ? INNER_IPV4 : INNER_IPV6;
}

const INNER_NAME = ['Ethernet', '', '', '', 'IPv4', '', 'IPv6'];

function reportV2Contents(
  w: Walk,
  o: number,
  repEnd: number,
  repType: number,
  inType: number,
  mdLen: number,
  r: number,
  node: number,
): number {
  const d = w.d;
  const b = w.b;
  let inner = o + 4;
  let hop = -1;
  if (repType === 1) {
    if (o + 12 > repEnd) return w.reject(Reject.TRUNCATED, 'INT report main contents');
    const repMd = u16(d, o + 4);
    b.dsId[r] = u16(d, o + 6);
    b.dsInstruction[r] = u16(d, o + 8);
    b.dsFlags[r] = u16(d, o + 10);
    b.bitmap[r] = repMd;
    b.hopMl[r] = mdLen;
    const mdOff = o + 12;
    const mdEnd = mdOff + mdLen * 4;
    if (mdEnd > repEnd)
      return w.reject(Reject.LENGTH_MISMATCH, `MD length ${mdLen} words past the report`);
    const layout = w.trLayoutFor(repMd);
    if (layout.baselineBytes > mdLen * 4) {
      return w.reject(
        Reject.HOP_ML_MISMATCH,
        `MD length ${mdLen} words < ${layout.baselineBytes / 4} RepMdBits demand`,
      );
    }
    if (w.trace !== null) w.span(Layer.REPORT_V20_INT_METADATA, o + 4, mdEnd);
    b.ensureHops(1);
    hop = b.hopTotal;
    // hold the report hop in a scratch row beyond the stack: read it after the inner walk
    w.pendingMd = mdOff;
    w.pendingLayout = layout;
    w.pendingDs = mdLen * 4 - layout.baselineBytes;
    w.pendingRepMd = repMd;
    inner = mdEnd;
  } else if (repType !== 0) {
    return w.reject(Reject.BAD_REPORT, `RepType ${repType}`);
  }
  // inner contents
  let code = 0;
  if (inType === 3 || inType === 4 || inType === 5) {
    let kind = innerKind(inType);
    if (!plausibleInner(w, inner, kind)) {
      // the first other kind that fits (allocation-free: three candidates in a fixed order)
      let alt = -1;
      if (kind !== INNER_ETHERNET && plausibleInner(w, inner, INNER_ETHERNET)) alt = INNER_ETHERNET;
      else if (kind !== INNER_IPV4 && plausibleInner(w, inner, INNER_IPV4)) alt = INNER_IPV4;
      else if (kind !== INNER_IPV6 && plausibleInner(w, inner, INNER_IPV6)) alt = INNER_IPV6;
      if (alt >= 0) {
        w.finding(
          FindingKind.REPORT_INNER_TYPE,
          `InType ${inType} but the inner packet starts as ${INNER_NAME[alt]}`,
        );
        kind = alt;
      }
    }
    code = reportInner(w, inner, repEnd, kind);
  } else if (inType === 1) {
    code = reportTlvs(w, inner, repEnd);
  }
  if (code !== 0) return code;
  if (hop >= 0) {
    b.ensureHops(1);
    const h = b.hopTotal;
    w.trReaderFor(w.pendingLayout!, w.pendingDs)(w.view(), d.byteOffset + w.pendingMd, b, h);
    b.origin[h] = 1;
    b.switchId[h] = node;
    b.present[h] |= HopField.SWITCH_ID;
    if (b.present[h] & HopField.DROP_REASON) b.dropReason[r] = b.hopDropReason[h];
    const hasMetadata = (w.pendingRepMd & 0x7fff) !== 0;
    if (hasMetadata || b.hopCount[r] === 0) w.appendReportHop(r, h);
    if (b.hasHeader[r] === 0) b.mode[r] = Mode.XD;
  }
  return 0;
}

/** InType 1: TLVs; the first inner-packet TLV (1 Ethernet, 2 IPv4, 3 IPv6) is walked. */
function reportTlvs(w: Walk, o: number, end: number): number {
  const d = w.d;
  for (let n = 0; o + 4 <= end && n < 32; n++) {
    const t = d[o] >>> 4;
    const len = d[o + 1];
    const next = o + 4 + len * 4;
    if (w.trace !== null) w.span(Layer.REPORT_TLV, o, Math.min(next, end));
    if (t >= 1 && t <= 3) {
      return reportInner(
        w,
        o + 4,
        Math.min(next, end),
        t === 1 ? INNER_ETHERNET : t === 2 ? INNER_IPV4 : INNER_IPV6,
      );
    }
    o = next;
  }
  return 0;
}
