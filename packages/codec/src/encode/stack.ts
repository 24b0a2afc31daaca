/**
 * INT metadata header + stack encoders (v0.5, v1.0, v2.x; MD and MX) and the shims that
 * carry them (TCP/UDP shim per version, v0.5 tail, Geneve option, VXLAN-GPE shim, GRE shim).
 *
 * Per-hop layout: the fields the bitmap requests in bit order, with the sizes of the table in
 * int/bits.ts (reserved bits: 4 bytes of all-ones), then domain-specific metadata, then the
 * checksum complement. Queue id 8 bits (deviation queueIdBits 16).
 */
import type { Deviations } from '../config';
import { SPEC_DEVIATIONS } from '../config';
import { bitCount, bitMask, fieldOf, InstructionField, MetadataFormat, sizeOf } from '../int/bits';
import type { IntVersion } from '../model';
import { ByteWriter, checkUint, encodeError } from './bytes';
import type { HopMetadata, IntStackSpec } from './spec';

const ONES = 0xffffffff;

export type { MetadataFormat } from '../int/bits';

export function formatOf(version: IntVersion): MetadataFormat {
  return version === '0.5' ? 'v0.5' : version === '1.0' ? 'v1.0' : 'v2';
}

export function isV2(version: IntVersion): boolean {
  return version === '2.0' || version === '2.1';
}

interface Slot {
  field: InstructionField;
  size: number;
}

/** Baseline slots in wire order; the checksum complement (if requested) is returned apart. */
function slots(
  fmt: MetadataFormat,
  bitmap: number,
  d: Deviations,
): { list: Slot[]; checksum: boolean } {
  const nbits = bitCount(fmt);
  const list: Slot[] = [];
  let checksum = false;
  for (let bit = 0; bit < nbits; bit++) {
    if (!(bitmap & bitMask(fmt, bit))) continue;
    const s: Slot = { field: fieldOf(fmt, bit), size: sizeOf(fmt, bit, d) };
    if (s.field === 'checksumComplement') checksum = true;
    else if (s.size > 0) list.push(s);
  }
  return { list, checksum };
}

/** Bytes of baseline metadata per hop a bitmap requests (checksum complement included). */
export function baselineBytes(
  fmt: MetadataFormat,
  bitmap: number,
  deviations: Partial<Deviations> = {},
): number {
  const d = { ...SPEC_DEVIATIONS, ...deviations };
  const { list, checksum } = slots(fmt, bitmap, d);
  return list.reduce((n, s) => n + s.size, 0) + (checksum ? 4 : 0);
}

function u(name: string, v: number | undefined, max: number): number | undefined {
  if (v === undefined) return undefined;
  return checkUint(name, v, max);
}

function pair(hi: number | undefined, lo: number | undefined, loBits: number): number {
  if (hi === undefined && lo === undefined) return ONES;
  const h = hi === undefined ? ONES >>> loBits : hi;
  const l = lo === undefined ? 2 ** loBits - 1 : lo;
  return (h * 2 ** loBits + l) >>> 0;
}

function ts(w: ByteWriter, name: string, v: bigint | undefined, size: number): void {
  if (v === undefined) {
    for (let i = 0; i < size; i++) w.u8(0xff);
    return;
  }
  if (typeof v !== 'bigint' || v < 0n || v >= 1n << BigInt(size * 8)) {
    encodeError(`${name} ${String(v)} does not fit in ${size} bytes`);
  }
  if (size === 8) w.u64(v);
  else w.u32(Number(v));
}

/**
 * Writes one hop's block: baseline fields, `dsWords` domain-specific words (the hop's
 * dsMetadata padded with all-ones), then the checksum complement.
 */
