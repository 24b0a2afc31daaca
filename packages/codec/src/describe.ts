/**
 * Field-by-field descriptions of the layers the decoder recognised, for `hopwatch dissect`
 * (what `tshark -V` would print if Wireshark had an INT dissector). Reads bytes at the spans
 * the decoder recorded; INT hop values come from the decoded record.
 */
import type { LayerSpan } from './decoder';
import { bitLabel, bitMask, MetadataFormat } from './int/bits';
import { Layer } from './layers/names';
import type { Hop, IntRecord } from './model';

export interface LayerDescription {
  title: string;
  depth: number;
  fields: [string, string][];
}

const hex = (v: number, digits: number): string => `0x${v.toString(16).padStart(digits, '0')}`;
const u16 = (d: Uint8Array, o: number): number => (d[o] << 8) | d[o + 1];
const u32 = (d: Uint8Array, o: number): number =>
  ((d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;
const mac = (d: Uint8Array, o: number): string =>
  Array.from(d.subarray(o, o + 6), (b) => b.toString(16).padStart(2, '0')).join(':');
const ip4 = (d: Uint8Array, o: number): string => `${d[o]}.${d[o + 1]}.${d[o + 2]}.${d[o + 3]}`;
function ip6(d: Uint8Array, o: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(u16(d, o + 2 * i).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}
const flag = (b: boolean): string => (b ? 'set' : 'not set');

/**
 * The bitmap with the names of its set bits, read as `version`'s hop format ('0.5', '1.0',
 * else v2.x; names from int/bits.ts).
 */
export function bitmapNames(bitmap: number, version: string | null): string {
  const fmt: MetadataFormat = version === '0.5' ? 'v0.5' : version === '1.0' ? 'v1.0' : 'v2';
  const set: string[] = [];
  for (let i = 0; i < 16; i++) if (bitmap & bitMask(fmt, i)) set.push(`${i} ${bitLabel(fmt, i)}`);
  return `${hex(bitmap, 4)}${set.length ? ` (${set.join(', ')})` : ''}`;
}

function hopFields(h: Hop, label: string): [string, string][] {
  const parts: string[] = [];
  const add = (name: string, v: unknown): void => {
    if (v !== null && v !== undefined) parts.push(`${name} ${String(v)}`);
  };
  add('switch', h.switchId);
  if (h.ingressPort !== null) parts.push(`ports ${h.ingressPort}→${h.egressPort}`);
  add('latency', h.hopLatency);
  if (h.queueId !== null)
    parts.push(`queue ${h.queueId}${h.queueOccupancy !== null ? ` occ ${h.queueOccupancy}` : ''}`);
  add('ingress-ts', h.ingressTimestamp);
  add('egress-ts', h.egressTimestamp);
  if (h.l2IngressPort !== null) parts.push(`L2 ports ${h.l2IngressPort}→${h.l2EgressPort}`);
  add('tx-util', h.txUtilization);
  if (h.bufferId !== null) parts.push(`buffer ${h.bufferId} occ ${h.bufferOccupancy}`);
  add('queue-congestion', h.queueCongestion);
  add('checksum-complement', h.checksumComplement === null ? null : hex(h.checksumComplement, 8));
  if (h.dsMetadata.length) parts.push(`ds [${h.dsMetadata.map((w) => hex(w, 8)).join(' ')}]`);
  return [[label, parts.join(', ') || '(no fields available)']];
}

function reportHop(record: IntRecord | null, f: [string, string][]): void {
  if (record)
    for (const h of record.hops)
      if (h.origin === 'report') f.push(...hopFields(h, 'Reporting node'));
}

/** Describes one span. `record` is the record the span belongs to (if any). */
export function describeLayer(
  d: Uint8Array,
  s: LayerSpan,
  record: IntRecord | null,
): LayerDescription {
  const o = s.start;
  const f: [string, string][] = [];
  let title: string = s.layer;
  const at = (n: number): boolean => o + n <= d.length;
  switch (s.layer) {
    case Layer.ETHERNET: {
      title = 'Ethernet II';
      if (!at(14)) break;
      f.push(['Destination', mac(d, o)], ['Source', mac(d, o + 6)]);
      for (let p = o + 12; p + 2 <= s.end; p += 4) {
        const t = u16(d, p);
        if (p + 2 === s.end) f.push(['Type', hex(t, 4)]);
        else
          f.push([
            '802.1Q/ad tag',
            `TPID ${hex(t, 4)}, PCP ${d[p + 2] >> 5}, VID ${u16(d, p + 2) & 0xfff}`,
          ]);
      }
      break;
    }
    case Layer.IPV4:
      title = 'Internet Protocol Version 4';
      if (!at(20)) break;
      f.push(
        ['Header length', `${(d[o] & 15) * 4} bytes`],
        ['DSCP', `${hex(d[o + 1] >> 2, 2)} (${d[o + 1] >> 2})`],
        ['ECN', String(d[o + 1] & 3)],
        ['Total length', String(u16(d, o + 2))],
        ['Identification', hex(u16(d, o + 4), 4)],
        [
          'Flags',
          `${hex(d[o + 6] >> 5, 1)}${d[o + 6] & 0x40 ? " (Don't fragment)" : ''}${d[o + 6] & 0x20 ? ' (More fragments)' : ''}`,
        ],
        ['Fragment offset', String(u16(d, o + 6) & 0x1fff)],
        ['Time to live', String(d[o + 8])],
        ['Protocol', String(d[o + 9])],
        ['Header checksum', hex(u16(d, o + 10), 4)],
        ['Source', ip4(d, o + 12)],
        ['Destination', ip4(d, o + 16)],
      );
      break;
    case Layer.IPV6:
      title = 'Internet Protocol Version 6';
      if (!at(40)) break;
      f.push(
        ['DSCP', String(((d[o] & 15) << 2) | (d[o + 1] >> 6))],
        ['Flow label', hex(u32(d, o) & 0xfffff, 5)],
        ['Payload length', String(u16(d, o + 4))],
        ['Next header', String(d[o + 6])],
        ['Hop limit', String(d[o + 7])],
        ['Source', ip6(d, o + 8)],
        ['Destination', ip6(d, o + 24)],
      );
      if (s.end > o + 40) f.push(['Extension headers', `${s.end - o - 40} bytes`]);
      break;
    case Layer.UDP:
      title = 'User Datagram Protocol';
      f.push(
        ['Source port', String(u16(d, o))],
        ['Destination port', String(u16(d, o + 2))],
        ['Length', String(u16(d, o + 4))],
        ['Checksum', hex(u16(d, o + 6), 4)],
      );
      break;
    case Layer.TCP: {
      title = 'Transmission Control Protocol';
      const fl = d[o + 13];
      const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'].filter(
        (_, i) => fl & (1 << i),
      );
      f.push(
        ['Source port', String(u16(d, o))],
        ['Destination port', String(u16(d, o + 2))],
        ['Sequence number', String(u32(d, o + 4))],
        ['Acknowledgment number', String(u32(d, o + 8))],
        ['Header length', `${(d[o + 12] >> 4) * 4} bytes`],
        ['Flags', `${hex(fl, 2)} (${names.join(', ')})`],
        ['Window', String(u16(d, o + 14))],
        ['Checksum', hex(u16(d, o + 16), 4)],
      );
      break;
    }
    case Layer.PROBE_MARKER:
      title = 'INT probe marker';
      f.push([
        'Marker',
        `${hex(u32(d, o), 8)}${u32(d, o + 4)
          .toString(16)
          .padStart(8, '0')}`,
      ]);
      break;
    case Layer.GENEVE:
      title = 'Generic Network Virtualization Encapsulation (Geneve)';
      f.push(
        ['Version', String(d[o] >> 6)],
        ['Options length', `${(d[o] & 0x3f) * 4} bytes`],
        ['OAM / Critical', `${flag((d[o + 1] & 0x80) !== 0)} / ${flag((d[o + 1] & 0x40) !== 0)}`],
        ['Protocol type', hex(u16(d, o + 2), 4)],
        ['VNI', hex(u32(d, o + 4) >>> 8, 6)],
      );
      break;
    case Layer.GENEVE_OPTION:
      title = 'Geneve option';
      f.push(
        [
          'Class',
          `${hex(u16(d, o), 4)}${u16(d, o) === 0x0103 ? ' (In-band Network Telemetry)' : ''}`,
        ],
        ['Type', `${d[o + 2] & 0x7f}${d[o + 2] & 0x80 ? ' (critical)' : ' (non-critical)'}`],
        ['Length', `${(d[o + 3] & 0x1f) * 4} bytes`],
      );
      break;
    case Layer.VXLAN_GPE:
      title = 'VXLAN Generic Protocol Extension';
      f.push(
        ['Flags', hex(d[o], 2)],
        ['Version', String((d[o] >> 4) & 3)],
        ['Next protocol', hex(d[o + 3], 2)],
        ['VNI', hex(u32(d, o + 4) >>> 8, 6)],
      );
      break;
    case Layer.GRE: {
      title = 'Generic Routing Encapsulation';
      const fl = d[o];
      f.push(
        [
          'Flags',
          `C ${flag((fl & 0x80) !== 0)}, K ${flag((fl & 0x20) !== 0)}, S ${flag((fl & 0x10) !== 0)}`,
        ],
        ['Version', String(d[o + 1] & 7)],
        ['Protocol type', hex(u16(d, o + 2), 4)],
      );
      break;
    }
    case Layer.INT_SHIM_V2: {
      title = 'INT shim (v2.x, TCP/UDP)';
      const npt = (d[o] >> 2) & 3;
      f.push(
        ['Type', `${d[o] >> 4} (${d[o] >> 4 === 3 ? 'INT-MX' : 'INT-MD'})`],
        ['NPT', String(npt)],
        ['Length', `${d[o + 1]} words (excl. shim)`],
      );
      if (npt === 1) f.push(['Original UDP destination port', String(u16(d, o + 2))]);
      else if (npt === 2) f.push(['Original IP protocol', String(d[o + 3])]);
      else f.push(['Original DSCP', String(d[o + 3] >> 2)]);
      break;
    }
    case Layer.INT_SHIM_V1:
      title = 'INT shim (v0.5/v1.0, TCP/UDP)';
      f.push(
        ['Type', String(d[o])],
        ['Length', `${d[o + 2]} words (incl. shim)`],
        ['Byte 3 (DSCP / reserved)', hex(d[o + 3], 2)],
      );
      break;
    case Layer.INT_SHIM_GPE_V2:
      title = 'INT shim (v2.x, VXLAN-GPE)';
      f.push(
        ['Type', String(d[o] >> 4)],
        ['Length', `${d[o + 1]} words (excl. shim)`],
        ['G', flag((d[o + 2] & 0x80) !== 0)],
        ['Next protocol', hex(d[o + 3], 2)],
      );
      break;
    case Layer.INT_SHIM_GPE_V1:
      title = 'INT shim (v0.5/v1.0, VXLAN-GPE)';
      f.push(
        ['Type', String(d[o])],
        ['Length', `${d[o + 2]} words (incl. shim)`],
        ['Next protocol', hex(d[o + 3], 2)],
      );
      break;
    case Layer.INT_SHIM_GRE:
      title = 'INT shim (GRE)';
      f.push(
        ['Type', String(d[o] >> 4)],
        ['G', flag((d[o] & 8) !== 0)],
        ['Length', `${d[o + 1]} words`],
        ['Next protocol', hex(u16(d, o + 2), 4)],
      );
      break;
    case Layer.INT_MD_HEADER:
    case Layer.INT_MX_HEADER: {
      const mx = s.layer === Layer.INT_MX_HEADER;
      title = mx ? 'INT-MX header (v2.x)' : 'INT-MD metadata header (v2.x)';
      f.push(
        ['Version', String(d[o] >> 4)],
        ['D (discard)', flag((d[o] & 8) !== 0)],
        ['E (max hop count exceeded)', flag((d[o] & 4) !== 0)],
        ['M (MTU exceeded)', flag((d[o] & 2) !== 0)],
        ['Hop ML', `${d[o + 2] & 0x1f} words`],
      );
      if (!mx) f.push(['Remaining hop count', String(d[o + 3])]);
      f.push(
        ['Instruction bitmap', bitmapNames(u16(d, o + 4), '2')],
        ['Domain specific ID', hex(u16(d, o + 6), 4)],
        ['DS instruction', hex(u16(d, o + 8), 4)],
        ['DS flags', hex(u16(d, o + 10), 4)],
      );
      break;
    }
    case Layer.INT_MD_HEADER_V1:
      title = 'INT metadata header (v1.0)';
      f.push(
        ['Version', String(d[o] >> 4)],
        ['Rep', String((d[o] >> 2) & 3)],
        ['C', flag((d[o] & 2) !== 0)],
        ['E', flag((d[o] & 1) !== 0)],
        ['M', flag((d[o + 1] & 0x80) !== 0)],
        ['Hop ML', `${d[o + 2] & 0x1f} words`],
        ['Remaining hop count', String(d[o + 3])],
        ['Instruction bitmap', bitmapNames(u16(d, o + 4), '1.0')],
      );
      break;
    case Layer.INT_MD_HEADER_V05:
      title = 'INT header (v0.5)';
      f.push(
        ['Version', String(d[o] >> 4)],
        ['Rep', String((d[o] >> 2) & 3)],
        ['C', flag((d[o] & 2) !== 0)],
        ['E', flag((d[o] & 1) !== 0)],
        ['Instruction count', String(d[o + 1] & 0x1f)],
        ['Max hop count', String(d[o + 2])],
        ['Total hop count', String(d[o + 3])],
        ['Instruction bitmap', bitmapNames(u16(d, o + 4), '0.5')],
      );
      break;
    case Layer.INT_STACK:
      title = `INT metadata stack (${s.end - s.start} bytes)`;
      if (record) {
        for (const h of record.hops)
          if (h.origin === 'stack') f.push(...hopFields(h, `Hop ${h.index}`));
        if (record.header && record.header.sourceOnlyBytes)
          f.push(['Source-only DS metadata', `${record.header.sourceOnlyBytes} bytes`]);
      }
      break;
    case Layer.INT_TAIL:
      title = 'INT tail (v0.5)';
      f.push(
        ['Next protocol', String(d[o])],
        ['Destination port', String(u16(d, o + 1))],
        ['DSCP', String(d[o + 3])],
      );
      break;
    case Layer.ORIGINAL_L4:
      title = 'Original L4 header (NPT 2)';
      f.push(['Source port', String(u16(d, o))], ['Destination port', String(u16(d, o + 2))]);
      break;
    case Layer.REPORT_V05:
      title = 'Telemetry Report v0.5';
      f.push(
        ['Version', String(d[o] >> 4)],
        [
          'Next protocol',
          `${d[o] & 15} (${['Ethernet', 'drop report', 'switch local report'][d[o] & 15] ?? 'unknown'})`,
        ],
        [
          'D / Q / F',
          `${flag((d[o + 1] & 0x80) !== 0)} / ${flag((d[o + 1] & 0x40) !== 0)} / ${flag((d[o + 1] & 0x20) !== 0)}`,
        ],
        ['Hardware id', String(d[o + 3] & 0x3f)],
        ['Sequence number', String(u32(d, o + 4))],
        ['Ingress timestamp', String(u32(d, o + 8))],
      );
      break;
    case Layer.REPORT_V05_LOCAL:
      title = 'Switch local report (v0.5)';
      f.push(
        ['Switch id', String(u32(d, o))],
        ['Ingress / egress port', `${u16(d, o + 4)} / ${u16(d, o + 6)}`],
        ['Queue id', String(d[o + 8])],
        ['Queue occupancy', String(u32(d, o + 8) & 0xffffff)],
        ['Egress timestamp', String(u32(d, o + 12))],
      );
      reportHop(record, f);
      break;
    case Layer.REPORT_V05_DROP:
      title = 'Drop report (v0.5)';
      f.push(
        ['Switch id', String(u32(d, o))],
        ['Ingress / egress port', `${u16(d, o + 4)} / ${u16(d, o + 6)}`],
        ['Queue id', String(d[o + 8])],
        ['Drop reason', String(d[o + 9])],
      );
      reportHop(record, f);
      break;
    case Layer.REPORT_V10:
      title = 'Telemetry Report v1.0';
      f.push(
        ['Version', String(d[o] >> 4)],
        ['Length', `${d[o] & 15} words`],
        [
          'Inner protocol',
          `${d[o + 1] >> 5} (${['Ethernet', 'IPv4', 'IPv6'][d[o + 1] >> 5] ?? 'reserved'})`,
        ],
        ['RepMdBits', hex(((d[o + 1] & 0x1f) << 1) | (d[o + 2] >> 7), 2)],
        [
          'D / Q / F',
          `${flag((d[o + 2] & 1) !== 0)} / ${flag((d[o + 3] & 0x80) !== 0)} / ${flag((d[o + 3] & 0x40) !== 0)}`,
        ],
        ['Hardware id', String(d[o + 3] & 0x3f)],
        ['Switch id', String(u32(d, o + 4))],
        ['Sequence number', String(u32(d, o + 8))],
        ['Ingress timestamp', String(u32(d, o + 12))],
      );
      reportHop(record, f);
      break;
    case Layer.REPORT_V20_GROUP:
      title = 'Telemetry Report group header (v2.0)';
      f.push(
        ['Version', String(d[o] >> 4)],
        ['Hardware id', String(((d[o] & 15) << 2) | (d[o + 1] >> 6))],
        ['Sequence number', String(((d[o + 1] & 0x3f) << 16) | (d[o + 2] << 8) | d[o + 3])],
        ['Node id', String(u32(d, o + 4))],
      );
      break;
    case Layer.REPORT_V20: {
      title = 'Individual report (v2.0)';
      const fl = d[o + 3];
      f.push(
        ['RepType', `${d[o] >> 4} (${['inner only', 'INT', 'IOAM'][d[o] >> 4] ?? 'reserved'})`],
        [
          'InType',
          `${d[o] & 15} (${['none', 'TLV', 'DS extension', 'Ethernet', 'IPv4', 'IPv6'][d[o] & 15] ?? 'reserved'})`,
        ],
        ['Report length', `${d[o + 1]} words`],
        ['MD length', `${d[o + 2]} words`],
        ['D / Q / F / I', [0x80, 0x40, 0x20, 0x10].map((m) => flag((fl & m) !== 0)).join(' / ')],
      );
      break;
    }
    case Layer.REPORT_V20_INT_METADATA:
      title = 'INT report main contents (v2.0)';
      f.push(
        // named as INT v2.x bits, as dissect always printed them (TR v2.0 bit 15 is the drop reason)
        ['RepMdBits', bitmapNames(u16(d, o), '2')],
        ['Domain specific ID', hex(u16(d, o + 2), 4)],
        ['DSMdBits', hex(u16(d, o + 4), 4)],
        ['DSMdstatus', hex(u16(d, o + 6), 4)],
      );
      reportHop(record, f);
      break;
    case Layer.REPORT_TLV:
      title = 'Report TLV';
      f.push(['Type', String(d[o] >> 4)], ['Length', `${d[o + 1]} words`]);
      break;
    case Layer.PAYLOAD:
      title = 'Payload';
      f.push(['Length', `${Math.max(0, s.end - s.start)} bytes`]);
      break;
    default:
      break;
  }
  return { title, depth: s.depth, fields: f };
}
