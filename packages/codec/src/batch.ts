/**
 * RecordBatch: decoded INT records as columns of typed arrays, reused across batches.
 *
 * The decoder appends records here without allocating per packet; the pipeline, analytics
 * and store read the columns directly. Hops of record r are hop rows
 * [hopStart[r], hopStart[r] + hopCount[r]) in travel order.
 */

import { HOP_COLUMNS as HOP_COLUMN_LIST, HopField as HOP_FIELD } from './int/bits';

// Defined with the instruction bit table (int/bits.ts). Plain constants here rather than
// re-exports: a re-export compiles to a getter, which hot loops would call on every access.
/** Presence bits of one hop's fields (set = the bitmap requested it and it was not all-ones). */
export const HopField = HOP_FIELD;
/** Per-hop columns: name and element type. A field is valid only when its `present` bit is set. */
export const HOP_COLUMNS = HOP_COLUMN_LIST;

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

type ColumnType =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Uint32ArrayConstructor
  | Int32ArrayConstructor;

/**
 * Per-record columns: name, element type, values per record (addresses take 4 words) and the
 * value meaning "absent", which rows hold until the decoder sets them (NaN: always written
 * when the record or its flow/report part exists, so never refilled).
 */
export const RECORD_COLUMNS: readonly (readonly [string, ColumnType, number, number])[] = [
  ['frame', Uint32Array, 1, NaN],
  ['tsSec', Uint32Array, 1, NaN],
  ['tsNsec', Uint32Array, 1, NaN],
  ['encap', Uint8Array, 1, NaN],
  ['intVersion', Uint8Array, 1, 0],
  ['mode', Uint8Array, 1, NaN],
  ['bitmap', Uint16Array, 1, 0],
  ['hopMl', Uint8Array, 1, 0],
  ['rhc', Int16Array, 1, -1],
  ['hasHeader', Uint8Array, 1, 0],
  ['intType', Uint8Array, 1, 0],
  ['npt', Int8Array, 1, -1],
  ['shimLength', Uint16Array, 1, 0],
  ['origPort', Int32Array, 1, -1],
  ['origProto', Int16Array, 1, -1],
  ['origDscp', Int16Array, 1, -1],
  ['nextProto', Int32Array, 1, -1],
  ['hdrFlags', Uint8Array, 1, 0],
  ['replication', Uint8Array, 1, 0],
  ['maxHopCnt', Int16Array, 1, -1],
  ['totalHopCnt', Int16Array, 1, -1],
  ['dsId', Uint16Array, 1, 0],
  ['dsInstruction', Uint16Array, 1, 0],
  ['dsFlags', Uint16Array, 1, 0],
  ['sourceOnlyBytes', Uint16Array, 1, 0],
  ['hopStart', Uint32Array, 1, NaN],
  ['hopCount', Uint16Array, 1, 0],
  ['reportVersion', Uint8Array, 1, 0],
  ['hwId', Uint8Array, 1, 0],
  ['sequence', Uint32Array, 1, 0],
  ['nodeId', Uint32Array, 1, 0],
  ['hasNodeId', Uint8Array, 1, 0],
  ['repFlags', Uint8Array, 1, 0],
  ['repType', Uint8Array, 1, 0],
  ['inType', Uint8Array, 1, 0],
  ['dropReason', Int16Array, 1, -1],
  ['repIndex', Uint8Array, 1, 0],
  ['reporterAddr', Uint32Array, 4, NaN],
  ['reporterV6', Uint8Array, 1, NaN],
  ['hasFlow', Uint8Array, 1, 0],
  ['flowV6', Uint8Array, 1, NaN],
  ['srcAddr', Uint32Array, 4, NaN],
  ['dstAddr', Uint32Array, 4, NaN],
  ['srcPort', Uint16Array, 1, NaN],
  ['dstPort', Uint16Array, 1, NaN],
  ['protocol', Uint8Array, 1, NaN],
  ['ipLength', Uint16Array, 1, 0],
  ['vlan', Int16Array, 1, -1],
  ['vni', Int32Array, 1, -1],
];

type Columns = Record<
  string,
  Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
>;

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
  /**
   * IP total length of the flow's original packet, bytes: the packet's own less the INT it
   * carries (INT over TCP/UDP), or the tunnelled / reported inner packet's; 0 when unknown.
   */
  ipLength!: Uint16Array;
  /** 802.1Q VLAN ID of the Ethernet frame carrying the flow's IP header, -1 when untagged. */
  vlan!: Int16Array;
  /** VNI of the Geneve / VXLAN-GPE tunnel carrying the INT, -1 when none. */
  vni!: Int32Array;

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
    const cols = this as unknown as Columns;
    for (const [name, T, per] of RECORD_COLUMNS) {
      const a = new T(n * per);
      if (cols[name]) a.set(cols[name]);
      cols[name] = a;
    }
  }

  private allocHops(n: number): void {
    const cols = this as unknown as Columns;
    for (const [name, T] of HOP_COLUMNS) {
      const a = new T(n);
      if (cols[name]) a.set(cols[name]);
      cols[name] = a;
    }
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
    const cols = this as unknown as Columns;
    for (const [name, , per, absent] of RECORD_COLUMNS) {
      if (absent === absent) cols[name].fill(absent, from * per, to * per); // skip NaN
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
    const cols = this as unknown as Columns;
    for (const [name] of HOP_COLUMNS) cols[name][h] = 0;
  }

  addFinding(record: number, kind: string, detail: string): void {
    this.findings.push({ record, kind, detail });
  }
}
