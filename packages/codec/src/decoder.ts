/**
 * The INT decoder: walks one captured packet from its link layer down to every INT stack it
 * carries and appends one record per INT stack or individual Telemetry Report to a
 * RecordBatch. It never throws on packet bytes: each packet ends as ≥ 1 record or as one
 * counted rejection with a reason.
 *
 * Layout: this file is the entry (fast path first, then the general walk from the link
 * layer); `walk/cursor.ts` holds the walk state every format shares; `walk/network.ts` walks
 * IP → TCP/UDP/GRE; `walk/fast-path.ts` the common packets in one function; `int/` the INT
 * shims, headers per version and the stack; `report/` Telemetry Reports per version;
 * `tunnel/` Geneve, VXLAN-GPE and GRE; `layers/` link and IP parsing.
 */
import type { RecordBatch } from './batch';
import { CodecConfig, makeConfig } from './config';
import { EtherType, parseIp, walkLink } from './layers/ip';
import { Layer } from './layers/names';
import { telemetryReportAt } from './report/inner';
import { DecoderStats, LayerSpan, Walk } from './walk/cursor';
import { fastReportV2, fastUdpDscp, reportOverIpv4 } from './walk/fast-path';
import { walkL3 } from './walk/network';

export type { DecoderStats, LayerSpan } from './walk/cursor';

export class Decoder {
  readonly config: CodecConfig;
  /** Totals since the decoder was made. */
  readonly stats: DecoderStats;
  /** Whether the common case (Ethernet/IPv4/UDP, DSCP-marked INT v2.x MD) takes the fast path. */
  readonly fastPath: boolean;
  private readonly w: Walk;

  constructor(config: CodecConfig = makeConfig(), opts: { fastPath?: boolean } = {}) {
    this.config = config;
    this.fastPath = opts.fastPath ?? true;
    this.w = new Walk(config, this.fastPath);
    this.stats = this.w.stats;
  }

  /** Set to an array to record the layers of each decoded packet (cleared per packet). */
  get trace(): LayerSpan[] | null {
    return this.w.trace;
  }
  set trace(t: LayerSpan[] | null) {
    this.w.trace = t;
  }
  /** Human-readable detail of the last rejection. */
  get lastDetail(): string {
    return this.w.lastDetail;
  }
  /** Reason code of the last rejection (0 when the last packet gave records). */
  get lastReject(): number {
    return this.w.lastReject;
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
    const w = this.w;
    let reportFast = false;
    if (linkType === 1 && w.fastPath && w.trace === null) {
      const n = fastUdpDscp(w, data, tsSec, tsNsec, frame, batch);
      if (n > 0) return n;
      reportFast = reportOverIpv4(w, data);
      if (reportFast && fastReportV2(w, data, 42, tsSec, tsNsec, frame, batch, null, false))
        return 1;
    }
    w.begin(data, tsSec, tsNsec, frame, batch);
    let code: number;
    try {
      if (reportFast) {
        // cannot fail on what reportOverIpv4 accepted; leaves the state the walker would
        parseIp(data, 14, w.end, EtherType.IPV4, w.ip);
        w.reporterFrom(w.ip);
        code = telemetryReportAt(w, 42);
      } else {
        code = walkLink(data, w.end, linkType, w.link);
        if (code === 0) {
          if (linkType === 1 && w.trace !== null) w.span(Layer.ETHERNET, 0, w.link.offset);
          code = walkL3(w, w.link.offset, w.link.etherType);
        } else {
          w.lastDetail = `link type ${linkType}`;
        }
      }
    } catch (e) {
      code = w.guard(e);
    }
    return w.finishPacket(code);
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
    const w = this.w;
    if (
      w.fastPath &&
      w.trace === null &&
      fastReportV2(w, data, 0, tsSec, tsNsec, frame, batch, reporter, reporterV6)
    )
      return 1;
    w.begin(data, tsSec, tsNsec, frame, batch);
    let code: number;
    try {
      w.reporter.set(reporter);
      w.reporterV6 = reporterV6;
      code = telemetryReportAt(w, 0);
    } catch (e) {
      code = w.guard(e);
    }
    return w.finishPacket(code);
  }
}
