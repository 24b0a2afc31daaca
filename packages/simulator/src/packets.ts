/**
 * Fast packet generation. For each (path, protocol, payload size, visits so far) the encoder
 * builds one template packet; per packet only the changing fields are patched in place:
 * Ethernet destination, IP addresses/id (header checksum recomputed), L4 ports and TCP
 * sequence, the INT metadata words, and the L4 checksum by incremental one's-complement
 * arithmetic (the sum of the unchanging bytes is computed once per template).
 * Telemetry Reports are patched the same way (sequence, metadata, inner packet copy) and their
 * UDP checksum is recomputed over the (short, truncated) datagram.
 *
 * Length: one factory whose templates, patch offsets and incremental checksums share state per
 * (path, protocol, size) template; the bit layout itself comes from the codec's bit table.
 */
import {
  Decoder,
  buildIntPacket,
  buildPlainPacket,
  buildReport,
  concatBytes,
  decodeOne,
  Layer,
  bitCount,
  bitMask,
  fieldOf,
  maskOf,
  sizeOf,
  SPEC_DEVIATIONS,
  type InstructionField,
  type MetadataFormat,
  ethernetHeader,
  ETHERTYPE_IPV4,
  ETHERTYPE_TEB,
  GENEVE_PORT,
  geneveHeader,
  ipPacket,
  makeConfig,
  parseAddr,
  udpSegment,
  VXLAN_GPE_PORT,
  type CarrierSpec,
  type FlowSpec,
  type HopMetadata,
  type IndividualReportSpec,
  type IntStackSpec,
  type ReportSpec,
} from '@hopwatch/codec';
import type { Scenario } from './scenario';
import { codecOverridesFor } from './scenario';
import { ipv4ToString, type Path, type Topology } from './topology';

/** Per-visit values written by the engine (stride VSTRIDE in a Float64Array). */
export const VSTRIDE = 8;
export const V_ITS = 0; // ingress timestamp, switch clock ns
export const V_ETS = 1; // egress timestamp, switch clock ns
export const V_LAT = 2; // hop latency ns
export const V_OCC = 3; // queue occupancy bytes at enqueue
export const V_UTIL = 4; // tx utilisation, fraction of link rate
export const V_BUF = 5; // shared buffer occupancy bytes
export const V_EGT = 6; // egress time, simulation ns
export const V_QID = 7; // queue id

/** The flow fields packets are patched with. */
export interface PacketFlow {
  srcAddr: number;
  dstAddr: number;
  srcPort: number;
  dstPort: number;
  protocol: 6 | 17;
  payloadBytes: number;
  dstMac: Uint8Array;
  ipId: number;
  tcpSeq: number;
}

// field codes
const SW = 0,
  L1 = 1,
  LAT = 2,
  Q = 3,
  ITS = 4,
  ETS = 5,
  L2 = 6,
  CONG = 7,
  TX = 8,
  BUF = 9,
  CSUM = 10,
  DROP = 11,
  RSV = 12;

export type MdFormat = MetadataFormat;

/** The writer's code of each instruction field. */
const CODE: Record<InstructionField, number> = {
  switchId: SW,
  l1Ports: L1,
  hopLatency: LAT,
  queue: Q,
  ingressTimestamp: ITS,
  egressTimestamp: ETS,
  l2Ports: L2,
  queueCongestion: CONG,
  txUtilization: TX,
  buffer: BUF,
  checksumComplement: CSUM,
  drop: DROP,
  reserved: RSV,
};

/**
 * Per-hop block layout: (field, size) pairs in wire order (the codec's bit table at spec
 * sizes); checksum complement last.
 */
export function hopLayout(fmt: MdFormat, bitmap: number): Int32Array {
  const out: number[] = [];
  let csum = false;
  for (let bit = 0, n = bitCount(fmt); bit < n; bit++) {
    if (!(bitmap & bitMask(fmt, bit))) continue;
    const f = fieldOf(fmt, bit);
    const size = sizeOf(fmt, bit, SPEC_DEVIATIONS);
    if (f === 'checksumComplement') csum = true;
    else if (size > 0) out.push(CODE[f], size);
  }
  if (csum) out.push(CSUM, 4);
  return Int32Array.from(out);
}

export function layoutBytes(l: Int32Array): number {
  let n = 0;
  for (let i = 1; i < l.length; i += 2) n += l[i];
  return n;
}

const TWO32 = 4294967296;

function w32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}

function w16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
}

function clampU32(v: number): number {
  return v <= 0 ? 0 : v >= 0xffffffff ? 0xffffffff : Math.floor(v);
}

function clamp24(v: number): number {
  return v <= 0 ? 0 : v >= 0xffffff ? 0xffffff : Math.floor(v);
}

/** Tx utilisation as written: hundredths of a percent (0..10000). */
export function utilUnits(u: number): number {
  return u <= 0 ? 0 : u >= 1 ? 10000 : Math.round(u * 10000);
}

