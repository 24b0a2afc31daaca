/**
 * Telemetry Reports: which version's header is at hand, and the packet a report carries
 * (walked for INT like any packet, one level deeper, bounded by the report's end).
 */
import { EtherType } from '../layers/ip';
import { FindingKind, Reject } from '../reasons';
import { MAX_DEPTH, u16, Walk } from '../walk/cursor';
import { fastInt } from '../walk/fast-path';
import { walkFrame, walkL3 } from '../walk/network';
import { reportV05 } from './v05';
import { reportV1 } from './v1';
import { reportV2 } from './v2';

/** A report in a UDP datagram of the packet being walked: the reporter is its IP source. */
export function telemetryReport(w: Walk, off: number): number {
  w.reporterFrom(w.ip);
  return telemetryReportAt(w, off);
}

/** A report at `off`, its reporter already set. */
export function telemetryReportAt(w: Walk, off: number): number {
  const d = w.d;
  if (off + 4 > w.end) return w.reject(Reject.TRUNCATED, 'Telemetry Report header');
  const ver = d[off] >>> 4;
  if (ver === 2 || (ver === 1 && w.config.deviations.reportV1AsV2)) return reportV2(w, off, ver);
  if (ver === 1) return reportV1(w, off);
  if (ver === 0) return reportV05(w, off, 0);
  return w.reject(Reject.UNKNOWN_REPORT_VERSION, `Telemetry Report version ${ver}`);
}

/** Kinds of inner packet: Ethernet, IPv4, IPv6. */
export const INNER_ETHERNET = 0;
export const INNER_IPV4 = 4;
export const INNER_IPV6 = 6;

/** Does a packet of the given kind plausibly start at `off`? */
export function plausibleInner(w: Walk, off: number, kind: number): boolean {
  const d = w.d;
  if (kind === INNER_ETHERNET) {
    if (off + 14 > w.end) return false;
    const et = u16(d, off + 12);
    return (
      et === EtherType.IPV4 ||
      et === EtherType.IPV6 ||
      et === EtherType.VLAN ||
      et === EtherType.QINQ
    );
  }
  if (off >= w.end) return false;
  if (kind === INNER_IPV4) return d[off] >>> 4 === 4 && (d[off] & 0x0f) >= 5;
  return d[off] >>> 4 === 6;
}

/** Walks the packet carried inside a report; fills the open record's INT and flow. */
export function reportInner(w: Walk, off: number, end: number, kind: number): number {
  if (
    kind === INNER_ETHERNET &&
    w.fastPath &&
    w.trace === null &&
    fastInt(w, w.d, off, Math.min(end, w.end), false, w.b, w.r)
  ) {
    return 0;
  }
  const saveEnd = w.end;
  if (end < w.end) w.end = end;
  let code: number;
  if (w.depth >= MAX_DEPTH) code = w.reject(Reject.TOO_DEEP, 'encapsulation nested too deep');
  else {
    w.depth++;
    if (kind === INNER_ETHERNET) code = walkFrame(w, off);
    else code = walkL3(w, off, kind === INNER_IPV4 ? EtherType.IPV4 : EtherType.IPV6);
    w.depth--;
  }
  w.end = saveEnd;
  if (code === Reject.NOT_INT) {
    // the inner packet has no INT: a postcard (INT-XD) or a drop/queue report of a plain packet
    w.lastDetail = '';
    return 0;
  }
  if (code !== 0 && code !== Reject.TRUNCATED) return code;
  if (code === Reject.TRUNCATED) {
    // reports carry truncated packets by design: keep the record, note what was cut
    w.finding(FindingKind.REPORT_LENGTH, `inner packet truncated: ${w.lastDetail}`);
    w.lastDetail = '';
  }
  return 0;
}
