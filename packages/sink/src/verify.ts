/**
 * Device validation from captures, the way INT test equipment does it: packets with INT are fed
 * to a device under test and captured before and after it. Each before/after pair is checked
 * for what the device's role demands:
 *
 * - transit: exactly one hop block of Hop ML words pushed on top of the stack, the fields the
 *   bitmap requests present (and the expected switch id), Remaining Hop Count decremented,
 *   every length updated, E/M set when the hop limit / MTU forbade insertion, nothing else
 *   changed, payload unchanged;
 * - sink: no INT left, original port / protocol / DSCP / tunnel next protocol restored,
 *   lengths and checksums right, payload unchanged (compared with this package's own strip).
 *
 * Pairing is by inner flow and payload (after stripping INT from both sides), so it tolerates
 * reordering and packets missing on either side.
 *
 * Length: one checker per device role over the same before/after pair and the same span
 * helpers; the field layout comes from the codec's bit table.
 */
import {
  Decoder,
  decodeOne,
  bitCount,
  bitMask,
  fieldOf,
  INSTRUCTION_FIELDS,
  IntRecord,
  isIntHeaderLayer,
  isIntShimLayer,
  Layer,
  LayerSpan,
  makeConfig,
  maskOf,
  type CodecConfig,
  type DecodeOneResult,
  type InstructionField,
  type MetadataFormat,
  sizeOf,
} from '@hopwatch/codec';
import { openCapture } from '@hopwatch/pcap';
import {
  copyBytes,
  ipv4ChecksumOk,
  l4ChecksumOk,
  parseIpHeader,
  put16,
  u16,
  type IpHeader,
} from './packet';
import { stripPacket, type StripResult } from './strip';

export type Role = 'transit' | 'sink';

export interface Violation {
  kind: string;
  detail: string;
}

export interface CapturedPacket {
  /** 1-based frame number in its capture. */
  frame: number;
  data: Uint8Array;
  linkType: number;
  /** Length on the wire; more than data.length when the capture cut the packet (snaplen). */
  originalLength?: number;
}

export interface PacketVerdict {
  before: number | null;
  after: number | null;
  flow: string;
  /** How the pair was formed: same flow and payload, or same flow only (payload differs). */
  pairedBy: 'payload' | 'flow' | 'address' | null;
  status: 'ok' | 'violation' | 'skipped' | 'missing-after' | 'unexpected-after';
  violations: Violation[];
  warnings: Violation[];
}

export interface VerifySummary {
  role: Role;
  beforePackets: number;
  afterPackets: number;
  paired: number;
  /** Pairs formed by flow only (their payloads differ). */
  pairedByFlowOnly: number;
  /** Pairs checked (before packet carried INT). */
  checked: number;
  passed: number;
  failed: number;
  /** Before packets without INT: nothing to verify. */
  skipped: number;
  /** Before packets with no counterpart after the device (lost or filtered). */
  missingAfter: number;
  /** After packets with no counterpart before. */
  unexpectedAfter: number;
  violations: Record<string, number>;
  warnings: Record<string, number>;
  ok: boolean;
}

export interface VerifyResult {
  summary: VerifySummary;
  packets: PacketVerdict[];
}

export interface VerifyOptions {
  role: Role;
  /** Transit: the switch id the device must write (bitmap bit 0). */
  switchId?: number;
  config?: CodecConfig;
  /** Count unmatched packets (either side) as violations. */
  strict?: boolean;
}

// ------------------------------------------------------------------ pairing

interface Keyed {
  pkt: CapturedPacket;
  strip: StripResult;
  flow: string;
  addrs: string;
  id: string;
  payload: string;
  /** The inner 5-tuple as the decoder reads it from the INT packet ('' without INT). */
  recFlow: string;
}

function addrText(d: Uint8Array, ip: IpHeader, src: boolean): string {
  if (!ip.v6) {
    const o = ip.start + (src ? 12 : 16);
    return `${d[o]}.${d[o + 1]}.${d[o + 2]}.${d[o + 3]}`;
  }
  const o = ip.start + (src ? 8 : 24);
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(u16(d, o + i).toString(16));
  return `[${g.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}]`;
}

