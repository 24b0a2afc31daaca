/**
 * INT sink duties on captured packets: remove the INT shim, header, stack (and v0.5 tail, probe
 * marker, Geneve option, GPE/GRE shim), restore what the INT source changed (UDP destination
 * port for NPT 1, IP protocol for NPT 2, DSCP, GPE next protocol, GRE protocol type), fix the
 * lengths and checksums, and leave every other packet untouched.
 */
import {
  Decoder,
  decodeOne,
  IntRecord,
  isIntHeaderLayer,
  isIntShimLayer,
  isIpLayer,
  isReportLayer,
  Layer,
  LayerSpan,
  makeConfig,
  type CodecConfig,
  type LayerName,
} from '@hopwatch/codec';
import {
  MAX_RECORD_BYTES,
  openCapture,
  PcapngWriter,
  PcapReader,
  PcapWriter,
  type CaptureWriter,
} from '@hopwatch/pcap';
import {
  copyBytes,
  parseIpHeader,
  put16,
  setDscp,
  refreshChecksums,
  spliceAndFix,
  u16,
  type IpHeader,
} from './packet';

export type StripResultKind = 'stripped' | 'untouched' | 'refused';

export interface StripResult {
  result: StripResultKind;
  /** The packet to forward: stripped, or the input unchanged (untouched / refused). */
  packet: Uint8Array;
  /** Why a packet was refused (or, for untouched, what it was). */
  reason?: string;
  /** The INT record the decoder found (stripped and refused-after-decode packets). */
  record?: IntRecord;
  /** Bytes removed from the packet. */
  removed?: number;
  /** The byte range removed from the input packet (stripped packets). */
  cut?: { from: number; to: number };
  /** With unwrapReports: the inner packets of a Telemetry Report, each stripped. */
  unwrapped?: Uint8Array[];
}

export interface StripOptions {
  /** Replace each Telemetry Report by the (stripped) packet(s) it carries. */
  unwrapReports?: boolean;
  /** Strip even when the INT header's D (discard) bit asks the sink to drop the packet. */
  keepDiscard?: boolean;
  /** Best effort: strip even when lengths are inconsistent or the capture is truncated (the
   * result may be wrong; used to pair packets of faulty devices). */
  force?: boolean;
}

/** What a strip needs to know about where INT sits in the packet (from the decoder spans). */
interface Plan {
  from: number;
  to: number;
  edits: ((d: Uint8Array) => void)[];
  /**
   * The UDP header whose length the INT source never updated (bmv2-style): it already holds
   * the original length, so it is kept and only its checksum recomputed. -1: none.
   */
  staleUdpAt: number;
}

function toDecoder(d: Decoder | CodecConfig | undefined): Decoder {
  if (d instanceof Decoder) return d;
  return new Decoder(d ?? makeConfig());
}

/** Layers that are INT (removed by a strip). */
function isIntLayer(name: LayerName): boolean {
  return (
    isIntShimLayer(name) ||
    isIntHeaderLayer(name) ||
    name === Layer.INT_STACK ||
    name === Layer.INT_TAIL ||
    name === Layer.PROBE_MARKER ||
    name === Layer.ORIGINAL_L4
  );
}

function lastBefore(
  spans: readonly LayerSpan[],
  idx: number,
  depth: number,
  names: LayerName[],
): LayerSpan | null {
  for (let i = idx - 1; i >= 0; i--)
    if (spans[i].depth === depth && names.includes(spans[i].layer)) return spans[i];
  return null;
}

function refuse(data: Uint8Array, reason: string, record?: IntRecord): StripResult {
  return { result: 'refused', packet: data, reason, record };
}

/**
 * Strips INT from one packet. Never throws on packet content: a packet it cannot restore
 * exactly is 'refused' (with a reason) and returned unchanged.
 */
