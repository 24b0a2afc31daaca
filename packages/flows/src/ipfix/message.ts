/**
 * IPFIX messages (RFC 7011): a 16-byte header, then sets. Template sets (ID 2) describe the
 * two data templates; data sets (ID = template ID) carry fixed-length records. Messages never
 * exceed `maxMessageBytes` (the path MTU less the IP and UDP headers).
 */
import { isIPv4, isIPv6 } from 'net';
import { parseAddr } from '@hopwatch/codec';
import type { FlowRecord } from '../model';
import {
  IPV4_ELEMENTS,
  IPV6_ELEMENTS,
  recordLength,
  TEMPLATE_IPV4,
  TEMPLATE_IPV6,
  type Element,
} from './elements';

const HEADER = 16;
const SET_HEADER = 4;
/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01, for dateTimeNanoseconds. */
const NTP_OFFSET = 2208988800n;

export interface MessageOptions {
  observationDomain: number;
  /** Private Enterprise Number of the enterprise-specific elements. */
  enterprise: number;
  /** Largest message, bytes (default 1400: a 1500-byte MTU less IPv6 and UDP headers). */
  maxMessageBytes?: number;
}

export interface DataMessage {
  buf: Buffer;
  /** Data records in it (its share of the sequence number). */
  records: number;
}

interface Template {
  id: number;
  elements: readonly Element[];
  length: number;
}

const TEMPLATES: readonly Template[] = [
  { id: TEMPLATE_IPV4, elements: IPV4_ELEMENTS, length: recordLength(IPV4_ELEMENTS) },
  { id: TEMPLATE_IPV6, elements: IPV6_ELEMENTS, length: recordLength(IPV6_ELEMENTS) },
];

/** Builds the messages of one transport session: its sequence numbers are counted here. */
export class IpfixMessageBuilder {
  /** Data records sent before the next message (RFC 7011 §3.1: modulo 2^32). */
  sequence = 0;
  private readonly max: number;

  constructor(private readonly opts: MessageOptions) {
    this.max = opts.maxMessageBytes ?? 1400;
    const need = HEADER + SET_HEADER + Math.max(...TEMPLATES.map((t) => t.length));
    if (this.max < need || this.max > 65535)
      throw new RangeError(`IPFIX message size must be ${need}..65535 bytes, not ${this.max}`);
    if (!Number.isInteger(opts.enterprise) || opts.enterprise < 1 || opts.enterprise > 0xffffffff)
      throw new RangeError(`enterprise number ${opts.enterprise} out of range`);
  }

  /** One message holding the template set. */
  templates(exportTimeSec: number): Buffer {
    let body = 4; // set header
    for (const t of TEMPLATES)
      body += 4 + t.elements.reduce((n, e) => n + (e.enterprise ? 8 : 4), 0);
    const buf = Buffer.alloc(HEADER + body);
    let o = this.header(buf, exportTimeSec);
    buf.writeUInt16BE(2, o);
    buf.writeUInt16BE(body, o + 2);
    o += 4;
    for (const t of TEMPLATES) {
      buf.writeUInt16BE(t.id, o);
      buf.writeUInt16BE(t.elements.length, o + 2);
      o += 4;
      for (const e of t.elements) {
        buf.writeUInt16BE(e.enterprise ? 0x8000 | e.id : e.id, o);
        buf.writeUInt16BE(e.length, o + 2);
        o += 4;
        if (e.enterprise) {
          buf.writeUInt32BE(this.opts.enterprise, o);
          o += 4;
        }
      }
    }
    return buf;
  }

  /** The data messages for `records`, as many as the size limit needs, with their counts. */
  data(records: readonly FlowRecord[], exportTimeSec: number): DataMessage[] {
    const out: DataMessage[] = [];
    for (const t of TEMPLATES) {
      const mine = records.filter((r) => (t.id === TEMPLATE_IPV4) === (r.ipVersion === 4));
      const per = Math.floor((this.max - HEADER - SET_HEADER) / t.length);
      for (let i = 0; i < mine.length; i += per) {
        const chunk = mine.slice(i, i + per);
        const setLen = SET_HEADER + chunk.length * t.length;
        const buf = Buffer.alloc(HEADER + setLen);
        let o = this.header(buf, exportTimeSec);
        buf.writeUInt16BE(t.id, o);
        buf.writeUInt16BE(setLen, o + 2);
        o += 4;
        for (const r of chunk) o = writeRecord(buf, o, t.elements, r);
        this.sequence = (this.sequence + chunk.length) >>> 0;
        out.push({ buf, records: chunk.length });
      }
    }
    return out;
  }

  private header(buf: Buffer, exportTimeSec: number): number {
    buf.writeUInt16BE(10, 0); // version
    buf.writeUInt16BE(buf.length, 2);
    buf.writeUInt32BE(exportTimeSec >>> 0, 4);
    buf.writeUInt32BE(this.sequence, 8);
    buf.writeUInt32BE(this.opts.observationDomain >>> 0, 12);
    return HEADER;
  }
}

function writeRecord(buf: Buffer, o: number, els: readonly Element[], r: FlowRecord): number {
  for (const e of els) {
    const v = e.value(r);
    switch (e.type) {
      case 'ipv4Address':
        writeAddr(buf, o, String(v), 4);
        break;
      case 'ipv6Address':
        writeAddr(buf, o, String(v), 6);
        break;
      case 'dateTimeMilliseconds':
        buf.writeBigUInt64BE(BigInt(v ?? 0) / 1_000_000n, o);
        break;
      case 'dateTimeNanoseconds': {
        const t = BigInt(v ?? 0);
        const sec = t / 1_000_000_000n + NTP_OFFSET;
        // rounded up, so that a reader computing floor(frac * 1e9 / 2^32) gets the ns back exactly
        const frac = (((t % 1_000_000_000n) << 32n) + 999_999_999n) / 1_000_000_000n;
        buf.writeUInt32BE(Number(sec & 0xffffffffn), o);
        buf.writeUInt32BE(Number(frac), o + 4);
        break;
      }
      case 'unsigned64':
        buf.writeBigUInt64BE(clampU64(v), o);
        break;
      default: {
        const max = 2 ** (8 * e.length) - 1;
        const n = Math.min(Math.max(Number(v ?? 0), 0), max);
        buf.writeUIntBE(Math.floor(n), o, e.length);
      }
    }
    o += e.length;
  }
  return o;
}

function clampU64(v: number | bigint | string | null): bigint {
  if (v === null) return 0n;
  const b = typeof v === 'bigint' ? v : BigInt(Math.max(0, Math.floor(Number(v))));
  return b < 0n ? 0n : b > 0xffffffffffffffffn ? 0xffffffffffffffffn : b;
}

/** An IPv4 / IPv6 address as its 4 / 16 bytes (the codec's parser; a bad one throws). */
function writeAddr(buf: Buffer, o: number, a: string, version: 4 | 6): void {
  if (version === 4 ? !isIPv4(a) : !isIPv6(a))
    throw new TypeError(`not an IPv${version} address: ${a}`);
  buf.set(parseAddr(a, version), o);
}