/** Writes one hop block at `off`; returns the next offset. */
export function writeHopFast(
  b: Uint8Array,
  off: number,
  layout: Int32Array,
  path: Path,
  visit: number,
  hv: Float64Array,
  base: number,
  bufferBytes: number,
  dropReason: number,
): number {
  for (let i = 0; i < layout.length; i += 2) {
    const f = layout[i];
    const size = layout[i + 1];
    switch (f) {
      case SW:
        w32(b, off, path.swId[visit]);
        break;
      case L1:
        w16(b, off, path.inPort[visit]);
        w16(b, off + 2, path.outPort[visit]);
        break;
      case LAT:
        w32(b, off, clampU32(hv[base + V_LAT]));
        break;
      case Q:
        b[off] = hv[base + V_QID];
        b[off + 1] = 0;
        w16(b, off + 1, 0);
        {
          const o = clamp24(hv[base + V_OCC]);
          b[off + 1] = o >>> 16;
          b[off + 2] = (o >>> 8) & 255;
          b[off + 3] = o & 255;
        }
        break;
      case ITS:
      case ETS: {
        const t = hv[base + (f === ITS ? V_ITS : V_ETS)];
        if (size === 8) {
          w32(b, off, Math.floor(t / TWO32));
          w32(b, off + 4, t % TWO32);
        } else {
          w32(b, off, t % TWO32);
        }
        break;
      }
      case L2:
        w32(b, off, 1000 + path.inPort[visit]);
        w32(b, off + 4, 1000 + path.outPort[visit]);
        break;
      case CONG:
        w32(
          b,
          off,
          ((hv[base + V_QID] << 24) >>> 0) + congestionLevel(hv[base + V_OCC], bufferBytes),
        );
        break;
      case TX:
        w32(b, off, utilUnits(hv[base + V_UTIL]));
        break;
      case BUF: {
        const o = clamp24(hv[base + V_BUF]);
        w32(b, off, o);
        break;
      }
      case DROP:
        b[off] = hv[base + V_QID];
        b[off + 1] = dropReason;
        b[off + 2] = 0;
        b[off + 3] = 0;
        break;
      default: // CSUM (not used) and reserved: all-ones
        w32(b, off, 0xffffffff);
    }
    off += size;
  }
  return off;
}

export type HopWriter = (
  b: Uint8Array,
  off: number,
  swId: number,
  inPort: number,
  outPort: number,
  hv: Float64Array,
  base: number,
  bufferBytes: number,
  dropReason: number,
) => number;

/**
 * Compiles a layout into straight-line code (no per-field dispatch): the per-packet hot path.
 * Produces exactly the bytes writeHopFast produces.
 */
export function compileHopWriter(layout: Int32Array): HopWriter {
  const L: string[] = [];
  const put32 = (o: number, v: string): void => {
    L.push(
      `v = ${v};`,
      `b[off + ${o}] = v >>> 24; b[off + ${o + 1}] = (v >>> 16) & 255; b[off + ${o + 2}] = (v >>> 8) & 255; b[off + ${o + 3}] = v & 255;`,
      'sum += (v >>> 16) + (v & 65535);',
    );
  };
  const clampU32 = (x: string): string =>
    `((t = ${x}) <= 0 ? 0 : t >= 4294967295 ? 4294967295 : Math.floor(t))`;
  const clamp24 = (x: string): string =>
    `((t = ${x}) <= 0 ? 0 : t >= 16777215 ? 16777215 : Math.floor(t))`;
  let o = 0;
  for (let i = 0; i < layout.length; i += 2) {
    const f = layout[i];
    const size = layout[i + 1];
    switch (f) {
      case SW:
        put32(o, 'swId');
        break;
      case L1:
        put32(o, '((inPort << 16) | outPort) >>> 0');
        break;
      case LAT:
        put32(o, clampU32(`hv[base + ${V_LAT}]`));
        break;
      case Q:
        put32(o, `((hv[base + ${V_QID}] << 24) | ${clamp24(`hv[base + ${V_OCC}]`)}) >>> 0`);
        break;
      case ITS:
      case ETS: {
        const idx = f === ITS ? V_ITS : V_ETS;
        L.push(`t = hv[base + ${idx}]; hi = Math.floor(t / 4294967296); lo = t - hi * 4294967296;`);
        if (size === 8) {
          put32(o, 'hi >>> 0');
          put32(o + 4, 'lo >>> 0');
        } else {
          put32(o, 'lo >>> 0');
        }
        break;
      }
      case L2:
        put32(o, '1000 + inPort');
        put32(o + 4, '1000 + outPort');
        break;
      case CONG:
        put32(
          o,
          `(((hv[base + ${V_QID}] << 24) >>> 0) + Math.min(100, Math.floor((hv[base + ${V_OCC}] * 100) / bufferBytes))) >>> 0`,
        );
        break;
      case TX:
        put32(o, `((t = hv[base + ${V_UTIL}]) <= 0 ? 0 : t >= 1 ? 10000 : Math.round(t * 10000))`);
        break;
      case BUF:
        put32(o, clamp24(`hv[base + ${V_BUF}]`));
        break;
      case DROP:
        L.push(
          `b[off + ${o}] = hv[base + ${V_QID}]; b[off + ${o + 1}] = dropReason; b[off + ${o + 2}] = 0; b[off + ${o + 3}] = 0;`,
          `sum += (b[off + ${o}] << 8) | dropReason;`,
        );
        break;
      default:
        put32(o, '4294967295');
    }
    o += size;
  }
  const body = `let v = 0, t = 0, hi = 0, lo = 0, sum = 0;\n${L.join('\n')}\nreturn sum;`;
  return new Function(
    'b',
    'off',
    'swId',
    'inPort',
    'outPort',
    'hv',
    'base',
    'bufferBytes',
    'dropReason',
    body,
  ) as HopWriter;
}

