/**
 * The Information Elements hopwatch exports, in template order (docs/ipfix.md).
 *
 * Standard IANA elements where they exist. The INT latency figures have no assigned elements:
 * the IETF OPSAWG on-path telemetry draft's path-delay elements (pathDelay*DeltaMicroseconds)
 * carried no IANA assignment in the material at hand, and implementations disagree on their
 * numbers, so they are enterprise-specific elements under a configurable Private Enterprise
 * Number (default 32473, the number RFC 5612 sets aside for documentation: an operator with a
 * PEN of their own should set it).
 */
import type { FlowRecord } from '../model';

export type ElementType =
  | 'unsigned8'
  | 'unsigned16'
  | 'unsigned32'
  | 'unsigned64'
  | 'ipv4Address'
  | 'ipv6Address'
  | 'dateTimeMilliseconds'
  | 'dateTimeNanoseconds';

export interface Element {
  name: string;
  /** IANA element ID, or the enterprise-specific ID (without the enterprise bit). */
  id: number;
  /** Octets on the wire. */
  length: number;
  type: ElementType;
  /** true: enterprise-specific (carries the PEN in the template). */
  enterprise: boolean;
  /** The value of a record; null is exported as 0. */
  value(f: FlowRecord): number | bigint | string | null;
}

const std = (
  name: string,
  id: number,
  length: number,
  type: ElementType,
  value: Element['value'],
): Element => ({ name, id, length, type, enterprise: false, value });
const ent = (
  name: string,
  id: number,
  length: number,
  type: ElementType,
  value: Element['value'],
): Element => ({ name, id, length, type, enterprise: true, value });

const ns = (v: number | null | undefined): number | null =>
  v === null || v === undefined ? null : Math.round(v);

/** Everything after the addresses: the same in the IPv4 and IPv6 templates. */
const COMMON: readonly Element[] = [
  std('sourceTransportPort', 7, 2, 'unsigned16', (f) => f.srcPort),
  std('destinationTransportPort', 11, 2, 'unsigned16', (f) => f.dstPort),
  std('protocolIdentifier', 4, 1, 'unsigned8', (f) => f.protocol),
  std('packetDeltaCount', 2, 8, 'unsigned64', (f) => f.packets),
  std('octetDeltaCount', 1, 8, 'unsigned64', (f) => f.bytes),
  std('flowStartMilliseconds', 152, 8, 'dateTimeMilliseconds', (f) => f.startNs),
  std('flowEndMilliseconds', 153, 8, 'dateTimeMilliseconds', (f) => f.endNs),
  std('flowStartNanoseconds', 156, 8, 'dateTimeNanoseconds', (f) => f.startNs),
  std('flowEndNanoseconds', 157, 8, 'dateTimeNanoseconds', (f) => f.endNs),
  std('ingressInterface', 10, 4, 'unsigned32', (f) => f.ingressInterface),
  std('egressInterface', 14, 4, 'unsigned32', (f) => f.egressInterface),
  std('vlanId', 58, 2, 'unsigned16', (f) => f.vlan),
  std('layer2SegmentId', 351, 8, 'unsigned64', (f) => f.vni),
  std('flowEndReason', 136, 1, 'unsigned8', (f) => f.endReason),
  ent('e2eLatencyMinNanoseconds', 1, 8, 'unsigned64', (f) => ns(f.e2e?.min)),
  ent('e2eLatencyMeanNanoseconds', 2, 8, 'unsigned64', (f) => ns(f.e2e?.mean)),
  ent('e2eLatencyMaxNanoseconds', 3, 8, 'unsigned64', (f) => ns(f.e2e?.max)),
  ent('e2eLatencyP50Nanoseconds', 4, 8, 'unsigned64', (f) => ns(f.e2e?.p50)),
  ent('e2eLatencyP99Nanoseconds', 5, 8, 'unsigned64', (f) => ns(f.e2e?.p99)),
  ent('e2eJitterNanoseconds', 6, 8, 'unsigned64', (f) => ns(f.jitter)),
  ent('worstHopSwitchId', 7, 4, 'unsigned32', (f) => f.worstHop),
  ent('worstHopLatencyNanoseconds', 8, 8, 'unsigned64', (f) => ns(f.worstHopLatency)),
  ent('pathLength', 9, 1, 'unsigned8', (f) => f.path.length),
  ent('pathChangeCount', 10, 4, 'unsigned32', (f) => f.pathChanges),
  ent('dropReportCount', 11, 4, 'unsigned32', (f) => f.dropReports),
  ent('reportGapCount', 12, 4, 'unsigned32', (f) => f.reportGaps),
  ent('e2eLatencySource', 13, 1, 'unsigned8', (f) =>
    f.e2eSource === 'timestamps' ? 1 : f.e2eSource === 'hop-latency-sum' ? 2 : 0,
  ),
];

export const IPV4_ELEMENTS: readonly Element[] = [
  std('sourceIPv4Address', 8, 4, 'ipv4Address', (f) => f.src),
  std('destinationIPv4Address', 12, 4, 'ipv4Address', (f) => f.dst),
  ...COMMON,
];

export const IPV6_ELEMENTS: readonly Element[] = [
  std('sourceIPv6Address', 27, 16, 'ipv6Address', (f) => f.src),
  std('destinationIPv6Address', 28, 16, 'ipv6Address', (f) => f.dst),
  ...COMMON,
];

/** Template IDs (256 and up are data templates, RFC 7011 §3.4.1). */
export const TEMPLATE_IPV4 = 256;
export const TEMPLATE_IPV6 = 257;

/** RFC 5612's Private Enterprise Number for documentation. */
export const DOCUMENTATION_PEN = 32473;

export const recordLength = (els: readonly Element[]): number =>
  els.reduce((n, e) => n + e.length, 0);
