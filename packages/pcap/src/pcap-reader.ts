import { BaseReader } from './base-reader';
import type { ChunkedInput } from './chunked-input';
import { CaptureFormatError } from './errors';
import { MAX_RECORD_BYTES } from './limits';
import type { PacketRecord } from './types';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
const FILE_HEADER = 24;
const RECORD_HEADER = 16;

/** Classic libpcap reader (µs or ns timestamps, either byte order). */
export class PcapReader extends BaseReader {
  readonly format = 'pcap' as const;
  readonly littleEndian: boolean;
  readonly nanosecond: boolean;
  readonly linkType: number;
  readonly snaplen: number;
  readonly versionMajor: number;
  readonly versionMinor: number;
  private readonly maxCaplen: number;
  /** Timestamp fraction units per second, and the factor that turns them into ns. */
  private readonly fracUnits: number;
  private readonly fracToNs: number;

  constructor(input: ChunkedInput) {
    super(input);
    if (!input.ensure(FILE_HEADER)) {
      throw new CaptureFormatError('input ends inside the pcap file header', 0, true);
    }
    const v = input.view;
    const be = v.getUint32(0, false);
    const le = v.getUint32(0, true);
    if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS) this.littleEndian = false;
    else if (le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) this.littleEndian = true;
    else throw new CaptureFormatError(`not a pcap magic number: 0x${be.toString(16)}`, 0);
    const magic = this.littleEndian ? le : be;
    this.nanosecond = magic === PCAP_MAGIC_NS;
    this.fracUnits = this.nanosecond ? 1e9 : 1e6;
    this.fracToNs = this.nanosecond ? 1 : 1000;
    this.versionMajor = v.getUint16(4, this.littleEndian);
    this.versionMinor = v.getUint16(6, this.littleEndian);
    if (this.versionMajor !== 2) {
      throw new CaptureFormatError(
        `unsupported pcap version ${this.versionMajor}.${this.versionMinor}`,
        4,
      );
    }
    this.snaplen = v.getUint32(16, this.littleEndian);
    // Upper bits of this field carry FCS information (pcap spec); the link type is the low 16.
    this.linkType = v.getUint32(20, this.littleEndian) & 0xffff;
    // Snaplen 0 appears in some writers' output; read it as "no limit".
    this.maxCaplen =
      this.snaplen === 0 ? MAX_RECORD_BYTES : Math.min(this.snaplen, MAX_RECORD_BYTES);
    input.pos = FILE_HEADER;
    this.rec.linkType = this.linkType;
  }

  next(): PacketRecord | null {
    if (this.done) return null;
    const inp = this.input;
    if (!inp.ensure(RECORD_HEADER)) return this.endOrTruncated('pcap record header');
    const le = this.littleEndian;
    let p = inp.pos;
    const v = inp.view;
    let sec = v.getUint32(p, le);
    let frac = v.getUint32(p + 4, le);
    const caplen = v.getUint32(p + 8, le);
    const origlen = v.getUint32(p + 12, le);
    if (caplen > this.maxCaplen) {
      return this.fail(`captured length ${caplen} exceeds snaplen ${this.snaplen}`, inp.offset);
    }
    if (!inp.ensure(RECORD_HEADER + caplen)) {
      return this.fail(`input ends inside a pcap record of ${caplen} bytes`, inp.offset, true);
    }
    p = inp.pos;
    if (frac >= this.fracUnits) {
      // Out-of-range fraction (sloppy writers): carry it into seconds, keep tsNsec normalised.
      sec += Math.floor(frac / this.fracUnits);
      frac %= this.fracUnits;
    }
    const rec = this.rec;
    rec.reset(inp.buf, p + RECORD_HEADER, caplen);
    rec.tsSec = sec;
    rec.tsNsec = frac * this.fracToNs;
    rec.originalLength = origlen;
    inp.pos = p + RECORD_HEADER + caplen;
    return rec;
  }
}
