/**
 * RecordBatch: decoded INT records as columns of typed arrays, reused across batches.
 *
 * The decoder appends records here without allocating per packet; the pipeline, analytics
 * and store read the columns directly. Hops of record r are hop rows
 * [hopStart[r], hopStart[r] + hopCount[r]) in travel order.
 */

/** Presence bits of one hop's fields (set = the bitmap requested it and it was not all-ones). */
export const HopField = {
  SWITCH_ID: 1 << 0,
  L1_PORTS: 1 << 1,
  HOP_LATENCY: 1 << 2,
  QUEUE: 1 << 3,
  INGRESS_TS: 1 << 4,
  EGRESS_TS: 1 << 5,
  L2_PORTS: 1 << 6,
  TX_UTIL: 1 << 7,
  BUFFER: 1 << 8,
  CHECKSUM: 1 << 9,
  QUEUE_CONGESTION: 1 << 10,
  DROP_REASON: 1 << 11,
} as const;

/** Encapsulation codes (index into ENCAPSULATIONS). */
export const ENCAPSULATIONS = [
  'udp-dscp',
  'tcp-dscp',
  'udp-port',
  'tcp-port',
  'udp-probe',
  'tcp-probe',
  'geneve',
  'vxlan-gpe',
  'gre',
  'report-only',
  'udp-unmarked',
  'tcp-unmarked',
] as const;
export const Encap = {
  UDP_DSCP: 0,
  TCP_DSCP: 1,
  UDP_PORT: 2,
  TCP_PORT: 3,
  UDP_PROBE: 4,
  TCP_PROBE: 5,
  GENEVE: 6,
  VXLAN_GPE: 7,
  GRE: 8,
  REPORT_ONLY: 9,
  UDP_UNMARKED: 10,
  TCP_UNMARKED: 11,
} as const;

/** INT version codes. */
export const IntVer = { NONE: 0, V05: 1, V10: 2, V20: 3, V21: 4 } as const;
export const INT_VERSION_NAMES = [null, '0.5', '1.0', '2.0', '2.1'] as const;
export const Mode = { MD: 0, MX: 1, XD: 2 } as const;
export const MODE_NAMES = ['MD', 'MX', 'XD'] as const;
export const ReportVer = { NONE: 0, V05: 1, V10: 2, V20: 3 } as const;
export const REPORT_VERSION_NAMES = [null, '0.5', '1.0', '2.0'] as const;

/** Header flag bits (hdrFlags column). */
export const HdrFlag = { D: 1, E: 2, M: 4, C: 8 } as const;
/** Report flag bits (repFlags column). */
export const RepFlag = { D: 1, Q: 2, F: 4, I: 8 } as const;

export interface FindingRow {
  record: number;
  kind: string;
  detail: string;
}

export class RecordBatch {
  capacity: number;
  hopCapacity: number;
  count = 0;
  hopTotal = 0;
  dsTotal = 0;

  // --- per record ---
  frame!: Uint32Array;
  tsSec!: Uint32Array;
  tsNsec!: Uint32Array;
  encap!: Uint8Array;
  intVersion!: Uint8Array;
  mode!: Uint8Array;
  bitmap!: Uint16Array;
  hopMl!: Uint8Array;
  /** Remaining hop count, -1 when not carried. */
  rhc!: Int16Array;
  hasHeader!: Uint8Array;
  intType!: Uint8Array;
  npt!: Int8Array;
  shimLength!: Uint16Array;
  /** Original UDP dst port (NPT 1), -1 when none. */
  origPort!: Int32Array;
  /** Original IP protocol (NPT 2 / v0.5 tail), -1 when none. */
  origProto!: Int16Array;
  /** Original DSCP, -1 when none. */
  origDscp!: Int16Array;
  /** Shim / tail next protocol, -1 when none. */
  nextProto!: Int32Array;
  hdrFlags!: Uint8Array;
  replication!: Uint8Array;
  /** v0.5 max / total hop count, -1 when not carried. */
  maxHopCnt!: Int16Array;
  totalHopCnt!: Int16Array;
  dsId!: Uint16Array;
  dsInstruction!: Uint16Array;
  dsFlags!: Uint16Array;
  sourceOnlyBytes!: Uint16Array;
  hopStart!: Uint32Array;
  hopCount!: Uint16Array;

