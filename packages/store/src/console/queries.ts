/**
 * The queries behind the web console, the HTML report and the Grafana dashboards: one SQL text
 * each, with `{name}` placeholders, so the browser (console.js), Grafana's panels and
 * `store.named()` run the same statement. Placeholders are replaced by validated literals only
 * (integers, or an address as `IPv6StringToNum('…')`), never by free text; the SQL is the same
 * in both dialects (`time_ns`, `bucket`, `IPv6NumToString`), see docs/schema.md.
 */
import type { NamedQuery, ParamSpec, ParamType, Rendered } from '../named-queries';
import { normAddr, str } from '../sql';

/**
 * A placeholder's kind: `ns` (time, ns since epoch), `uint` (an integer), `addr` (an IP address,
 * as the quoted text form stored: IPv4 as `'::ffff:a.b.c.d'`).
 */
export type TemplateParamKind = 'ns' | 'uint' | 'addr';

export interface ConsoleQuery {
  description: string;
  params: Record<string, { kind: TemplateParamKind; description: string }>;
  sql: string;
}

/**
 * Exact ns window on a raw table, with the coarse DateTime condition the primary key prunes on.
 * `<=`, not `<`: chDB 26 answers `time < toDateTime(…)` on a DateTime64 key column with no rows.
 */
const RAW_WINDOW = (col: string): string =>
  `${col} >= toDateTime(intDiv({from}, 1000000000)) AND ${col}_ns >= {from} AND ${col} <= toDateTime(intDiv({to}, 1000000000) + 1) AND ${col}_ns < {to}`;
const ADDR = (col: string): string => `replaceRegexpOne(IPv6NumToString(${col}), '^::ffff:', '')`;
const FLOW = `${ADDR('src_addr')} AS src, ${ADDR('dst_addr')} AS dst, src_port, dst_port, protocol`;
const FROM = { kind: 'ns', description: 'window start, ns since epoch (inclusive)' } as const;
const TO = { kind: 'ns', description: 'window end, ns since epoch (exclusive)' } as const;

/** Heatmap over one fine level, `step` buckets per cell. */
const heatmap = (table: string, width: number): string =>
  `SELECT toString(intDiv(bucket, {step}) * {step} * ${width}) AS t_ns, switch_id, egress_port, queue_id, ` +
  'countMerge(hops) AS hops, maxMerge(latency_max) AS max_latency, ' +
  'intDiv(sumMerge(latency_sum), greatest(sumMerge(latency_samples), 1)) AS mean_latency, maxMerge(occupancy_max) AS max_occupancy ' +
  `FROM ${table} WHERE bucket >= intDiv({from}, ${width}) AND bucket < intDiv({to}, ${width}) + 1 ` +
  'GROUP BY t_ns, switch_id, egress_port, queue_id ORDER BY switch_id, egress_port, queue_id, t_ns';

