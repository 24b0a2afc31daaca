/**
 * The walk cursor: everything the decoder keeps while walking one packet (bytes, batch, end,
 * depth, the record being filled) and between packets (configuration tables, layout and
 * reader caches), with the record bookkeeping every format shares.
 *
 * The format decoders (walk/network.ts, int/, report/, tunnel/, walk/fast-path.ts) are plain
 * functions taking this one class as their first argument: calls stay monomorphic and nothing
 * is allocated per packet. Fields are public for those modules only; the API is Decoder.
 */
import { Encap, IntVer, Mode, RecordBatch } from '../batch';
import type { CodecConfig } from '../config';
import { HopReader, HopReaderCache } from '../int/hop';
import { HopLayout, LayoutCache, LayoutKind, LayoutKindCode } from '../int/layout';
import { EtherType, IpInfo, IpProto, LinkResult, parseIp, walkEthernet } from '../layers/ip';
import type { LayerName } from '../layers/names';
import { FindingKind, Reject, REJECT_COUNT, REJECT_NAMES } from '../reasons';

/** A span of bytes the decoder recognised, recorded only when tracing (dissect). */
export interface LayerSpan {
  layer: LayerName;
  start: number;
  end: number;
  /** Encapsulation depth (0 = outermost packet). */
  depth: number;
  /** Batch index of the record being filled when the span was seen, or -1. */
  record: number;
}

/** Totals since the decoder was made. */
export interface DecoderStats {
  packets: number;
  records: number;
  /** Rejections by reason code (index into REJECT_NAMES). */
  rejects: Float64Array;
}

/** What a UDP destination port means (bits of Walk.portKind). */
export const PORT_REPORT = 1;
export const PORT_GENEVE = 2;
export const PORT_GPE = 4;
export const PORT_INT_UDP = 8;
export const PORT_INT_TCP = 16;

export const MAX_DEPTH = 4;