  // report (hasReport = 0 when the record did not come in a Telemetry Report)
  reportVersion!: Uint8Array;
  hwId!: Uint8Array;
  sequence!: Uint32Array;
  nodeId!: Uint32Array;
  hasNodeId!: Uint8Array;
  repFlags!: Uint8Array;
  repType!: Uint8Array;
  inType!: Uint8Array;
  /** Drop reason, -1 when none. */
  dropReason!: Int16Array;
  repIndex!: Uint8Array;
  /** Reporter address: 4 words per record (IPv4 in word 3, words 0-2 zero, isV6 0). */
  reporterAddr!: Uint32Array;
  reporterV6!: Uint8Array;

  // inner flow (hasFlow = 0 when the inner packet had no IP/L4)
  hasFlow!: Uint8Array;
  flowV6!: Uint8Array;
  srcAddr!: Uint32Array;
  dstAddr!: Uint32Array;
  srcPort!: Uint16Array;
  dstPort!: Uint16Array;
  protocol!: Uint8Array;

  // --- per hop ---
  present!: Uint16Array;
  /** 0 = from the INT stack, 1 = from the report header of the reporting node. */
  origin!: Uint8Array;
  switchId!: Uint32Array;
  ingressPort!: Uint32Array;
  egressPort!: Uint32Array;
  hopLatency!: Uint32Array;
  queueId!: Uint16Array;
  queueOccupancy!: Uint32Array;
  ingressTsHi!: Uint32Array;
  ingressTsLo!: Uint32Array;
  egressTsHi!: Uint32Array;
  egressTsLo!: Uint32Array;
  l2IngressPort!: Uint32Array;
  l2EgressPort!: Uint32Array;
  txUtil!: Uint32Array;
  bufferId!: Uint8Array;
  bufferOccupancy!: Uint32Array;
  checksum!: Uint32Array;
  queueCongestion!: Uint32Array;
  /** Drop reason reported for this hop (present when DROP_REASON is set). */
  hopDropReason!: Uint8Array;
  dsStart!: Uint32Array;
  dsCount!: Uint8Array;

  /** Domain-specific metadata words of all hops. */
  dsWords: Uint32Array;

  /** Conformance findings (rare: allocated only when one occurs). */
  findings: FindingRow[] = [];

  constructor(capacity = 4096, hopsPerRecord = 8) {
    this.capacity = capacity;
    this.hopCapacity = capacity * hopsPerRecord;
    this.allocRecords(capacity);
    this.fillDefaults(0, capacity);
    this.allocHops(this.hopCapacity);
    this.dsWords = new Uint32Array(1024);
  }

