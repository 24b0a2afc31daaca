/**
 * Anomaly records and configuration of the streaming detectors. Anomalies are plain objects;
 * times are bigint ns since the Unix epoch (serialise with `toJson` from @hopwatch/codec, which
 * writes bigints as exact JSON integers). See docs/anomalies.md.
 */

export type AnomalyType = 'microloop' | 'microburst' | 'path_change' | 'report_loss' | 'drop';

/** Inner 5-tuple of a flow (addresses as text, IPv6 in RFC 5952 form). */
export interface FlowTuple {
  srcAddr: string;
  dstAddr: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
}

interface AnomalyBase {
  type: AnomalyType;
  /** Deterministic key: the same input always yields the same id (use it to dedupe). */
  id: string;
  /** ns since the Unix epoch. */
  start: bigint;
  end: bigint;
  /** Packets (records) that are evidence of this anomaly. */
  packets: number;
}

export interface LoopPort {
  switchId: number;
  ingressPort: number | null;
  egressPort: number | null;
}

export interface MicroloopAnomaly extends AnomalyBase {
  type: 'microloop';
  /** The cycle, in travel order, starting at the first repeated switch: [s3,s5,s3] → [3,5]. */
  switches: number[];
  /** Ports of the cycle's hops, in the same order as `switches`. */
  ports: LoopPort[];
  flows: FlowTuple[];
  /** Distinct flows seen looping (may exceed flows.length, which is capped). */
  flowCount: number;
  /** Looping packets that also carried the E (hop limit exceeded) bit. */
  eBitPackets: number;
  /** Hop count of the looping flows' last loop-free packets (null if never seen), and the largest during the loop. */
  hopCountBefore: number | null;
  hopCountMax: number;
}

/** A stable repeat of one switch in flows' stacks: out to a non-INT appliance and back (not an
 * anomaly; see `Analyzer.hairpins()`). */
export interface Hairpin {
  switchId: number;
  /** Egress port of the first visit (towards the appliance), null when ports are not carried. */
  egressPort: number | null;
  /** Ingress port of the second visit (back from the appliance). */
  ingressPort: number | null;
  /** Distinct flows seen hairpinned, and their packets. */
  flowCount: number;
  packets: number;
  /** First and last time seen (ns since the epoch). */
  first: bigint;
  last: bigint;
}

export interface BurstFlow extends FlowTuple {
  /** Packets of this flow through the queue during the burst. */
  packets: number;
  /** Their IP bytes, when every packet counted in the burst carried its length (else null). */
  bytes: number | null;
  /** Share of the burst's bytes or packets (see the anomaly's `shareBy`), 0..1. */
  share: number;
  /** Largest hop latency this flow saw at the queue during the burst. */
  maxLatency: number | null;
}

export interface MicroburstAnomaly extends AnomalyBase {
  type: 'microburst';
  switchId: number;
  egressPort: number | null;
  queueId: number | null;
  peakOccupancy: number | null;
  peakLatency: number | null;
  baselineLatency: number | null;
  baselineOccupancy: number | null;
  /** Latency (or occupancy, when no latency is carried) threshold that started the burst. */
  threshold: number;
  /** 'switch' when the timeline came from egress timestamps, 'capture' otherwise. */
  clock: 'switch' | 'capture';
  /** What shares and the aggressor ranking count: 'bytes' when every packet counted in the burst
   * carried its IP length, 'packets' otherwise. */
  shareBy: 'bytes' | 'packets';
  /** Largest contributors first. */
  aggressors: BurstFlow[];
  victims: BurstFlow[];
  /** Distinct flows counted in the burst (the per-burst table keeps at most burstTopK). */
  flowCount: number;
}

export interface PathChangeAnomaly extends AnomalyBase {
  type: 'path_change';
  flow: FlowTuple;
  oldPath: number[];
  newPath: number[];
  /** True for a flap summary: changes inside one hold-down window after a reported change. */
  summary: boolean;
  /** Changes this record stands for (1 for a plain change). */
  changes: number;
  /** Distinct paths seen during a flap summary (empty otherwise). */
  paths: number[][];
}