export function stripPacket(
  data: Uint8Array,
  linkType = 1,
  decoder?: Decoder | CodecConfig,
  opts: StripOptions = {},
): StripResult {
  const dec = toDecoder(decoder);
  const res = decodeOne(data, linkType, dec);
  const spans = res.layers.slice();
  if (res.records.length === 0) {
    const rej = res.rejection!;
    if (rej.rejected === 'not-int') return { result: 'untouched', packet: data, reason: 'no INT' };
    if (rej.rejected === 'ip-fragment')
      return { result: 'untouched', packet: data, reason: 'non-first IP fragment' };
    if (rej.rejected === 'unsupported-link-type')
      return { result: 'untouched', packet: data, reason: rej.detail };
    // broken below any INT marker (link, IP, TCP/UDP header): not an INT packet we could strip
    if (
      (rej.rejected === 'truncated' || rej.rejected === 'bad-ip-header') &&
      /^(truncated|bad-ip-header|UDP header|TCP header|TCP options|UDP length \d+|TCP data offset \d+|link type \d+)$/.test(
        rej.detail,
      )
    ) {
      return {
        result: 'untouched',
        packet: data,
        reason: `not INT (${rej.rejected}: ${rej.detail})`,
      };
    }
    return refuse(data, `${rej.rejected}: ${rej.detail}`);
  }
  const rec = res.records[0];
  if (rec.report) {
    if (!opts.unwrapReports)
      return { result: 'untouched', packet: data, reason: 'Telemetry Report' };
    return unwrapReport(data, linkType, dec, spans, opts);
  }
  if (!rec.header) return refuse(data, 'no INT header', rec);
  let plan: Plan | string;
  try {
    plan = planStrip(data, spans, rec, dec.config, !!opts.force);
  } catch (e) {
    plan = `internal: ${(e as Error).message}`;
  }
  // lengths that disagree cannot be restored exactly, except a UDP length left as it was
  const stale = typeof plan !== 'string' && plan.staleUdpAt >= 0;
  const bad = rec.findings.find(
    (f) =>
      [
        'ip-length-mismatch',
        'udp-length-mismatch',
        'shim-length-mismatch',
        'geneve-length-mismatch',
        'v05-tail-mismatch',
      ].includes(f.kind) && !(stale && f.kind === 'udp-length-mismatch'),
  );
  if (bad && !opts.force) return refuse(data, `${bad.kind}: ${bad.detail}`, rec);
  if (rec.header.discard && !opts.keepDiscard)
    return refuse(data, 'D bit set: the sink must discard this packet', rec);
  if (typeof plan === 'string') return refuse(data, plan, rec);
  const work = copyBytes(data);
  for (const e of plan.edits) e(work);
  const out = spliceAndFix(work, spans, plan.from, plan.to);
  if (plan.staleUdpAt >= 0) {
    put16(out, plan.staleUdpAt + 4, u16(data, plan.staleUdpAt + 4));
    refreshChecksums(out, spans, plan.staleUdpAt + 8);
  }
  return {
    result: 'stripped',
    packet: out,
    record: rec,
    removed: plan.to - plan.from,
    cut: { from: plan.from, to: plan.to },
  };
}

