import { BufferedWriter, checkTimestamp, type CaptureWriter } from './buffered-writer';
import { LinkType } from './link-type';
import { MAX_RECORD_BYTES } from './limits';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US } from './pcap-reader';
import type { ByteSink } from './sink';

export interface PcapWriterOptions {
  /** LINKTYPE_* of every packet (default Ethernet). */
  linkType?: number;
  /** Packets longer than this are truncated, as a capture would (default 262144). */
  snaplen?: number;
  /** Timestamp resolution: 'us' (magic a1b2c3d4, default) or 'ns' (a1b23c4d). */
  resolution?: 'us' | 'ns';
  /** Internal buffer size in bytes (default 4 MiB). */
  bufferSize?: number;
}

/** Classic libpcap writer, little-endian, buffered. */
export class PcapWriter extends BufferedWriter implements CaptureWriter {
  readonly snaplen: number;
  private readonly nanosecond: boolean;

  constructor(target: string | ByteSink, opts: PcapWriterOptions = {}) {
    super(target, opts.bufferSize);
    const linkType = opts.linkType ?? LinkType.ETHERNET;
    this.snaplen = opts.snaplen ?? 262144;
    this.nanosecond = opts.resolution === 'ns';
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > MAX_RECORD_BYTES) {
      throw new RangeError(`snaplen must be in 1..${MAX_RECORD_BYTES}`);
    }
    this.reserve(24);
    const v = this.view;
    const p = this.pos;
    v.setUint32(p, this.nanosecond ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
    v.setUint16(p + 4, 2, true);
    v.setUint16(p + 6, 4, true);
    v.setInt32(p + 8, 0, true); // thiszone: always UTC
    v.setUint32(p + 12, 0, true); // sigfigs
    v.setUint32(p + 16, this.snaplen, true);
    v.setUint32(p + 20, linkType, true);
    this.pos = p + 24;
  }

  /**
   * Appends one packet. `tsNsec` is truncated to µs for a µs file. `originalLength` defaults
   * to `data.length`; data beyond snaplen is dropped. Classic pcap has one interface: 0.
   */
  write(
    data: Uint8Array,
    tsSec: number,
    tsNsec: number,
    interfaceId = 0,
    originalLength = data.length,
  ): void {
    checkTimestamp(tsSec, tsNsec, 0xffffffff);
    if (interfaceId !== 0) throw new RangeError('classic pcap has a single interface (id 0)');
    const caplen = data.length < this.snaplen ? data.length : this.snaplen;
    if (!(originalLength >= data.length && originalLength <= 0xffffffff)) {
      throw new RangeError(
        `originalLength ${originalLength} is smaller than the data or too large`,
      );
    }
    this.reserve(16);
    const v = this.view;
    const p = this.pos;
    v.setUint32(p, tsSec, true);
    v.setUint32(p + 4, this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000), true);
    v.setUint32(p + 8, caplen, true);
    v.setUint32(p + 12, originalLength, true);
    this.pos = p + 16;
    this.putBytes(data, caplen);
  }
}
