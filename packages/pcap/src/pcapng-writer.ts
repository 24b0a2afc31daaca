import { BufferedWriter, checkTimestamp, type CaptureWriter } from './buffered-writer';
import { LinkType } from './link-type';
import { MAX_RECORD_BYTES } from './limits';
import {
  BLOCK_EPB,
  BLOCK_IDB,
  BLOCK_SHB,
  BYTE_ORDER_MAGIC,
  OPT_IF_NAME,
  OPT_IF_TSRESOL,
} from './pcapng-reader';
import type { ByteSink } from './sink';
import { encodeDecimalTimestamp, wordsOut } from './timestamp';

export interface PcapngInterfaceOptions {
  linkType?: number;
  /** 0 (default) = no limit; otherwise longer packets are truncated. */
  snaplen?: number;
  /** if_name option, e.g. "s1-eth1". */
  name?: string;
  /** if_tsresol as a decimal exponent 0..9 (default 9: nanoseconds). */
  tsResolution?: number;
}

export interface PcapngWriterOptions {
  /** Interfaces declared up front (default: one Ethernet interface). More via addInterface. */
  interfaces?: PcapngInterfaceOptions[];
  /** Internal buffer size in bytes (default 4 MiB). */
  bufferSize?: number;
}

interface IfaceState {
  snaplen: number;
  exp: number;
  divisor: number;
}

/** Largest seconds value that fits a 64-bit ns timestamp (year 2514). */
const MAX_SEC = 2 ** 34 - 1;

/** pcapng writer: one little-endian section, IDBs with if_tsresol, EPBs. Buffered. */
export class PcapngWriter extends BufferedWriter implements CaptureWriter {
  private readonly ifaces: IfaceState[] = [];

  constructor(target: string | ByteSink, opts: PcapngWriterOptions = {}) {
    super(target, opts.bufferSize);
    this.reserve(28);
    const v = this.view;
    const p = this.pos;
    v.setUint32(p, BLOCK_SHB, true);
    v.setUint32(p + 4, 28, true);
    v.setUint32(p + 8, BYTE_ORDER_MAGIC, true);
    v.setUint16(p + 12, 1, true);
    v.setUint16(p + 14, 0, true);
    v.setInt32(p + 16, -1, true); // section length unknown (-1 as int64)
    v.setInt32(p + 20, -1, true);
    v.setUint32(p + 24, 28, true);
    this.pos = p + 28;
    for (const i of opts.interfaces ?? [{}]) this.addInterface(i);
  }

  /** Declares one more interface (an IDB) and returns its id for `write`. */
  addInterface(opts: PcapngInterfaceOptions = {}): number {
    const linkType = opts.linkType ?? LinkType.ETHERNET;
    const snaplen = opts.snaplen ?? 0;
    const exp = opts.tsResolution ?? 9;
    if (!Number.isInteger(exp) || exp < 0 || exp > 9)
      throw new RangeError('tsResolution must be 0..9');
    if (!Number.isInteger(snaplen) || snaplen < 0 || snaplen > MAX_RECORD_BYTES) {
      throw new RangeError(`snaplen must be in 0..${MAX_RECORD_BYTES}`);
    }
    const name = opts.name === undefined ? null : Buffer.from(opts.name, 'utf8');
    if (name !== null && name.length > 0xffff) throw new RangeError('interface name too long');
    const nameLen = name === null ? 0 : 4 + ((name.length + 3) & ~3);
    const len = 16 + nameLen + 8 /* if_tsresol */ + 4 /* endofopt */ + 4;
    this.reserve(len);
    const v = this.view;
    let p = this.pos;
    this.buf.fill(0, p, p + len);
    v.setUint32(p, BLOCK_IDB, true);
    v.setUint32(p + 4, len, true);
    v.setUint16(p + 8, linkType, true);
    v.setUint32(p + 12, snaplen, true);
    p += 16;
    if (name !== null) {
      v.setUint16(p, OPT_IF_NAME, true);
      v.setUint16(p + 2, name.length, true);
      this.buf.set(name, p + 4);
      p += nameLen;
    }
    v.setUint16(p, OPT_IF_TSRESOL, true);
    v.setUint16(p + 2, 1, true);
    v.setUint8(p + 4, exp);
    p += 8 + 4; // option, then opt_endofopt (already zero)
    v.setUint32(p, len, true);
    this.pos = p + 4;
    this.ifaces.push({ snaplen, exp, divisor: 10 ** (9 - exp) });
    return this.ifaces.length - 1;
  }

  /** Appends one EPB. `originalLength` defaults to `data.length`. */
  write(
    data: Uint8Array,
    tsSec: number,
    tsNsec: number,
    interfaceId = 0,
    originalLength = data.length,
  ): void {
    checkTimestamp(tsSec, tsNsec, MAX_SEC);
    const iface = this.ifaces[interfaceId];
    if (iface === undefined) throw new RangeError(`unknown interface id ${interfaceId}`);
    if (!(originalLength >= data.length && originalLength <= 0xffffffff)) {
      throw new RangeError(
        `originalLength ${originalLength} is smaller than the data or too large`,
      );
    }
    const caplen = iface.snaplen !== 0 && data.length > iface.snaplen ? iface.snaplen : data.length;
    if (caplen > MAX_RECORD_BYTES - 32) throw new RangeError('packet too large');
    const padded = (caplen + 3) & ~3;
    const len = 32 + padded;
    encodeDecimalTimestamp(tsSec, tsNsec, iface.exp);
    this.reserve(28);
    const v = this.view;
    const p = this.pos;
    v.setUint32(p, BLOCK_EPB, true);
    v.setUint32(p + 4, len, true);
    v.setUint32(p + 8, interfaceId, true);
    v.setUint32(p + 12, wordsOut.hi, true);
    v.setUint32(p + 16, wordsOut.lo, true);
    v.setUint32(p + 20, caplen, true);
    v.setUint32(p + 24, originalLength, true);
    this.pos = p + 28;
    this.putBytes(data, caplen);
    this.reserve(padded - caplen + 4);
    const q = this.pos;
    for (let i = caplen; i < padded; i++) this.buf[q + i - caplen] = 0;
    this.view.setUint32(q + padded - caplen, len, true); // reserve() may have changed the buffer
    this.pos = q + padded - caplen + 4;
  }
}