  /** Forget the contents; keep the memory. */
  reset(): void {
    this.fillDefaults(0, this.count);
    this.count = 0;
    this.hopTotal = 0;
    this.dsTotal = 0;
    if (this.findings.length) this.findings = [];
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  private allocRecords(n: number): void {
    const grow = <T extends { length: number; set(a: ArrayLike<number>): void }>(
      old: T | undefined,
      make: (n: number) => T,
      per = 1,
    ): T => {
      const a = make(n * per);
      if (old) a.set(old as unknown as ArrayLike<number>);
      return a;
    };
    this.frame = grow(this.frame, (k) => new Uint32Array(k));
    this.tsSec = grow(this.tsSec, (k) => new Uint32Array(k));
    this.tsNsec = grow(this.tsNsec, (k) => new Uint32Array(k));
    this.encap = grow(this.encap, (k) => new Uint8Array(k));
    this.intVersion = grow(this.intVersion, (k) => new Uint8Array(k));
    this.mode = grow(this.mode, (k) => new Uint8Array(k));
    this.bitmap = grow(this.bitmap, (k) => new Uint16Array(k));
    this.hopMl = grow(this.hopMl, (k) => new Uint8Array(k));
    this.rhc = grow(this.rhc, (k) => new Int16Array(k));
    this.hasHeader = grow(this.hasHeader, (k) => new Uint8Array(k));
    this.intType = grow(this.intType, (k) => new Uint8Array(k));
    this.npt = grow(this.npt, (k) => new Int8Array(k));
    this.shimLength = grow(this.shimLength, (k) => new Uint16Array(k));
    this.origPort = grow(this.origPort, (k) => new Int32Array(k));
    this.origProto = grow(this.origProto, (k) => new Int16Array(k));
    this.origDscp = grow(this.origDscp, (k) => new Int16Array(k));
    this.nextProto = grow(this.nextProto, (k) => new Int32Array(k));
    this.hdrFlags = grow(this.hdrFlags, (k) => new Uint8Array(k));
    this.replication = grow(this.replication, (k) => new Uint8Array(k));
    this.maxHopCnt = grow(this.maxHopCnt, (k) => new Int16Array(k));
    this.totalHopCnt = grow(this.totalHopCnt, (k) => new Int16Array(k));
    this.dsId = grow(this.dsId, (k) => new Uint16Array(k));
    this.dsInstruction = grow(this.dsInstruction, (k) => new Uint16Array(k));
    this.dsFlags = grow(this.dsFlags, (k) => new Uint16Array(k));
    this.sourceOnlyBytes = grow(this.sourceOnlyBytes, (k) => new Uint16Array(k));
    this.hopStart = grow(this.hopStart, (k) => new Uint32Array(k));
    this.hopCount = grow(this.hopCount, (k) => new Uint16Array(k));
    this.reportVersion = grow(this.reportVersion, (k) => new Uint8Array(k));
    this.hwId = grow(this.hwId, (k) => new Uint8Array(k));
    this.sequence = grow(this.sequence, (k) => new Uint32Array(k));
    this.nodeId = grow(this.nodeId, (k) => new Uint32Array(k));
    this.hasNodeId = grow(this.hasNodeId, (k) => new Uint8Array(k));
    this.repFlags = grow(this.repFlags, (k) => new Uint8Array(k));
    this.repType = grow(this.repType, (k) => new Uint8Array(k));
    this.inType = grow(this.inType, (k) => new Uint8Array(k));
    this.dropReason = grow(this.dropReason, (k) => new Int16Array(k));
    this.repIndex = grow(this.repIndex, (k) => new Uint8Array(k));
    this.reporterAddr = grow(this.reporterAddr, (k) => new Uint32Array(k), 4);
    this.reporterV6 = grow(this.reporterV6, (k) => new Uint8Array(k));
    this.hasFlow = grow(this.hasFlow, (k) => new Uint8Array(k));
    this.flowV6 = grow(this.flowV6, (k) => new Uint8Array(k));
    this.srcAddr = grow(this.srcAddr, (k) => new Uint32Array(k), 4);
    this.dstAddr = grow(this.dstAddr, (k) => new Uint32Array(k), 4);
    this.srcPort = grow(this.srcPort, (k) => new Uint16Array(k));
    this.dstPort = grow(this.dstPort, (k) => new Uint16Array(k));
    this.protocol = grow(this.protocol, (k) => new Uint8Array(k));
  }

  private allocHops(n: number): void {
    const grow = <T extends { set(a: ArrayLike<number>): void }>(
      old: T | undefined,
      make: (n: number) => T,
    ): T => {
      const a = make(n);
      if (old) a.set(old as unknown as ArrayLike<number>);
      return a;
    };
    this.present = grow(this.present, (k) => new Uint16Array(k));
    this.origin = grow(this.origin, (k) => new Uint8Array(k));
    this.switchId = grow(this.switchId, (k) => new Uint32Array(k));
    this.ingressPort = grow(this.ingressPort, (k) => new Uint32Array(k));
    this.egressPort = grow(this.egressPort, (k) => new Uint32Array(k));
    this.hopLatency = grow(this.hopLatency, (k) => new Uint32Array(k));
    this.queueId = grow(this.queueId, (k) => new Uint16Array(k));
    this.queueOccupancy = grow(this.queueOccupancy, (k) => new Uint32Array(k));
    this.ingressTsHi = grow(this.ingressTsHi, (k) => new Uint32Array(k));
    this.ingressTsLo = grow(this.ingressTsLo, (k) => new Uint32Array(k));
    this.egressTsHi = grow(this.egressTsHi, (k) => new Uint32Array(k));
    this.egressTsLo = grow(this.egressTsLo, (k) => new Uint32Array(k));
    this.l2IngressPort = grow(this.l2IngressPort, (k) => new Uint32Array(k));
    this.l2EgressPort = grow(this.l2EgressPort, (k) => new Uint32Array(k));
    this.txUtil = grow(this.txUtil, (k) => new Uint32Array(k));
    this.bufferId = grow(this.bufferId, (k) => new Uint8Array(k));
    this.bufferOccupancy = grow(this.bufferOccupancy, (k) => new Uint32Array(k));
    this.checksum = grow(this.checksum, (k) => new Uint32Array(k));
    this.queueCongestion = grow(this.queueCongestion, (k) => new Uint32Array(k));
    this.hopDropReason = grow(this.hopDropReason, (k) => new Uint8Array(k));
    this.dsStart = grow(this.dsStart, (k) => new Uint32Array(k));
    this.dsCount = grow(this.dsCount, (k) => new Uint8Array(k));
  }

  /** Makes room for one more record (growing only when a caller exceeds capacity). */
  ensureRecord(): void {
    if (this.count >= this.capacity) {
      const old = this.capacity;
      this.capacity *= 2;
      this.allocRecords(this.capacity);
      this.fillDefaults(old, this.capacity);
    }
  }

  /**
   * Record columns of rows [from, to) back to their "absent" values (-1 for the optional
   * numeric fields, 0 elsewhere). Done in bulk when a batch is reset, so the decoder's per
   * record work is only what the packet sets.
   */
  fillDefaults(from: number, to: number): void {
    if (to <= from) return;
    for (const a of [this.rhc, this.npt, this.origPort, this.origProto, this.origDscp, this.nextProto, this.maxHopCnt, this.totalHopCnt, this.dropReason]) {
      a.fill(-1, from, to);
    }
    for (const a of [
      this.intVersion, this.mode, this.bitmap, this.hopMl, this.hasHeader, this.intType, this.shimLength, this.hdrFlags,
      this.replication, this.dsId, this.dsInstruction, this.dsFlags, this.sourceOnlyBytes, this.hopCount,
      this.reportVersion, this.hasNodeId, this.hasFlow, this.repFlags, this.repType, this.inType, this.repIndex,
    ]) {
      a.fill(0, from, to);
    }
  }

  /** Makes room for `n` more hops. */
  ensureHops(n: number): void {
    if (this.hopTotal + n > this.hopCapacity) {
      while (this.hopTotal + n > this.hopCapacity) this.hopCapacity *= 2;
      this.allocHops(this.hopCapacity);
    }
  }

  ensureDs(n: number): void {
    if (this.dsTotal + n > this.dsWords.length) {
      let len = this.dsWords.length * 2;
      while (this.dsTotal + n > len) len *= 2;
      const a = new Uint32Array(len);
      a.set(this.dsWords);
      this.dsWords = a;
    }
  }

  /** Clears a hop row before it is filled (typed arrays keep old values). */
  clearHop(h: number): void {
    this.present[h] = 0;
    this.origin[h] = 0;
    this.switchId[h] = 0;
    this.ingressPort[h] = 0;
    this.egressPort[h] = 0;
    this.hopLatency[h] = 0;
    this.queueId[h] = 0;
    this.queueOccupancy[h] = 0;
    this.ingressTsHi[h] = 0;
    this.ingressTsLo[h] = 0;
    this.egressTsHi[h] = 0;
    this.egressTsLo[h] = 0;
    this.l2IngressPort[h] = 0;
    this.l2EgressPort[h] = 0;
    this.txUtil[h] = 0;
    this.bufferId[h] = 0;
    this.bufferOccupancy[h] = 0;
    this.checksum[h] = 0;
    this.queueCongestion[h] = 0;
    this.hopDropReason[h] = 0;
    this.dsStart[h] = 0;
    this.dsCount[h] = 0;
  }

  addFinding(record: number, kind: string, detail: string): void {
    this.findings.push({ record, kind, detail });
  }
}
