/** Telemetry Report v1.0: 16-byte header (+ RepMdBits metadata), then the inner packet per NProto. */
import { HopField, RepFlag } from '../batch';
import { LayoutKind } from '../int/layout';
import { Layer } from '../layers/names';
import { FindingKind, Reject } from '../reasons';
import { u32, Walk } from '../walk/cursor';
import { INNER_ETHERNET, INNER_IPV4, INNER_IPV6, plausibleInner, reportInner } from './inner';
import { reportV05 } from './v05';

/** NProto → kind of inner packet (1 IPv4, 2 IPv6, else Ethernet). */
function innerKind(nprot: number): number {
  return nprot === 1 ? INNER_IPV4 : nprot === 2 ? INNER_IPV6 : INNER_ETHERNET;
}

export function reportV1(w: Walk, off: number): number {
  const d = w.d;
  if (off + 16 > w.end) return w.reject(Reject.TRUNCATED, 'Telemetry Report v1.0 header');
  const lenW = d[off] & 0x0f;
  const nprot = d[off + 1] >>> 5;
  // INTCollector's builder sends v0.5 layouts with version 1; tell them apart by what follows
  if (lenW < 4) {
    if (
      !plausibleInner(w, off + 16, innerKind(nprot)) &&
      plausibleInner(w, off + 12, INNER_ETHERNET)
    ) {
      return reportV05(w, off, 1);
    }
  }
  if (w.trace !== null) w.span(Layer.REPORT_V10, off, off + Math.max(16, lenW * 4));
  const r = w.openReportRecord(2);
  const b = w.b;
  const repMd = ((d[off + 1] & 0x1f) << 1) | (d[off + 2] >>> 7);
  let flags = 0;
  if (d[off + 2] & 0x01) flags |= RepFlag.D;
  if (d[off + 3] & 0x80) flags |= RepFlag.Q;
  if (d[off + 3] & 0x40) flags |= RepFlag.F;
  b.repFlags[r] = flags;
  b.hwId[r] = d[off + 3] & 0x3f;
  b.nodeId[r] = u32(d, off + 4);
  b.hasNodeId[r] = 1;
  b.sequence[r] = u32(d, off + 8);
  b.inType[r] = nprot;
  const ingressTs = u32(d, off + 12);
  const layout = w.layouts.get(LayoutKind.TR10, repMd);
  let hdrEnd = off + lenW * 4;
  if (lenW < 4) {
    w.finding(FindingKind.REPORT_LENGTH, `report length ${lenW} words < minimum 4`);
    hdrEnd = off + 16 + layout.baselineBytes;
  } else if (lenW * 4 !== 16 + layout.baselineBytes) {
    w.finding(
      FindingKind.REPORT_LENGTH,
      `report length ${lenW} words, RepMdBits need ${4 + layout.baselineBytes / 4}`,
    );
  }
  if (hdrEnd > w.end || off + 16 + layout.baselineBytes > w.end) {
    w.abortRecord();
    return w.reject(Reject.TRUNCATED, 'Telemetry Report v1.0 metadata');
  }
  const code = reportInner(w, hdrEnd, w.end, innerKind(nprot));
  if (code !== 0) {
    w.abortRecord();
    return code;
  }
  // the reporting switch's own metadata
  b.ensureHops(1);
  const h = b.hopTotal;
  w.readers.get(layout, 0)(w.view(), d.byteOffset + off + 16, b, h);
  b.origin[h] = 1;
  b.switchId[h] = b.nodeId[r];
  b.ingressTsLo[h] = ingressTs;
  b.present[h] |= HopField.SWITCH_ID | HopField.INGRESS_TS;
  if (b.present[h] & HopField.DROP_REASON) b.dropReason[r] = b.hopDropReason[h];
  if (repMd !== 0 || b.hopCount[r] === 0) w.appendReportHop(r, h);
  w.commitRecord();
  return 0;
}
