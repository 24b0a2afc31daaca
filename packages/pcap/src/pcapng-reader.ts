import { BaseReader } from './base-reader';
import type { ChunkedInput } from './chunked-input';
import { CaptureFormatError } from './errors';
import { MAX_RECORD_BYTES } from './limits';
import {
  MAX_BINARY_EXP,
  MAX_DECIMAL_EXP,
  binaryTimestamp,
  decimalTimestamp,
  tsOut,
} from './timestamp';
import type { PacketRecord } from './types';

export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 1;
export const BLOCK_OPB = 2;
export const BLOCK_SPB = 3;
export const BLOCK_EPB = 6;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
export const OPT_ENDOFOPT = 0;
export const OPT_IF_NAME = 2;
export const OPT_IF_TSRESOL = 9;
export const OPT_IF_TSOFFSET = 14;

/** What the reader keeps from an Interface Description Block. */
export interface PcapngInterface {
  linkType: number;
  /** 0 means unlimited. */
  snaplen: number;
  name: string | null;
  tsBinary: boolean;
  tsExp: number;
  /** if_tsoffset: seconds added to every timestamp of this interface. */
  tsOffset: number;
}

/**
 * pcapng reader: any number of sections (each with its own byte order and interfaces),
 * EPB, SPB and OPB packets; every other block type is skipped.
 */
export class PcapngReader extends BaseReader {
  readonly format = 'pcapng' as const;
  /** Interfaces of the current section, indexed by interface id. */
  readonly interfaces: PcapngInterface[] = [];
  /** Number of Section Header Blocks seen so far. */
  sections = 0;
  private le = true;

  constructor(input: ChunkedInput) {
    super(input);
    // The first block must be a valid SHB: a bad one means "not pcapng" and is thrown.
    const first = this.readBlock();
    if (this.error) throw this.error;
    if (first !== null || this.sections === 0) {
      throw new CaptureFormatError('pcapng input does not start with a section header', 0);
    }
  }

  next(): PacketRecord | null {
    while (!this.done) {
      const rec = this.readBlock();
      if (rec !== null) return rec;
    }
    return null;
  }

  /**
   * Consumes one block. Returns the record for packet blocks, null otherwise (check `done`).
   * After the first call only SHBs may follow at the start (enforced by the constructor).
   */
  private readBlock(): PacketRecord | null {
    const inp = this.input;
    if (!inp.ensure(12)) return this.endOrTruncated('pcapng block header');
    let p = inp.pos;
    let v = inp.view;
    const type = v.getUint32(p, this.le);
    if (type === BLOCK_SHB) {
      // The byte order of a section is only known from its own byte-order magic.
      const magic = v.getUint32(p + 8, true);
      if (magic === BYTE_ORDER_MAGIC) this.le = true;
      else if (v.getUint32(p + 8, false) === BYTE_ORDER_MAGIC) this.le = false;
      else return this.fail('section header has a bad byte-order magic', inp.offset + 8);
    } else if (this.sections === 0) {
      return this.fail('pcapng input does not start with a section header', inp.offset);
    }
    const le = this.le;
    const len = v.getUint32(p + 4, le);
    if (len < 12 || len % 4 !== 0 || len > MAX_RECORD_BYTES) {
      return this.fail(`bad pcapng block length ${len}`, inp.offset + 4);
    }
    if (!inp.ensure(len)) {
      return this.fail(`input ends inside a pcapng block of ${len} bytes`, inp.offset, true);
    }
    p = inp.pos;
    v = inp.view;
    if (v.getUint32(p + len - 4, le) !== len) {
      return this.fail(
        'pcapng block trailer length does not match its header',
        inp.offset + len - 4,
      );
    }
    let rec: PacketRecord | null = null;
    switch (type) {
      case BLOCK_EPB:
        rec = this.packet(p, len, v.getUint32(p + 8, le), 12, 28);
        break;
      case BLOCK_OPB:
        rec = this.packet(p, len, v.getUint16(p + 8, le), 12, 28);
        break;
      case BLOCK_SPB:
        rec = this.simplePacket(p, len);
        break;
      case BLOCK_IDB:
        this.interfaceBlock(p, len);
        break;
      case BLOCK_SHB:
        this.sectionHeader(p, len);
        break;
      default:
        break; // Unknown or uninteresting block (NRB, ISB, DSB, custom...): skip.
    }
    if (this.error) return null;
    inp.pos = p + len;
    return rec;
  }

  private sectionHeader(p: number, len: number): void {
    if (len < 28) {
      this.fail(`section header block too short (${len} bytes)`, this.input.offset);
      return;
    }
    const major = this.input.view.getUint16(p + 12, this.le);
    if (major !== 1) {
      this.fail(`unsupported pcapng version ${major}`, this.input.offset + 12);
      return;
    }
    this.sections++;
    this.interfaces.length = 0;
  }