/** The innermost IP and TCP/UDP of a (stripped) packet: flow text, IPv4 id, payload. */
function innermost(
  d: Uint8Array,
  linkType: number,
  dec: Decoder,
): { flow: string; addrs: string; id: string; payload: string } {
  const spans = decodeOne(d, linkType, dec).layers;
  let ipSpan: LayerSpan | null = null;
  let l4: LayerSpan | null = null;
  for (const s of spans) {
    if (s.layer === Layer.IPV4 || s.layer === Layer.IPV6) {
      ipSpan = s;
      l4 = null;
    } else if (
      (s.layer === Layer.UDP || s.layer === Layer.TCP) &&
      ipSpan &&
      s.depth === ipSpan.depth &&
      !l4
    )
      l4 = s;
  }
  const ip = ipSpan ? parseIpHeader(d, ipSpan.start) : null;
  if (!ip)
    return { flow: 'non-IP', addrs: 'non-IP', id: '', payload: Buffer.from(d).toString('base64') };
  const end = Math.min(ip.lengthEnd, d.length);
  const proto = l4 ? (l4.layer === Layer.UDP ? 'udp' : 'tcp') : `proto ${ip.proto}`;
  const ports = l4 ? [u16(d, l4.start), u16(d, l4.start + 2)] : [0, 0];
  const flow = `${addrText(d, ip, true)}:${ports[0]} > ${addrText(d, ip, false)}:${ports[1]} ${proto}`;
  const id = ip.v6 ? '' : String(u16(d, ip.start + 4));
  const payloadStart = l4 ? l4.end : ip.headerEnd;
  return {
    flow,
    addrs: `${addrText(d, ip, true)} > ${addrText(d, ip, false)}`,
    id,
    payload: Buffer.from(d.subarray(Math.min(payloadStart, end), end)).toString('base64'),
  };
}

function keyed(pkts: CapturedPacket[], dec: Decoder): Keyed[] {
  return pkts.map((pkt) => {
    let strip = stripPacket(pkt.data, pkt.linkType, dec);
    if (strip.result === 'refused') {
      const forced = stripPacket(pkt.data, pkt.linkType, dec, { force: true, keepDiscard: true });
      if (forced.result === 'stripped') strip = forced;
    }
    let k = innermost(strip.packet, pkt.linkType, dec);
    if (strip.result !== 'stripped') {
      // a tunnel whose next protocol still announces INT (not restored): key by its inner packet
      const spans = decodeOne(strip.packet, pkt.linkType, dec).layers;
      const t = spans.find((x) => x.layer === Layer.VXLAN_GPE || x.layer === Layer.GRE);
      if (t && !spans.some((x) => x.depth > t.depth)) {
        const copy = copyBytes(strip.packet);
        if (t.layer === Layer.VXLAN_GPE) copy[t.start + 3] = 3;
        else put16(copy, t.start + 2, 0x6558);
        const k2 = innermost(copy, pkt.linkType, dec);
        if (k2.flow !== k.flow) k = k2;
      }
    }
    const rec = decodeOne(pkt.data, pkt.linkType, dec).records[0];
    const rf = rec && !rec.report && rec.flow ? rec.flow : null;
    const recFlow = rf
      ? `${rf.srcAddr}:${rf.srcPort} > ${rf.dstAddr}:${rf.dstPort} ${rf.protocol}`
      : '';
    return { pkt, strip, ...k, recFlow };
  });
}

type How = 'payload' | 'flow' | 'address';

/**
 * Pairs by (flow, IPv4 id, payload); leftovers by (flow, IPv4 id); then by (addresses, IPv4 id)
 * for IPv4 (a device that broke the ports or protocol); then by payload alone. Within a key,
 * in capture order.
 */
function pair(
  before: Keyed[],
  after: Keyed[],
): { pairs: [Keyed, Keyed, How][]; lostBefore: Keyed[]; extraAfter: Keyed[] } {
  const pairs: [Keyed, Keyed, How][] = [];
  const usedA = new Set<Keyed>();
  const usedB = new Set<Keyed>();
  for (const [keyOf, how] of [
    [(k: Keyed): string => `${k.flow}|${k.id}|${k.payload}`, 'payload'],
    [(k: Keyed): string => `${k.flow}|${k.id}`, 'flow'],
    [(k: Keyed): string => (k.recFlow ? `rec|${k.recFlow}` : ''), 'flow'],
    [(k: Keyed): string => (k.id ? `${k.addrs}|${k.id}` : ''), 'address'],
    [(k: Keyed): string => `payload|${k.payload}`, 'address'],
  ] as const) {
    const queue = new Map<string, Keyed[]>();
    for (const a of after) {
      if (usedA.has(a)) continue;
      const k = keyOf(a);
      if (k === '') continue;
      const q = queue.get(k);
      if (q) q.push(a);
      else queue.set(k, [a]);
    }
    for (const b of before) {
      if (usedB.has(b)) continue;
      const q = queue.get(keyOf(b));
      if (!q || q.length === 0) continue;
      const a = q.shift()!;
      usedA.add(a);
      usedB.add(b);
      pairs.push([b, a, how]);
    }
  }
  pairs.sort((x, y) => x[0].pkt.frame - y[0].pkt.frame);
  return {
    pairs,
    lostBefore: before.filter((b) => !usedB.has(b)),
    extraAfter: after.filter((a) => !usedA.has(a)),
  };
}

// ------------------------------------------------------------------ INT geometry

interface LengthField {
  name: string;
  at: number;
  /** 2 = 16-bit field; 1 = byte (masked). */
  size: 1 | 2;
  mask: number;
  /** Bytes per unit. */
  unit: number;
}

interface Geometry {
  version: string;
  depth: number;
  hdrStart: number;
  hdrEnd: number;
  stackEnd: number;
  shimStart: number;
  /** Shim / option header bytes (without the length field) that must not change. */
  shimFixed: number[];
  lengths: LengthField[];
  ipEnd: number;
  truncated: boolean;
}