/** v0.5 queue congestion status: percent of the buffer in use. */
export function congestionLevel(occ: number, bufferBytes: number): number {
  return Math.min(100, Math.floor((occ * 100) / bufferBytes));
}

/** The same values as a HopMetadata (for the encoder: templates and tests). */
export function hopMetadataOf(
  fmt: MdFormat,
  path: Path,
  visit: number,
  hv: Float64Array,
  base: number,
  bufferBytes: number,
  dropReason?: number,
): HopMetadata {
  const wide = fmt === 'v2' || fmt === 'tr2.0';
  const ts = (t: number): bigint => (wide ? BigInt(t) : BigInt(t % TWO32));
  return {
    switchId: path.swId[visit],
    ingressPort: path.inPort[visit],
    egressPort: path.outPort[visit],
    hopLatency: clampU32(hv[base + V_LAT]),
    queueId: hv[base + V_QID],
    queueOccupancy: clamp24(hv[base + V_OCC]),
    ingressTimestamp: ts(hv[base + V_ITS]),
    egressTimestamp: ts(hv[base + V_ETS]),
    l2IngressPort: 1000 + path.inPort[visit],
    l2EgressPort: 1000 + path.outPort[visit],
    txUtilization: utilUnits(hv[base + V_UTIL]),
    bufferId: 0,
    bufferOccupancy: clamp24(hv[base + V_BUF]),
    queueCongestion:
      ((hv[base + V_QID] << 24) >>> 0) + congestionLevel(hv[base + V_OCC], bufferBytes),
    dropReason,
  };
}