/** Where to cut and what to restore, by encapsulation. A string = refusal reason. */
function planStrip(
  d: Uint8Array,
  spans: LayerSpan[],
  rec: IntRecord,
  cfg: CodecConfig,
  force: boolean,
): Plan | string {
  const hdrIdx = spans.findIndex((s) => isIntHeaderLayer(s.layer));
  if (hdrIdx < 0) return 'INT header not located';
  const depth = spans[hdrIdx].depth;
  const first = spans.findIndex((s) => isIntLayer(s.layer) && s.depth === depth);
  const ipSpan = lastBefore(spans, hdrIdx, depth, [Layer.IPV4, Layer.IPV6]);
  if (!ipSpan) return 'IP header not located';
  const ip = parseIpHeader(d, ipSpan.start);
  if (!ip) return 'IP header not parsed';
  if (ip.lengthEnd > d.length && !force)
    return `packet truncated by the capture (${ip.lengthEnd - d.length} bytes missing): checksums cannot be recomputed`;
  if (ip.fragment) return 'INT on an IP fragment: removing it would break reassembly';
  const h = rec.header!;
  const edits: Plan['edits'] = [];
  const restoreDscp = (dscp: number, ipH: IpHeader): void => {
    edits.push((w) => setDscp(w, ipH, dscp));
  };
  const payload = spans.find((s) => s.layer === Layer.PAYLOAD && s.depth === depth);
  switch (rec.encapsulation) {
    case 'udp-dscp':
    case 'tcp-dscp':
    case 'udp-probe':
    case 'tcp-probe':
    case 'udp-port':
    case 'tcp-port': {
      if (first < 0 || !payload) return 'INT not located';
      const shimSpan = spans[first];
      const l4 = lastBefore(spans, first, depth, [Layer.UDP, Layer.TCP]);
      if (!l4) return 'L4 header not located';
      let from = shimSpan.start;
      const to = payload.start;
      // the original DSCP when the source kept it; else clear the INT marking bits
      const unmarked =
        cfg.dscp && (ip.dscp & cfg.dscp.mask) === cfg.dscp.value
          ? ip.dscp & ~cfg.dscp.mask & 0x3f
          : ip.dscp;
      if (rec.encapsulation.endsWith('-dscp') || rec.encapsulation.endsWith('-probe')) {
        const want = h.originalDscp ?? unmarked;
        if (want !== ip.dscp) restoreDscp(want, ip);
      } else {
        // port-based
        if (h.npt === 2) {
          if (h.originalProtocol === null) return 'NPT 2 without an original protocol';
          const proto = h.originalProtocol;
          from = l4.start;
          edits.push((w) => {
            w[ip.protoByte] = proto;
          });
          if (l4.layer !== Layer.UDP) return 'NPT 2 INT after a TCP header';
        } else if (h.originalDstPort !== null) {
          const port = h.originalDstPort;
          edits.push((w) => put16(w, l4.start + 2, port));
        } else {
          return `port-based INT without an original port (NPT ${h.npt ?? 'none'})`;
        }
        if (rec.intVersion === '0.5' && h.originalDscp !== null && h.originalDscp !== ip.dscp)
          restoreDscp(h.originalDscp, ip);
      }
      if (from >= to) return 'empty INT region';
      const staleUdpAt =
        l4.layer === Layer.UDP &&
        from > l4.start &&
        u16(d, l4.start + 4) === ip.lengthEnd - l4.start - (to - from)
          ? l4.start
          : -1;
      return { from, to, edits, staleUdpAt };
    }
    case 'geneve': {
      const hdr = spans[hdrIdx];
      const opt = spans.find((s) => s.layer === Layer.GENEVE_OPTION && s.start + 4 === hdr.start);
      const gen = lastBefore(spans, hdrIdx, depth, [Layer.GENEVE]);
      if (!opt || !gen) return 'Geneve INT option not located';
      const lenW = d[opt.start + 3] & 0x1f;
      const to = opt.start + 4 + lenW * 4;
      const words = lenW + 1;
      const optLen = d[gen.start] & 0x3f;
      if (optLen < words) return `Geneve OptLen ${optLen} words < INT option ${words} words`;
      const critical = (d[opt.start + 2] & 0x80) !== 0;
      edits.push((w) => {
        w[gen.start] = (w[gen.start] & 0xc0) | (optLen - words);
        if (critical && !otherCritical(w, gen.start, opt.start, to)) w[gen.start + 1] &= ~0x40;
      });
      return { from: opt.start, to, edits, staleUdpAt: -1 };
    }
    case 'vxlan-gpe': {
      const shim = spans.find(
        (s) =>
          (s.layer === Layer.INT_SHIM_GPE_V1 || s.layer === Layer.INT_SHIM_GPE_V2) &&
          s.depth === depth,
      );
      const gpe = lastBefore(spans, hdrIdx, depth, [Layer.VXLAN_GPE]);
      if (!shim || !gpe) return 'VXLAN-GPE INT shim not located';
      const v2 = shim.layer === Layer.INT_SHIM_GPE_V2;
      const to = v2 ? shim.start + 4 + d[shim.start + 1] * 4 : shim.start + d[shim.start + 2] * 4;
      const next = d[shim.start + 3];
      if (to > ip.lengthEnd) return 'GPE INT shim length past the packet';
      edits.push((w) => {
        w[gpe.start + 3] = next;
      });
      return { from: shim.start, to, edits, staleUdpAt: -1 };
    }
    case 'gre': {
      const shim = spans.find((s) => s.layer === Layer.INT_SHIM_GRE && s.depth === depth);
      const gre = lastBefore(spans, hdrIdx, depth, [Layer.GRE]);
      if (!shim || !gre) return 'GRE INT shim not located';
      const to = shim.start + 4 + d[shim.start + 1] * 4;
      const next = u16(d, shim.start + 2);
      if (to > ip.lengthEnd) return 'GRE INT shim length past the packet';
      edits.push((w) => put16(w, gre.start + 2, next));
      return { from: shim.start, to, edits, staleUdpAt: -1 };
    }
    default:
      return `cannot strip encapsulation ${rec.encapsulation}`;
  }
}