export const CONSOLE_QUERIES: Record<string, ConsoleQuery> = {
  console_span: {
    description:
      'First and last packet time stored, the number of packet records, hop rows and anomaly rows.',
    params: {},
    // the hop and anomaly counts tell a live console that rows landed after the packets' paths
    sql:
      'SELECT toString(min(time_ns)) AS first_ns, toString(max(time_ns)) AS last_ns, count() AS records, ' +
      '(SELECT count() FROM hops) AS hops, (SELECT count() FROM anomalies) AS anomalies FROM paths',
  },
  console_heatmap_100us: {
    description:
      'Per-queue hop latency and occupancy in cells of `step` × 100 µs (hop_fine_100us, bounded window).',
    params: {
      from: FROM,
      to: TO,
      step: { kind: 'uint', description: '100 µs buckets per cell (1 = 100 µs)' },
    },
    sql: heatmap('hop_fine_100us', 100_000),
  },
  console_heatmap_10ms: {
    description: 'Per-queue hop latency and occupancy in cells of `step` × 10 ms (hop_fine_10ms).',
    params: {
      from: FROM,
      to: TO,
      step: { kind: 'uint', description: '10 ms buckets per cell' },
    },
    sql: heatmap('hop_fine_10ms', 10_000_000),
  },
  console_slowest_hops: {
    description: 'Hops (switch, egress port, queue) by p99 hop latency in a window (raw hops).',
    params: { from: FROM, to: TO },
    sql:
      'SELECT switch_id, egress_port, queue_id, count() AS hops, round(quantileExact(0.5)(hop_latency), 1) AS p50, ' +
      'round(quantileExact(0.99)(hop_latency), 1) AS p99, max(hop_latency) AS max_latency, max(queue_occupancy) AS max_occupancy ' +
      `FROM hops WHERE ${RAW_WINDOW('time')} GROUP BY switch_id, egress_port, queue_id ` +
      'ORDER BY p99 DESC, max_latency DESC, switch_id, egress_port, queue_id LIMIT 50',
  },
  console_switches: {
    description: 'Per switch: hops and p99 hop latency in a window (fabric view nodes).',
    params: { from: FROM, to: TO },
    sql:
      'SELECT switch_id, count() AS hops, round(quantileExact(0.99)(hop_latency), 1) AS p99, max(hop_latency) AS max_latency ' +
      `FROM hops WHERE ${RAW_WINDOW('time')} AND switch_id != 4294967295 GROUP BY switch_id ORDER BY switch_id`,
  },
  console_links: {
    description:
      'Links between consecutive switches of the observed paths in a window, with packets (fabric view edges).',
    params: { from: FROM, to: TO },
    sql:
      'SELECT path[i] AS a, path[i + 1] AS b, count() AS packets FROM paths ARRAY JOIN arrayEnumerate(path) AS i ' +
      `WHERE ${RAW_WINDOW('time')} AND i < length(path) AND path[i] != path[i + 1] GROUP BY a, b ORDER BY a, b`,
  },
  console_anomalies: {
    description:
      'Anomalies overlapping a window, with their details (drill-down data), oldest first.',
    params: { from: FROM, to: TO },
    sql:
      'SELECT id, type, toString(start_ns) AS from_ns, toString(end_ns) AS to_ns, switch_id, egress_port, queue_id, switches, packets, details ' +
      'FROM anomalies FINAL WHERE end_ns >= {from} AND start_ns < {to} ORDER BY start_ns, type, id LIMIT 1000',
  },
  console_queue_series: {
    description:
      "One queue's packets in a window (microburst drill-down): time, hop latency, occupancy and flow of each.",
    params: {
      switch: { kind: 'uint', description: 'switch id' },
      port: { kind: 'uint', description: 'egress port' },
      queue: { kind: 'uint', description: 'queue id' },
      from: FROM,
      to: TO,
    },
    sql:
      `SELECT toString(time_ns) AS t_ns, hop_latency, queue_occupancy, ${FLOW} FROM hops ` +
      `WHERE switch_id = {switch} AND egress_port = {port} AND queue_id = {queue} AND ${RAW_WINDOW('time')} ORDER BY time_ns LIMIT 20000`,
  },
  console_loop_packets: {
    description:
      'Packets whose path visits a switch twice in a window (micro-loop drill-down): time, path, flow.',
    params: { from: FROM, to: TO },
    sql:
      `SELECT toString(time_ns) AS t_ns, path, hop_count, ${FLOW} FROM paths ` +
      `WHERE ${RAW_WINDOW('time')} AND arrayUniq(path) < length(path) ORDER BY time_ns LIMIT 5000`,
  },
  console_flow: {
    description:
      "One flow's packets (5-tuple) in a window: time, path and end-to-end latency (flow search).",
    params: {
      src: { kind: 'addr', description: 'source address' },
      dst: { kind: 'addr', description: 'destination address' },
      src_port: { kind: 'uint', description: 'source port' },
      dst_port: { kind: 'uint', description: 'destination port' },
      protocol: { kind: 'uint', description: 'IP protocol number' },
      from: FROM,
      to: TO,
    },
    sql:
      // compared as 16 bytes on both sides: the same text for the IPv6 type and FixedString(16)
      'SELECT toString(time_ns) AS t_ns, path, e2e_latency FROM paths WHERE IPv6StringToNum(IPv6NumToString(src_addr)) = IPv6StringToNum({src}) ' +
      'AND IPv6StringToNum(IPv6NumToString(dst_addr)) = IPv6StringToNum({dst}) ' +
      `AND src_port = {src_port} AND dst_port = {dst_port} AND protocol = {protocol} AND ${RAW_WINDOW('time')} ORDER BY time_ns LIMIT 20000`,
  },
};

const KIND_TYPE: Record<TemplateParamKind, ParamType> = {
  ns: 'time',
  uint: 'duration',
  addr: 'string',
};

/** Replaces every `{name}` of `sql` with its rendered literal; a missing one is an error. */
export function fillTemplate(sql: string, values: Record<string, string | undefined>): string {
  return sql.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`${name}: required`);
    return v;
  });
}

/** The console queries as named queries (`hopwatch query --named console_heatmap_100us …`). */
export function consoleNamedQueries(): Record<string, NamedQuery> {
  const out: Record<string, NamedQuery> = {};
  for (const [name, q] of Object.entries(CONSOLE_QUERIES)) {
    const params: Record<string, ParamSpec> = {};
    for (const [p, s] of Object.entries(q.params))
      params[p] = { type: KIND_TYPE[s.kind], required: true, description: s.description };
    const addrs = Object.keys(q.params).filter((p) => q.params[p].kind === 'addr');
    out[name] = {
      description: q.description,
      params,
      sql: (p: Rendered) => {
        const v = { ...p };
        // a 'string' parameter arrives quoted and limited to [A-Za-z0-9_.:-]
        for (const a of addrs) if (v[a] !== undefined) v[a] = str(normAddr(v[a].slice(1, -1), a));
        return fillTemplate(q.sql, v);
      },
    };
  }
  return out;
}
