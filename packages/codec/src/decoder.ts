/**
 * The INT decoder: walks one captured packet from its link layer down to every INT stack it
 * carries and appends one record per INT stack or individual Telemetry Report to a
 * RecordBatch. It never throws on packet bytes: each packet ends as ≥ 1 record or as one
 * counted rejection with a reason.
 *
 * Layout: this file dispatches (link → IP → L4 → marker → INT or report); `int/` decodes INT
 * headers and stacks; `report/` Telemetry Reports; `layers/` the network layers.
 */
import { Encap, HdrFlag, IntVer, Mode, RecordBatch, RepFlag } from './batch';
import { CodecConfig, makeConfig } from './config';
import { HopReader, HopReaderCache } from './int/hop';
import { HopLayout, LayoutCache, LayoutKind, LayoutKindCode } from './int/layout';
import {
  EtherType,
  IpInfo,
  IpProto,
  LinkResult,
  parseIp,
  walkEthernet,
  walkLink,
} from './layers/ip';
import { FindingKind, Reject, REJECT_COUNT, REJECT_NAMES } from './reasons';

/** A span of bytes the decoder recognised, recorded only when tracing (dissect). */
export interface LayerSpan {
  layer: string;
  start: number;
  end: number;
  /** Encapsulation depth (0 = outermost packet). */
  depth: number;
  /** Batch index of the record being filled when the span was seen, or -1. */
  record: number;
}

const PORT_REPORT = 1;
const PORT_GENEVE = 2;
const PORT_GPE = 4;
const PORT_INT_UDP = 8;
const PORT_INT_TCP = 16;

const MAX_DEPTH = 4;