export interface ReportLossAnomaly extends AnomalyBase {
  type: 'report_loss';
  nodeId: number | null;
  reporterAddr: string;
  hwId: number;
  /** Reports missing (sequence gaps net of late arrivals). */
  lost: number;
  /** Reports that arrived late and filled a gap. */
  reordered: number;
  /** Telemetry Report version: '0.5' | '1.0' | '2.0'. */
  reportVersion: string | null;
  /** Sequence number wrap modulus used (2^22 for v2.0, 2^32 before). */
  modulus: number;
}

export interface DropAnomaly extends AnomalyBase {
  type: 'drop';
  /** Dropping switch (drop reports), or the suspected switch (silent flows). */
  switchId: number | null;
  dropReason: number | null;
  flows: FlowTuple[];
  flowCount: number;
  /** True when inferred from flows going silent (no drop report). */
  silent: boolean;
  /** Silent flows: the last switch seen on the flows' path and the whole path. */
  lastSwitch: number | null;
  path: number[];
}

export type Anomaly =
  MicroloopAnomaly | MicroburstAnomaly | PathChangeAnomaly | ReportLossAnomaly | DropAnomaly;

export interface AnalyticsConfig {
  // ---- state bounds (memory is allocated once, from these) ----
  /** Flow table capacity (LRU eviction beyond). */
  maxFlows: number;
  /** Flows idle longer than this are evicted. */
  flowIdleNs: number;
  /** Queue table capacity: (switch, egress port, queue). */
  maxQueues: number;
  queueIdleNs: number;
  /** Telemetry Report sources: (node id or reporter address, hw_id). */
  maxReporters: number;
  reporterIdleNs: number;
  /** Distinct paths tracked (for silent-flow detection). */
  maxPaths: number;
  pathIdleNs: number;
  /** Flows with latency sketches (a separate, smaller LRU table). */
  maxLatencyFlows: number;
  /** Longest path stored per flow (longer paths are compared by hash, reported truncated). */
  maxPathLength: number;
  /** Log-linear sketch precision (bits of sub-buckets): queues, and flows. */
  queueSketchBits: number;
  flowSketchBits: number;
  /** Flows listed per anomaly (counts stay exact). */
  maxFlowsPerAnomaly: number;

  // ---- micro-loop ----
  /** Looping packets with the same switch set closer than this belong to one episode. */
  loopGapNs: number;
  /** Hairpins (switch, ports) listed by `hairpins()`; idle ones expire after `pathIdleNs`. */
  maxHairpins: number;

  // ---- microburst ----
  /** A burst starts when hop latency ≥ max(factor × baseline, baseline + deviationFactor × mean
   * absolute deviation, floor); the same with the occupancy settings for queues without latency. */
  burstLatencyFactor: number;
  burstLatencyFloorNs: number;
  burstDeviationFactor: number;
  /** Occupancy triggers only for queues whose hops carry no hop latency. */
  burstOccupancyFactor: number;
  burstOccupancyFloor: number;
  /** A burst ends when latency falls below burstEndRatio × the start threshold. */
  burstEndRatio: number;
  /** Samples at or above the start threshold needed to report a burst. */
  burstMinSamples: number;
  /** Bursts closer than this on one queue merge. */
  burstMergeGapNs: number;
  /** An open burst with no sample for this long closes. */
  burstIdleNs: number;
  /** A burst longer than this is reported and the baseline re-learned (a level shift). */
  burstMaxNs: number;
  /** A burst opened before the queue was warm (against its idle level) that is still up after
   * this long, having drained and refilled several times (an overload does not drain), is the
   * queue turning busy: not reported, and the queue learns again. */
  burstWarmupMaxNs: number;
  /** Bursts are detected on a queue once it has this many baseline samples over at least baselineTauNs. */
  baselineWarmupSamples: number;
  /** Largest EWMA weight of one non-burst sample in the baseline ... */
  baselineAlpha: number;
  /** ... and the baseline's time constant: a sample weighs at most (time since the previous sample) / tau. */
  baselineTauNs: number;
  /**
   * Rise rule (warm queues with hop latency; 0 turns it off): a burst also starts when the
   * queue's smoothed latency (time constant burstRiseSmoothNs) has stayed ≥ burstRiseFactor ×
   * baseline for burstRiseHoldNs, and flows new at the queue (first seen at most
   * burstRiseNewFlowNs before the rise) that kept arriving for at least half of it carry ≥
   * burstRiseShare of its bytes (packets when lengths are unknown). A busy queue swings that
   * high on its own; what it does not do on its own is rise with new flows sustaining it.
   */
  burstRiseFactor: number;
  burstRiseHoldNs: number;
  burstRiseSmoothNs: number;
  burstRiseNewFlowNs: number;
  burstRiseShare: number;
  /** Per-burst flow counters (space-saving top-K). */
  burstTopK: number;
  /** Aggressors: flows with ≥ this fraction of the top flow's packets in the burst. */
  aggressorRelShare: number;