export function writeHop(
  w: ByteWriter,
  fmt: MetadataFormat,
  bitmap: number,
  hop: HopMetadata,
  dsWords: number,
  deviations: Partial<Deviations> = {},
): void {
  const d = { ...SPEC_DEVIATIONS, ...deviations };
  const { list, checksum } = slots(fmt, bitmap, d);
  const qBits = fmt === 'v0.5' || fmt === 'v1.0' || fmt === 'v2' ? d.queueIdBits : 8;
  for (const s of list) {
    switch (s.field) {
      case 'switchId':
        w.u32(u('switchId', hop.switchId, ONES) ?? ONES);
        break;
      case 'l1Ports':
        w.u32(
          pair(
            u('ingressPort', hop.ingressPort, 0xffff),
            u('egressPort', hop.egressPort, 0xffff),
            16,
          ),
        );
        break;
      case 'hopLatency':
        w.u32(u('hopLatency', hop.hopLatency, ONES) ?? ONES);
        break;
      case 'queue': {
        const occBits = 32 - qBits;
        w.u32(
          pair(
            u('queueId', hop.queueId, 2 ** qBits - 1),
            u('queueOccupancy', hop.queueOccupancy, 2 ** occBits - 1),
            occBits,
          ),
        );
        break;
      }
      case 'ingressTimestamp':
        ts(w, 'ingressTimestamp', hop.ingressTimestamp, s.size);
        break;
      case 'egressTimestamp':
        ts(w, 'egressTimestamp', hop.egressTimestamp, s.size);
        break;
      case 'l2Ports':
        if (s.size === 8) {
          const a = u('l2IngressPort', hop.l2IngressPort, ONES);
          const b = u('l2EgressPort', hop.l2EgressPort, ONES);
          if (a === undefined && b === undefined) w.u32(ONES).u32(ONES);
          else w.u32(a ?? ONES).u32(b ?? ONES);
        } else {
          w.u32(
            pair(
              u('l2IngressPort', hop.l2IngressPort, 0xffff),
              u('l2EgressPort', hop.l2EgressPort, 0xffff),
              16,
            ),
          );
        }
        break;
      case 'queueCongestion':
        w.u32(u('queueCongestion', hop.queueCongestion, ONES) ?? ONES);
        break;
      case 'txUtilization':
        w.u32(u('txUtilization', hop.txUtilization, ONES) ?? ONES);
        break;
      case 'buffer':
        w.u32(
          pair(
            u('bufferId', hop.bufferId, 0xff),
            u('bufferOccupancy', hop.bufferOccupancy, 0xffffff),
            24,
          ),
        );
        break;
      case 'drop': {
        const q = u('queueId', hop.queueId, 0xff);
        const r = u('dropReason', hop.dropReason, 0xff);
        if (q === undefined && r === undefined) w.u32(ONES);
        else
          w.u8(q ?? 0xff)
            .u8(r ?? 0xff)
            .u16(0);
        break;
      }
      default:
        w.u32(ONES); // reserved instruction bit: 4 bytes of all-ones
    }
  }
  const ds = hop.dsMetadata ?? [];
  if (ds.length > dsWords)
    encodeError(`hop has ${ds.length} DS words, more than the ${dsWords} the Hop ML leaves`);
  for (let i = 0; i < dsWords; i++)
    w.u32(i < ds.length ? checkUint('dsMetadata word', ds[i], ONES) : ONES);
  if (checksum) w.u32(u('checksumComplement', hop.checksumComplement, ONES) ?? ONES);
}

/** The INT metadata header and stack, without any shim. */
export interface EncodedInt {
  /** INT metadata header + stack bytes. */
  bytes: Uint8Array;
  /** INT header type: 1 (MD / hop-by-hop) or 3 (MX). */
  type: 1 | 3;
  /** Hop ML as written (v0.5: instruction count). */
  hopMl: number;
  headerBytes: number;
  stackBytes: number;
}

