/** Telemetry Report v0.5: 12-byte fixed header, then a drop or switch-local header, then Ethernet. */
import { HopField, RepFlag } from '../batch';
import { Layer } from '../layers/names';
import { FindingKind, Reject } from '../reasons';
import { u16, u32, Walk } from '../walk/cursor';
import { INNER_ETHERNET, reportInner } from './inner';

/** `versionSeen`: the version nibble (INTCollector sends this layout with version 1). */
export function reportV05(w: Walk, off: number, versionSeen: number): number {
  const d = w.d;
  if (off + 12 > w.end) return w.reject(Reject.TRUNCATED, 'Telemetry Report v0.5 header');
  if (w.trace !== null) w.span(Layer.REPORT_V05, off, off + 12);
  const r = w.openReportRecord(1);
  const b = w.b;
  const nproto = d[off] & 0x0f;
  let flags = 0;
  if (d[off + 1] & 0x80) flags |= RepFlag.D;
  if (d[off + 1] & 0x40) flags |= RepFlag.Q;
  if (d[off + 1] & 0x20) flags |= RepFlag.F;
  b.repFlags[r] = flags;
  b.hwId[r] = d[off + 3] & 0x3f;
  b.sequence[r] = u32(d, off + 4);
  b.repType[r] = nproto;
  const ingressTs = u32(d, off + 8);
  if (versionSeen !== 0)
    w.finding(FindingKind.REPORT_VERSION, `v0.5 report layout with version ${versionSeen}`);
  let o = off + 12;
  let hop = -1;
  if (nproto === 1 || nproto === 2) {
    const size = nproto === 1 ? 12 : 16;
    if (o + size > w.end) {
      w.abortRecord();
      return w.reject(
        Reject.TRUNCATED,
        nproto === 1 ? 'drop report header' : 'switch local report header',
      );
    }
    if (w.trace !== null)
      if (w.trace !== null)
        w.span(nproto === 1 ? Layer.REPORT_V05_DROP : Layer.REPORT_V05_LOCAL, o, o + size);
    b.nodeId[r] = u32(d, o);
    b.hasNodeId[r] = 1;
    b.ensureHops(1);
    hop = b.hopTotal; // filled after the inner stack so that it comes last in travel order
    if (nproto === 1) {
      b.dropReason[r] = d[o + 9];
      b.repFlags[r] |= RepFlag.D;
    }
    o += size;
  } else if (nproto !== 0) {
    w.abortRecord();
    return w.reject(Reject.BAD_REPORT, `v0.5 next protocol ${nproto}`);
  }
  const code = reportInner(w, o, w.end, INNER_ETHERNET);
  if (code !== 0) {
    w.abortRecord();
    return code;
  }
  if (hop >= 0) {
    const base = off + 12;
    b.ensureHops(1);
    const h = b.hopTotal;
    b.clearHop(h);
    b.origin[h] = 1;
    b.switchId[h] = u32(d, base);
    b.ingressPort[h] = u16(d, base + 4);
    b.egressPort[h] = u16(d, base + 6);
    let present = HopField.SWITCH_ID | HopField.L1_PORTS;
    if (nproto === 2) {
      b.queueId[h] = d[base + 8];
      b.queueOccupancy[h] = u32(d, base + 8) & 0xffffff;
      const egressTs = u32(d, base + 12);
      b.ingressTsLo[h] = ingressTs;
      b.egressTsLo[h] = egressTs;
      b.hopLatency[h] = (egressTs - ingressTs) >>> 0; // 32-bit ns clocks wrap
      present |= HopField.HOP_LATENCY | HopField.QUEUE | HopField.INGRESS_TS | HopField.EGRESS_TS;
    } else {
      b.queueId[h] = d[base + 8];
      b.hopDropReason[h] = d[base + 9];
      present |= HopField.QUEUE | HopField.DROP_REASON;
    }
    b.present[h] = present;
    w.appendReportHop(r, h);
  }
  w.commitRecord();
  return 0;
}
