/**
 * The one description of INT instruction bitmaps: for every metadata format (INT v0.5, v1.0,
 * v2.x hop blocks; Telemetry Report v1.0 and v2.0 RepMdBits), which field each bit requests and
 * how many bytes it takes, and for every field the RecordBatch hop columns it fills. The
 * decoder's layouts, the encoder, the simulator, dissect, the sink's verify and the store's
 * hop column list are all derived from these tables.
 *
 * Bit 0 is the most significant bit of the bitmap (mask 0x8000; for TR v1.0's 6-bit
 * RepMdBits, mask 0x20). Blocks hold the requested fields in bit order, except the checksum
 * complement, which comes last (after domain-specific metadata).
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

/**
 * The fields an instruction bit can request, in the order of their hop columns. `columns`:
 * the RecordBatch hop columns the field fills (with their element type); `presence`: its
 * HopField bits; `hop`: the materialized Hop property that is null when the field is absent;
 * `name`: short name for messages; `label`: dissect's wording.
 */
export const INSTRUCTION_FIELDS = {
  switchId: {
    columns: [['switchId', Uint32Array]],
    presence: HopField.SWITCH_ID,
    hop: 'switchId',
    name: 'node id',
    label: 'node id',
  },
  l1Ports: {
    columns: [
      ['ingressPort', Uint32Array],
      ['egressPort', Uint32Array],
    ],
    presence: HopField.L1_PORTS,
    hop: 'ingressPort',
    name: 'L1 ports',
    label: 'L1 ingress/egress interface',
  },
  hopLatency: {
    columns: [['hopLatency', Uint32Array]],
    presence: HopField.HOP_LATENCY,
    hop: 'hopLatency',
    name: 'hop latency',
    label: 'hop latency',
  },
  queue: {
    columns: [
      ['queueId', Uint16Array],
      ['queueOccupancy', Uint32Array],
    ],
    presence: HopField.QUEUE,
    hop: 'queueOccupancy',
    name: 'queue',
    label: 'queue id + occupancy',
  },
  ingressTimestamp: {
    columns: [
      ['ingressTsHi', Uint32Array],
      ['ingressTsLo', Uint32Array],
    ],
    presence: HopField.INGRESS_TS,
    hop: 'ingressTimestamp',
    name: 'ingress timestamp',
    label: 'ingress timestamp',
  },
  egressTimestamp: {
    columns: [
      ['egressTsHi', Uint32Array],
      ['egressTsLo', Uint32Array],
    ],
    presence: HopField.EGRESS_TS,
    hop: 'egressTimestamp',
    name: 'egress timestamp',
    label: 'egress timestamp',
  },
  l2Ports: {
    columns: [
      ['l2IngressPort', Uint32Array],
      ['l2EgressPort', Uint32Array],
    ],
    presence: HopField.L2_PORTS,
    hop: 'l2IngressPort',
    name: 'L2 ports',
    label: 'L2 ingress/egress interface',
  },
  txUtilization: {
    columns: [['txUtil', Uint32Array]],
    presence: HopField.TX_UTIL,
    hop: 'txUtilization',
    name: 'tx utilization',
    label: 'egress tx utilization',
  },
  buffer: {
    columns: [
      ['bufferId', Uint8Array],
      ['bufferOccupancy', Uint32Array],
    ],
    presence: HopField.BUFFER,
    hop: 'bufferOccupancy',
    name: 'buffer',
    label: 'buffer id + occupancy',
  },
  checksumComplement: {
    columns: [['checksum', Uint32Array]],
    presence: HopField.CHECKSUM,
    hop: 'checksumComplement',
    name: 'checksum complement',
    label: 'checksum complement',
  },
  queueCongestion: {
    columns: [['queueCongestion', Uint32Array]],
    presence: HopField.QUEUE_CONGESTION,
    hop: 'queueCongestion',
    name: 'queue congestion',
    label: 'queue id + congestion',
  },
  // TR v2.0 bit 15 / TR v1.0 bit 4: queue id + drop reason
  drop: {
    columns: [
      ['queueId', Uint16Array],
      ['hopDropReason', Uint8Array],
    ],
    presence: HopField.QUEUE | HopField.DROP_REASON,
    hop: 'queueId',
    name: 'drop reason',
    label: 'queue id + drop reason',
  },
  // a bit with no meaning in the format: 4 bytes (all-ones from conformant nodes), nothing kept
  reserved: {
    columns: [],
    presence: 0,
    hop: null,
    name: 'reserved',
    label: 'reserved',
  },
} as const;

export type InstructionField = keyof typeof INSTRUCTION_FIELDS;

/** Per-hop metadata formats a bitmap is read against. */
export type MetadataFormat = 'v0.5' | 'v1.0' | 'v2' | 'tr1.0' | 'tr2.0';

/**
 * A bit's size: bytes, or the deviation that sets it (docs/decoding.md; the spec values are
 * v1TimestampBytes 4 and l2PortBytes 8).
 */
export type BitSize = number | 'v1TimestampBytes' | 'l2PortBytes';

const R = ['reserved', 4] as const;

