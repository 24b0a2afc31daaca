/**
 * A flow record: what hopwatch knows of one flow over one interval, as flow exporters report
 * it (RFC 7011 semantics: delta counts per interval, an end reason), plus what INT adds: the
 * exact path, the end-to-end latency per packet and where it went.
 */

/** Why an interval ended (IPFIX flowEndReason values). */
export const FlowEndReason = {
  /** No packet for the idle timeout. */
  IDLE: 1,
  /** The active timeout: a long flow is reported every interval. */
  ACTIVE: 2,
  /** The flow ended (TCP FIN/RST seen). */
  END: 3,
  /** End of input or shutdown. */
  FORCED: 4,
  /** Evicted early: the flow table was full. */
  EVICTED: 5,
} as const;
export type FlowEndReasonCode = (typeof FlowEndReason)[keyof typeof FlowEndReason];

/** How the end-to-end latency was measured. */
export type E2eSource =
  /** first hop's ingress timestamp to the last hop's egress timestamp */
  | 'timestamps'
  /** the sum of the hops' latencies (no timestamps in the stack) */
  | 'hop-latency-sum'
  /** neither: the records carried no latency */
  | 'none';

export interface LatencySummary {
  /** ns */
  min: number;
  mean: number;
  max: number;
  p50: number;
  p99: number;
  /** Packets with a latency. */
  samples: number;
}

export interface FlowRecord {
  ipVersion: 4 | 6;
  /** Inner addresses as written (IPv4 dotted, IPv6 RFC 5952). */
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  /** 802.1Q VLAN of the packet, where it carried one. */
  vlan: number | null;
  /** VXLAN / Geneve VNI of the packet, where it carried one. */
  vni: number | null;
  /** First and last packet of the interval, ns since the epoch. */
  startNs: bigint;
  endNs: bigint;
  packets: number;
  /** Sum of the original packets' IP total length, where the records carry it (else 0). */
  bytes: number;
  /** Packets whose length was known (bytes counts only those). */
  bytesPackets: number;
  /** Switch IDs in travel order, of the interval's last packet. */
  path: number[];
  /** Times the path differed from the previous packet's within the interval. */
  pathChanges: number;
  /** Ingress port of the first hop and egress port of the last hop (last packet). */
  ingressInterface: number | null;
  egressInterface: number | null;
  e2e: LatencySummary | null;
  e2eSource: E2eSource;
  /** Mean absolute difference of consecutive packets' end-to-end latency (RFC 3550 style), ns. */
  jitter: number | null;
  /** The switch whose hop latency contributed most on average, and that mean (ns). */
  worstHop: number | null;
  worstHopLatency: number | null;
  /** Loss indicators: drop reports naming the flow, report sequence gaps at its reporters. */
  dropReports: number;
  reportGaps: number;
  endReason: FlowEndReasonCode;
}