function u16(d: Uint8Array, o: number): number {
  return (d[o] << 8) | d[o + 1];
}
function u32(d: Uint8Array, o: number): number {
  return ((d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;
}

const VERSION_CODE: Record<string, number> = {
  '0.5': IntVer.V05,
  '1.0': IntVer.V10,
  '2.0': IntVer.V20,
  '2.1': IntVer.V21,
};

/** Totals since the decoder was made. */
export interface DecoderStats {
  packets: number;
  records: number;
  /** Rejections by reason code (index into REJECT_NAMES). */
  rejects: Float64Array;
}

export class Decoder {
  readonly config: CodecConfig;
  readonly stats: DecoderStats = {
    packets: 0,
    records: 0,
    rejects: new Float64Array(REJECT_COUNT),
  };
  /** Set to an array to record the layers of each decoded packet (cleared per packet). */
  trace: LayerSpan[] | null = null;
  /** Human-readable detail of the last rejection. */
  lastDetail = '';
  /** Reason code of the last rejection (0 when the last packet gave records). */
  lastReject = 0;

  private readonly layouts: LayoutCache;
  private readonly readers: HopReaderCache;
  private readonly portKind = new Uint8Array(65536);
  private readonly gpeVersion = new Uint8Array(256);
  private readonly greInt = new Set<number>();
  private readonly probeHi: number;
  private readonly probeLo: number;
  private readonly hasProbe: boolean;
  private readonly wordMask: number;

  // walk state, reused between packets
  private d: Uint8Array = new Uint8Array(0);
  private b: RecordBatch = new RecordBatch(1, 1);
  private end = 0;
  private depth = 0;
  private r = -1; // record being filled, -1 when none
  private savedHops = 0;
  private savedDs = 0;
  private savedFindings = 0;
  private recordsThisPacket = 0;
  private readonly link: LinkResult = { etherType: 0, offset: 0 };
  private readonly ip = new IpInfo();
  private readonly flowIp = new IpInfo();
  private readonly flowLink: LinkResult = { etherType: 0, offset: 0 };
  private frame = 0;
  private tsSec = 0;
  private tsNsec = 0;

  /** Whether the common case (Ethernet/IPv4/UDP, DSCP-marked INT v2.x MD) takes the fast path. */
  readonly fastPath: boolean;
  private readonly dscpValue: number;
  private readonly dscpMask: number;

  constructor(config: CodecConfig = makeConfig(), opts: { fastPath?: boolean } = {}) {
    this.config = config;
    this.fastPath = opts.fastPath ?? true;
    this.dscpValue = config.dscp ? config.dscp.value : -1;
    this.dscpMask = config.dscp ? config.dscp.mask : 0;
    this.layouts = new LayoutCache(config.deviations);
    this.readers = new HopReaderCache(config.deviations.queueIdBits);
    for (const p of config.reportUdpPorts) this.portKind[p] |= PORT_REPORT;
    for (const p of config.geneveUdpPorts) this.portKind[p] |= PORT_GENEVE;
    for (const p of config.vxlanGpeUdpPorts) this.portKind[p] |= PORT_GPE;
    for (const p of config.intUdpPorts) this.portKind[p] |= PORT_INT_UDP;
    for (const p of config.intTcpPorts) this.portKind[p] |= PORT_INT_TCP;
    for (const [np, v] of Object.entries(config.gpeNextProtocols)) {
      this.gpeVersion[Number(np)] = VERSION_CODE[v];
    }
    for (const g of config.greProtocols) this.greInt.add(g);
    this.hasProbe = config.probeMarker !== null;
    this.probeHi = this.hasProbe ? parseInt(config.probeMarker!.slice(0, 8), 16) >>> 0 : 0;
    this.probeLo = this.hasProbe ? parseInt(config.probeMarker!.slice(8), 16) >>> 0 : 0;
    this.wordMask = config.deviations.bottomOfStackBit ? 0x7fffffff : 0xffffffff;
  }

  /**
   * Decodes one packet into `batch`. Returns the number of records appended (≥ 1), or
   * the negated Reject code. Never throws on packet content.
   */
  decode(
    data: Uint8Array,
    linkType: number,
    tsSec: number,
    tsNsec: number,
    frame: number,
    batch: RecordBatch,
  ): number {
    let reportFast = false;
    if (linkType === 1 && this.fastPath && this.trace === null) {
      const n = this.fastUdpDscp(data, tsSec, tsNsec, frame, batch);
      if (n > 0) return n;
      reportFast = this.reportOverIpv4(data);
      if (reportFast && this.fastReportV2(data, 42, tsSec, tsNsec, frame, batch, null, false))
        return 1;
    }
    this.begin(data, tsSec, tsNsec, frame, batch);
    let code: number;
    try {
      if (reportFast) {
        // cannot fail on what reportOverIpv4 accepted; leaves the state the walker would
        parseIp(data, 14, this.end, EtherType.IPV4, this.ip);
        code = this.telemetryReport(42);
      } else {
        code = walkLink(data, this.end, linkType, this.link);
        if (code === 0) {
          if (linkType === 1) this.span('ethernet', 0, this.link.offset);
          code = this.walkL3(this.link.offset, this.link.etherType);
        } else {
          this.lastDetail = `link type ${linkType}`;
        }
      }
    } catch (e) {
      code = this.guard(e);
    }
    return this.finishPacket(code);
  }

  /**
   * Ethernet II / IPv4 without options, not a fragment / UDP to a report port: the way every
   * sink sends Telemetry Reports. The general walker would reach the report with nothing to
   * note about these outer headers, so they are skipped.
   */
  private reportOverIpv4(d: Uint8Array): boolean {
    return (
      d.length >= 42 &&
      d[12] === 0x08 &&
      d[13] === 0x00 &&
      d[14] === 0x45 &&
      d[23] === 17 &&
      (((d[20] << 8) | d[21]) & 0x3fff) === 0 &&
      ((d[16] << 8) | d[17]) >= 20 &&
      (this.portKind[(d[36] << 8) | d[37]] & PORT_REPORT) !== 0
    );
  }

  /**
   * The common Telemetry Report in one function: TR v2.0 at `o` (42: over Ethernet/IPv4/UDP,
   * see reportOverIpv4, the reporter being the IPv4 source; 0: a datagram from `reporter`)
   * with exactly one individual report filling the datagram, RepType 1 (INT) with no
   * domain-specific metadata, InType 3 and an inner packet the fast path takes. Anything else
   * returns false having changed nothing the general walker relies on; both give identical
   * records (tested).
   */
  private fastReportV2(
    d: Uint8Array,
    o: number,
    tsSec: number,
    tsNsec: number,
    frame: number,
    b: RecordBatch,
    reporter: Uint32Array | null,
    reporterV6: boolean,
  ): boolean {
    const end = d.length;
    // v2.0 group header; individual report: RepType 1, InType 3
    if (end < o + 20 || d[o] >>> 4 !== 2 || d[o + 8] !== 0x13) return false;
    const rl = d[o + 9];
    if (rl === 0 || rl === 0xff || o + 12 + rl * 4 !== end) return false;
    const mdLen = d[o + 10];
    const repMd = (d[o + 12] << 8) | d[o + 13];
    const layout = this.trLayoutFor(repMd);
    const inner = o + 20 + mdLen * 4;
    if (layout.baselineBytes !== mdLen * 4 || inner + 14 > end) return false;
    // plausibleInner would accept more; fastInt takes only IPv4
    if (d[inner + 12] !== 0x08 || d[inner + 13] !== 0x00) return false;
    b.ensureRecord();
    const r = b.count;
    if (!this.fastInt(d, inner, end, false, b, r)) {
      b.fillDefaults(r, r + 1); // fastInt may have written INT columns
      return false;
    }
    this.acceptFast(b, r, frame, tsSec, tsNsec); // encap, mode: the inner packet's, as fastInt set them
    b.reportVersion[r] = 3;
    b.hwId[r] = ((d[o] & 0x0f) << 2) | (d[o + 1] >>> 6);
    b.sequence[r] = ((d[o + 1] & 0x3f) << 16) | (d[o + 2] << 8) | d[o + 3];
    const node = ((d[o + 4] << 24) | (d[o + 5] << 16) | (d[o + 6] << 8) | d[o + 7]) >>> 0;
    b.nodeId[r] = node;
    b.hasNodeId[r] = 1;
    const a = r * 4;
    if (reporter === null) {
      b.reporterV6[r] = 0;
      b.reporterAddr[a] = 0;
      b.reporterAddr[a + 1] = 0;
      b.reporterAddr[a + 2] = 0;
      b.reporterAddr[a + 3] = ((d[26] << 24) | (d[27] << 16) | (d[28] << 8) | d[29]) >>> 0;
    } else {
      b.reporterV6[r] = reporterV6 ? 1 : 0;
      b.reporterAddr[a] = reporter[0];
      b.reporterAddr[a + 1] = reporter[1];
      b.reporterAddr[a + 2] = reporter[2];
      b.reporterAddr[a + 3] = reporter[3];
    }
    b.repType[r] = 1;
    b.inType[r] = 3;
    b.repIndex[r] = 0;
    const fl = d[o + 11];
    b.repFlags[r] =
      (fl & 0x80 ? RepFlag.D : 0) |
      (fl & 0x40 ? RepFlag.Q : 0) |
      (fl & 0x20 ? RepFlag.F : 0) |
      (fl & 0x10 ? RepFlag.I : 0);
    // the report's own hop, after the stack rows
    b.ensureHops(1);
    const h = b.hopTotal;
    this.trReaderFor(layout, 0)(this.view(), d.byteOffset + o + 20, b, h);
    b.origin[h] = 1;
    b.switchId[h] = node;
    b.present[h] |= 0x1;
    if (b.present[h] & 0x800) b.dropReason[r] = b.hopDropReason[h];
    if ((repMd & 0x7fff) !== 0 || b.hopCount[r] === 0) this.appendReportHop(r, h);
    b.count = r + 1;
    return true;
  }

  /**
   * Decodes the payload of a UDP datagram received on a report socket (no link, IP or UDP
   * header): a Telemetry Report from `reporter` (4 words, IPv4 in the last; see formatAddr).
   */
  decodeDatagram(
    data: Uint8Array,
    reporter: Uint32Array,
    reporterV6: boolean,
    tsSec: number,
    tsNsec: number,
    frame: number,
    batch: RecordBatch,
  ): number {
    if (
      this.fastPath &&
      this.trace === null &&
      this.fastReportV2(data, 0, tsSec, tsNsec, frame, batch, reporter, reporterV6)
    )
      return 1;
    this.begin(data, tsSec, tsNsec, frame, batch);
    let code: number;
    try {
      this.reporter.set(reporter);
      this.reporterV6 = reporterV6;
      code = this.telemetryReportAt(0);
    } catch (e) {
      code = this.guard(e);
    }
    return this.finishPacket(code);
  }

  /**
   * The common case in one straight function: Ethernet II / IPv4 without options / UDP to a
   * port with no other meaning / DSCP-marked INT v2.x MD with no flags, no DS metadata and
   * consistent lengths. Anything else (or anything that would raise a finding) returns 0 and
   * the general walker decodes the packet; both produce identical records (tested).
   */
  private fastUdpDscp(
    d: Uint8Array,
    tsSec: number,
    tsNsec: number,
    frame: number,
    b: RecordBatch,
  ): number {
    b.ensureRecord();
    const r = b.count;
    if (!this.fastInt(d, 0, d.length, true, b, r)) return 0;
    // all checks passed: the record cannot be rejected or carry a finding
    this.acceptFast(b, r, frame, tsSec, tsNsec);
    b.count = r + 1;
    return 1;
  }

  /** Counts a record a fast path accepted (one packet, one record, nothing rejected) and
   * stamps its frame and capture time. */
  private acceptFast(
    b: RecordBatch,
    r: number,
    frame: number,
    tsSec: number,
    tsNsec: number,
  ): void {
    this.stats.packets++;
    this.stats.records++;
    this.lastDetail = '';
    this.lastReject = 0;
    b.frame[r] = frame;
    b.tsSec[r] = tsSec;
    b.tsNsec[r] = tsNsec;
  }

  /**
   * Fast path body: an Ethernet frame at `o` (ending at `end`) that is IPv4 without options /
   * UDP / DSCP-marked INT v2.x MD fills the INT and flow columns of record `r` and returns
   * true; anything unusual returns false having written nothing the general path relies on.
   */
  private fastInt(
    d: Uint8Array,
    o: number,
    end: number,
    outermost: boolean,
    b: RecordBatch,
    r: number,
  ): boolean {
    if (
      end - o < 58 ||
      d[o + 12] !== 0x08 ||
      d[o + 13] !== 0x00 ||
      d[o + 14] !== 0x45 ||
      d[o + 23] !== 17
    )
      return false;
    if ((((d[o + 20] << 8) | d[o + 21]) & 0x3fff) !== 0) return false; // fragment
    const ipEnd = o + 14 + ((d[o + 16] << 8) | d[o + 17]);
    // captures cut by a snap length keep the INT stack: only bytes beyond the IP length matter
    if (ipEnd < o + 58 || (outermost && end > 64 && end - ipEnd > 4)) return false;
    if (((d[o + 15] >>> 2) & this.dscpMask) !== this.dscpValue || this.hasProbe) return false;
    if (this.portKind[(d[o + 36] << 8) | d[o + 37]] !== 0) return false;
    if (ipEnd <= end && ((d[o + 38] << 8) | d[o + 39]) !== ipEnd - o - 34) return false; // UDP length
    if (((d[o + 38] << 8) | d[o + 39]) < 8) return false;
    const b0 = d[o + 42];
    if (b0 >>> 4 !== 1 || ((b0 >>> 2) & 3) !== 0) return false; // INT-MD, NPT 0
    const intEnd = o + 46 + d[o + 43] * 4;
    if (intEnd > ipEnd || intEnd > end || intEnd < o + 58) return false;
    const h0 = d[o + 46];
    if (h0 >>> 4 !== 2 || (h0 & 0x07) !== 0 || d[o + 47] !== 0 || (d[o + 48] & 0xe0) !== 0)
      return false;
    const hopMl = d[o + 48] & 0x1f;
    const bitmap = (d[o + 50] << 8) | d[o + 51];
    let layout: HopLayout;
    if (this.lastKind === LayoutKind.V2 && bitmap === this.lastBitmap) layout = this.lastLayout!;
    else {
      layout = this.layouts.get(LayoutKind.V2, bitmap);
      this.lastKind = LayoutKind.V2;
      this.lastBitmap = bitmap;
      this.lastLayout = layout;
      this.lastReader = null;
    }
    const perHop = hopMl * 4;
    if (
      perHop === 0 ||
      perHop !== layout.baselineBytes ||
      layout.reservedBits !== 0 ||
      this.wordMask !== 0xffffffff
    )
      return false;
    const stackBytes = intEnd - o - 58;
    const hops = (stackBytes / perHop) | 0;
    if (hops * perHop !== stackBytes || hops > this.config.maxHops) return false;
    let reader = this.lastReader;
    if (reader === null || this.lastDsBytes !== 0) {
      reader = this.readers.get(layout, 0, false);
      this.lastReader = reader;
      this.lastDsBytes = 0;
    }
    this.d = d;
    this.b = b;
    b.encap[r] = Encap.UDP_DSCP;
    b.intVersion[r] = IntVer.V21;
    b.mode[r] = Mode.MD;
    b.hasHeader[r] = 1;
    b.intType[r] = 1;
    b.npt[r] = 0;
    b.shimLength[r] = d[o + 43];
    if (d[o + 45] !== 0 || d[o + 44] !== 0) b.origDscp[r] = d[o + 45] >>> 2;
    b.hdrFlags[r] = h0 & 0x08 ? HdrFlag.D : 0;
    b.hopMl[r] = hopMl;
    b.rhc[r] = d[o + 49];
    b.bitmap[r] = bitmap;
    b.dsId[r] = (d[o + 52] << 8) | d[o + 53];
    b.dsInstruction[r] = (d[o + 54] << 8) | d[o + 55];
    b.dsFlags[r] = (d[o + 56] << 8) | d[o + 57];
    b.ensureHops(hops);
    const first = b.hopTotal;
    b.hopStart[r] = first;
    b.hopCount[r] = hops;
    const dv = this.view();
    const base = d.byteOffset + o + 58;
    for (let i = 0; i < hops; i++) reader(dv, base + i * perHop, b, first + hops - 1 - i);
    b.hopTotal = first + hops;
    b.hasFlow[r] = 1;
    b.flowV6[r] = 0;
    const a = r * 4;
    b.srcAddr[a] = 0;
    b.srcAddr[a + 1] = 0;
    b.srcAddr[a + 2] = 0;
    b.srcAddr[a + 3] = ((d[o + 26] << 24) | (d[o + 27] << 16) | (d[o + 28] << 8) | d[o + 29]) >>> 0;
    b.dstAddr[a] = 0;
    b.dstAddr[a + 1] = 0;
    b.dstAddr[a + 2] = 0;
    b.dstAddr[a + 3] = ((d[o + 30] << 24) | (d[o + 31] << 16) | (d[o + 32] << 8) | d[o + 33]) >>> 0;
    b.protocol[r] = 17;
    b.srcPort[r] = (d[o + 34] << 8) | d[o + 35];
    b.dstPort[r] = (d[o + 36] << 8) | d[o + 37];
    return true;
  }

  private begin(
    data: Uint8Array,
    tsSec: number,
    tsNsec: number,
    frame: number,
    batch: RecordBatch,
  ): void {
    this.stats.packets++;
    this.d = data;
    this.b = batch;
    this.end = data.length;
    this.depth = 0;
    this.r = -1;
    this.frame = frame;
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    this.recordsThisPacket = 0;
    this.lastDetail = '';
    if (this.trace) this.trace.length = 0;
  }

  /**
   * Bounds are checked before every read; this is a last line of defence so one bad packet
   * can never take the pipeline down. It is counted like any other rejection.
   */
  private guard(e: unknown): number {
    this.abortRecord();
    this.lastDetail = `internal: ${(e as Error).message}`;
    return Reject.LENGTH_MISMATCH;
  }

  private finishPacket(code: number): number {
    if (this.recordsThisPacket > 0) {
      this.stats.records += this.recordsThisPacket;
      this.lastReject = 0;
      return this.recordsThisPacket;
    }
    this.abortRecord();
    if (code === 0) code = Reject.NOT_INT;
    this.stats.rejects[code]++;
    this.lastReject = code;
    if (!this.lastDetail) this.lastDetail = REJECT_NAMES[code];
    return -code;
  }

  /** A DataView over the packet's ArrayBuffer, reused while packets share a buffer. */
  private view(): DataView<ArrayBufferLike> {
    if (this.dvFor !== this.d) {
      this.dvFor = this.d;
      const buf = this.d.buffer;
      if (buf !== this.dvBuffer) {
        this.dvBuffer = buf;
        this.dv = new DataView(buf);
      }
    }
    return this.dv;
  }
  private dvFor: Uint8Array | null = null;
  private dv: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private dvBuffer: ArrayBufferLike | null = null;

  // ---------------------------------------------------------------- records

  private openRecord(encap: number): number {
    const b = this.b;
    b.ensureRecord();
    const r = b.count;
    this.r = r;
    this.savedHops = b.hopTotal;
    this.savedDs = b.dsTotal;
    this.savedFindings = b.findings.length;
    // every other column already holds its default (RecordBatch.fillDefaults)
    b.frame[r] = this.frame;
    b.tsSec[r] = this.tsSec;
    b.tsNsec[r] = this.tsNsec;
    b.encap[r] = encap;
    b.mode[r] = Mode.XD;
    b.hopStart[r] = b.hopTotal;
    return r;
  }

  private commitRecord(): void {
    this.b.count++;
    this.recordsThisPacket++;
    this.r = -1;
  }

  private abortRecord(): void {
    if (this.r < 0) return;
    const b = this.b;
    b.hopTotal = this.savedHops;
    b.dsTotal = this.savedDs;
    b.findings.length = this.savedFindings;
    b.fillDefaults(this.r, this.r + 1);
    this.r = -1;
  }

  private finding(kind: string, detail: string): void {
    if (this.r >= 0) this.b.addFinding(this.r, kind, detail);
  }

  private span(layer: string, start: number, end: number): void {
    if (this.trace) this.trace.push({ layer, start, end, depth: this.depth, record: this.r });
  }

  private reject(code: number, detail: string): number {
    if (!this.lastDetail) this.lastDetail = detail;
    return code;
  }

  // ---------------------------------------------------------------- layers

  /** From a network-layer header at `off` (etherType 0 = by version nibble). */
  private walkL3(off: number, etherType: number): number {
    const ip = this.ip;
    const code = parseIp(this.d, off, this.end, etherType, ip);
    if (code !== 0) {
      if (code === Reject.NOT_INT)
        this.lastDetail = `ethertype 0x${etherType.toString(16).padStart(4, '0')}`;
      return code;
    }
    this.span(ip.v6 ? 'ipv6' : 'ipv4', off, ip.headerEnd);
    if (ip.isFragment && !ip.firstFragment)
      return this.reject(Reject.IP_FRAGMENT, 'non-first IP fragment');
    const l4 = ip.headerEnd;
    switch (ip.proto) {
      case IpProto.UDP:
        return this.walkUdp(l4);
      case IpProto.TCP:
        return this.walkTcp(l4);
      case IpProto.GRE:
        return this.walkGre(l4);
      case IpProto.IPV4:
      case IpProto.IPV6:
        return this.nested(() =>
          this.walkL3(l4, ip.proto === IpProto.IPV4 ? EtherType.IPV4 : EtherType.IPV6),
        );
      default:
        if (this.r >= 0) this.setFlowFromIp(ip, -1);
        this.lastDetail = `IP protocol ${ip.proto}`;
        return Reject.NOT_INT;
    }
  }

  private nested(fn: () => number): number {
    if (this.depth >= MAX_DEPTH)
      return this.reject(Reject.TOO_DEEP, 'encapsulation nested too deep');
    this.depth++;
    const c = fn();
    this.depth--;
    return c;
  }

  private dscpMarked(): boolean {
    const m = this.config.dscp;
    return m !== null && (this.ip.dscp & m.mask) === m.value;
  }

  private probeAt(off: number): boolean {
    return (
      this.hasProbe &&
      off + 8 <= this.end &&
      u32(this.d, off) === this.probeHi &&
      u32(this.d, off + 4) === this.probeLo
    );
  }

  private walkUdp(off: number): number {
    const d = this.d;
    if (off + 8 > this.end) return this.reject(Reject.TRUNCATED, 'UDP header');
    this.span('udp', off, off + 8);
    const dport = u16(d, off + 2);
    const udpLen = u16(d, off + 4);
    const payload = off + 8;
    const kind = this.portKind[dport];
    if (kind & PORT_REPORT && this.r < 0) return this.telemetryReport(payload);
    if (kind & PORT_GENEVE) return this.geneve(payload);
    if (kind & PORT_GPE) return this.vxlanGpe(payload);
    if (udpLen < 8 && this.r < 0) return this.reject(Reject.BAD_IP_HEADER, `UDP length ${udpLen}`);
    if (kind & PORT_INT_UDP) return this.shim(payload, Encap.UDP_PORT, IpProto.UDP, off);
    if (this.probeAt(payload)) {
      this.span('probe-marker', payload, payload + 8);
      return this.shim(payload + 8, Encap.UDP_PROBE, IpProto.UDP, off);
    }
    if (this.dscpMarked()) return this.shim(payload, Encap.UDP_DSCP, IpProto.UDP, off);
    if (this.r >= 0) return this.unmarkedInner(payload, Encap.UDP_UNMARKED, IpProto.UDP, off);
    this.lastDetail = `UDP port ${dport}`;
    return Reject.NOT_INT;
  }

  private walkTcp(off: number): number {
    const d = this.d;
    if (off + 20 > this.end) return this.reject(Reject.TRUNCATED, 'TCP header');
    const dataOff = (d[off + 12] >>> 4) * 4;
    if (dataOff < 20) return this.reject(Reject.BAD_IP_HEADER, `TCP data offset ${dataOff}`);
    const dport = u16(d, off + 2);
    const after = this.config.tcpIntAfterOptions ? off + dataOff : off + 20;
    this.span('tcp', off, off + dataOff);
    if (off + dataOff > this.end) return this.reject(Reject.TRUNCATED, 'TCP options');
    if (this.portKind[dport] & PORT_INT_TCP)
      return this.shim(after, Encap.TCP_PORT, IpProto.TCP, off);
    if (this.probeAt(after)) {
      this.span('probe-marker', after, after + 8);
      return this.shim(after + 8, Encap.TCP_PROBE, IpProto.TCP, off);
    }
    if (this.dscpMarked()) return this.shim(after, Encap.TCP_DSCP, IpProto.TCP, off);
    if (this.r >= 0) return this.unmarkedInner(after, Encap.TCP_UNMARKED, IpProto.TCP, off);
    this.lastDetail = `TCP port ${dport}`;
    return Reject.NOT_INT;
  }

  // ---------------------------------------------------------------- INT over TCP/UDP

  /**
   * Inside a report, an unmarked TCP/UDP packet: the sink reported it because it carried INT,
   * so (when reportInnerProbe is on) decode a shim there if its fields hang together.
   */
  private unmarkedInner(off: number, encap: number, l4: number, l4Off: number): number {
    const d = this.d;
    this.l4PortsOffset = l4Off;
    if (!this.config.reportInnerProbe || off + 12 > this.end) return this.noInnerInt();
    const b0 = d[off];
    const type2 = b0 >>> 4;
    const plausibleV2 = (type2 === 1 || type2 === 3) && d[off + 4] >>> 4 === 2;
    const plausibleOld = (b0 === 1 || b0 === 2) && d[off + 4] >>> 4 <= 1;
    if (!plausibleV2 && !plausibleOld) return this.noInnerInt();
    return this.shim(off, encap, l4, l4Off);
  }

  /** A report whose inner packet carries no INT: the record keeps the inner flow. */
  private noInnerInt(): number {
    this.setFlowFromIp(this.ip, this.l4PortsOffset);
    return 0;
  }

  private l4PortsOffset = -1;

  /** INT shim after a TCP/UDP header (v0.5 and v1.0 8-bit type; v2.x 4-bit type + NPT). */
  private shim(off: number, encap: number, l4: number, l4Off: number): number {
    const d = this.d;
    this.l4PortsOffset = l4Off;
    if (off + 4 > this.end) return this.reject(Reject.TRUNCATED, 'INT shim');
    const b0 = d[off];
    if (b0 >>> 4 !== 0) return this.shimV2(off, encap, l4, l4Off);
    if (b0 === 1 || b0 === 2) return this.shimV1orV05(off, encap, l4, l4Off);
    return this.reject(Reject.UNKNOWN_INT_TYPE, `INT shim type byte 0x${b0.toString(16)}`);
  }

  private ensureRecordOpen(encap: number): boolean {
    if (this.r >= 0) {
      this.b.encap[this.r] = encap;
      return false;
    }
    this.openRecord(encap);
    return true;
  }

  /** Commits a record this call opened; a record opened by a report is committed there. */
  private finishOwned(opened: boolean, code: number): number {
    if (!opened) return code;
    if (code === 0) this.commitRecord();
    else this.abortRecord();
    return code;
  }

  private shimV2(off: number, encap: number, l4: number, l4Off: number): number {
    const d = this.d;
    const type = d[off] >>> 4;
    const npt = (d[off] >>> 2) & 3;
    const lenW = d[off + 1];
    if (type !== 1 && type !== 3) return this.reject(Reject.UNKNOWN_INT_TYPE, `INT type ${type}`);
    const intEnd = off + 4 + lenW * 4;
    this.span('int-shim-v2', off, off + 4);
    const opened = this.ensureRecordOpen(encap);
    const b = this.b;
    const r = this.r;
    b.npt[r] = npt;
    b.shimLength[r] = lenW;
    b.intType[r] = type;
    if (npt === 1) b.origPort[r] = u16(d, off + 2);
    else if (npt === 2) b.origProto[r] = d[off + 3];
    else if (npt === 0) {
      const dscpByte = d[off + 3];
      if (dscpByte !== 0 || d[off + 2] !== 0) b.origDscp[r] = dscpByte >>> 2;
    }
    if (npt !== 0 && (encap === Encap.UDP_DSCP || encap === Encap.TCP_DSCP)) {
      this.finding(FindingKind.NPT_WITH_DSCP, `NPT ${npt} on a DSCP-marked packet`);
    }
    let code = this.intHeaderV2(off + 4, intEnd, type);
    if (code === 0) {
      // what follows the INT stack: original payload (NPT 0/1) or the original L4 header (NPT 2)
      if (npt === 2 && intEnd + 4 <= this.end) {
        const proto = d[off + 3];
        this.span(
          'original-l4',
          intEnd,
          Math.min(this.end, intEnd + (proto === IpProto.TCP ? 20 : 8)),
        );
        this.setFlowFromIp(this.ip, -1);
        b.protocol[r] = proto;
        b.srcPort[r] = u16(d, intEnd);
        b.dstPort[r] = u16(d, intEnd + 2);
      } else {
        this.setFlowFromIp(this.ip, l4Off);
        if (npt === 1) b.dstPort[r] = u16(d, off + 2);
      }
      if (l4 === IpProto.UDP) this.checkUdpLength(l4Off);
      this.checkIpLength(intEnd);
      this.span('payload', intEnd, this.end);
    }
    code = this.finishOwned(opened, code);
    return code;
  }

  private checkIpLength(intEnd: number): void {
    const ip = this.ip;
    if (intEnd > ip.lengthEnd) {
      this.finding(
        FindingKind.IP_LENGTH,
        `INT data ends at byte ${intEnd} past the IP length (${ip.lengthEnd - ip.start} bytes)`,
      );
    } else if (this.depth === 0 && this.end > 64 && this.end - ip.lengthEnd > 4) {
      // more than Ethernet padding or an FCS after the IP packet: the length was not updated
      this.finding(
        FindingKind.IP_LENGTH,
        `${this.end - ip.lengthEnd} bytes captured beyond the IP length (${ip.lengthEnd - ip.start} bytes)`,
      );
    }
  }

  private checkUdpLength(udpOff: number): void {
    if (udpOff < 0) return;
    const udpLen = u16(this.d, udpOff + 4);
    const ipPayload = this.ip.lengthEnd - udpOff;
    if (udpLen !== ipPayload && this.ip.lengthEnd <= this.end) {
      this.finding(FindingKind.UDP_LENGTH, `UDP length ${udpLen}, IP payload ${ipPayload}`);
    }
  }

  /**
   * v0.5 / v1.0 shims share the 8-bit type. Byte 2 is the length in both; they differ in
   * the INT header that follows (and v0.5 carries a tail). The INT header version nibble
   * decides; INTCollector writes 0 in v1.0 headers, so that case is decided by which
   * reading makes the lengths consistent.
   */
  private shimV1orV05(off: number, encap: number, l4: number, l4Off: number): number {
    const d = this.d;
    if (off + 12 > this.end) return this.reject(Reject.TRUNCATED, 'INT v0.5/v1.0 header');
    const lenW = d[off + 2];
    const ver = d[off + 4] >>> 4;
    const v1Ver = this.config.deviations.v1HeaderVersion;
    let v1 = ver === 1;
    if (!v1 && ver === v1Ver && v1Ver !== 1) {
      const hopMl = d[off + 6] & 0x1f;
      const stack = lenW * 4 - 12;
      v1 = hopMl > 0 && stack >= 0 && stack % (hopMl * 4) === 0;
    }
    if (!v1 && ver > 1) return this.reject(Reject.UNKNOWN_INT_VERSION, `INT header version ${ver}`);
    const opened = this.ensureRecordOpen(encap);
    const b = this.b;
    const r = this.r;
    b.intType[r] = d[off];
    b.shimLength[r] = lenW;
    let code: number;
    let intEnd: number;
    this.span('int-shim-v1', off, off + 4);
    if (v1) {
      b.origDscp[r] = d[off + 3] >>> 2;
      if (d[off + 3] === 0) b.origDscp[r] = -1;
      intEnd = off + lenW * 4;
      if (ver !== 1) this.finding(FindingKind.VERSION_FIELD, `INT v1.0 header with version ${ver}`);
      code = this.intHeaderV1(off + 4, intEnd);
    } else {
      const r0 = this.intHeaderV05(off + 4, off + lenW * 4, true);
      code = r0 < 0 ? -r0 : 0;
      intEnd = r0 < 0 ? off : r0;
    }
    if (code === 0) {
      this.setFlowFromIp(this.ip, l4Off);
      if (!v1) {
        // v0.5 tail: original protocol, destination port, DSCP
        const t = intEnd;
        this.span('int-tail', t, t + 4);
        b.nextProto[r] = d[t];
        b.origProto[r] = d[t];
        const tailDscp = d[t + 3] & 0x3f; // v0.5 tail: the whole byte holds the DSCP
        if (encap === Encap.UDP_PORT || encap === Encap.TCP_PORT) {
          b.origPort[r] = u16(d, t + 1);
          b.dstPort[r] = u16(d, t + 1);
        }
        b.origDscp[r] = tailDscp;
        if (d[t] !== l4 && d[t] !== 0)
          this.finding(FindingKind.TAIL, `tail protocol ${d[t]}, packet protocol ${l4}`);
        intEnd = t + 4;
      }
      if (l4 === IpProto.UDP) this.checkUdpLength(l4Off);
      this.checkIpLength(intEnd);
      this.span('payload', intEnd, this.end);
    }
    return this.finishOwned(opened, code);
  }

  // ---------------------------------------------------------------- INT headers

  /** v2.x INT-MD / INT-MX metadata header (12 bytes) at `h`, stack up to `intEnd`. */
  private intHeaderV2(h: number, intEnd: number, type: number): number {
    const d = this.d;
    const b = this.b;
    const r = this.r;
    if (h + 12 > this.end) return this.reject(Reject.TRUNCATED, 'INT-MD/MX header');
    if (intEnd < h + 12)
      return this.reject(Reject.LENGTH_MISMATCH, `INT length ${intEnd - h} bytes < 12-byte header`);
    if (intEnd > this.end)
      return this.reject(
        Reject.TRUNCATED,
        `INT stack runs ${intEnd - this.end} bytes past the packet`,
      );
    const ver = d[h] >>> 4;
    if (ver !== 2) {
      if (ver === 1 && intEnd - h >= 8) {
        // v1.0 header under a v2-style carrier (Geneve v1.0 examples)
        return this.intHeaderV1(h, intEnd);
      }
      return this.reject(Reject.UNKNOWN_INT_VERSION, `INT header version ${ver} under a v2 shim`);
    }
    this.span(type === 3 ? 'int-mx-header' : 'int-md-header', h, h + 12);
    b.hasHeader[r] = 1;
    if (b.intVersion[r] === IntVer.NONE) b.intVersion[r] = IntVer.V21;
    let flags = 0;
    if (d[h] & 0x08) flags |= HdrFlag.D;
    if (d[h] & 0x04) flags |= HdrFlag.E;
    if (d[h] & 0x02) flags |= HdrFlag.M;
    b.hdrFlags[r] = flags;
    const hopMl = d[h + 2] & 0x1f;
    const bitmap = u16(d, h + 4);
    b.hopMl[r] = hopMl;
    b.bitmap[r] = bitmap;
    b.dsId[r] = u16(d, h + 6);
    b.dsInstruction[r] = u16(d, h + 8);
    b.dsFlags[r] = u16(d, h + 10);
    if ((d[h] & 0x01) !== 0 || d[h + 1] !== 0 || (d[h + 2] & 0xe0) !== 0) {
      this.finding(FindingKind.RESERVED_BITS, 'reserved bits of the INT header are set');
    }
    if (flags & HdrFlag.E)
      this.finding(FindingKind.HOP_LIMIT_EXCEEDED, 'E bit set: a node could not push metadata');
    if (flags & HdrFlag.M)
      this.finding(FindingKind.MTU_EXCEEDED, 'M bit set: a node skipped insertion for MTU');
    const stackOff = h + 12;
    if (type === 3) {
      b.mode[r] = Mode.MX;
      if (d[h + 3] !== 0)
        this.finding(FindingKind.RESERVED_BITS, 'INT-MX byte 3 is reserved but set');
      if (intEnd === stackOff) return 0;
      // non-conformant: per-hop metadata after an MX header (bmv2 P4-INT reports do this)
      this.finding(
        FindingKind.MX_WITH_METADATA,
        `${intEnd - stackOff} bytes of metadata follow an INT-MX header`,
      );
      return this.stack(stackOff, intEnd, LayoutKind.V2, bitmap, hopMl, 'v2');
    }
    b.mode[r] = Mode.MD;
    b.rhc[r] = d[h + 3];
    return this.stack(stackOff, intEnd, LayoutKind.V2, bitmap, hopMl, 'v2');
  }

  /** v1.0 INT metadata header (8 bytes) at `h`, stack to `intEnd`. */
  private intHeaderV1(h: number, intEnd: number): number {
    const d = this.d;
    const b = this.b;
    const r = this.r;
    if (h + 8 > this.end) return this.reject(Reject.TRUNCATED, 'INT v1.0 header');
    if (intEnd < h + 8)
      return this.reject(Reject.LENGTH_MISMATCH, `INT length ${intEnd - h} bytes < 8-byte header`);
    if (intEnd > this.end)
      return this.reject(
        Reject.TRUNCATED,
        `INT stack runs ${intEnd - this.end} bytes past the packet`,
      );
    this.span('int-md-header-v1', h, h + 8);
    b.hasHeader[r] = 1;
    b.intVersion[r] = IntVer.V10;
    b.mode[r] = Mode.MD;
    let flags = 0;
    b.replication[r] = (d[h] >>> 2) & 3;
    if (d[h] & 0x02) flags |= HdrFlag.C;
    if (d[h] & 0x01) flags |= HdrFlag.E;
    if (d[h + 1] & 0x80) flags |= HdrFlag.M;
    b.hdrFlags[r] = flags;
    if ((d[h + 1] & 0x7f) !== 0 || (d[h + 2] & 0xe0) !== 0 || u16(d, h + 6) !== 0) {
      this.finding(FindingKind.RESERVED_BITS, 'reserved bits of the v1.0 INT header are set');
    }
    if (flags & HdrFlag.E)
      this.finding(FindingKind.HOP_LIMIT_EXCEEDED, 'E bit set: a node could not push metadata');
    if (flags & HdrFlag.M)
      this.finding(FindingKind.MTU_EXCEEDED, 'M bit set: a node skipped insertion for MTU');
    const hopMl = d[h + 2] & 0x1f;
    const bitmap = u16(d, h + 4);
    b.hopMl[r] = hopMl;
    b.bitmap[r] = bitmap;
    b.rhc[r] = d[h + 3];
    return this.stack(h + 8, intEnd, LayoutKind.V10, bitmap, hopMl, 'v1');
  }

  /**
   * v0.5 INT header (8 bytes) at `h`. `claimedEnd` is where the shim length says the INT
   * data (with the tail, when `hasTail`) ends. Returns the offset after the stack (where the
   * tail starts), or -Reject.
   */
  private intHeaderV05(h: number, claimedEnd: number, hasTail: boolean): number {
    const d = this.d;
    const b = this.b;
    const r = this.r;
    if (h + 8 > this.end) return -this.reject(Reject.TRUNCATED, 'INT v0.5 header');
    this.span('int-md-header-v05', h, h + 8);
    b.hasHeader[r] = 1;
    b.intVersion[r] = IntVer.V05;
    b.mode[r] = Mode.MD;
    let flags = 0;
    b.replication[r] = (d[h] >>> 2) & 3;
    if (d[h] & 0x02) flags |= HdrFlag.C;
    if (d[h] & 0x01) flags |= HdrFlag.E;
    b.hdrFlags[r] = flags;
    const insCnt = d[h + 1] & 0x1f;
    const maxHop = d[h + 2];
    const totalHop = d[h + 3];
    const bitmap = u16(d, h + 4);
    b.hopMl[r] = insCnt;
    b.bitmap[r] = bitmap;
    b.maxHopCnt[r] = maxHop;
    b.totalHopCnt[r] = totalHop;
    b.rhc[r] = maxHop >= totalHop ? maxHop - totalHop : 0;
    if (flags & HdrFlag.E)
      this.finding(FindingKind.HOP_LIMIT_EXCEEDED, 'E bit set: the hop limit was reached');
    const stackBytes = totalHop * insCnt * 4;
    const stackEnd = h + 8 + stackBytes;
    const expectEnd = stackEnd + (hasTail ? 4 : 0);
    if (claimedEnd !== expectEnd) {
      this.finding(
        FindingKind.SHIM_LENGTH,
        `shim length says ${claimedEnd - h + 4} bytes, header says ${expectEnd - h + 4} (total hops ${totalHop} x ${insCnt} instructions)`,
      );
    }
    if (expectEnd > this.end) return -this.reject(Reject.TRUNCATED, 'INT v0.5 stack');
    if (totalHop > this.config.maxHops)
      return -this.reject(Reject.TOO_MANY_HOPS, `${totalHop} hops`);
    const popcount = popcount16(bitmap);
    if (insCnt !== popcount) {
      this.finding(
        FindingKind.HOP_ML_BITMAP,
        `instruction count ${insCnt}, bitmap has ${popcount} bits`,
      );
    }
    const code = this.stack(h + 8, stackEnd, LayoutKind.V05, bitmap, insCnt, 'v05');
    return code === 0 ? stackEnd : -code;
  }

  /**
   * Decodes a metadata stack [off, end) of hop blocks, last hop first, into hop rows in
   * travel order. Bytes that do not fill a whole block are source-only DS metadata (at the
   * bottom) or a malformed stack.
   */
  private stack(
    off: number,
    end: number,
    kind: LayoutKindCode,
    bitmap: number,
    hopMl: number,
    tag: string,
  ): number {
    const b = this.b;
    const r = this.r;
    // one-entry cache: traffic of a domain shares one bitmap and Hop ML
    let layout: HopLayout;
    if (kind === this.lastKind && bitmap === this.lastBitmap) layout = this.lastLayout!;
    else {
      layout = this.layouts.get(kind, bitmap);
      this.lastKind = kind;
      this.lastBitmap = bitmap;
      this.lastLayout = layout;
      this.lastReader = null;
    }
    const stackBytes = end - off;
    let perHop = hopMl * 4;
    if (stackBytes === 0) return 0;
    if (perHop === 0) {
      // Hop ML 0 with a stack: only the non-conformant MX-with-metadata case can be read
      if (b.mode[r] !== Mode.MX)
        return this.reject(Reject.HOP_ML_MISMATCH, `Hop ML 0 with ${stackBytes} stack bytes`);
      perHop = layout.baselineBytes;
      if (perHop === 0) return this.reject(Reject.HOP_ML_MISMATCH, 'empty bitmap with metadata');
    }
    if (perHop < layout.baselineBytes) {
      return this.reject(
        Reject.HOP_ML_MISMATCH,
        `Hop ML ${hopMl} words < ${layout.baselineBytes / 4} words the bitmap 0x${bitmap.toString(16).padStart(4, '0')} demands`,
      );
    }
    if (layout.reservedBits > 0) {
      this.finding(
        FindingKind.RESERVED_INSTRUCTIONS,
        `${layout.reservedBits} reserved instruction bit(s) set`,
      );
    }
    const dsBytes = perHop - layout.baselineBytes;
    if (dsBytes > 0 && tag !== 'v05' && b.dsId[r] === 0) {
      // with a DS ID set, per-hop bytes beyond the bitmap are that domain's metadata (conformant)
      this.finding(
        FindingKind.HOP_ML_BITMAP,
        `${dsBytes} bytes per hop beyond the bitmap (domain-specific metadata)`,
      );
    }
    const hops = Math.floor(stackBytes / perHop);
    const rem = stackBytes - hops * perHop;
    if (hops > this.config.maxHops)
      return this.reject(Reject.TOO_MANY_HOPS, `${hops} hops > limit ${this.config.maxHops}`);
    if (rem !== 0) {
      b.sourceOnlyBytes[r] = rem;
      if (b.dsId[r] === 0 || rem % 4 !== 0) {
        this.finding(
          FindingKind.STACK_REMAINDER,
          `${rem} bytes left after ${hops} hop(s) of ${perHop} bytes`,
        );
      }
    }
    this.span('int-stack', off, end);
    b.ensureHops(hops);
    const first = b.hopTotal;
    const wordMask = this.wordMask;
    let reader = this.lastReader;
    if (reader === null || dsBytes !== this.lastDsBytes) {
      reader = this.readers.get(layout, dsBytes, this.wordMask !== 0xffffffff);
      this.lastReader = reader;
      this.lastDsBytes = dsBytes;
    }
    const dv = this.view();
    const base = this.d.byteOffset + off;
    // stack block i (0 = top = last hop) → travel index hops-1-i
    for (let i = 0; i < hops; i++) reader(dv, base + i * perHop, b, first + hops - 1 - i);
    if (wordMask !== 0xffffffff && hops > 0) this.checkBottomOfStack(off, hops * perHop);
    if (b.hopCount[r] === 0) b.hopStart[r] = first;
    b.hopTotal = first + hops;
    b.hopCount[r] += hops;
    return 0;
  }

  private lastKind = -1;
  private lastBitmap = -1;
  private lastLayout: HopLayout | null = null;
  private lastReader: HopReader | null = null;
  private lastDsBytes = -1;

  private checkBottomOfStack(off: number, bytes: number): void {
    const d = this.d;
    for (let o = off; o < off + bytes; o += 4) {
      const last = o === off + bytes - 4;
      const bos = (d[o] & 0x80) !== 0;
      if (bos !== last) {
        this.finding(
          FindingKind.BOTTOM_OF_STACK,
          `bottom-of-stack bit ${bos ? 'set' : 'clear'} at stack byte ${o - off}`,
        );
        return;
      }
    }
  }

  // ---------------------------------------------------------------- tunnels

  private geneve(off: number): number {
    const d = this.d;
    const cfg = this.config;
    if (off + 8 > this.end) return this.reject(Reject.TRUNCATED, 'Geneve header');
    const optLenW = d[off] & 0x3f;
    const protoType = u16(d, off + 2);
    const optEnd = off + 8 + optLenW * 4;
    if (optEnd > this.end) return this.reject(Reject.TRUNCATED, 'Geneve options');
    this.span('geneve', off, off + 8);
    let o = off + 8;
    let found = -1;
    let foundType = 0;
    let foundLen = 0;
    let overrun = 0;
    for (let n = 0; o + 4 <= optEnd && n < 64; n++) {
      const cls = u16(d, o);
      const type = d[o + 2] & 0x7f;
      const lenW = d[o + 3] & 0x1f;
      const next = o + 4 + lenW * 4;
      this.span('geneve-option', o, Math.min(next, this.end));
      const isInt =
        cls === cfg.geneveOptionClass && (type === cfg.geneveMdType || type === cfg.geneveMxType);
      if (isInt && found < 0) {
        found = o;
        foundType = type;
        foundLen = lenW;
      }
      if (next > optEnd) {
        // an option running past OptLen (the spec's own Geneve examples do this)
        if (isInt) overrun = next - optEnd;
        break;
      }
      o = next;
    }
    if (found < 0) {
      // no INT option: the INT (if any) is in the tunnelled packet
      return this.nested(() => this.tunnelPayload(optEnd, protoType));
    }
    const inner = Math.max(optEnd, found + 4 + foundLen * 4);
    const opened = this.ensureRecordOpen(Encap.GENEVE);
    const r = this.r;
    if (overrun > 0)
      this.finding(
        FindingKind.GENEVE_LENGTH,
        `INT option ends ${overrun} bytes past the Geneve OptLen`,
      );
    this.b.intType[r] = foundType === cfg.geneveMxType ? 3 : 1;
    this.b.shimLength[r] = foundLen;
    const h = found + 4;
    const intEnd = h + foundLen * 4;
    let code =
      d[h] >>> 4 === 1
        ? this.intHeaderV1(h, intEnd)
        : this.intHeaderV2(h, intEnd, foundType === cfg.geneveMxType ? 3 : 1);
    if (code === 0) {
      this.checkIpLength(inner);
      this.innerFlow(inner, protoType);
    }
    code = this.finishOwned(opened, code);
    return code;
  }

  /** The payload of a tunnel without INT of its own: walk it for INT. */
  private tunnelPayload(off: number, protoType: number): number {
    if (protoType === EtherType.TEB) {
      const c = walkEthernet(this.d, off, this.end, this.link);
      if (c !== 0) return c;
      this.span('ethernet', off, this.link.offset);
      return this.walkL3(this.link.offset, this.link.etherType);
    }
    if (protoType === EtherType.IPV4 || protoType === EtherType.IPV6)
      return this.walkL3(off, protoType);
    this.lastDetail = `tunnel protocol 0x${protoType.toString(16)}`;
    return Reject.NOT_INT;
  }

  private vxlanGpe(off: number): number {
    const d = this.d;
    if (off + 8 > this.end) return this.reject(Reject.TRUNCATED, 'VXLAN-GPE header');
    const np = d[off + 3];
    this.span('vxlan-gpe', off, off + 8);
    const ver = this.gpeVersion[np];
    const s = off + 8;
    if (ver === IntVer.NONE) {
      // not INT: 1 IPv4, 2 IPv6, 3 Ethernet
      const et =
        np === 1 ? EtherType.IPV4 : np === 2 ? EtherType.IPV6 : np === 3 ? EtherType.TEB : 0;
      if (et === 0) {
        this.lastDetail = `VXLAN-GPE next protocol 0x${np.toString(16)}`;
        return Reject.NOT_INT;
      }
      return this.nested(() => this.tunnelPayload(s, et));
    }
    if (s + 4 > this.end) return this.reject(Reject.TRUNCATED, 'GPE INT shim');
    const opened = this.ensureRecordOpen(Encap.VXLAN_GPE);
    const b = this.b;
    const r = this.r;
    b.intVersion[r] = ver;
    this.span(ver >= IntVer.V20 ? 'int-shim-gpe-v2' : 'int-shim-gpe-v1', s, s + 4);
    let code: number;
    let intEnd: number;
    let shimNext: number;
    if (ver === IntVer.V20 || ver === IntVer.V21) {
      // Type(4) Rsvd(4) | Length (excl. shim) | G + Rsvd | Next Protocol
      const type = d[s] >>> 4;
      const lenW = d[s + 1];
      b.intType[r] = type;
      b.shimLength[r] = lenW;
      shimNext = d[s + 3];
      intEnd = s + 4 + lenW * 4;
      if (type !== 1 && type !== 3) code = this.reject(Reject.UNKNOWN_INT_TYPE, `INT type ${type}`);
      else code = this.intHeaderV2(s + 4, intEnd, type);
    } else {
      // Type(8) Rsvd(8) | Length (incl. shim) | Next Protocol
      const lenW = d[s + 2];
      b.intType[r] = d[s];
      b.shimLength[r] = lenW;
      shimNext = d[s + 3];
      intEnd = s + lenW * 4;
      if (d[s] !== 1) code = this.reject(Reject.UNKNOWN_INT_TYPE, `INT type ${d[s]}`);
      else if (ver === IntVer.V10) code = this.intHeaderV1(s + 4, intEnd);
      else {
        const e = this.intHeaderV05(s + 4, intEnd, false);
        code = e < 0 ? -e : 0;
      }
    }
    if (code === 0) {
      b.nextProto[r] = shimNext;
      this.checkIpLength(intEnd);
      const et =
        shimNext === 1
          ? EtherType.IPV4
          : shimNext === 2
            ? EtherType.IPV6
            : shimNext === 3
              ? EtherType.TEB
              : 0;
      if (et !== 0) this.innerFlow(intEnd, et);
    }
    return this.finishOwned(opened, code);
  }

  private walkGre(off: number): number {
    const d = this.d;
    if (off + 4 > this.end) return this.reject(Reject.TRUNCATED, 'GRE header');
    const flags = d[off];
    const proto = u16(d, off + 2);
    let hl = 4;
    if (flags & 0x80) hl += 4; // checksum + reserved1
    if (flags & 0x20) hl += 4; // key
    if (flags & 0x10) hl += 4; // sequence number
    if (off + hl > this.end) return this.reject(Reject.TRUNCATED, 'GRE optional fields');
    this.span('gre', off, off + hl);
    const s = off + hl;
    if (!this.greInt.has(proto)) return this.nested(() => this.tunnelPayload(s, proto));
    if (s + 4 > this.end) return this.reject(Reject.TRUNCATED, 'GRE INT shim');
    // Type(4) G(1) Rsvd(3) | Length (excl. shim) | Next Protocol (EtherType)
    const type = d[s] >>> 4;
    const lenW = d[s + 1];
    const next = u16(d, s + 2);
    this.span('int-shim-gre', s, s + 4);
    if (type !== 1 && type !== 3) return this.reject(Reject.UNKNOWN_INT_TYPE, `INT type ${type}`);
    const opened = this.ensureRecordOpen(Encap.GRE);
    const b = this.b;
    b.intType[this.r] = type;
    b.shimLength[this.r] = lenW;
    b.nextProto[this.r] = next;
    const intEnd = s + 4 + lenW * 4;
    const code = this.intHeaderV2(s + 4, intEnd, type);
    if (code === 0) {
      this.checkIpLength(intEnd);
      this.innerFlow(intEnd, next);
    }
    return this.finishOwned(opened, code);
  }

  // ---------------------------------------------------------------- flows

  /** Copies the 5-tuple of the IP header in `ip` (ports from the L4 header at l4Off). */
  private setFlowFromIp(ip: IpInfo, l4Off: number): void {
    const b = this.b;
    const r = this.r;
    if (r < 0) return;
    b.hasFlow[r] = 1;
    b.flowV6[r] = ip.v6 ? 1 : 0;
    const a = r * 4;
    for (let i = 0; i < 4; i++) {
      b.srcAddr[a + i] = ip.src[i];
      b.dstAddr[a + i] = ip.dst[i];
    }
    b.protocol[r] = ip.proto;
    b.srcPort[r] = 0;
    b.dstPort[r] = 0;
    if (
      l4Off >= 0 &&
      l4Off + 4 <= this.end &&
      (ip.proto === IpProto.TCP || ip.proto === IpProto.UDP)
    ) {
      b.srcPort[r] = u16(this.d, l4Off);
      b.dstPort[r] = u16(this.d, l4Off + 2);
    }
  }

  /** 5-tuple of a tunnelled packet at `off` (etherType TEB = Ethernet first). */
  private innerFlow(off: number, etherType: number): void {
    const d = this.d;
    let et = etherType;
    let o = off;
    if (et === EtherType.TEB) {
      if (walkEthernet(d, off, this.end, this.flowLink) !== 0) return;
      et = this.flowLink.etherType;
      o = this.flowLink.offset;
    }
    const fip = this.flowIp;
    if (parseIp(d, o, this.end, et, fip) !== 0) return;
    this.setFlowFromIp(fip, fip.firstFragment ? fip.headerEnd : -1);
  }

  // ---------------------------------------------------------------- Telemetry Reports

  private telemetryReport(off: number): number {
    this.reporterFrom(this.ip);
    return this.telemetryReportAt(off);
  }

  private telemetryReportAt(off: number): number {
    const d = this.d;
    if (off + 4 > this.end) return this.reject(Reject.TRUNCATED, 'Telemetry Report header');
    const ver = d[off] >>> 4;
    if (ver === 2 || (ver === 1 && this.config.deviations.reportV1AsV2))
      return this.reportV2(off, ver);
    if (ver === 1) return this.reportV1(off);
    if (ver === 0) return this.reportV05(off, 0);
    return this.reject(Reject.UNKNOWN_REPORT_VERSION, `Telemetry Report version ${ver}`);
  }

  private readonly reporter = new Uint32Array(4);
  private reporterV6 = false;
  private reporterFrom(ip: IpInfo): void {
    const w = this.reporter;
    w[0] = ip.src[0];
    w[1] = ip.src[1];
    w[2] = ip.src[2];
    w[3] = ip.src[3];
    this.reporterV6 = ip.v6;
  }

  private openReportRecord(version: number): number {
    const r = this.openRecord(Encap.REPORT_ONLY);
    const b = this.b;
    b.reportVersion[r] = version;
    b.hwId[r] = 0;
    b.sequence[r] = 0;
    b.nodeId[r] = 0;
    b.reporterV6[r] = this.reporterV6 ? 1 : 0;
    for (let i = 0; i < 4; i++) b.reporterAddr[r * 4 + i] = this.reporter[i];
    return r;
  }

  /** Does a packet of the given kind plausibly start at `off`? (0 Eth, 4 IPv4, 6 IPv6) */
  private plausibleInner(off: number, kind: number): boolean {
    const d = this.d;
    if (kind === 0) {
      if (off + 14 > this.end) return false;
      const et = u16(d, off + 12);
      return (
        et === EtherType.IPV4 ||
        et === EtherType.IPV6 ||
        et === EtherType.VLAN ||
        et === EtherType.QINQ
      );
    }
    if (off >= this.end) return false;
    if (kind === 4) return d[off] >>> 4 === 4 && (d[off] & 0x0f) >= 5;
    return d[off] >>> 4 === 6;
  }

  /** Walks the packet carried inside a report; fills the open record's INT and flow. */
  private reportInner(off: number, end: number, kind: number): number {
    if (
      kind === 0 &&
      this.fastPath &&
      this.trace === null &&
      this.fastInt(this.d, off, Math.min(end, this.end), false, this.b, this.r)
    ) {
      return 0;
    }
    const saveEnd = this.end;
    if (end < this.end) this.end = end;
    let code: number;
    if (this.depth >= MAX_DEPTH)
      code = this.reject(Reject.TOO_DEEP, 'encapsulation nested too deep');
    else {
      this.depth++;
      if (kind === 0) {
        code = walkEthernet(this.d, off, this.end, this.link);
        if (code === 0) {
          this.span('ethernet', off, this.link.offset);
          code = this.walkL3(this.link.offset, this.link.etherType);
        }
      } else {
        code = this.walkL3(off, kind === 4 ? EtherType.IPV4 : EtherType.IPV6);
      }
      this.depth--;
    }
    this.end = saveEnd;
    if (code === Reject.NOT_INT) {
      // the inner packet has no INT: a postcard (INT-XD) or a drop/queue report of a plain packet
      this.lastDetail = '';
      return 0;
    }
    if (code !== 0 && code !== Reject.TRUNCATED) return code;
    if (code === Reject.TRUNCATED) {
      // reports carry truncated packets by design: keep the record, note what was cut
      this.finding(FindingKind.REPORT_LENGTH, `inner packet truncated: ${this.lastDetail}`);
      this.lastDetail = '';
    }
    return 0;
  }

  /** TR v0.5: 12-byte fixed header, then a drop or switch-local header, then Ethernet. */
  private reportV05(off: number, versionSeen: number): number {
    const d = this.d;
    if (off + 12 > this.end) return this.reject(Reject.TRUNCATED, 'Telemetry Report v0.5 header');
    this.span('report-v05', off, off + 12);
    const r = this.openReportRecord(1);
    const b = this.b;
    const nproto = d[off] & 0x0f;
    let flags = 0;
    if (d[off + 1] & 0x80) flags |= RepFlag.D;
    if (d[off + 1] & 0x40) flags |= RepFlag.Q;
    if (d[off + 1] & 0x20) flags |= RepFlag.F;
    b.repFlags[r] = flags;
    b.hwId[r] = d[off + 3] & 0x3f;
    b.sequence[r] = u32(d, off + 4);
    b.repType[r] = nproto;
    const ingressTs = u32(d, off + 8);
    if (versionSeen !== 0)
      this.finding(FindingKind.REPORT_VERSION, `v0.5 report layout with version ${versionSeen}`);
    let o = off + 12;
    let hop = -1;
    if (nproto === 1 || nproto === 2) {
      const size = nproto === 1 ? 12 : 16;
      if (o + size > this.end) {
        this.abortRecord();
        return this.reject(
          Reject.TRUNCATED,
          nproto === 1 ? 'drop report header' : 'switch local report header',
        );
      }
      this.span(nproto === 1 ? 'report-v05-drop' : 'report-v05-local', o, o + size);
      b.nodeId[r] = u32(d, o);
      b.hasNodeId[r] = 1;
      b.ensureHops(1);
      hop = b.hopTotal; // filled after the inner stack so that it comes last in travel order
      if (nproto === 1) {
        b.dropReason[r] = d[o + 9];
        b.repFlags[r] |= RepFlag.D;
      }
      o += size;
    } else if (nproto !== 0) {
      this.abortRecord();
      return this.reject(Reject.BAD_REPORT, `v0.5 next protocol ${nproto}`);
    }
    const code = this.reportInner(o, this.end, 0);
    if (code !== 0) {
      this.abortRecord();
      return code;
    }
    if (hop >= 0) {
      const base = off + 12;
      b.ensureHops(1);
      const h = b.hopTotal;
      b.clearHop(h);
      b.origin[h] = 1;
      b.switchId[h] = u32(d, base);
      b.ingressPort[h] = u16(d, base + 4);
      b.egressPort[h] = u16(d, base + 6);
      let present = 0x1 | 0x2;
      if (nproto === 2) {
        b.queueId[h] = d[base + 8];
        b.queueOccupancy[h] = u32(d, base + 8) & 0xffffff;
        const egressTs = u32(d, base + 12);
        b.ingressTsLo[h] = ingressTs;
        b.egressTsLo[h] = egressTs;
        b.hopLatency[h] = (egressTs - ingressTs) >>> 0; // 32-bit ns clocks wrap
        present |= 0x4 | 0x8 | 0x10 | 0x20;
      } else {
        b.queueId[h] = d[base + 8];
        b.hopDropReason[h] = d[base + 9];
        present |= 0x8 | 0x800;
      }
      b.present[h] = present;
      this.appendReportHop(r, h);
    }
    this.commitRecord();
    return 0;
  }

  private appendReportHop(r: number, h: number): void {
    const b = this.b;
    // hop rows of a record must be contiguous: the stack rows end at hopTotal
    if (b.hopCount[r] === 0) b.hopStart[r] = h;
    b.hopTotal = h + 1;
    b.hopCount[r]++;
  }

  /** TR v1.0: 16-byte header (+ optional metadata), then the inner packet per NProt. */
  private reportV1(off: number): number {
    const d = this.d;
    if (off + 16 > this.end) return this.reject(Reject.TRUNCATED, 'Telemetry Report v1.0 header');
    const lenW = d[off] & 0x0f;
    const nprot = d[off + 1] >>> 5;
    // INTCollector's builder sends v0.5 layouts with version 1; tell them apart by what follows
    if (lenW < 4) {
      const v1Inner = off + 16;
      const innerKind = nprot === 1 ? 4 : nprot === 2 ? 6 : 0;
      if (!this.plausibleInner(v1Inner, innerKind) && this.plausibleInner(off + 12, 0)) {
        return this.reportV05(off, 1);
      }
    }
    this.span('report-v10', off, off + Math.max(16, lenW * 4));
    const r = this.openReportRecord(2);
    const b = this.b;
    const repMd = ((d[off + 1] & 0x1f) << 1) | (d[off + 2] >>> 7);
    let flags = 0;
    if (d[off + 2] & 0x01) flags |= RepFlag.D;
    if (d[off + 3] & 0x80) flags |= RepFlag.Q;
    if (d[off + 3] & 0x40) flags |= RepFlag.F;
    b.repFlags[r] = flags;
    b.hwId[r] = d[off + 3] & 0x3f;
    b.nodeId[r] = u32(d, off + 4);
    b.hasNodeId[r] = 1;
    b.sequence[r] = u32(d, off + 8);
    b.inType[r] = nprot;
    const ingressTs = u32(d, off + 12);
    const layout = this.layouts.get(LayoutKind.TR10, repMd);
    let hdrEnd = off + lenW * 4;
    if (lenW < 4) {
      this.finding(FindingKind.REPORT_LENGTH, `report length ${lenW} words < minimum 4`);
      hdrEnd = off + 16 + layout.baselineBytes;
    } else if (lenW * 4 !== 16 + layout.baselineBytes) {
      this.finding(
        FindingKind.REPORT_LENGTH,
        `report length ${lenW} words, RepMdBits need ${4 + layout.baselineBytes / 4}`,
      );
    }
    if (hdrEnd > this.end || off + 16 + layout.baselineBytes > this.end) {
      this.abortRecord();
      return this.reject(Reject.TRUNCATED, 'Telemetry Report v1.0 metadata');
    }
    const code = this.reportInner(hdrEnd, this.end, nprot === 1 ? 4 : nprot === 2 ? 6 : 0);
    if (code !== 0) {
      this.abortRecord();
      return code;
    }
    // the reporting switch's own metadata
    b.ensureHops(1);
    const h = b.hopTotal;
    this.readers.get(layout, 0)(this.view(), d.byteOffset + off + 16, b, h);
    b.origin[h] = 1;
    b.switchId[h] = b.nodeId[r];
    b.ingressTsLo[h] = ingressTs;
    b.present[h] |= 0x1 | 0x10;
    if (b.present[h] & 0x800) b.dropReason[r] = b.hopDropReason[h];
    if (repMd !== 0 || b.hopCount[r] === 0) this.appendReportHop(r, h);
    this.commitRecord();
    return 0;
  }

  /** TR v2.0: group header, then individual reports until the datagram ends. */
  private reportV2(off: number, versionSeen: number): number {
    const d = this.d;
    if (off + 8 > this.end) return this.reject(Reject.TRUNCATED, 'Telemetry Report group header');
    this.span('report-v20-group', off, off + 8);
    const hwId = ((d[off] & 0x0f) << 2) | (d[off + 1] >>> 6);
    const seq = ((d[off + 1] & 0x3f) << 16) | (d[off + 2] << 8) | d[off + 3];
    const node = u32(d, off + 4);
    let o = off + 8;
    let index = 0;
    let lastCode = 0;
    const udpEnd = this.end;
    while (o + 4 <= udpEnd && index < 255) {
      const repType = d[o] >>> 4;
      const inType = d[o] & 0x0f;
      const rl = d[o + 1];
      const mdLen = d[o + 2];
      const fl = d[o + 3];
      let repEnd = o + 4 + rl * 4;
      const r = this.openReportRecord(3);
      const b = this.b;
      b.hwId[r] = hwId;
      b.sequence[r] = seq;
      b.nodeId[r] = node;
      b.hasNodeId[r] = 1;
      b.repType[r] = repType;
      b.inType[r] = inType;
      b.repIndex[r] = index;
      let flags = 0;
      if (fl & 0x80) flags |= RepFlag.D;
      if (fl & 0x40) flags |= RepFlag.Q;
      if (fl & 0x20) flags |= RepFlag.F;
      if (fl & 0x10) flags |= RepFlag.I;
      b.repFlags[r] = flags;
      if (versionSeen !== 2)
        this.finding(FindingKind.REPORT_VERSION, `v2.0 report layout with version ${versionSeen}`);
      if (rl === 0xff) {
        repEnd = udpEnd; // post-2.0 draft: extends to the end of the datagram
      } else if (rl === 0 && udpEnd - o > 4) {
        this.finding(
          FindingKind.REPORT_LENGTH,
          `report length 0 with ${udpEnd - o - 4} bytes following; read to the end`,
        );
        repEnd = udpEnd;
      } else if (repEnd > udpEnd) {
        this.finding(
          FindingKind.REPORT_LENGTH,
          `report length ${rl} words runs ${repEnd - udpEnd} bytes past the datagram`,
        );
        repEnd = udpEnd;
      }
      this.span('report-v20', o, Math.min(o + 4, repEnd));
      let c = this.reportV2Contents(o, repEnd, repType, inType, mdLen, r, node);
      if (c === 0) {
        this.commitRecord();
      } else {
        this.abortRecord();
        lastCode = c;
      }
      index++;
      if (repEnd <= o) break;
      o = repEnd;
      c = 0;
    }
    if (this.recordsThisPacket === 0 && lastCode === 0) {
      if (o < udpEnd) return this.reject(Reject.TRUNCATED, 'individual report header');
      return this.reject(Reject.BAD_REPORT, 'Telemetry Report v2.0 without individual reports');
    }
    return lastCode;
  }

  private reportV2Contents(
    o: number,
    repEnd: number,
    repType: number,
    inType: number,
    mdLen: number,
    r: number,
    node: number,
  ): number {
    const d = this.d;
    const b = this.b;
    let inner = o + 4;
    let hop = -1;
    if (repType === 1) {
      if (o + 12 > repEnd) return this.reject(Reject.TRUNCATED, 'INT report main contents');
      const repMd = u16(d, o + 4);
      b.dsId[r] = u16(d, o + 6);
      b.dsInstruction[r] = u16(d, o + 8);
      b.dsFlags[r] = u16(d, o + 10);
      b.bitmap[r] = repMd;
      b.hopMl[r] = mdLen;
      const mdOff = o + 12;
      const mdEnd = mdOff + mdLen * 4;
      if (mdEnd > repEnd)
        return this.reject(Reject.LENGTH_MISMATCH, `MD length ${mdLen} words past the report`);
      const layout = this.trLayoutFor(repMd);
      if (layout.baselineBytes > mdLen * 4) {
        return this.reject(
          Reject.HOP_ML_MISMATCH,
          `MD length ${mdLen} words < ${layout.baselineBytes / 4} RepMdBits demand`,
        );
      }
      this.span('report-v20-int-metadata', o + 4, mdEnd);
      b.ensureHops(1);
      hop = b.hopTotal;
      // hold the report hop in a scratch row beyond the stack: read it after the inner walk
      this.pendingMd = mdOff;
      this.pendingLayout = layout;
      this.pendingDs = mdLen * 4 - layout.baselineBytes;
      this.pendingRepMd = repMd;
      inner = mdEnd;
    } else if (repType !== 0) {
      return this.reject(Reject.BAD_REPORT, `RepType ${repType}`);
    }
    // inner contents
    let code = 0;
    if (inType === 3 || inType === 4 || inType === 5) {
      let kind = inType === 3 ? 0 : inType === 4 ? 4 : 6;
      if (!this.plausibleInner(inner, kind)) {
        const alt = [0, 4, 6].find((k) => k !== kind && this.plausibleInner(inner, k));
        if (alt !== undefined) {
          this.finding(
            FindingKind.REPORT_INNER_TYPE,
            `InType ${inType} but the inner packet starts as ${alt === 0 ? 'Ethernet' : 'IPv' + alt}`,
          );
          kind = alt;
        }
      }
      code = this.reportInner(inner, repEnd, kind);
    } else if (inType === 1) {
      code = this.reportTlvs(inner, repEnd);
    }
    if (code !== 0) return code;
    if (hop >= 0) {
      b.ensureHops(1);
      const h = b.hopTotal;
      this.trReaderFor(this.pendingLayout!, this.pendingDs)(
        this.view(),
        d.byteOffset + this.pendingMd,
        b,
        h,
      );
      b.origin[h] = 1;
      b.switchId[h] = node;
      b.present[h] |= 0x1;
      if (b.present[h] & 0x800) {
        b.dropReason[r] = b.hopDropReason[h];
      }
      const hasMetadata = (this.pendingRepMd & 0x7fff) !== 0;
      if (hasMetadata || b.hopCount[r] === 0) this.appendReportHop(r, h);
      if (b.hasHeader[r] === 0) {
        b.mode[r] = Mode.XD;
      }
    }
    return 0;
  }
  private trBitmap = -1;
  private trLayout: HopLayout | null = null;
  private trReader: HopReader | null = null;
  private trReaderLayout: HopLayout | null = null;
  private trReaderDs = -1;

  /** The TR v2.0 RepMdBits layout, cached for the last bitmap seen (reports repeat it). */
  private trLayoutFor(repMd: number): HopLayout {
    if (repMd !== this.trBitmap || this.trLayout === null) {
      this.trLayout = this.layouts.get(LayoutKind.TR20, repMd);
      this.trBitmap = repMd;
    }
    return this.trLayout;
  }

  /** The compiled reader of the report's own hop, cached for the last layout seen. */
  private trReaderFor(layout: HopLayout, dsBytes: number): HopReader {
    if (layout !== this.trReaderLayout || dsBytes !== this.trReaderDs || this.trReader === null) {
      this.trReader = this.readers.get(layout, dsBytes);
      this.trReaderLayout = layout;
      this.trReaderDs = dsBytes;
    }
    return this.trReader;
  }
  private pendingMd = 0;
  private pendingLayout: HopLayout | null = null;
  private pendingDs = 0;
  private pendingRepMd = 0;

  private reportTlvs(o: number, end: number): number {
    const d = this.d;
    for (let n = 0; o + 4 <= end && n < 32; n++) {
      const t = d[o] >>> 4;
      const len = d[o + 1];
      const next = o + 4 + len * 4;
      this.span('report-tlv', o, Math.min(next, end));
      if (t >= 1 && t <= 3) {
        return this.reportInner(o + 4, Math.min(next, end), t === 1 ? 0 : t === 2 ? 4 : 6);
      }
      o = next;
    }
    return 0;
  }
}

function popcount16(x: number): number {
  x = x - ((x >>> 1) & 0x5555);
  x = (x & 0x3333) + ((x >>> 2) & 0x3333);
  x = (x + (x >>> 4)) & 0x0f0f;
  return (x + (x >>> 8)) & 0x1f;
}
