/**
 * The decoded data model: what one INT record is once it leaves the decoder.
 *
 * The hot path never builds these objects; it fills a {@link RecordBatch} of typed arrays.
 * `materialize()` turns one batch entry into an {@link IntRecord} for the CLI, JSON output and
 * tests. Both describe the same data; field names match.
 */

/** How the INT data reached the decoder. */
export type Encapsulation =
  | 'udp-dscp' // INT after the UDP header, packet marked by DSCP (NPT 0)
  | 'tcp-dscp' // INT after the TCP header, packet marked by DSCP (NPT 0)
  | 'udp-port' // INT after a UDP header whose destination port is an INT port (NPT 1/2, v0.5 tail)
  | 'tcp-port' // INT after a TCP header whose destination port is an INT port (v0.5, vendor use)
  | 'udp-probe' // INT after UDP + 64-bit probe marker
  | 'tcp-probe' // INT after TCP + 64-bit probe marker
  | 'geneve' // Geneve option TLV
  | 'vxlan-gpe' // VXLAN-GPE shim
  | 'gre' // GRE shim
  | 'report-only' // no INT header in the packet: INT-XD, or a report about a plain packet
  | 'udp-unmarked' // inside a Telemetry Report: INT after UDP with no marker (the sink said so)
  | 'tcp-unmarked';

/** INT header version as decoded: v0.5, v1.0, or v2.x (v2.0 and v2.1 share the MD layout). */
export type IntVersion = '0.5' | '1.0' | '2.0' | '2.1';

/** MD: metadata embedded per hop; MX: instructions only, hops report; XD: postcards only. */
export type IntMode = 'MD' | 'MX' | 'XD';

export type TelemetryReportVersion = '0.5' | '1.0' | '2.0';

/** One hop's metadata. `null` = not requested by the bitmap, or all-ones ("not available"). */
export interface Hop {
  /** Position in travel order: 0 = the INT source (first switch). */
  index: number;
  switchId: number | null;
  ingressPort: number | null;
  egressPort: number | null;
  /** As the device reports it (ns on most devices; the unit is device specific). */
  hopLatency: number | null;
  queueId: number | null;
  queueOccupancy: number | null;
  /** Device clock, raw (4 bytes in v0.5/v1.0, 8 bytes in v2.x). */
  ingressTimestamp: bigint | null;
  egressTimestamp: bigint | null;
  l2IngressPort: number | null;
  l2EgressPort: number | null;
  txUtilization: number | null;
  bufferId: number | null;
  bufferOccupancy: number | null;
  checksumComplement: number | null;
  /** v0.5 bit 6: queue id + congestion status. */
  queueCongestion: number | null;
  /** Domain-specific metadata words, raw, in order. Empty when none. */
  dsMetadata: number[];
  /** Where this hop came from: the INT stack in the packet, or the report header of the node. */
  origin: 'stack' | 'report';
}

export interface Flow {
  srcAddr: string;
  dstAddr: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
}

export interface ReportInfo {
  version: TelemetryReportVersion;
  hwId: number;
  sequence: number;
  /** Switch / node id of the reporting node (v1.0 switch id, v2.0 node id, v0.5 local/drop header). */
  nodeId: number | null;
  /** Address the report came from (the reporting node). */
  reporterAddr: string;
  dropped: boolean;
  congestedQueue: boolean;
  trackedFlow: boolean;
  intermediate: boolean;
  /** v2.0 RepType (0 inner only, 1 INT); v0.5 next-proto (0 Ethernet, 1 drop, 2 switch local). */
  reportType: number;
  /** v2.0 InType; v1.0 NProt. */
  innerType: number;
  /** Drop reason (opaque u8, vendor specific) when this is a drop report. */
  dropReason: number | null;
  /** Index of this individual report within its datagram (v2.0 carries several). */
  indexInDatagram: number;
}

/** Header fields of the INT shim and INT metadata header. */
export interface IntHeaderInfo {
  /** INT header type (1 MD/hop-by-hop, 2 destination, 3 MX). */
  type: number;
  /** v2.x shim Next Protocol Type (0 DSCP/probe, 1 original port, 2 original protocol). */
  npt: number | null;
  /** Shim length field as carried (its meaning differs per version). */
  shimLength: number;
  originalDstPort: number | null;
  originalProtocol: number | null;
  originalDscp: number | null;
  /** GPE/GRE shim next protocol (or the v0.5 tail's). */
  nextProtocol: number | null;
  discard: boolean; // D (v2.x)
  hopLimitExceeded: boolean; // E
  mtuExceeded: boolean; // M
  copy: boolean; // C (v0.5/v1.0)
  replication: number; // Rep (v0.5/v1.0)
  /** v0.5 MaxHopCnt. */
  maxHopCount: number | null;
  /** v0.5 TotalHopCnt. */
  totalHopCount: number | null;
  domainSpecificId: number;
  dsInstruction: number;
  dsFlags: number;
  /** Bytes of source-only domain-specific metadata found at the bottom of the stack. */
  sourceOnlyBytes: number;
}

export interface Finding {
  kind: string;
  detail: string;
}

/** One decoded INT record: one packet's INT stack, or one individual Telemetry Report. */
export interface IntRecord {
  /** 1-based packet number in the capture (or datagram counter on a live socket). */
  frame: number;
  /** Capture/receive time, ns since the Unix epoch. */
  timeNs: bigint;
  encapsulation: Encapsulation;
  intVersion: IntVersion | null;
  mode: IntMode;
  instructionBitmap: number;
  /** Per-hop metadata length in 4-byte words (v0.5: instruction count). */
  hopMl: number;
  /** Remaining hop count (null for MX and XD). */
  remainingHopCount: number | null;
  header: IntHeaderInfo | null;
  hops: Hop[];
  report: ReportInfo | null;
  /** Inner (original) 5-tuple. */
  flow: Flow | null;
  findings: Finding[];
}

/** What `decodeOne` returns for a packet that yields no record. */
export interface Rejection {
  frame: number;
  rejected: string;
  detail: string;
}