function geometry(d: Uint8Array, spans: readonly LayerSpan[]): Geometry | null {
  const hi = spans.findIndex((s) => isIntHeaderLayer(s.layer));
  if (hi < 0) return null;
  const hdr = spans[hi];
  const depth = hdr.depth;
  const version =
    hdr.layer === Layer.INT_MD_HEADER_V1
      ? '1.0'
      : hdr.layer === Layer.INT_MD_HEADER_V05
        ? '0.5'
        : '2';
  const stack = spans.find((s) => s.layer === Layer.INT_STACK && s.depth === depth);
  const lengths: LengthField[] = [];
  let truncated = false;
  let outerEnd = d.length;
  let first = true;
  for (const s of spans.slice(0, hi)) {
    if (s.layer === Layer.IPV4 || s.layer === Layer.IPV6) {
      const ip = parseIpHeader(d, s.start);
      if (!ip) continue;
      if (ip.lengthEnd > d.length) truncated = true;
      if (first) outerEnd = ip.lengthEnd;
      first = false;
      lengths.push({
        name: `${s.layer} ${ip.v6 ? 'payload' : 'total'} length`,
        at: ip.start + (ip.v6 ? 4 : 2),
        size: 2,
        mask: 0xffff,
        unit: 1,
      });
    } else if (s.layer === Layer.UDP) {
      lengths.push({ name: 'UDP length', at: s.start + 4, size: 2, mask: 0xffff, unit: 1 });
    } else if (s.layer === Layer.GENEVE) {
      lengths.push({ name: 'Geneve OptLen', at: s.start, size: 1, mask: 0x3f, unit: 4 });
    }
  }
  let shimStart = hdr.start;
  let shimFixed: number[] = [];
  let shim: LayerSpan | null = null;
  for (const s of spans.slice(0, hi)) {
    if (s.depth !== depth) continue;
    if (
      (s.layer === Layer.GENEVE_OPTION && s.start + 4 === hdr.start) ||
      (isIntShimLayer(s.layer) && s.end <= hdr.start)
    )
      shim = s;
  }
  if (shim) {
    shimStart = shim.start;
    const o = shim.start;
    let lenAt: number;
    let mask = 0xff;
    if (shim.layer === Layer.INT_SHIM_V1 || shim.layer === Layer.INT_SHIM_GPE_V1) lenAt = o + 2;
    else if (shim.layer === Layer.GENEVE_OPTION) {
      lenAt = o + 3;
      mask = 0x1f;
    } else lenAt = o + 1;
    lengths.push({
      name: shim.layer === Layer.GENEVE_OPTION ? 'Geneve INT option length' : 'INT shim length',
      at: lenAt,
      size: 1,
      mask,
      unit: 4,
    });
    shimFixed = [o, o + 1, o + 2, o + 3].filter((x) => x !== lenAt);
  }
  return {
    version,
    depth,
    hdrStart: hdr.start,
    hdrEnd: hdr.end,
    stackEnd: stack ? stack.end : hdr.end,
    shimStart,
    shimFixed,
    lengths,
    ipEnd: outerEnd,
    truncated,
  };
}

function readField(d: Uint8Array, f: LengthField): number {
  return (f.size === 2 ? u16(d, f.at) : d[f.at]) & f.mask;
}

function firstIpStart(spans: readonly LayerSpan[]): number {
  const s = spans.find((x) => x.layer === Layer.IPV4 || x.layer === Layer.IPV6);
  return s ? s.start : 0;
}

/** Checksums of the IP headers and TCP/UDP headers enclosing `at` (or all, at = Infinity). */
function checksumProblems(d: Uint8Array, spans: readonly LayerSpan[], at = Infinity): string[] {
  const out: string[] = [];
  const ipAtDepth = new Map<number, IpHeader>();
  for (const s of spans) {
    if (s.start >= at) break;
    if (s.layer === Layer.IPV4 || s.layer === Layer.IPV6) {
      const ip = parseIpHeader(d, s.start);
      if (!ip) continue;
      ipAtDepth.set(s.depth, ip);
      if (!ipv4ChecksumOk(d, ip)) out.push(`IPv4 header checksum at byte ${ip.start}`);
    } else if (s.layer === Layer.UDP || s.layer === Layer.TCP) {
      const ip = ipAtDepth.get(s.depth);
      if (!ip || ip.lengthEnd > d.length) continue;
      if (s.layer === Layer.UDP && s.start + u16(d, s.start + 4) !== ip.lengthEnd) continue; // reported as a length problem
      if (l4ChecksumOk(d, ip, s.start, s.layer === Layer.UDP ? 17 : 6) === false)
        out.push(`${s.layer.toUpperCase()} checksum at byte ${s.start}`);
    }
  }
  return out;
}