/** Encodes the INT metadata header (8 B v0.5/v1.0, 12 B v2.x) and the stack, top = last hop. */
export function encodeIntHeaderAndStack(spec: IntStackSpec): EncodedInt {
  const v = spec.version;
  if (!['0.5', '1.0', '2.0', '2.1'].includes(v)) encodeError(`unknown INT version '${String(v)}'`);
  if (spec.mode !== 'MD' && spec.mode !== 'MX')
    encodeError(`unknown INT mode '${String(spec.mode)}'`);
  const fmt = formatOf(v);
  const bitmap = checkUint('instructionBitmap', spec.instructionBitmap, 0xffff);
  const dev = { ...SPEC_DEVIATIONS, ...(spec.deviations ?? {}) };
  const hops = spec.hops ?? [];
  if (spec.mode === 'MX') {
    if (!isV2(v)) encodeError(`INT-MX exists only in v2.x, not v${v}`);
    if (hops.length > 0)
      encodeError('INT-MX carries no metadata stack: hops must be empty (nodes report instead)');
    if (spec.sourceOnlyDs?.length) encodeError('INT-MX carries no source-only DS metadata');
  }
  if (!isV2(v) && spec.sourceOnlyDs?.length)
    encodeError(`source-only DS metadata exists only in v2.x, not v${v}`);
  if (v === '0.5' && hops.some((h) => h.dsMetadata?.length))
    encodeError('INT v0.5 has no domain-specific metadata');
  const base = baselineBytes(fmt, bitmap, dev);
  const dsWords = hops.reduce((m, h) => Math.max(m, h.dsMetadata?.length ?? 0), 0);
  const perHop = base + dsWords * 4;
  // v0.5: instruction count (every v0.5 instruction is 4 bytes); else words per hop
  const hopMl = spec.hopMl ?? perHop / 4;
  if (!Number.isInteger(hopMl) || hopMl < 0 || hopMl > 31) {
    encodeError(
      `Hop ML ${hopMl} words is out of range 0..31 (bitmap 0x${bitmap.toString(16)} + ${dsWords} DS words)`,
    );
  }
  const quirks = spec.quirks ?? {};
  const extra = checkUint('quirks.extraStackBytes', quirks.extraStackBytes ?? 0, 124);
  if (extra % 4 !== 0) encodeError(`quirks.extraStackBytes ${extra} is not a multiple of 4`);
  // the bitmap the header advertises; hops still carry `bitmap`'s fields
  const shown = checkUint('quirks.advertisedBitmap', quirks.advertisedBitmap ?? bitmap, 0xffff);
  const w = new ByteWriter(64 + hops.length * perHop + extra);
  const flag = (b: boolean | undefined): number => (b ? 1 : 0);
  if (v === '0.5') {
    const max = checkUint('maxHopCount', spec.maxHopCount ?? 8, 255);
    checkUint('hop count', hops.length, 255);
    // Ver(4)=0 Rep(2) C(1) E(1) | R(3) InsCnt(5) | MaxHopCnt | TotalHopCnt
    w.u8(flag(spec.hopLimitExceeded));
    w.u8(hopMl & 0x1f);
    w.u8(max);
    w.u8(hops.length);
    w.u16(shown).u16(0);
  } else if (v === '1.0') {
    const rhc = checkUint(
      'remainingHopCount',
      spec.remainingHopCount ?? Math.max(0, 8 - hops.length),
      255,
    );
    // Ver=1 Rep C E | M rsvd | rsvd HopML | RHC | bitmap | reserved
    w.u8(0x10 | flag(spec.hopLimitExceeded));
    w.u8(flag(spec.mtuExceeded) << 7);
    w.u8(hopMl & 0x1f);
    w.u8(rhc);
    w.u16(shown).u16(0);
  } else {
    const rhc =
      spec.mode === 'MX'
        ? 0
        : checkUint(
            'remainingHopCount',
            spec.remainingHopCount ?? Math.max(0, 8 - hops.length),
            255,
          );
    if (
      spec.mode === 'MX' &&
      spec.remainingHopCount !== undefined &&
      spec.remainingHopCount !== 0
    ) {
      encodeError('INT-MX has no Remaining Hop Count (byte 3 is reserved)');
    }
    w.u8(
      0x20 |
        (flag(spec.discard) << 3) |
        (flag(spec.hopLimitExceeded) << 2) |
        (flag(spec.mtuExceeded) << 1),
    );
    w.u8(0);
    w.u8(hopMl & 0x1f);
    w.u8(rhc);
    w.u16(shown);
    w.u16(checkUint('domainSpecificId', spec.domainSpecificId ?? 0, 0xffff));
    w.u16(checkUint('dsInstruction', spec.dsInstruction ?? 0, 0xffff));
    w.u16(checkUint('dsFlags', spec.dsFlags ?? 0, 0xffff));
  }
  if (!isV2(v) && (spec.discard || spec.domainSpecificId || spec.dsInstruction || spec.dsFlags)) {
    encodeError(`D bit and DS fields exist only in v2.x, not v${v}`);
  }
  if (v === '0.5' && spec.mtuExceeded) encodeError('INT v0.5 has no M bit');
  const headerBytes = w.length;
  // push order: the last hop is on top
  for (let i = hops.length - 1; i >= 0; i--) writeHop(w, fmt, bitmap, hops[i], dsWords, dev);
  for (const word of spec.sourceOnlyDs ?? []) w.u32(checkUint('sourceOnlyDs word', word, ONES));
  for (let i = 0; i < extra; i++) w.u8(0);
  const bytes = w.toBytes();
  return {
    bytes,
    type: spec.mode === 'MX' ? 3 : 1,
    hopMl,
    headerBytes,
    stackBytes: bytes.length - headerBytes,
  };
}

function words(n: number, what: string): number {
  if (n % 4 !== 0) encodeError(`${what} is ${n} bytes, not a multiple of 4`);
  const w = n / 4;
  if (w > 255) encodeError(`${what} is ${w} words, more than the 255 an 8-bit length can carry`);
  return w;
}

/** What the TCP/UDP shim's 16-bit field carries (v2.x), or the v0.5 tail contents. */
export interface ShimOptions {
  /** v2.x NPT: 0 DSCP/probe, 1 original UDP port, 2 original IP protocol. */
  npt: 0 | 1 | 2;
  originalDstPort?: number;
  originalProtocol?: number;
  /** Original DSCP (NPT 0; v1.0 shim; v0.5 tail). */
  originalDscp?: number;
  /** v0.5 tail: protocol and destination port of the original packet. */
  tailProtocol?: number;
  tailDstPort?: number;
}