function onesSum(b: Uint8Array, start: number, end: number): number {
  let s = 0;
  let i = start;
  for (; i + 1 < end; i += 2) s += (b[i] << 8) | b[i + 1];
  if (i < end) s += b[i] << 8;
  return s;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * onesSum(b, start, end) for an even `start` on a little-endian host, read as 32-bit words:
 * the ones' complement sum does not depend on byte order or on the word width, as long as it
 * is a multiple of 16 bits (RFC 1071 §2), so the folded sum is only swapped back. `w` views the
 * same bytes as `b` (b.byteOffset a multiple of 4). Several times faster than byte pairs.
 */
function onesSumWords(w: Uint32Array, b: Uint8Array, start: number, end: number): number {
  let s = 0;
  let i = start;
  if (i & 2 && i + 2 <= end) {
    s += b[i] | (b[i + 1] << 8);
    i += 2;
  }
  for (; i + 4 <= end; i += 4) s += w[i >>> 2];
  if (i + 2 <= end) {
    s += b[i] | (b[i + 1] << 8);
    i += 2;
  }
  if (i < end) s += b[i]; // the odd last byte is the high byte of its big-endian word
  s = fold(s);
  return ((s & 0xff) << 8) | (s >>> 8);
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

interface DataTemplate {
  buf: Uint8Array;
  ethOff: number; // flow Ethernet header
  ipOff: number; // flow IPv4 header
  l4Off: number;
  srcPortOff: number;
  outerSrcPortOff: number; // tunnel UDP source port (flow entropy), -1 if none
  dstPortOff: number; // -1 when the port is the INT port
  shimPortOff: number; // NPT 1 original port, -1 if none
  tailPortOff: number; // v0.5 tail port, -1 if none
  seqOff: number; // -1 for UDP
  csumOff: number; // L4 checksum field
  csumBase: number; // one's sum of the unchanging covered bytes + pseudo-header constants
  regions: Int32Array; // [start, end) pairs summed per packet
  stackOff: number;
  pushed: number;
  payloadOff: number; // where the application payload starts
  reports: Map<number, ReportTemplate>;
  /** Whether the L4 checksum covers the stack. */
  stackInSum: boolean;
}

interface ReportTemplate {
  buf: Uint8Array;
  seqOff: number;
  itsOff: number; // v0.5/v1.0 ingress timestamp, -1 for v2.0
  mdOff: number; // metadata start (v2.0/v1.0 RepMdBits layout), -1 for v0.5 fixed layout
  innerOff: number;
  innerLen: number;
  hwId: number;
  layout: Int32Array;
  /** Compiled writer for `layout`. */
  writer: HopWriter;
  /** View of the data template's first innerLen bytes (no per-report allocation). */
  innerView: Uint8Array;
  /** The same bytes as 32-bit words for the checksum (null when not 4-byte aligned or on a
   * big-endian host). */
  words: Uint32Array | null;
}

const ZERO_VALUES = new Float64Array(VSTRIDE);

/** Per-hop fields a TR v2.0 report may repeat from the INT bitmap (the node id is in the header). */
const REPORTED_FIELDS: readonly InstructionField[] = [
  'l1Ports',
  'hopLatency',
  'queue',
  'ingressTimestamp',
  'egressTimestamp',
  'l2Ports',
  'txUtilization',
  'buffer',
];
/** What a TR v1.0 sink or MX report carries (everything but the drop reason). */
const TR10_SINK_FIELDS: readonly InstructionField[] = [
  'l1Ports',
  'hopLatency',
  'queue',
  'egressTimestamp',
  'txUtilization',
];

export class PacketFactory {
  readonly stackLayout: Int32Array;
  private readonly stackWriter: HopWriter;
  readonly perHop: number;
  readonly fmt: MdFormat;
  readonly hopLimit: number;
  private readonly data: (Map<number, DataTemplate> | undefined)[] = [];
  private nTemplates = 0;
  private readonly macs: Uint8Array[] = [];
  private readonly cfgDecoder: Decoder;
  private readonly carrierBase: CarrierSpec;
  private readonly collectorAddr: string;
  private readonly sinkRepBits: number;
  private readonly dropRepBits: number;
  private readonly mxRepBits: number;
  private readonly bufferBytes: number;

  constructor(
    private readonly s: Scenario,
    private readonly topo: Topology,
  ) {
    const v = s.int.version;
    this.fmt = v === '0.5' ? 'v0.5' : v === '1.0' ? 'v1.0' : 'v2';
    this.stackLayout = hopLayout(this.fmt, s.int.instructionBitmap);
    this.perHop = layoutBytes(this.stackLayout);
    this.stackWriter = compileHopWriter(this.stackLayout);
    this.bufferBytes = s.topology.bufferBytes;
    let limit = s.int.hopLimit;
    if (s.int.encapsulation === 'geneve' && s.int.mode === 'MD') {
      const hdr = v === '1.0' ? 8 : 12;
      limit = Math.min(limit, Math.floor((124 - hdr) / this.perHop));
    }
    this.hopLimit = limit;
    for (let sw = 0; sw < topo.nSwitches; sw++) {
      this.macs.push(
        Uint8Array.from(
          topo
            .switchMac(sw)
            .split(':')
            .map((x) => parseInt(x, 16)),
        ),
      );
    }
    const cfg = codecOverridesFor(s);
    this.cfgDecoder = new Decoder(makeConfig(cfg.profile, cfg.overrides));
    this.collectorAddr = s.output.collectorAddr;
    const bm = s.int.instructionBitmap;
    const rv = s.output.reportVersion;
    if (rv === '2.0') {
      // the INT bitmap's per-hop fields, as RepMdBits (same bit positions; no node id)
      const perHop = bm & maskOf('tr2.0', REPORTED_FIELDS);
      this.sinkRepBits = perHop;
      this.mxRepBits = perHop;
      this.dropRepBits = perHop | maskOf('tr2.0', ['drop']);
    } else {
      // TR v1.0 has fixed 6-bit RepMdBits
      this.sinkRepBits = maskOf('tr1.0', TR10_SINK_FIELDS);
      this.mxRepBits = this.sinkRepBits;
      this.dropRepBits = maskOf('tr1.0', ['l1Ports', 'queue', 'drop']);
    }
    const c = s.int;
    switch (c.encapsulation) {
      case 'udp-dscp':
        this.carrierBase = { kind: 'udp-dscp', dscpValue: c.dscp };
        break;
      case 'tcp-dscp':
        this.carrierBase = { kind: 'tcp-dscp', dscpValue: c.dscp };
        break;
      case 'udp-port':
        this.carrierBase =
          v === '0.5'
            ? { kind: 'udp-port', port: c.udpPort }
            : { kind: 'udp-port', port: c.udpPort, npt: 1 };
        break;
      case 'geneve':
        this.carrierBase = {
          kind: 'geneve',
          optionClass: c.geneveOptionClass,
          vni: 0x64,
          outer: { ipVersion: 4, srcAddr: '', dstAddr: '' },
        };
        break;
      case 'vxlan-gpe':
        this.carrierBase = {
          kind: 'vxlan-gpe',
          nextProtocol: { '0.5': 0x05, '1.0': 0x08, '2.0': 0x80, '2.1': 0x82 }[v],
          vni: 0x64,
          outer: { ipVersion: 4, srcAddr: '', dstAddr: '' },
        };
        break;
      default:
        this.carrierBase = {
          kind: 'gre',
          protocol: c.greProtocol,
          outer: { ipVersion: 4, srcAddr: '', dstAddr: '' },
        };
    }
  }

  get templateCount(): number {
    return this.nTemplates;
  }

  /** Bytes of INT (shim, header, stack) a packet carries at the sink after all of `path`. */
  intBytes(path: Path): number {
    const v = this.s.int.version;
    const hdr = v === '0.5' ? 4 + 8 + 4 : v === '1.0' ? 4 + 8 : 4 + 12;
    return hdr + this.pushedAfter(path.n) * this.perHop + this.s.int.quirks.extraStackBytes;
  }

  /** Hops pushed after `nDone` visits, and whether the hop limit was exceeded (E bit). */
  pushedAfter(nDone: number): number {
    if (this.s.int.mode === 'MX') return 0;
    return nDone < this.hopLimit ? nDone : this.hopLimit;
  }

  isTunnel(): boolean {
    const k = this.s.int.encapsulation;
    return k === 'geneve' || k === 'vxlan-gpe' || k === 'gre';
  }

  /** The specs the encoder is given for a packet (templates and tests). */
  specsFor(
    flow: PacketFlow,
    path: Path,
    nDone: number,
    hops: HopMetadata[],
  ): { flow: FlowSpec; stack: IntStackSpec; carrier: CarrierSpec } {
    const s = this.s;
    const lastSw = path.sw[Math.max(0, Math.min(nDone, path.n) - 1)];
    const tunnel = this.isTunnel();
    const f: FlowSpec = {
      ipVersion: 4,
      srcAddr: ipv4ToString(flow.srcAddr),
      dstAddr: ipv4ToString(flow.dstAddr),
      protocol: flow.protocol,
      srcPort: flow.srcPort,
      dstPort: flow.dstPort,
      ttl: tunnel ? 64 : 64 - nDone,
      payload: new Uint8Array(flow.payloadBytes),
      srcMac: this.topo.switchMac(lastSw),
      dstMac: Array.from(flow.dstMac, (x) => x.toString(16).padStart(2, '0')).join(':'),
      tcpSeq: flow.tcpSeq,
      ipId: flow.ipId,
    };
    const pushed = this.pushedAfter(nDone);
    const stack: IntStackSpec = {
      version: s.int.version,
      mode: s.int.mode,
      instructionBitmap: s.int.instructionBitmap,
      hops,
      hopLimitExceeded: s.int.mode === 'MD' && nDone > this.hopLimit,
    };
    const q = s.int.quirks;
    if (q.advertisedBitmap !== 0 || q.extraStackBytes !== 0 || q.staleUdpLength) {
      stack.quirks = {
        advertisedBitmap: q.advertisedBitmap || undefined,
        extraStackBytes: q.extraStackBytes,
        staleUdpLength: q.staleUdpLength,
      };
    }
    if (s.int.mode === 'MD') {
      if (s.int.version === '0.5') stack.maxHopCount = this.hopLimit;
      else stack.remainingHopCount = this.hopLimit - pushed;
    }
    let carrier = this.carrierBase;
    if (tunnel) {
      const first = path.sw[0];
      const last = path.sw[path.n - 1];
      const outer = {
        ipVersion: 4 as const,
        srcAddr: this.topo.switchAddr(first),
        dstAddr: this.topo.switchAddr(last),
        ttl: 64 - nDone,
        srcMac: this.topo.switchMac(lastSw),
        dstMac: this.topo.switchMac(last),
      };
      carrier = { ...(carrier as Extract<CarrierSpec, { kind: 'gre' }>), outer } as CarrierSpec;
    }
    return { flow: f, stack, carrier };
  }

  private buildDataTemplate(flow: PacketFlow, path: Path, nDone: number): DataTemplate {
    const pushed = this.pushedAfter(nDone);
    const hops: HopMetadata[] = [];
    for (let i = 0; i < pushed; i++)
      hops.push(hopMetadataOf(this.fmt, path, i, ZERO_VALUES, 0, this.bufferBytes));
    const specs = this.specsFor(flow, path, nDone, hops);
    const buf = buildIntPacket(specs.flow, specs.stack, specs.carrier);
    const tcp = flow.protocol === 6;
    const l4Hdr = tcp ? 20 : 8;
    const plainLen = 14 + 20 + l4Hdr + flow.payloadBytes;
    const payloadOff = buf.length - flow.payloadBytes;
    let stackOff = -1;
    if (pushed > 0) {
      const d = decodeOne(buf, 1, this.cfgDecoder);
      const span = d.layers.find((l) => l.layer === Layer.INT_STACK);
      if (!span) throw new Error('simulator: template has no INT stack span');
      stackOff = span.start;
    }
    const tunnel = this.isTunnel();
    const ethOff = tunnel ? buf.length - plainLen : 0;
    const ipOff = ethOff + 14;
    const l4Off = ipOff + 20;
    const enc = this.s.int.encapsulation;
    const v05 = this.s.int.version === '0.5';
    const t: DataTemplate = {
      buf,
      ethOff,
      ipOff,
      l4Off,
      srcPortOff: l4Off,
      outerSrcPortOff: enc === 'geneve' || enc === 'vxlan-gpe' ? 34 : -1,
      dstPortOff: enc === 'udp-port' ? -1 : l4Off + 2,
      shimPortOff: enc === 'udp-port' && !v05 ? l4Off + 8 + 2 : -1,
      tailPortOff: -1,
      seqOff: tcp ? l4Off + 4 : -1,
      csumOff: l4Off + (tcp ? 16 : 6),
      csumBase: 0,
      regions: new Int32Array(0),
      stackOff,
      pushed,
      payloadOff,
      reports: new Map(),
      stackInSum: false,
    };
    if (v05 && !tunnel) {
      // tail: Proto | DestPort(16) | DSCP, right before the payload
      t.tailPortOff = payloadOff - 3;
    }
    const regions: number[] = [l4Off, l4Off + 4, t.csumOff, t.csumOff + 2];
    if (t.seqOff >= 0) regions.push(t.seqOff, t.seqOff + 4);
    // the stack is covered too (non-tunnel): its sum comes from the hop writer, not a re-read
    const stackRegion: number[] =
      !tunnel && pushed > 0 ? [stackOff, stackOff + pushed * this.perHop] : [];
    if (t.shimPortOff >= 0) regions.push(t.shimPortOff, t.shimPortOff + 2);
    if (t.tailPortOff >= 0) regions.push(t.tailPortOff - 1, t.tailPortOff + 3);
    for (let i = 0; i < regions.length; i += 2) {
      if ((regions[i] - l4Off) % 2 !== 0 || (regions[i + 1] - regions[i]) % 2 !== 0) {
        throw new Error(`simulator: unaligned checksum region ${regions[i]}..${regions[i + 1]}`);
      }
    }
    t.regions = Int32Array.from(regions);
    // base sum: the covered bytes with every region zeroed, plus pseudo-header protocol + length
    const copy = buf.slice();
    for (let i = 0; i < regions.length; i += 2) copy.fill(0, regions[i], regions[i + 1]);
    if (stackRegion.length) copy.fill(0, stackRegion[0], stackRegion[1]);
    t.stackInSum = stackRegion.length > 0;
    const ipTotal = (buf[ipOff + 2] << 8) | buf[ipOff + 3];
    const l4End = ipOff + ipTotal;
    const l4Len = l4End - l4Off;
    t.csumBase = onesSum(copy, l4Off, l4End) + flow.protocol + l4Len;
    return t;
  }

  /** Templates depend on the tunnel endpoints (first/last switch), the visits so far (stack
   * depth, E bit, TTL), the protocol and the payload size; everything else is patched. */
  private dataTemplate(flow: PacketFlow, path: Path, nDone: number): DataTemplate {
    const pair = path.sw[0] * this.topo.nSwitches + path.sw[path.n - 1];
    let m = this.data[pair];
    if (m === undefined) {
      m = new Map();
      this.data[pair] = m;
    }
    const key = (nDone * 2 + (flow.protocol === 6 ? 1 : 0)) * 16384 + flow.payloadBytes;
    let t = m.get(key);
    if (t === undefined) {
      t = this.buildDataTemplate(flow, path, nDone);
      this.nTemplates++;
      m.set(key, t);
    }
    return t;
  }

  /**
   * The data packet after `nDone` visits of `path` (the hops of visits 0..pushed-1 from `hv`
   * at `hvBase`). The returned bytes are reused by the next call.
   */
  packet(
    flow: PacketFlow,
    path: Path,
    nDone: number,
    hv: Float64Array,
    hvBase: number,
  ): Uint8Array {
    const t = this.dataTemplate(flow, path, nDone);
    const b = t.buf;
    // Ethernet source: the switch that sent it last (outer and inner for tunnels)
    const sm = this.macs[path.sw[nDone > 0 ? (nDone <= path.n ? nDone : path.n) - 1 : 0]];
    for (let i = 0; i < 6; i++) {
      b[6 + i] = sm[i];
      b[t.ethOff + 6 + i] = sm[i];
    }
    // Ethernet destination
    const dm = flow.dstMac;
    const e = t.ethOff;
    b[e] = dm[0];
    b[e + 1] = dm[1];
    b[e + 2] = dm[2];
    b[e + 3] = dm[3];
    b[e + 4] = dm[4];
    b[e + 5] = dm[5];
    // IPv4 header: id, addresses, checksum
    const ip = t.ipOff;
    w16(b, ip + 4, flow.ipId);
    w32(b, ip + 12, flow.srcAddr);
    w32(b, ip + 16, flow.dstAddr);
    b[ip + 10] = 0;
    b[ip + 11] = 0;
    w16(b, ip + 10, ~fold(onesSum(b, ip, ip + 20)) & 0xffff);
    // L4
    w16(b, t.srcPortOff, flow.srcPort);
    if (t.outerSrcPortOff >= 0) {
      // tunnel entropy port, as the encoder derives it; the outer UDP checksum is 0 (IPv4)
      w16(
        b,
        t.outerSrcPortOff,
        49152 + ((flow.srcPort * 31 + flow.dstPort * 7 + flow.protocol) % 16384),
      );
    }
    if (t.dstPortOff >= 0) w16(b, t.dstPortOff, flow.dstPort);
    if (t.shimPortOff >= 0) w16(b, t.shimPortOff, flow.dstPort);
    if (t.tailPortOff >= 0) w16(b, t.tailPortOff, flow.dstPort);
    if (t.seqOff >= 0) w32(b, t.seqOff, flow.tcpSeq);
    // INT stack: the last hop on top
    let stackSum = 0;
    if (t.pushed > 0) {
      let off = t.stackOff;
      const w = this.stackWriter;
      const per = this.perHop;
      for (let j = t.pushed - 1; j >= 0; j--) {
        stackSum += w(
          b,
          off,
          path.swId[j],
          path.inPort[j],
          path.outPort[j],
          hv,
          hvBase + j * VSTRIDE,
          this.bufferBytes,
          0,
        );
        off += per;
      }
    }
    // L4 checksum, incrementally
    b[t.csumOff] = 0;
    b[t.csumOff + 1] = 0;
    let sum =
      t.csumBase +
      (flow.srcAddr >>> 16) +
      (flow.srcAddr & 0xffff) +
      (flow.dstAddr >>> 16) +
      (flow.dstAddr & 0xffff);
    if (t.stackInSum) sum += stackSum;
    const r = t.regions;
    for (let i = 0; i < r.length; i += 2) sum += onesSum(b, r[i], r[i + 1]);
    let c = ~fold(sum) & 0xffff;
    if (c === 0 && flow.protocol === 17) c = 0xffff;
    w16(b, t.csumOff, c);
    return b;
  }

  private reportSpecs(
    kind: 'sink' | 'hop' | 'drop',
    path: Path,
    visit: number,
    inner: Uint8Array,
    metadata: HopMetadata,
  ): ReportSpec {
    const s = this.s;
    const v = s.output.reportVersion;
    const sw = path.sw[visit];
    const hwId = (path.outPort[visit] - 1) % s.topology.hwIdsPerSwitch;
    const rep: IndividualReportSpec = {
      repType: 1,
      inType: 3,
      repMdBits:
        kind === 'drop' ? this.dropRepBits : kind === 'hop' ? this.mxRepBits : this.sinkRepBits,
      metadata,
      dropped: kind === 'drop',
      trackedFlow: kind !== 'drop',
      inner,
    };
    const spec: ReportSpec = {
      version: v,
      srcAddr: this.topo.switchAddr(sw),
      dstAddr: this.collectorAddr,
      srcPort: 49152 + hwId,
      dstPort: s.output.collectorPort,
      hwId,
      sequence: 0,
      nodeId: path.swId[visit],
      reports: [rep],
    };
    if (v === '0.5') spec.v05NextProto = kind === 'drop' ? 1 : 2;
    if (v !== '2.0') spec.ingressTimestamp = 0;
    return spec;
  }

  /**
   * A Telemetry Report from visit `visit` of `path`: 'sink' (INT-MD sink: the received packet
   * with its stack, plus the sink's own metadata), 'hop' (INT-MX: one node's metadata) or 'drop'.
   */
  report(
    kind: 'sink' | 'hop' | 'drop',
    flow: PacketFlow,
    path: Path,
    visit: number,
    hv: Float64Array,
    hvBase: number,
    sequence: number,
    dropReason: number,
  ): Uint8Array {
    const data = this.packet(flow, path, visit, hv, hvBase);
    const dt = this.dataTemplate(flow, path, visit);
    const kindCode = kind === 'sink' ? 0 : kind === 'hop' ? 1 : 2;
    const key = (kindCode * 256 + path.sw[visit]) * 64 + this.hwIdOf(path, visit);
    let t = dt.reports.get(key);
    const fmt: MdFormat = this.s.output.reportVersion === '2.0' ? 'tr2.0' : 'tr1.0';
    const v = this.s.output.reportVersion;
    const base = hvBase + visit * VSTRIDE;
    if (t === undefined) {
      const hdrEnd = data.length - flow.payloadBytes;
      const innerLen = Math.min(data.length, hdrEnd + this.s.output.reportPayloadBytes);
      const md = hopMetadataOf(fmt, path, visit, ZERO_VALUES, 0, this.bufferBytes, dropReason);
      const spec = this.reportSpecs(kind, path, visit, data.slice(0, innerLen), md);
      const buf = buildReport(spec);
      const R = 42;
      let mdOff = -1;
      let innerOff: number;
      let itsOff = -1;
      let seqOff: number;
      const bits = spec.reports[0].repMdBits ?? 0;
      if (v === '2.0') {
        seqOff = R + 1;
        mdOff = R + 20; // group header 8 + individual header 4 + RepMdBits/DS fields 8
        innerOff = mdOff + layoutBytes(hopLayout('tr2.0', bits));
      } else if (v === '1.0') {
        seqOff = R + 8;
        itsOff = R + 12;
        mdOff = R + 16;
        innerOff = mdOff + layoutBytes(hopLayout('tr1.0', bits));
      } else {
        seqOff = R + 4;
        itsOff = R + 8;
        innerOff = R + 12 + (kind === 'drop' ? 12 : 16);
      }
      t = {
        buf,
        seqOff,
        itsOff,
        mdOff,
        innerOff,
        innerLen,
        hwId: spec.hwId ?? 0,
        layout: mdOff >= 0 ? hopLayout(fmt, bits) : new Int32Array(0),
        writer: compileHopWriter(mdOff >= 0 ? hopLayout(fmt, bits) : new Int32Array(0)),
        innerView: dt.buf.subarray(0, innerLen),
        words:
          LITTLE_ENDIAN && buf.byteOffset % 4 === 0
            ? new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2)
            : null,
      };
      dt.reports.set(key, t);
      this.nTemplates++;
    }
    const b = t.buf;
    b.set(t.innerView, t.innerOff);
    if (v === '2.0') {
      b[t.seqOff] = (b[t.seqOff] & 0xc0) | ((sequence >>> 16) & 0x3f);
      w16(b, t.seqOff + 1, sequence & 0xffff);
    } else {
      w32(b, t.seqOff, sequence >>> 0);
    }
    if (t.itsOff >= 0) w32(b, t.itsOff, hv[base + V_ITS] % TWO32);
    if (t.mdOff >= 0) {
      t.writer(
        b,
        t.mdOff,
        path.swId[visit],
        path.inPort[visit],
        path.outPort[visit],
        hv,
        base,
        this.bufferBytes,
        dropReason,
      );
    } else {
      // v0.5 drop / switch-local header after the 12-byte fixed header
      const o = 42 + 12;
      w32(b, o, path.swId[visit]);
      w16(b, o + 4, path.inPort[visit]);
      w16(b, o + 6, path.outPort[visit]);
      b[o + 8] = hv[base + V_QID];
      if (kind === 'drop') {
        b[o + 9] = dropReason;
      } else {
        const occ = clamp24(hv[base + V_OCC]);
        b[o + 9] = occ >>> 16;
        w16(b, o + 10, occ & 0xffff);
        w32(b, o + 12, hv[base + V_ETS] % TWO32);
      }
    }
    // UDP checksum over the whole (short) datagram
    b[40] = 0;
    b[41] = 0;
    const udpLen = (b[38] << 8) | b[39];
    // pseudo-header addresses + the datagram: one contiguous range
    let sum =
      (t.words ? onesSumWords(t.words, b, 26, 34 + udpLen) : onesSum(b, 26, 34 + udpLen)) +
      17 +
      udpLen;
    let c = ~fold(sum) & 0xffff;
    if (c === 0) c = 0xffff;
    w16(b, 40, c);
    sum = 0;
    return b;
  }

  /**
   * The data packet of `flow` after `nDone` visits of `path` as it would be without INT: what
   * an INT sink that strips INT forwards, i.e. the packet the INT source received with the
   * hop-by-hop rewrites the capture point sees (TTL, source MAC) but no INT. Same flow, IP id,
   * TTL, TCP sequence, payload; the original DSCP (0, which the INT header records). For tunnel
   * carriers (the tunnel runs leaf to leaf, set up by the INT source) the tunnel packet without
   * INT: Geneve without the INT option, VXLAN-GPE with next protocol Ethernet (3), GRE with
   * protocol TEB; same outer addresses, TTL, entropy port and VNI, outer UDP checksum 0.
   * Built from scratch with the encoder (slow; only when asked for). Fresh bytes each call.
   */
  originalPacket(flow: PacketFlow, path: Path, nDone: number): Uint8Array {
    const specs = this.specsFor(flow, path, nDone, []);
    if (!this.isTunnel()) return buildPlainPacket(specs.flow);
    return tunnelWithoutInt(specs.flow, specs.carrier);
  }

  /** The same data packet built by the encoder from scratch (slow; for tests). */
  referencePacket(
    flow: PacketFlow,
    path: Path,
    nDone: number,
    hv: Float64Array,
    hvBase: number,
  ): Uint8Array {
    const hops: HopMetadata[] = [];
    for (let i = 0; i < this.pushedAfter(nDone); i++)
      hops.push(hopMetadataOf(this.fmt, path, i, hv, hvBase + i * VSTRIDE, this.bufferBytes));
    const specs = this.specsFor(flow, path, nDone, hops);
    return buildIntPacket(specs.flow, specs.stack, specs.carrier);
  }

  /** The same report built by the encoder from scratch (slow; for tests). */
  referenceReport(
    kind: 'sink' | 'hop' | 'drop',
    flow: PacketFlow,
    path: Path,
    visit: number,
    hv: Float64Array,
    hvBase: number,
    sequence: number,
    dropReason: number,
  ): Uint8Array {
    const data = this.referencePacket(flow, path, visit, hv, hvBase);
    const hdrEnd = data.length - flow.payloadBytes;
    const innerLen = Math.min(data.length, hdrEnd + this.s.output.reportPayloadBytes);
    const fmt: MdFormat = this.s.output.reportVersion === '2.0' ? 'tr2.0' : 'tr1.0';
    const base = hvBase + visit * VSTRIDE;
    const md = hopMetadataOf(fmt, path, visit, hv, base, this.bufferBytes, dropReason);
    const spec = this.reportSpecs(kind, path, visit, data.slice(0, innerLen), md);
    spec.sequence = sequence;
    if (spec.version !== '2.0') spec.ingressTimestamp = hv[base + V_ITS] % TWO32;
    if (spec.version === '0.5' && md.egressTimestamp !== undefined)
      md.egressTimestamp = BigInt(hv[base + V_ETS] % TWO32);
    return buildReport(spec);
  }

  /** The hw_id a visit's reports use. */
  hwIdOf(path: Path, visit: number): number {
    return (path.outPort[visit] - 1) % this.s.topology.hwIdsPerSwitch;
  }
}

/** The tunnel packet of `carrier` around the plain flow packet, without INT (see
 * PacketFactory.originalPacket). Mirrors the encoder's outer framing for IPv4 outers. */
function tunnelWithoutInt(flow: FlowSpec, carrier: CarrierSpec): Uint8Array {
  if (carrier.kind !== 'geneve' && carrier.kind !== 'vxlan-gpe' && carrier.kind !== 'gre')
    throw new Error(`simulator: ${carrier.kind} is not a tunnel carrier`);
  const outer = carrier.outer;
  if (outer.ipVersion !== 4) throw new Error('simulator: IPv4 tunnels only');
  const src = parseAddr(outer.srcAddr, 4);
  const dst = parseAddr(outer.dstAddr, 4);
  const inner = buildPlainPacket(flow);
  let proto: number;
  let ipPayload: Uint8Array;
  if (carrier.kind === 'gre') {
    proto = 47;
    ipPayload = concatBytes(Uint8Array.of(0, 0, ETHERTYPE_TEB >>> 8, ETHERTYPE_TEB & 0xff), inner);
  } else {
    proto = 17;
    const vni = carrier.vni ?? 0;
    const tun =
      carrier.kind === 'geneve'
        ? geneveHeader(new Uint8Array(0), ETHERTYPE_TEB, vni)
        : Uint8Array.of(0x0c, 0, 0, 3, (vni >>> 16) & 0xff, (vni >>> 8) & 0xff, vni & 0xff, 0);
    const dstPort = carrier.udpPort ?? (carrier.kind === 'geneve' ? GENEVE_PORT : VXLAN_GPE_PORT);
    const srcPort =
      outer.srcPort ?? 49152 + ((flow.srcPort * 31 + flow.dstPort * 7 + flow.protocol) % 16384);
    // the tunnel UDP checksum is 0 over IPv4, as the encoder (and VTEPs) send it
    ipPayload = udpSegment(
      src,
      dst,
      srcPort,
      dstPort,
      concatBytes(tun, inner),
      !!outer.udpChecksum,
    );
  }
  const ip = ipPacket({ ipVersion: 4, src, dst, protocol: proto, ttl: outer.ttl ?? 64 }, ipPayload);
  return concatBytes(ethernetHeader(ETHERTYPE_IPV4, outer.srcMac, outer.dstMac), ip);
}