/** Per format, bit i (0 = MSB) → [field, size]. Size 0: the bit takes no space. */
export const INSTRUCTION_BITS = {
  v2: [
    ['switchId', 4],
    ['l1Ports', 4],
    ['hopLatency', 4],
    ['queue', 4],
    ['ingressTimestamp', 8],
    ['egressTimestamp', 8],
    ['l2Ports', 'l2PortBytes'],
    ['txUtilization', 4],
    ['buffer', 4],
    R,
    R,
    R,
    R,
    R,
    R,
    ['checksumComplement', 4],
  ],
  'v1.0': [
    ['switchId', 4],
    ['l1Ports', 4],
    ['hopLatency', 4],
    ['queue', 4],
    ['ingressTimestamp', 'v1TimestampBytes'],
    ['egressTimestamp', 'v1TimestampBytes'],
    ['l2Ports', 'l2PortBytes'],
    ['txUtilization', 4],
    R,
    R,
    R,
    R,
    R,
    R,
    R,
    ['checksumComplement', 4],
  ],
  'v0.5': [
    ['switchId', 4],
    ['l1Ports', 4],
    ['hopLatency', 4],
    ['queue', 4],
    ['ingressTimestamp', 4],
    ['egressTimestamp', 4],
    ['queueCongestion', 4],
    ['txUtilization', 4],
    R,
    R,
    R,
    R,
    R,
    R,
    R,
    R,
  ],
  // RepMdBits: as v2.x, but the node id is in the group header and bit 15 is the drop reason
  'tr2.0': [
    ['reserved', 0],
    ['l1Ports', 4],
    ['hopLatency', 4],
    ['queue', 4],
    ['ingressTimestamp', 8],
    ['egressTimestamp', 8],
    ['l2Ports', 'l2PortBytes'],
    ['txUtilization', 4],
    ['buffer', 4],
    R,
    R,
    R,
    R,
    R,
    R,
    ['drop', 4],
  ],
  // the 6-bit RepMdBits of TR v1.0
  'tr1.0': [
    ['l1Ports', 4],
    ['hopLatency', 4],
    ['queue', 4],
    ['egressTimestamp', 4],
    ['drop', 4],
    ['txUtilization', 4],
  ],
} as const satisfies Record<MetadataFormat, readonly (readonly [InstructionField, BitSize])[]>;

/** The deviations a bit's size may depend on. */
export interface BitSizeDeviations {
  v1TimestampBytes: 4 | 8;
  l2PortBytes: 4 | 8;
}

/** Number of bits of a format's bitmap (16, or 6 for TR v1.0). */
export function bitCount(fmt: MetadataFormat): number {
  return INSTRUCTION_BITS[fmt].length;
}

/** The mask of bit `bit` (0 = MSB) in a bitmap of `fmt`. */
export function bitMask(fmt: MetadataFormat, bit: number): number {
  return 1 << (bitCount(fmt) - 1 - bit);
}

/** The field bit `bit` of `fmt` requests. */
export function fieldOf(fmt: MetadataFormat, bit: number): InstructionField {
  return INSTRUCTION_BITS[fmt][bit][0];
}

/** Bytes bit `bit` of `fmt` takes under `d`. */
export function sizeOf(fmt: MetadataFormat, bit: number, d: BitSizeDeviations): number {
  const s: BitSize = INSTRUCTION_BITS[fmt][bit][1];
  return typeof s === 'number' ? s : d[s];
}

/** The bitmap of `fmt` requesting `fields` (a field with no bit in `fmt` adds nothing). */
export function maskOf(fmt: MetadataFormat, fields: readonly InstructionField[]): number {
  let m = 0;
  const bits = INSTRUCTION_BITS[fmt];
  for (let bit = 0; bit < bits.length; bit++) {
    if (bits[bit][0] !== 'reserved' && fields.includes(bits[bit][0])) m |= bitMask(fmt, bit);
  }
  return m;
}

/** Dissect's name of bit `bit` of `fmt`. */
export function bitLabel(fmt: MetadataFormat, bit: number): string {
  const f = fieldOf(fmt, bit);
  return f === 'reserved' ? `reserved (${bit})` : INSTRUCTION_FIELDS[f].label;
}

/** Element types a hop column can have. */
export type HopColumnType = Uint8ArrayConstructor | Uint16ArrayConstructor | Uint32ArrayConstructor;

/**
 * The hop columns of a RecordBatch: presence and origin, every field's columns in field order
 * (a column two fields share, queueId, once), then where the hop's DS metadata words are.
 */
export const HOP_COLUMNS: readonly (readonly [string, HopColumnType])[] = (() => {
  const out: (readonly [string, HopColumnType])[] = [
    ['present', Uint16Array],
    ['origin', Uint8Array],
  ];
  for (const f of Object.values(INSTRUCTION_FIELDS)) {
    for (const c of f.columns) if (!out.some(([n]) => n === c[0])) out.push(c);
  }
  out.push(['dsStart', Uint32Array], ['dsCount', Uint8Array]);
  return out;
})();

/** The names of HOP_COLUMNS, in order. */
export const HOP_COLUMN_NAMES: readonly string[] = HOP_COLUMNS.map(([n]) => n);

/** Hop columns that hold field values (HOP_COLUMNS without presence, origin and DS bookkeeping). */
export const HOP_VALUE_COLUMN_NAMES: readonly string[] = HOP_COLUMN_NAMES.filter(
  (n) => n !== 'present' && n !== 'origin' && n !== 'dsStart' && n !== 'dsCount',
);