/** Fields a transit device must fill in when the bitmap requests them (else: all-ones warning). */
const CHECKED_FIELDS: readonly InstructionField[] = [
  'switchId',
  'l1Ports',
  'hopLatency',
  'queue',
  'ingressTimestamp',
  'egressTimestamp',
  'txUtilization',
];

/** The hop format of an INT header version ('2' = v2.x). */
function formatOfHeader(version: IntRecord['intVersion']): MetadataFormat {
  return version === '0.5' ? 'v0.5' : version === '1.0' ? 'v1.0' : 'v2';
}

// ------------------------------------------------------------------ transit

function hdrBytesMasked(d: Uint8Array, g: Geometry): number[] {
  const h = g.hdrStart;
  if (g.version === '2') {
    // byte 0 without E/M; 1-2; 4-9 (bitmap, DS ID, DS instruction); byte 3 (RHC) and DS flags may change
    return [d[h] & ~0x06, d[h + 1], d[h + 2], ...d.subarray(h + 4, h + 10)];
  }
  if (g.version === '1.0')
    return [d[h] & ~0x01, d[h + 1] & ~0x80, d[h + 2], ...d.subarray(h + 4, h + 8)];
  return [d[h] & ~0x01, d[h + 1], d[h + 2], ...d.subarray(h + 4, h + 8)];
}

function flags(d: Uint8Array, g: Geometry): { e: boolean; m: boolean } {
  const h = g.hdrStart;
  if (g.version === '2') return { e: (d[h] & 0x04) !== 0, m: (d[h] & 0x02) !== 0 };
  if (g.version === '1.0') return { e: (d[h] & 0x01) !== 0, m: (d[h + 1] & 0x80) !== 0 };
  return { e: (d[h] & 0x01) !== 0, m: false };
}

function rhcOf(d: Uint8Array, g: Geometry): number {
  const h = g.hdrStart;
  if (g.version === '0.5') return Math.max(0, d[h + 2] - d[h + 3]);
  return d[h + 3];
}