/**
 * The INT block after a TCP/UDP header (or a probe marker): shim + header + stack (+ v0.5 tail).
 * v2.x: Type(4) NPT(2) R(2) | Length excl. shim | 16-bit field.
 * v1.0: Type | Rsvd | Length incl. shim | DSCP<<2.
 * v0.5: Type | Rsvd | Length incl. shim and tail | Rsvd, then header, stack, tail
 *       Proto | DestPort(16) | DSCP.
 */
export function encodeTcpUdpInt(spec: IntStackSpec, opts: ShimOptions): Uint8Array {
  const md = encodeIntHeaderAndStack(spec);
  const w = new ByteWriter(md.bytes.length + 8);
  const v = spec.version;
  const dscp = checkUint('original DSCP', opts.originalDscp ?? 0, 63);
  if (isV2(v)) {
    const lenW = words(md.bytes.length, 'INT header + stack');
    w.u8((md.type << 4) | (opts.npt << 2));
    w.u8(lenW);
    if (opts.npt === 1) w.u16(checkUint('original port', opts.originalDstPort ?? 0, 0xffff));
    else if (opts.npt === 2)
      w.u8(0).u8(checkUint('original protocol', opts.originalProtocol ?? 0, 0xff));
    else w.u8(0).u8(dscp << 2);
    w.bytes(md.bytes);
  } else if (v === '1.0') {
    if (opts.npt !== 0)
      encodeError('INT v1.0 has no NPT: it is carried by DSCP or a probe marker only');
    const lenW = words(4 + md.bytes.length, 'INT v1.0 shim + header + stack');
    w.u8(1)
      .u8(0)
      .u8(lenW)
      .u8(dscp << 2);
    w.bytes(md.bytes);
  } else {
    const lenW = words(4 + md.bytes.length + 4, 'INT v0.5 shim + header + stack + tail');
    w.u8(1).u8(0).u8(lenW).u8(0);
    w.bytes(md.bytes);
    w.u8(checkUint('tail protocol', opts.tailProtocol ?? 0, 0xff));
    w.u16(checkUint('tail port', opts.tailDstPort ?? 0, 0xffff));
    w.u8(dscp);
  }
  return w.toBytes();
}

/** A Geneve option TLV carrying the INT header (class, type 1 MD / 3 MX, length in words). */
export function encodeGeneveIntOption(spec: IntStackSpec, optionClass = 0x0103): Uint8Array {
  if (spec.version === '0.5') encodeError('INT v0.5 has no Geneve encapsulation');
  const md = encodeIntHeaderAndStack(spec);
  const lenW = md.bytes.length / 4;
  if (lenW > 31) {
    encodeError(
      `Geneve option data is ${lenW} words; the 5-bit option length allows 31 (124 bytes)`,
    );
  }
  const w = new ByteWriter(md.bytes.length + 4);
  w.u16(checkUint('Geneve option class', optionClass, 0xffff));
  w.u8(md.type);
  w.u8(lenW);
  w.bytes(md.bytes);
  return w.toBytes();
}

/** VXLAN-GPE INT shim + header + stack; `shimNextProtocol` names what follows (3 Ethernet). */
export function encodeGpeInt(spec: IntStackSpec, shimNextProtocol = 3, g = false): Uint8Array {
  const md = encodeIntHeaderAndStack(spec);
  const w = new ByteWriter(md.bytes.length + 4);
  checkUint('GPE shim next protocol', shimNextProtocol, 0xff);
  if (isV2(spec.version)) {
    w.u8(md.type << 4)
      .u8(words(md.bytes.length, 'INT header + stack'))
      .u8(g ? 0x80 : 0)
      .u8(shimNextProtocol);
  } else {
    w.u8(1)
      .u8(0)
      .u8(words(4 + md.bytes.length, 'GPE shim + INT header + stack'))
      .u8(shimNextProtocol);
  }
  w.bytes(md.bytes);
  return w.toBytes();
}

/** GRE INT shim (Type | G | Length excl. shim | Next Protocol EtherType) + header + stack. */
export function encodeGreInt(spec: IntStackSpec, nextProtocol = 0x6558, g = true): Uint8Array {
  if (!isV2(spec.version))
    encodeError(`INT v${spec.version} has no GRE encapsulation (the GRE shim is v2.x)`);
  const md = encodeIntHeaderAndStack(spec);
  const w = new ByteWriter(md.bytes.length + 4);
  w.u8((md.type << 4) | (g ? 0x08 : 0));
  w.u8(words(md.bytes.length, 'INT header + stack'));
  w.u16(checkUint('GRE shim next protocol', nextProtocol, 0xffff));
  w.bytes(md.bytes);
  return w.toBytes();
}
