/**
 * Flow records as rows of the `flows` table: VALUES text in either dialect. Flows are few
 * (one row per flow interval, not per packet), so a text insert through the statement chain
 * is enough; the hot tables use the binary encoders.
 */
import type { FlowRecord } from '@hopwatch/flows';
import type { Capabilities } from './capabilities';
import { flowRecordColumns } from './schema';
import { parseAddr } from '@hopwatch/codec';
import { normAddr, num, str, uint, U16, U32 } from './sql';

const END_REASONS = ['', 'idle', 'active', 'end', 'forced', 'evicted'];

/** `INSERT INTO flows (…) VALUES …` for `flows`. */
export function flowsInsertSql(flows: readonly FlowRecord[], c: Capabilities): string {
  const cols = flowRecordColumns(c).map((x) => '`' + x.name + '`');
  // literals only: the engine's fast VALUES parser takes them as they are, while any function
  // call sends every row through the expression interpreter (18,000 rows: 11 s of CPU)
  const time = (ns: bigint): string => {
    const t = BigInt(uint(ns, 'time'));
    const sec = t / 1_000_000_000n;
    const text = new Date(Number(sec) * 1000).toISOString().slice(0, 19).replace('T', ' ');
    return c.dateTime64
      ? `'${text}.${(t % 1_000_000_000n).toString().padStart(9, '0')}'`
      : `${t}, '${text}'`;
  };
  const ip = (a: string, name: string): string => {
    const text = normAddr(a, name);
    return c.ipv6Type ? str(text) : fixedString16(text);
  };
  const optU = (v: number | null, max: bigint, name: string): string =>
    v === null ? 'NULL' : uint(v, name, max);
  const optF = (v: number | null | undefined, name: string): string =>
    v === null || v === undefined ? 'NULL' : num(v, name);
  const rows = flows.map((f) => {
    const e = f.e2e;
    const reason = END_REASONS[f.endReason];
    if (!reason) throw new Error(`flow: unknown end reason ${f.endReason}`);
    return (
      '(' +
      [
        time(f.startNs),
        time(f.endNs),
        uint(f.ipVersion, 'ipVersion', 6n),
        ip(f.src, 'src'),
        ip(f.dst, 'dst'),
        uint(f.srcPort, 'srcPort', U16),
        uint(f.dstPort, 'dstPort', U16),
        uint(f.protocol, 'protocol', 255n),
        optU(f.vlan, 4095n, 'vlan'),
        optU(f.vni, 0xffffffn, 'vni'),
        uint(f.packets, 'packets'),
        uint(f.bytes, 'bytes'),
        uint(f.bytesPackets, 'bytesPackets'),
        `[${f.path.map((s) => uint(s, 'path', U32)).join(', ')}]`,
        uint(f.pathChanges, 'pathChanges', U32),
        optU(f.ingressInterface, U32, 'ingressInterface'),
        optU(f.egressInterface, U32, 'egressInterface'),
        optF(e?.min, 'e2e.min'),
        optF(e?.mean, 'e2e.mean'),
        optF(e?.max, 'e2e.max'),
        optF(e?.p50, 'e2e.p50'),
        optF(e?.p99, 'e2e.p99'),
        uint(e?.samples ?? 0, 'e2e.samples'),
        str(f.e2eSource),
        optF(f.jitter, 'jitter'),
        optU(f.worstHop, U32, 'worstHop'),
        optF(f.worstHopLatency, 'worstHopLatency'),
        uint(f.dropReports, 'dropReports', U32),
        uint(f.reportGaps, 'reportGaps', U32),
        str(reason),
      ].join(', ') +
      ')'
    );
  });
  return `INSERT INTO flows (${cols.join(', ')}) VALUES ${rows.join(', ')}`;
}

/** The 16 bytes of an IPv6 address as a FixedString(16) literal (ClickHouse 18.16 columns). */
function fixedString16(text: string): string {
  let out = '';
  for (const b of parseAddr(text, 6)) out += `\\x${b.toString(16).padStart(2, '0')}`;
  return `'${out}'`;
}