/** Is there a critical Geneve option (type bit 0x80) other than [skipFrom, skipTo)? */
function otherCritical(d: Uint8Array, gen: number, skipFrom: number, skipTo: number): boolean {
  const end = gen + 8 + (d[gen] & 0x3f) * 4;
  for (let o = gen + 8; o + 4 <= end && o + 4 <= d.length;) {
    if ((o < skipFrom || o >= skipTo) && d[o + 2] & 0x80) return true;
    o += 4 + (d[o + 3] & 0x1f) * 4;
  }
  return false;
}

/** A Telemetry Report replaced by the packet(s) it carries, each stripped of INT. */
function unwrapReport(
  data: Uint8Array,
  linkType: number,
  dec: Decoder,
  spans: LayerSpan[],
  opts: StripOptions,
): StripResult {
  const inners: Uint8Array[] = [];
  const reasons: string[] = [];
  const ipOuter = spans.find(
    (s) => s.depth === 0 && (s.layer === Layer.IPV4 || s.layer === Layer.IPV6),
  );
  const outerIp = ipOuter ? parseIpHeader(data, ipOuter.start) : null;
  const udpEnd = outerIp ? Math.min(outerIp.lengthEnd, data.length) : data.length;
  for (let i = 1; i < spans.length; i++) {
    const s = spans[i];
    const prev = spans[i - 1];
    if (s.depth !== 1 || (s.layer !== Layer.ETHERNET && !isIpLayer(s.layer)) || prev.depth !== 0)
      continue;
    if (!isReportLayer(prev.layer)) continue;
    let end = udpEnd;
    for (let j = i + 1; j < spans.length; j++) {
      if (spans[j].depth === 0 && spans[j].layer === Layer.REPORT_V20) {
        end = spans[j].start;
        break;
      }
    }
    let inner = copyBytes(data, s.start, end);
    const isEth = s.layer === Layer.ETHERNET;
    if (linkType === 1 && !isEth) {
      const eth = copyBytes(data, 0, 14);
      put16(eth, 12, s.layer === Layer.IPV4 ? 0x0800 : 0x86dd);
      inner = concat(eth, inner);
    } else if (linkType !== 1 && isEth) {
      const next = spans[i + 1];
      if (!next) continue;
      inner = copyBytes(data, next.start, end);
    }
    // a report may pad the inner packet: trim to its IP length
    const ipS = spans
      .slice(i)
      .find((x) => x.depth === 1 && (x.layer === Layer.IPV4 || x.layer === Layer.IPV6));
    if (ipS) {
      const ipH = parseIpHeader(data, ipS.start);
      const shift =
        (linkType === 1 && !isEth ? 14 : 0) -
        (linkType !== 1 && isEth ? ipS.start - s.start : 0) -
        s.start;
      if (ipH && ipH.lengthEnd + shift < inner.length && ipH.lengthEnd > ipS.start)
        inner = inner.slice(0, ipH.lengthEnd + shift);
    }
    const r = stripPacket(inner, linkType, dec, { ...opts, unwrapReports: false });
    if (r.result === 'refused') reasons.push(r.reason ?? 'refused');
    inners.push(r.packet);
  }
  if (inners.length === 0)
    return {
      result: 'untouched',
      packet: data,
      reason: 'Telemetry Report without an inner packet',
    };
  return {
    result: 'stripped',
    packet: inners[0],
    unwrapped: inners,
    reason: reasons.length
      ? `report unwrapped; inner packet(s) not stripped: ${reasons.join('; ')}`
      : 'report unwrapped',
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
}

export interface StripSummary {
  packets: number;
  stripped: number;
  untouched: number;
  refused: number;
  /** Telemetry Reports replaced by their inner packets. */
  unwrapped: number;
  /** Refusals by reason (the part before the first ':'). */
  refusedBy: Record<string, number>;
  bytesRemoved: number;
  /** Packets written to OUT. */
  written: number;
}

export interface StripCaptureOptions extends StripOptions {
  config?: CodecConfig;
  /** Drop refused packets instead of writing them unchanged. */
  dropRefused?: boolean;
  /** Called per packet (frame number from 1, result). */
  onPacket?: (frame: number, r: StripResult) => void;
}

/** Reads IN, writes OUT (same format, link types and timestamps), returns the summary. */
export function stripCapture(
  input: string,
  output: string,
  opts: StripCaptureOptions = {},
): StripSummary {
  const dec = new Decoder(opts.config ?? makeConfig());
  const reader = openCapture(input);
  const sum: StripSummary = {
    packets: 0,
    stripped: 0,
    untouched: 0,
    refused: 0,
    unwrapped: 0,
    refusedBy: {},
    bytesRemoved: 0,
    written: 0,
  };
  let writer: CaptureWriter | null = null;
  let ngWriter: PcapngWriter | null = null;
  const ifMap = new Map<number, number>();
  if (reader instanceof PcapReader) {
    writer = new PcapWriter(output, {
      linkType: reader.linkType,
      snaplen: Math.min(Math.max(reader.snaplen, 1), MAX_RECORD_BYTES),
      resolution: reader.nanosecond ? 'ns' : 'us',
    });
  } else {
    ngWriter = new PcapngWriter(output, { interfaces: [] });
    writer = ngWriter;
  }
  try {
    for (let p = reader.next(); p; p = reader.next()) {
      sum.packets++;
      const data = copyBytes(p.data);
      const r = stripPacket(data, p.linkType, dec, opts);
      opts.onPacket?.(p.index, r);
      sum[r.result]++;
      if (r.result === 'refused') {
        const k = (r.reason ?? 'refused').split(':')[0];
        sum.refusedBy[k] = (sum.refusedBy[k] ?? 0) + 1;
      }
      if (r.unwrapped) sum.unwrapped++;
      let ifId = 0;
      if (ngWriter) {
        const known = ifMap.get(p.interfaceId);
        if (known === undefined) {
          const iface = (
            reader as unknown as {
              interfaces: {
                linkType: number;
                snaplen: number;
                name: string | null;
                tsBinary: boolean;
                tsExp: number;
              }[];
            }
          ).interfaces[p.interfaceId];
          ifId = ngWriter.addInterface({
            linkType: p.linkType,
            snaplen: iface?.snaplen ?? 0,
            name: iface?.name ?? undefined,
            tsResolution: iface && !iface.tsBinary && iface.tsExp <= 9 ? iface.tsExp : 9,
          });
          ifMap.set(p.interfaceId, ifId);
        } else ifId = known;
      }
      if (r.result === 'refused' && opts.dropRefused) continue;
      const outs = r.unwrapped ?? [r.packet];
      for (const pkt of outs) {
        const removed = data.length - pkt.length;
        if (r.result === 'stripped' && !r.unwrapped) sum.bytesRemoved += removed;
        const orig = r.unwrapped ? pkt.length : Math.max(pkt.length, p.originalLength - removed);
        writer.write(pkt, p.tsSec, p.tsNsec, ifId, orig);
        sum.written++;
      }
    }
    if (reader.error) throw reader.error;
  } finally {
    reader.close();
    writer.close();
  }
  return sum;
}