  // ---- path change ----
  /** After a reported change, further changes of the flow within this window are summarised. */
  pathHoldDownNs: number;

  // ---- loss ----
  lossGapNs: number;
  /** A forward sequence jump larger than this is a reporter restart, not loss. */
  maxSequenceJump: number;

  // ---- drops ----
  dropGapNs: number;
  /** Silent flow: no packet for silentFactor × its mean inter-arrival (and ≥ silentMinNs) ... */
  silentFactor: number;
  silentMinNs: number;
  /** ... after at least this many packets ... */
  silentMinPackets: number;
  /* ... having been active at least as long as the silence it must show (what counts as
   * evidence of a drop: docs/anomalies.md). */
  /** Unused since silent drops need evidence (a flow coming back, or a blackhole); kept so
   * configurations that set it stay valid. */
  silentMinActiveNs: number;

  /** Called for every anomaly as it is finished (in addition to flush()). */
  onAnomaly: ((a: Anomaly) => void) | null;
}

export const DEFAULT_CONFIG: Readonly<AnalyticsConfig> = Object.freeze({
  maxFlows: 262_144,
  flowIdleNs: 120e9,
  maxQueues: 8192,
  queueIdleNs: 3600e9,
  maxReporters: 4096,
  reporterIdleNs: 3600e9,
  maxPaths: 65_536,
  pathIdleNs: 120e9,
  maxLatencyFlows: 8192,
  maxPathLength: 16,
  queueSketchBits: 5,
  flowSketchBits: 3,
  maxFlowsPerAnomaly: 32,

  loopGapNs: 100e6,
  maxHairpins: 4096,

  burstLatencyFactor: 4,
  burstLatencyFloorNs: 2000,
  burstDeviationFactor: 16,
  burstOccupancyFactor: 4,
  burstOccupancyFloor: 64,
  burstEndRatio: 0.5,
  burstMinSamples: 3,
  burstMergeGapNs: 200e3,
  burstIdleNs: 10e6,
  burstMaxNs: 1e9,
  burstWarmupMaxNs: 2e6,
  baselineWarmupSamples: 32,
  baselineAlpha: 1 / 32,
  baselineTauNs: 10e6,
  burstRiseFactor: 1.5,
  burstRiseHoldNs: 150e3,
  burstRiseSmoothNs: 50e3,
  burstRiseNewFlowNs: 2e6,
  burstRiseShare: 0.15,
  burstTopK: 64,
  aggressorRelShare: 0.5,

  pathHoldDownNs: 1e9,

  lossGapNs: 100e6,
  maxSequenceJump: 1 << 20,

  dropGapNs: 100e6,
  silentFactor: 10,
  silentMinNs: 0,
  silentMinPackets: 16,
  silentMinActiveNs: 50e6,

  onAnomaly: null,
});
