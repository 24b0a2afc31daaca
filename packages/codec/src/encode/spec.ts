/**
 * What the encoder builds: plain descriptions of packets, INT stacks, carriers and
 * Telemetry Reports. The builders turn them into exact bytes (lengths and checksums right);
 * the decoder turns those bytes back into the same values.
 */
import type { IntVersion, TelemetryReportVersion } from '../model';
import type { Deviations } from '../config';

/** One hop's metadata to write. A field the bitmap requests but left undefined is written as
 * all-ones ("not available"). Timestamps are raw device clock values. */
export interface HopMetadata {
  switchId?: number;
  ingressPort?: number;
  egressPort?: number;
  hopLatency?: number;
  queueId?: number;
  queueOccupancy?: number;
  ingressTimestamp?: bigint;
  egressTimestamp?: bigint;
  l2IngressPort?: number;
  l2EgressPort?: number;
  txUtilization?: number;
  bufferId?: number;
  bufferOccupancy?: number;
  checksumComplement?: number;
  /** v0.5 bit 6. */
  queueCongestion?: number;
  /** Domain-specific metadata words (placed before the checksum complement). */
  dsMetadata?: number[];
  /** Telemetry Report drop reason (TR v2.0 bit 15, TR v1.0 bit 4, TR v0.5 drop report). */
  dropReason?: number;
}

export interface IntStackSpec {
  version: IntVersion;
  mode: 'MD' | 'MX';
  instructionBitmap: number;
  /** Hops in travel order (source first); the builder pushes them last-on-top. */
  hops: HopMetadata[];
  /** Defaults to 8 - hops (v1.0/v2.x). */
  remainingHopCount?: number;
  /** v0.5 MaxHopCnt; defaults to 8. */
  maxHopCount?: number;
  /** Overrides the Hop ML computed from the bitmap and DS words (to build bad packets). */
  hopMl?: number;
  discard?: boolean;
  hopLimitExceeded?: boolean;
  mtuExceeded?: boolean;
  domainSpecificId?: number;
  dsInstruction?: number;
  dsFlags?: number;
  /** Source-only DS metadata words at the bottom of the stack (v2.x). */
  sourceOnlyDs?: number[];
  /** Field-width deviations to write with (defaults: spec). */
  deviations?: Partial<Deviations>;
  /** What real devices get wrong, to build captures that reproduce it. */
  quirks?: DeviceQuirks;
}

/**
 * Non-conformant behaviour seen in deployed INT pipelines (bmv2-based ones above all). The
 * hops always carry the fields of `instructionBitmap` and Hop ML counts them.
 */
export interface DeviceQuirks {
  /** The bitmap written in the INT header instead (bmv2 pipelines: 0xFFFF, every bit). */
  advertisedBitmap?: number;
  /** Bytes (a multiple of 4, zeros) left below the stack and counted in the INT length. */
  extraStackBytes?: number;
  /** The UDP length is not updated for the inserted INT bytes (UDP carriers). */
  staleUdpLength?: boolean;
}

export interface FlowSpec {
  ipVersion: 4 | 6;
  srcAddr: string;
  dstAddr: string;
  protocol: 6 | 17;
  srcPort: number;
  dstPort: number;
  /** Original DSCP of the packet (before any INT marking). */
  dscp?: number;
  ttl?: number;
  payload?: Uint8Array;
  srcMac?: string;
  dstMac?: string;
  /** TCP sequence number (TCP only). */
  tcpSeq?: number;
  /** IPv4 identification. */
  ipId?: number;
}

/** How INT rides in the packet. */
export type CarrierSpec =
  | { kind: 'udp-dscp' | 'tcp-dscp'; dscpValue: number }
  | { kind: 'udp-port'; port: number; npt?: 1 | 2 }
  | { kind: 'tcp-port'; port: number }
  | { kind: 'udp-probe' | 'tcp-probe'; marker: string; dscpValue?: number }
  | {
      kind: 'geneve';
      udpPort?: number;
      optionClass?: number;
      vni?: number;
      outer: OuterSpec;
      /** Writes this Geneve base OptLen instead of the right one (to build bad packets). */
      optLenOverride?: number;
    }
  | { kind: 'vxlan-gpe'; udpPort?: number; nextProtocol: number; vni?: number; outer: OuterSpec }
  | { kind: 'gre'; protocol: number; outer: OuterSpec };

/** Outer (tunnel) addresses for Geneve / VXLAN-GPE / GRE. */
export interface OuterSpec {
  ipVersion: 4 | 6;
  srcAddr: string;
  dstAddr: string;
  srcPort?: number;
  /** Compute the tunnel UDP checksum (default: over IPv6 only; 0 over IPv4 like VTEPs). */
  udpChecksum?: boolean;
  ttl?: number;
  srcMac?: string;
  dstMac?: string;
}

export interface IndividualReportSpec {
  /** v2.0 RepType: 0 inner only, 1 INT. */
  repType: 0 | 1;
  /** v2.0 InType (3 Ethernet, 4 IPv4, 5 IPv6, 0 none, 1 TLV). */
  inType: number;
  /** RepMdBits (v2.0, 16 bits; v1.0, 6 bits). */
  repMdBits?: number;
  metadata?: HopMetadata;
  dsId?: number;
  dsMdBits?: number;
  dsMdStatus?: number;
  dropped?: boolean;
  congestedQueue?: boolean;
  trackedFlow?: boolean;
  intermediate?: boolean;
  /** The (possibly truncated) packet: Ethernet for inType 3, IP for 4/5. Padded to a word. */
  inner?: Uint8Array;
}

export interface ReportSpec {
  version: TelemetryReportVersion;
  /** Reporter → collector addressing. */
  srcAddr: string;
  dstAddr: string;
  srcPort?: number;
  dstPort: number;
  hwId?: number;
  sequence: number;
  nodeId: number;
  /** v2.0: one or more individual reports. v0.5/v1.0: exactly one. */
  reports: IndividualReportSpec[];
  /** v0.5: 0 Ethernet only, 1 drop report, 2 switch-local report. */
  v05NextProto?: 0 | 1 | 2;
  /** v0.5/v1.0 ingress timestamp (32-bit ns). */
  ingressTimestamp?: number;
}