  private interfaceBlock(p: number, len: number): void {
    const v = this.input.view;
    const le = this.le;
    if (len < 20) {
      this.fail(`interface description block too short (${len} bytes)`, this.input.offset);
      return;
    }
    const iface: PcapngInterface = {
      linkType: v.getUint16(p + 8, le),
      snaplen: v.getUint32(p + 12, le),
      name: null,
      tsBinary: false,
      tsExp: 6, // pcapng default: microseconds
      tsOffset: 0,
    };
    const end = p + len - 4;
    let o = p + 16;
    while (o + 4 <= end) {
      const code = v.getUint16(o, le);
      const olen = v.getUint16(o + 2, le);
      if (code === OPT_ENDOFOPT || o + 4 + olen > end) break; // lenient: ignore broken options
      const val = o + 4;
      if (code === OPT_IF_TSRESOL && olen >= 1) {
        const b = v.getUint8(val);
        iface.tsBinary = (b & 0x80) !== 0;
        iface.tsExp = b & 0x7f;
      } else if (code === OPT_IF_TSOFFSET && olen >= 8) {
        const hi = le ? v.getInt32(val + 4, true) : v.getInt32(val, false);
        const lo = le ? v.getUint32(val, true) : v.getUint32(val + 4, false);
        iface.tsOffset = hi * 4294967296 + lo;
      } else if (code === OPT_IF_NAME) {
        iface.name = Buffer.from(v.buffer, v.byteOffset + val, olen)
          .toString('utf8')
          .replace(/\0+$/, '');
      }
      o = val + ((olen + 3) & ~3);
    }
    if (iface.tsExp > (iface.tsBinary ? MAX_BINARY_EXP : MAX_DECIMAL_EXP)) {
      this.fail(
        `unsupported if_tsresol ${iface.tsBinary ? '2' : '10'}^-${iface.tsExp}`,
        this.input.offset,
      );
      return;
    }
    this.interfaces.push(iface);
  }

  /** EPB and OPB: interface id, then 64-bit timestamp, caplen and origlen at `tsAt`. */
  private packet(
    p: number,
    len: number,
    ifId: number,
    tsAt: number,
    dataAt: number,
  ): PacketRecord | null {
    if (len < dataAt + 4)
      return this.fail(`packet block too short (${len} bytes)`, this.input.offset);
    const iface = this.interfaces[ifId];
    if (iface === undefined) {
      return this.fail(`packet refers to undeclared interface ${ifId}`, this.input.offset + 8);
    }
    const v = this.input.view;
    const le = this.le;
    const hi = v.getUint32(p + tsAt, le);
    const lo = v.getUint32(p + tsAt + 4, le);
    const caplen = v.getUint32(p + tsAt + 8, le);
    const origlen = v.getUint32(p + tsAt + 12, le);
    if (caplen > len - dataAt - 4) {
      return this.fail(
        `captured length ${caplen} overruns its ${len} byte block`,
        this.input.offset,
      );
    }
    if (iface.snaplen !== 0 && caplen > iface.snaplen) {
      return this.fail(
        `captured length ${caplen} exceeds snaplen ${iface.snaplen}`,
        this.input.offset,
      );
    }
    if (iface.tsBinary) binaryTimestamp(hi, lo, iface.tsExp);
    else decimalTimestamp(hi, lo, iface.tsExp);
    const rec = this.rec;
    rec.reset(this.input.buf, p + dataAt, caplen);
    rec.tsSec = tsOut.sec + iface.tsOffset;
    rec.tsNsec = tsOut.nsec;
    rec.originalLength = origlen;
    rec.linkType = iface.linkType;
    rec.interfaceId = ifId;
    return rec;
  }

  /** SPB: no interface id or timestamp; caplen is implied by interface 0's snaplen. */
  private simplePacket(p: number, len: number): PacketRecord | null {
    if (len < 16)
      return this.fail(`simple packet block too short (${len} bytes)`, this.input.offset);
    const iface = this.interfaces[0];
    if (iface === undefined) {
      return this.fail('simple packet block before any interface description', this.input.offset);
    }
    const origlen = this.input.view.getUint32(p + 8, this.le);
    let caplen = Math.min(origlen, len - 16);
    if (iface.snaplen !== 0) caplen = Math.min(caplen, iface.snaplen);
    const rec = this.rec;
    rec.reset(this.input.buf, p + 12, caplen);
    rec.tsSec = 0;
    rec.tsNsec = 0;
    rec.originalLength = origlen;
    rec.linkType = iface.linkType;
    rec.interfaceId = 0;
    return rec;
  }
}