export function u16(d: Uint8Array, o: number): number {
  return (d[o] << 8) | d[o + 1];
}
export function u32(d: Uint8Array, o: number): number {
  return ((d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;
}

const VERSION_CODE: Record<string, number> = {
  '0.5': IntVer.V05,
  '1.0': IntVer.V10,
  '2.0': IntVer.V20,
  '2.1': IntVer.V21,
};

export class Walk {
  readonly stats: DecoderStats = {
    packets: 0,
    records: 0,
    rejects: new Float64Array(REJECT_COUNT),
  };
  trace: LayerSpan[] | null = null;
  lastDetail = '';
  lastReject = 0;

  readonly layouts: LayoutCache;
  readonly readers: HopReaderCache;
  /** PORT_* bits per UDP/TCP destination port. */
  readonly portKind = new Uint8Array(65536);
  /** IntVer code per VXLAN-GPE next protocol (NONE = not INT). */
  readonly gpeVersion = new Uint8Array(256);
  readonly greInt = new Set<number>();
  readonly probeHi: number;
  readonly probeLo: number;
  readonly hasProbe: boolean;
  /** 0x7fffffff when hop words carry a bottom-of-stack bit, else 0xffffffff. */
  readonly wordMask: number;
  readonly dscpValue: number;
  readonly dscpMask: number;

  // the packet being walked
  d: Uint8Array = new Uint8Array(0);
  b: RecordBatch = new RecordBatch(1, 1);
  end = 0;
  depth = 0;
  /** Record being filled, -1 when none. */
  r = -1;
  savedHops = 0;
  savedDs = 0;
  savedFindings = 0;
  recordsThisPacket = 0;
  readonly link: LinkResult = { etherType: 0, offset: 0, vlan: -1 };
  readonly ip = new IpInfo();
  readonly flowIp = new IpInfo();
  readonly flowLink: LinkResult = { etherType: 0, offset: 0, vlan: -1 };
  frame = 0;
  tsSec = 0;
  tsNsec = 0;
  /** Offset of the TCP/UDP header whose ports the record's flow takes, or -1. */
  l4PortsOffset = -1;

  // the reporter of the Telemetry Report being walked (4 words, IPv4 in the last)
  readonly reporter = new Uint32Array(4);
  reporterV6 = false;

  // one-entry caches: traffic of a domain shares one bitmap and Hop ML
  lastKind = -1;
  lastBitmap = -1;
  lastLayout: HopLayout | null = null;
  lastReader: HopReader | null = null;
  lastDsBytes = -1;
  // the same for the TR v2.0 RepMdBits of the report's own hop
  trBitmap = -1;
  trLayout: HopLayout | null = null;
  trReader: HopReader | null = null;
  trReaderLayout: HopLayout | null = null;
  trReaderDs = -1;
  // a TR v2.0 report hop, read after the inner packet so that it comes last in travel order
  pendingMd = 0;
  pendingLayout: HopLayout | null = null;
  pendingDs = 0;
  pendingRepMd = 0;

  private dvFor: Uint8Array | null = null;
  private dv: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private dvBuffer: ArrayBufferLike | null = null;

  constructor(
    readonly config: CodecConfig,
    readonly fastPath: boolean,
  ) {
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

  // ---------------------------------------------------------------- packets

  begin(data: Uint8Array, tsSec: number, tsNsec: number, frame: number, batch: RecordBatch): void {
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
  guard(e: unknown): number {
    this.abortRecord();
    this.lastDetail = `internal: ${(e as Error).message}`;
    return Reject.LENGTH_MISMATCH;
  }

  finishPacket(code: number): number {
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
  view(): DataView<ArrayBufferLike> {
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

  // ---------------------------------------------------------------- records

  openRecord(encap: number): number {
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

  commitRecord(): void {
    this.b.count++;
    this.recordsThisPacket++;
    this.r = -1;
  }

  abortRecord(): void {
    if (this.r < 0) return;
    const b = this.b;
    b.hopTotal = this.savedHops;
    b.dsTotal = this.savedDs;
    b.findings.length = this.savedFindings;
    b.fillDefaults(this.r, this.r + 1);
    this.r = -1;
  }

  /** Opens a record unless a report already did (then only its encapsulation is set). */
  ensureRecordOpen(encap: number): boolean {
    if (this.r >= 0) {
      this.b.encap[this.r] = encap;
      return false;
    }
    this.openRecord(encap);
    return true;
  }

  /** Commits a record this call opened; a record opened by a report is committed there. */
  finishOwned(opened: boolean, code: number): number {
    if (!opened) return code;
    if (code === 0) this.commitRecord();
    else this.abortRecord();
    return code;
  }

  /** Hop row `h` (just past the record's stack rows) becomes record r's last hop. */
  appendReportHop(r: number, h: number): void {
    const b = this.b;
    // hop rows of a record must be contiguous: the stack rows end at hopTotal
    if (b.hopCount[r] === 0) b.hopStart[r] = h;
    b.hopTotal = h + 1;
    b.hopCount[r]++;
  }

  finding(kind: string, detail: string): void {
    if (this.r >= 0) this.b.addFinding(this.r, kind, detail);
  }

  /** Records a span (callers test `trace !== null` first: nothing is evaluated otherwise). */
  span(layer: LayerName, start: number, end: number): void {
    if (this.trace) this.trace.push({ layer, start, end, depth: this.depth, record: this.r });
  }

  reject(code: number, detail: string): number {
    if (!this.lastDetail) this.lastDetail = detail;
    return code;
  }

  // ---------------------------------------------------------------- layouts

  /** The layout of `bitmap` read as `kind`, through the one-entry cache. */
  layoutFor(kind: LayoutKindCode, bitmap: number): HopLayout {
    if (kind === this.lastKind && bitmap === this.lastBitmap) return this.lastLayout!;
    const layout = this.layouts.get(kind, bitmap);
    this.lastKind = kind;
    this.lastBitmap = bitmap;
    this.lastLayout = layout;
    this.lastReader = null;
    return layout;
  }

  /** The TR v2.0 RepMdBits layout, cached for the last bitmap seen (reports repeat it). */
  trLayoutFor(repMd: number): HopLayout {
    if (repMd !== this.trBitmap || this.trLayout === null) {
      this.trLayout = this.layouts.get(LayoutKind.TR20, repMd);
      this.trBitmap = repMd;
    }
    return this.trLayout;
  }

  /** The compiled reader of the report's own hop, cached for the last layout seen. */
  trReaderFor(layout: HopLayout, dsBytes: number): HopReader {
    if (layout !== this.trReaderLayout || dsBytes !== this.trReaderDs || this.trReader === null) {
      this.trReader = this.readers.get(layout, dsBytes);
      this.trReaderLayout = layout;
      this.trReaderDs = dsBytes;
    }
    return this.trReader;
  }

  // ---------------------------------------------------------------- markers

  dscpMarked(): boolean {
    const m = this.config.dscp;
    return m !== null && (this.ip.dscp & m.mask) === m.value;
  }

  probeAt(off: number): boolean {
    return (
      this.hasProbe &&
      off + 8 <= this.end &&
      u32(this.d, off) === this.probeHi &&
      u32(this.d, off + 4) === this.probeLo
    );
  }

  // ---------------------------------------------------------------- lengths

  checkIpLength(intEnd: number): void {
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

  /**
   * The flow's original IP length: INT inserted in the packet itself (from `from` to `to`,
   * plus `extra` bytes of an L4 header INT added, NPT 2) is not part of it.
   */
  removeIntFromLength(from: number, to: number, extra = 0): void {
    const b = this.b;
    const r = this.r;
    if (r < 0 || b.ipLength[r] === 0) return;
    const n = b.ipLength[r] - (to - from) - extra;
    b.ipLength[r] = n > 0 ? n : 0;
  }

  checkUdpLength(udpOff: number): void {
    if (udpOff < 0) return;
    const udpLen = u16(this.d, udpOff + 4);
    const ipPayload = this.ip.lengthEnd - udpOff;
    if (udpLen !== ipPayload && this.ip.lengthEnd <= this.end) {
      this.finding(FindingKind.UDP_LENGTH, `UDP length ${udpLen}, IP payload ${ipPayload}`);
    }
  }

  // ---------------------------------------------------------------- flows

  /**
   * Copies the 5-tuple of the IP header in `ip` (ports from the L4 header at l4Off), its total
   * length and the VLAN of the frame carrying it (`vlan`: the last Ethernet walked, unless the
   * caller says otherwise).
   */
  setFlowFromIp(ip: IpInfo, l4Off: number, vlan = this.link.vlan): void {
    const b = this.b;
    const r = this.r;
    if (r < 0) return;
    b.hasFlow[r] = 1;
    b.flowV6[r] = ip.v6 ? 1 : 0;
    b.ipLength[r] = Math.min(ip.lengthEnd - ip.start, 0xffff);
    b.vlan[r] = vlan;
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
  innerFlow(off: number, etherType: number): void {
    const d = this.d;
    let et = etherType;
    let o = off;
    let vlan = -1;
    if (et === EtherType.TEB) {
      if (walkEthernet(d, off, this.end, this.flowLink) !== 0) return;
      et = this.flowLink.etherType;
      o = this.flowLink.offset;
      vlan = this.flowLink.vlan;
    }
    const fip = this.flowIp;
    if (parseIp(d, o, this.end, et, fip) !== 0) return;
    this.setFlowFromIp(fip, fip.firstFragment ? fip.headerEnd : -1, vlan);
  }

  /** The reporter is the sender of the IP packet carrying the report. */
  reporterFrom(ip: IpInfo): void {
    const w = this.reporter;
    w[0] = ip.src[0];
    w[1] = ip.src[1];
    w[2] = ip.src[2];
    w[3] = ip.src[3];
    this.reporterV6 = ip.v6;
  }

  /** Opens a report-only record stamped with the report version and its reporter. */
  openReportRecord(version: number): number {
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
}