function hopMlOf(d: Uint8Array, g: Geometry): number {
  return g.version === '0.5' ? d[g.hdrStart + 1] & 0x1f : d[g.hdrStart + 2] & 0x1f;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Checks one before/after pair for a transit device. */
export function verifyTransitPair(
  b: Uint8Array,
  a: Uint8Array,
  linkType: number,
  dec: Decoder,
  opts: { switchId?: number; truncated?: boolean } = {},
): { violations: Violation[]; warnings: Violation[]; skipped?: string } {
  const v: Violation[] = [];
  const w: Violation[] = [];
  const add = (kind: string, detail: string): void => void v.push({ kind, detail });
  const rb = decodeOne(b, linkType, dec);
  const gb = geometry(b, rb.layers);
  if (!gb || rb.records.length === 0)
    return { violations: v, warnings: w, skipped: 'before packet carries no INT' };
  const recB = rb.records[0];
  const ra: DecodeOneResult = decodeOne(a, linkType, dec);
  const ga = geometry(a, ra.layers);
  if (!ga) {
    add(
      'int-lost',
      `after the device the packet carries no INT header (${ra.rejection ? `${ra.rejection.rejected}: ${ra.rejection.detail}` : 'not found'})`,
    );
    return { violations: v, warnings: w };
  }
  const recA = ra.records[0] ?? null;
  if (!recA)
    add(
      'int-malformed',
      `the decoder rejects the packet after the device: ${ra.rejection!.rejected}: ${ra.rejection!.detail}`,
    );
  if (ga.version !== gb.version)
    add('header-changed', `INT version ${gb.version} became ${ga.version}`);
  if (recA && recA.encapsulation !== recB.encapsulation)
    add('header-changed', `encapsulation ${recB.encapsulation} became ${recA.encapsulation}`);
  const hb = hdrBytesMasked(b, gb);
  const ha = hdrBytesMasked(a, ga);
  if (hb.join() !== ha.join())
    add(
      'header-changed',
      `INT header fields a transit node must not modify changed (${hdrDiff(hb, ha, gb.version)})`,
    );
  const sfB = gb.shimFixed.map((o) => b[o]);
  const sfA = ga.shimFixed.map((o) => a[o]);
  if (sfB.join() !== sfA.join())
    add(
      'shim-changed',
      `shim/option fields other than the length changed: ${hex(sfB)} → ${hex(sfA)}`,
    );

  const hopMl = hopMlOf(b, gb);
  const mx = recB.mode === 'MX';
  const truncated = opts.truncated ?? false;
  const delta = truncated
    ? null
    : a.length - firstIpStart(ra.layers) - (b.length - firstIpStart(rb.layers));
  if (truncated)
    w.push({
      kind: 'truncated',
      detail: 'capture truncated: length, checksum and payload checks skipped',
    });
  const rhcB = rhcOf(b, gb);
  const rhcA = rhcOf(a, ga);
  const fb = flags(b, gb);
  const fa = flags(a, ga);
  const stackB = b.subarray(gb.hdrEnd, gb.stackEnd);
  let inserted = delta !== null ? delta > 0 : ga.stackEnd - ga.hdrEnd > stackB.length;
  if (mx) {
    if (delta !== null && delta !== 0)
      add(
        'hop-block-size',
        `INT-MX: a transit node adds no metadata, but the packet grew by ${delta} bytes`,
      );
    inserted = false;
  } else if (rhcB === 0) {
    if (inserted)
      add(
        'hop-limit-ignored',
        `Remaining Hop Count was 0, yet ${delta ?? '?'} bytes were inserted`,
      );
    if (!fa.e) add('e-flag', 'Remaining Hop Count was 0: the node must set E (hop limit exceeded)');
    if (rhcA !== 0)
      add('remaining-hop-count', `Remaining Hop Count was 0, is ${rhcA} after the device`);
  } else if (!inserted) {
    if (fa.m && !fb.m) {
      w.push({ kind: 'mtu-skip', detail: 'no metadata inserted, M set (MTU exceeded)' });
    } else if (!fa.m) {
      add(
        'no-hop-added',
        `no metadata inserted although Remaining Hop Count is ${rhcB} and M is not set`,
      );
    }
    if (rhcA !== rhcB)
      add(
        'remaining-hop-count',
        `no metadata inserted, but Remaining Hop Count changed ${rhcB} → ${rhcA}`,
      );
  } else {
    const added = delta ?? ga.stackEnd - ga.hdrEnd - stackB.length;
    if (added !== hopMl * 4)
      add('hop-block-size', `inserted ${added} bytes, Hop ML ${hopMl} demands ${hopMl * 4}`);
    if (rhcA !== rhcB - 1)
      add(
        'remaining-hop-count',
        rhcA === rhcB
          ? `Remaining Hop Count not decremented (stale ${rhcA})`
          : `Remaining Hop Count ${rhcB} → ${rhcA}, expected ${rhcB - 1}`,
      );
    if (fa.e && !fb.e) add('e-flag', 'E set although the node inserted its metadata');
    if (fa.m && !fb.m) add('m-flag', 'M set although the node inserted its metadata');
    if (added === hopMl * 4) {
      const below = a.subarray(ga.hdrEnd + added, ga.hdrEnd + added + stackB.length);
      if (!sameBytes(below, stackB)) {
        const atBottom = a.subarray(ga.hdrEnd, ga.hdrEnd + stackB.length);
        if (stackB.length > 0 && sameBytes(atBottom, stackB))
          add(
            'hop-position',
            'the new hop block was appended below the stack; the spec pushes it on top (right after the INT header)',
          );
        else add('stack-modified', 'metadata of earlier hops changed');
      }
    }
    if (recA && recA.hops.length !== recB.hops.length + 1)
      add(
        'hop-count',
        `${recB.hops.length} hop(s) before, ${recA.hops.length} after (expected ${recB.hops.length + 1})`,
      );
    if (recA && recA.hops.length > 0 && added === hopMl * 4) {
      const top = recA.hops[recA.hops.length - 1];
      const fmt = formatOfHeader(recB.intVersion);
      const deviations = dec.config.deviations;
      // Hop ML governs (bmv2-style full bitmaps): fields past Hop ML words were never written
      let at = 0;
      const beyond: string[] = [];
      for (let bit = 0; bit < bitCount(fmt); bit++) {
        const field = fieldOf(fmt, bit);
        if (!(recB.instructionBitmap & bitMask(fmt, bit))) continue;
        at += sizeOf(fmt, bit, deviations);
        if (at > hopMl * 4) {
          if (field !== 'reserved') beyond.push(INSTRUCTION_FIELDS[field].name);
          continue;
        }
        if (!CHECKED_FIELDS.includes(field)) continue;
        const f = INSTRUCTION_FIELDS[field];
        if (f.hop !== null && top[f.hop] === null)
          w.push({
            kind: 'field-unavailable',
            detail: `${f.name} requested but reported as not available (all ones)`,
          });
      }
      if (beyond.length > 0)
        w.push({
          kind: 'hop-ml-below-bitmap',
          detail: `Hop ML ${hopMl} words: the bitmap also requests ${beyond.join(', ')}, which no hop inserts`,
        });
      if (opts.switchId !== undefined) {
        if (!(recB.instructionBitmap & maskOf(fmt, ['switchId'])))
          w.push({
            kind: 'switch-id',
            detail: 'the bitmap does not request the node id: cannot check --switch-id',
          });
        else if (top.switchId !== opts.switchId)
          add(
            'switch-id',
            `new hop reports switch id ${top.switchId ?? 'n/a'}, expected ${opts.switchId}`,
          );
      }
    }
  }
  if (delta !== null) {
    const expectBytes = inserted && !mx ? delta : 0;
    for (let i = 0; i < Math.min(ga.lengths.length, gb.lengths.length); i++) {
      const lb = gb.lengths[i];
      const la = ga.lengths[i];
      const got = (readField(a, la) - readField(b, lb)) * lb.unit;
      if (got !== expectBytes)
        add('length-update', `${lb.name} changed by ${got} bytes, the packet by ${expectBytes}`);
    }
    if (gb.version === '0.5' && inserted) {
      const tb = b[gb.hdrStart + 3];
      const ta = a[ga.hdrStart + 3];
      if (ta !== tb + 1)
        add('length-update', `v0.5 Total Hop Count ${tb} → ${ta}, expected ${tb + 1}`);
    }
    for (const c of checksumProblems(a, ra.layers, ga.hdrStart))
      add('checksum', `${c} is wrong after the device`);
  }
  for (const f of recA?.findings ?? []) {
    if (
      [
        'ip-length-mismatch',
        'udp-length-mismatch',
        'shim-length-mismatch',
        'geneve-length-mismatch',
      ].includes(f.kind) &&
      !v.some((x) => x.kind === 'length-update')
    ) {
      add('length-update', f.detail);
    }
  }
  return { violations: v, warnings: w };
}

function hex(x: number[]): string {
  return x.map((n) => n.toString(16).padStart(2, '0')).join('');
}

function hdrDiff(b: number[], a: number[], version: string): string {
  const names =
    version === '2'
      ? [
          'Ver/D',
          'reserved',
          'Hop ML',
          'bitmap',
          'bitmap',
          'DS ID',
          'DS ID',
          'DS instruction',
          'DS instruction',
        ]
      : version === '1.0'
        ? ['Ver/Rep/C', 'reserved', 'Hop ML', 'bitmap', 'bitmap', 'reserved', 'reserved']
        : ['Ver/Rep/C', 'InsCnt', 'MaxHopCnt', 'bitmap', 'bitmap', 'reserved', 'reserved'];
  const out = new Set<string>();
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    if (a[i] !== b[i]) out.add(names[i] ?? `byte ${i}`);
  return [...out].join(', ');
}

// ------------------------------------------------------------------ sink

/** What the bytes at `off` of a plain packet are, from its spans. */
function fieldName(d: Uint8Array, spans: readonly LayerSpan[], off: number): string {
  let name = 'payload';
  for (const s of spans) {
    if (off < s.start) break;
    if (s.layer === Layer.IPV4 || s.layer === Layer.IPV6) {
      const ip = parseIpHeader(d, s.start);
      if (!ip || off >= ip.headerEnd) continue;
      const r = off - ip.start;
      if (!ip.v6)
        name =
          r === 1
            ? 'dscp'
            : r === 2 || r === 3
              ? 'ip-length'
              : r === 9
                ? 'protocol'
                : r === 10 || r === 11
                  ? 'checksum'
                  : 'ip-header';
      else
        name =
          r === 0 || r === 1
            ? 'dscp'
            : r === 4 || r === 5
              ? 'ip-length'
              : off === ip.protoByte
                ? 'protocol'
                : 'ip-header';
      return name;
    }
    if (off < s.end) {
      const r = off - s.start;
      if (s.layer === Layer.UDP)
        return r < 2 ? 'src-port' : r < 4 ? 'port' : r < 6 ? 'udp-length' : 'checksum';
      if (s.layer === Layer.TCP)
        return r < 2
          ? 'src-port'
          : r < 4
            ? 'port'
            : r === 16 || r === 17
              ? 'checksum'
              : 'tcp-header';
      if (s.layer === Layer.VXLAN_GPE) return r === 3 ? 'next-protocol' : 'tunnel-header';
      if (s.layer === Layer.GRE) return r === 2 || r === 3 ? 'next-protocol' : 'tunnel-header';
      if (s.layer === Layer.GENEVE) return r === 0 ? 'geneve-length' : 'tunnel-header';
      return s.layer;
    }
  }
  return name;
}

const SINK_KIND: Record<string, string> = {
  dscp: 'dscp-not-restored',
  protocol: 'protocol-not-restored',
  port: 'port-not-restored',
  'next-protocol': 'next-protocol-not-restored',
  'ip-length': 'length',
  'udp-length': 'length',
  'geneve-length': 'length',
  checksum: 'checksum',
  payload: 'payload-changed',
};

/** Checks one before/after pair for a sink device (after must be the original packet). */
export function verifySinkPair(
  b: Uint8Array,
  a: Uint8Array,
  linkType: number,
  dec: Decoder,
  opts: { truncated?: boolean } = {},
): { violations: Violation[]; warnings: Violation[]; skipped?: string } {
  const v: Violation[] = [];
  const w: Violation[] = [];
  const add = (kind: string, detail: string): void => {
    if (!v.some((x) => x.kind === kind)) v.push({ kind, detail });
  };
  const rb = decodeOne(b, linkType, dec);
  if (rb.records.length === 0 || !rb.records[0].header)
    return { violations: v, warnings: w, skipped: 'before packet carries no INT' };
  const expected = stripPacket(b, linkType, dec);
  if (expected.result !== 'stripped')
    return {
      violations: v,
      warnings: [
        { kind: 'no-reference', detail: `cannot compute the expected packet: ${expected.reason}` },
      ],
      skipped: 'no reference',
    };
  const ra = decodeOne(a, linkType, dec);
  const re = decodeOne(expected.packet, linkType, dec);
  const eIp = firstIpStart(re.layers);
  const aIp = firstIpStart(ra.layers);
  const ipE = parseIpHeader(expected.packet, eIp);
  const ipA = parseIpHeader(a, aIp);
  if (!ipE || !ipA) {
    add('packet-differs', 'no IP header after the device');
    return { violations: v, warnings: w };
  }
  if (opts.truncated) {
    w.push({ kind: 'truncated', detail: 'capture truncated after the device: checks skipped' });
    return { violations: v, warnings: w };
  }
  const E = normalise(expected.packet, re.layers, eIp);
  const A = normalise(a, ra.layers, aIp);
  const removed = b.subarray(expected.cut!.from, expected.cut!.to);
  if (ipA.lengthEnd > a.length)
    add('length', `IP length says ${ipA.lengthEnd - aIp} bytes, ${a.length - aIp} were sent`);
  if (A.length > E.length) {
    // the extra bytes sit just before the longest common suffix (the payload)
    let sfx = 0;
    while (sfx < E.length && A[A.length - 1 - sfx] === E[E.length - 1 - sfx]) sfx++;
    const n = A.length - E.length;
    const i = A.length - sfx - n;
    const extra = A.subarray(i, i + n);
    if (containsBytes(removed, extra) || ra.records.some((r) => r.header)) {
      add(
        'int-not-removed',
        `${A.length - E.length} bytes of INT left at byte ${i + aIp} (${A.length - E.length === removed.length ? 'all of it' : `of ${removed.length}`})`,
      );
    } else add('length', `the packet is ${A.length - E.length} bytes longer than the original`);
  } else if (A.length < E.length) {
    add(
      'length',
      `the packet is ${E.length - A.length} bytes shorter than the original (payload or headers cut)`,
    );
  } else {
    for (let i = 0; i < E.length; i++) {
      if (A[i] === E[i]) continue;
      const f = fieldName(expected.packet, re.layers, i + eIp);
      const kind = SINK_KIND[f] ?? 'packet-differs';
      if (kind === 'checksum') continue; // a checksum differing from the original's is checked for validity below
      const detail = `${f} differs at byte ${i + aIp}: 0x${A[i].toString(16).padStart(2, '0')}, original 0x${E[i].toString(16).padStart(2, '0')}`;
      add(
        kind,
        kind === 'dscp-not-restored'
          ? (describeDscp(a, ra.layers, expected.packet, re.layers, i + eIp) ?? detail)
          : detail,
      );
    }
  }
  // independent consistency checks of what left the device
  for (const s of ra.layers) {
    if (s.layer === Layer.IPV4 || s.layer === Layer.IPV6) {
      const ip = parseIpHeader(a, s.start);
      if (
        ip &&
        s.depth === 0 &&
        ip.lengthEnd !== a.length &&
        a.length - ip.lengthEnd > 4 &&
        a.length > 64
      )
        add('length', `IP length ends at ${ip.lengthEnd}, packet at ${a.length}`);
    }
    if (s.layer === Layer.UDP) {
      const ip = parseIpHeader(a, lastIpBefore(ra.layers, s));
      if (ip && s.start + u16(a, s.start + 4) !== ip.lengthEnd)
        add('length', `UDP length ${u16(a, s.start + 4)} vs IP payload ${ip.lengthEnd - s.start}`);
    }
  }
  for (const c of checksumProblems(a, ra.layers)) add('checksum', `${c} is wrong after the device`);
  return { violations: v, warnings: w };
}

function describeDscp(
  a: Uint8Array,
  aSpans: readonly LayerSpan[],
  e: Uint8Array,
  eSpans: readonly LayerSpan[],
  off: number,
): string | null {
  const es = [...eSpans]
    .reverse()
    .find((s) => (s.layer === Layer.IPV4 || s.layer === Layer.IPV6) && s.start <= off);
  if (!es) return null;
  const ipE = parseIpHeader(e, es.start);
  const shift = firstIpStart(aSpans) - firstIpStart(eSpans);
  const ipA = parseIpHeader(a, es.start + shift);
  if (!ipE || !ipA) return null;
  return `DSCP 0x${ipA.dscp.toString(16)} after the sink, original 0x${ipE.dscp.toString(16)}`;
}

function lastIpBefore(spans: readonly LayerSpan[], s: LayerSpan): number {
  let r = 0;
  for (const x of spans) {
    if (x === s) break;
    if ((x.layer === Layer.IPV4 || x.layer === Layer.IPV6) && x.depth === s.depth) r = x.start;
  }
  return r;
}

/** The IP packet with TTL / hop limit and IPv4 header checksums zeroed (a sink routes). */
function normalise(d: Uint8Array, spans: readonly LayerSpan[], ipStart: number): Uint8Array {
  const ip0 = parseIpHeader(d, ipStart);
  const end = ip0 ? Math.min(d.length, Math.max(ip0.lengthEnd, ipStart)) : d.length;
  const out = copyBytes(d, ipStart, end);
  const first = spans.find(
    (s) => s.start === ipStart && (s.layer === Layer.IPV4 || s.layer === Layer.IPV6),
  );
  if (first) {
    const ip = parseIpHeader(d, ipStart)!;
    out[ip.ttlByte - ipStart] = 0;
    if (!ip.v6) out[10] = out[11] = 0;
  }
  return out;
}

function containsBytes(hay: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0 || needle.length > hay.length) return false;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

// ------------------------------------------------------------------ drivers

function cut(p: CapturedPacket): boolean {
  return (p.originalLength ?? p.data.length) > p.data.length;
}

/** Verifies a device from the packets captured before and after it. */
export function verifyPackets(
  before: CapturedPacket[],
  after: CapturedPacket[],
  opts: VerifyOptions,
): VerifyResult {
  const dec = new Decoder(opts.config ?? makeConfig());
  const kb = keyed(before, dec);
  const ka = keyed(after, dec);
  const { pairs, lostBefore, extraAfter } = pair(kb, ka);
  const sum: VerifySummary = {
    role: opts.role,
    beforePackets: before.length,
    afterPackets: after.length,
    paired: pairs.length,
    pairedByFlowOnly: 0,
    checked: 0,
    passed: 0,
    failed: 0,
    skipped: 0,
    missingAfter: 0,
    unexpectedAfter: 0,
    violations: {},
    warnings: {},
    ok: true,
  };
  const packets: PacketVerdict[] = [];
  for (const [b, a, how] of pairs) {
    const r =
      opts.role === 'transit'
        ? verifyTransitPair(b.pkt.data, a.pkt.data, b.pkt.linkType, dec, {
            switchId: opts.switchId,
            truncated: cut(b.pkt) || cut(a.pkt),
          })
        : verifySinkPair(b.pkt.data, a.pkt.data, b.pkt.linkType, dec, {
            truncated: cut(b.pkt) || cut(a.pkt),
          });
    if (how !== 'payload') sum.pairedByFlowOnly++;
    // the payloads differ: when nothing else is wrong, the device changed the payload
    // (otherwise the difference follows from the lengths / headers already reported)
    if (b.payload !== a.payload && r.violations.length === 0 && !r.skipped) {
      r.violations.push({ kind: 'payload-changed', detail: 'same flow, different payload' });
    }
    let status: PacketVerdict['status'];
    if (r.skipped && r.violations.length === 0) {
      status = 'skipped';
      sum.skipped++;
      r.warnings.push({ kind: 'skipped', detail: r.skipped });
    } else {
      sum.checked++;
      status = r.violations.length ? 'violation' : 'ok';
      if (r.violations.length) sum.failed++;
      else sum.passed++;
    }
    packets.push({
      before: b.pkt.frame,
      after: a.pkt.frame,
      flow: b.flow,
      pairedBy: how,
      status,
      violations: r.violations,
      warnings: r.warnings,
    });
  }
  for (const b of lostBefore) {
    sum.missingAfter++;
    const vs = opts.strict
      ? [{ kind: 'missing-after', detail: 'no matching packet after the device' }]
      : [];
    packets.push({
      before: b.pkt.frame,
      after: null,
      flow: b.flow,
      pairedBy: null,
      status: 'missing-after',
      violations: vs,
      warnings: [],
    });
  }
  for (const a of extraAfter) {
    sum.unexpectedAfter++;
    const vs = opts.strict
      ? [{ kind: 'unexpected-after', detail: 'no matching packet before the device' }]
      : [];
    packets.push({
      before: null,
      after: a.pkt.frame,
      flow: a.flow,
      pairedBy: null,
      status: 'unexpected-after',
      violations: vs,
      warnings: [],
    });
  }
  packets.sort(
    (x, y) => (x.before ?? Infinity) - (y.before ?? Infinity) || (x.after ?? 0) - (y.after ?? 0),
  );
  for (const p of packets) {
    for (const x of p.violations) sum.violations[x.kind] = (sum.violations[x.kind] ?? 0) + 1;
    for (const x of p.warnings) sum.warnings[x.kind] = (sum.warnings[x.kind] ?? 0) + 1;
  }
  sum.ok = Object.keys(sum.violations).length === 0;
  return { summary: sum, packets };
}

/** Reads a whole capture into memory (packet bytes copied). */
export function readPackets(file: string): CapturedPacket[] {
  const r = openCapture(file);
  const out: CapturedPacket[] = [];
  try {
    for (let p = r.next(); p; p = r.next())
      out.push({
        frame: p.index,
        data: copyBytes(p.data),
        linkType: p.linkType,
        originalLength: p.originalLength,
      });
    if (r.error && !r.truncated) throw r.error;
  } finally {
    r.close();
  }
  return out;
}

export function verifyCaptures(
  beforeFile: string,
  afterFile: string,
  opts: VerifyOptions,
): VerifyResult {
  return verifyPackets(readPackets(beforeFile), readPackets(afterFile), opts);
}
