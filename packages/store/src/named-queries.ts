/**
 * Named queries for the everyday questions. Each parameter is validated and rendered as a SQL
 * literal (ClickHouse 18.16 has no query parameters); the SQL is the same for both dialects.
 */
import { consoleNamedQueries } from './console/queries';
import { addr, ParamError, timeNs, U16, U32, U8, uint } from './sql';

export type ParamType =
  | 'switch'
  | 'port'
  | 'queue'
  | 'protocol'
  | 'l4port'
  | 'time'
  | 'addr'
  | 'limit'
  | 'string'
  | 'duration';

export interface ParamSpec {
  type: ParamType;
  required?: boolean;
  description: string;
}

export interface NamedQuery {
  description: string;
  params: Record<string, ParamSpec>;
  /** Builds the SQL from validated, already-rendered parameters. */
  sql(p: Rendered): string;
}

/** Rendered parameters: SQL literal text, or undefined when not given. */
export interface Rendered {
  [name: string]: string | undefined;
}

/** Seconds / ns of a time parameter (for the minute-aligned rollup and exact raw filters). */
function timeLiteral(v: unknown, name: string): string {
  return timeNs(v, name).toString();
}

export function renderParam(
  spec: ParamSpec,
  value: unknown,
  name: string,
  ipv6Type = false,
): string {
  switch (spec.type) {
    case 'switch':
    case 'port':
      return uint(value, name, U32);
    case 'queue':
    case 'l4port':
      return uint(value, name, U16);
    case 'protocol':
      return uint(value, name, U8);
    case 'limit': {
      const s = uint(value, name, 1_000_000n);
      return s;
    }
    case 'time':
      return timeLiteral(value, name);
    case 'duration':
      return uint(value, name, 1n << 62n);
    case 'addr':
      return addr(value, name, ipv6Type);
    case 'string':
      if (typeof value !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(value)) {
        throw new ParamError(`${name}: expected a short identifier-like string`);
      }
      return "'" + value + "'";
  }
}

const sec = (ns: string): string => (BigInt(ns) / 1_000_000_000n).toString();
const secCeil = (ns: string): string => ((BigInt(ns) + 999_999_999n) / 1_000_000_000n).toString();

/** WHERE fragment for a minute-aligned rollup window [from, to). */
function minuteWindow(p: Rendered): string[] {
  const w: string[] = [];
  if (p.from !== undefined) w.push(`minute >= toStartOfMinute(toDateTime(${sec(p.from)}))`);
  if (p.to !== undefined) w.push(`minute < toDateTime(${secCeil(p.to)})`);
  return w;
}

/** WHERE fragment for an exact ns window [from, to) on a raw table with `time` + `time_ns`. */
function rawWindow(p: Rendered, col = 'time'): string[] {
  const w: string[] = [];
  // the coarse DateTime condition lets the primary key / partitions prune; the ns one is exact
  if (p.from !== undefined)
    w.push(`${col} >= toDateTime(${sec(p.from)})`, `${col}_ns >= ${p.from}`);
  if (p.to !== undefined) w.push(`${col} <= toDateTime(${secCeil(p.to)})`, `${col}_ns < ${p.to}`);
  return w;
}

const where = (conds: string[]): string => (conds.length ? ' WHERE ' + conds.join(' AND ') : '');

const FROM = {
  type: 'time',
  description: 'window start (ns since epoch, Date or ISO-8601), inclusive',
} as const;
const TO = { type: 'time', description: 'window end, exclusive' } as const;
const LIMIT = { type: 'limit', description: 'max rows (default 10)' } as const;

/** WHERE fragment for flow intervals overlapping [from, to). */
function flowWindow(p: Rendered): string[] {
  const w: string[] = [];
  if (p.from !== undefined) w.push(`end >= toDateTime(${sec(p.from)})`, `end_ns >= ${p.from}`);
  if (p.to !== undefined) w.push(`start <= toDateTime(${secCeil(p.to)})`, `start_ns < ${p.to}`);
  return w;
}

/** Flow key columns as users write them: IPv4 dotted, IPv6 RFC 5952. */
const FLOW_KEY =
  "replaceRegexpOne(IPv6NumToString(src_addr), '^::ffff:', '') AS src, replaceRegexpOne(IPv6NumToString(dst_addr), '^::ffff:', '') AS dst, src_port, dst_port, protocol";
const FLOW_GROUP = 'src_addr, dst_addr, src_port, dst_port, protocol';
/** Per-flow aggregates over its intervals (weighted by the packets with a latency). */
const FLOW_AGG =
  'count() AS intervals, sum(packets) AS flow_packets, sum(bytes) AS flow_bytes, min(start_ns) AS first_ns, max(end_ns) AS last_ns, ' +
  'argMax(path, end_ns) AS latest_path, sum(path_changes) AS path_changes_total, ' +
  'round(sum(e2e_mean * e2e_samples) / nullIf(sum(e2e_samples), 0), 1) AS e2e_mean_ns, max(e2e_max) AS e2e_max_ns, max(e2e_p99) AS e2e_p99_ns, ' +
  'round(avg(jitter), 1) AS jitter_ns, argMax(worst_hop, e2e_p99) AS worst_hop_switch, sum(drop_reports) AS drop_reports_total, sum(report_gaps) AS report_gaps_total';

const FLOW_FILTER = {
  src: { type: 'addr', description: 'source address' },
  dst: { type: 'addr', description: 'destination address' },
  src_port: { type: 'l4port', description: 'source port' },
  dst_port: { type: 'l4port', description: 'destination port' },
  protocol: { type: 'protocol', description: 'IP protocol number' },
} as const;

function flowFilter(p: Rendered): string[] {
  return [
    ...(p.src !== undefined ? [`src_addr = ${p.src}`] : []),
    ...(p.dst !== undefined ? [`dst_addr = ${p.dst}`] : []),
    ...(p.src_port !== undefined ? [`src_port = ${p.src_port}`] : []),
    ...(p.dst_port !== undefined ? [`dst_port = ${p.dst_port}`] : []),
    ...(p.protocol !== undefined ? [`protocol = ${p.protocol}`] : []),
  ];
}

const TOP_FLOWS_ORDER: Record<string, string> = {
  bytes: 'flow_bytes DESC, flow_packets DESC',
  packets: 'flow_packets DESC, flow_bytes DESC',
  latency: 'e2e_p99_ns DESC, e2e_mean_ns DESC',
  jitter: 'jitter_ns DESC, e2e_p99_ns DESC',
};

export const NAMED_QUERIES: Record<string, NamedQuery> = {
  switch_latency: {
    description:
      'Per-minute hop latency of one switch by egress port and queue: count, p50/p90/p99, max latency, max queue occupancy (from the hop_rollup_1m rollup).',
    params: {
      switch: { type: 'switch', required: true, description: 'switch id' },
      egress_port: { type: 'port', description: 'only this egress port' },
      queue: { type: 'queue', description: 'only this queue id' },
      from: FROM,
      to: TO,
    },
    sql: (p) =>
      'SELECT minute, egress_port, queue_id, countMerge(hops) AS hops, countMerge(latency_samples) AS latency_samples, ' +
      'quantilesTDigestMerge(0.5, 0.9, 0.99)(latency_q) AS q, round(q[1], 1) AS p50, round(q[2], 1) AS p90, round(q[3], 1) AS p99, ' +
      'maxMerge(latency_max) AS max_latency, maxMerge(occupancy_max) AS max_occupancy FROM hop_rollup_1m' +
      where([
        `switch_id = ${p.switch}`,
        ...(p.egress_port !== undefined ? [`egress_port = ${p.egress_port}`] : []),
        ...(p.queue !== undefined ? [`queue_id = ${p.queue}`] : []),
        ...minuteWindow(p),
      ]) +
      ' GROUP BY minute, egress_port, queue_id ORDER BY minute, egress_port, queue_id',
  },

  flow_paths: {
    description:
      "A flow's path history: distinct paths (switch ids in travel order) with packet count and first/last seen.",
    params: {
      src: { type: 'addr', required: true, description: 'source address (IPv4 or IPv6)' },
      dst: { type: 'addr', required: true, description: 'destination address' },
      src_port: { type: 'l4port', description: 'source port' },
      dst_port: { type: 'l4port', description: 'destination port' },
      protocol: { type: 'protocol', description: 'IP protocol number' },
      from: FROM,
      to: TO,
    },
    sql: (p) =>
      'SELECT path, count() AS packets, min(time_ns) AS first_seen_ns, max(time_ns) AS last_seen_ns, ' +
      "toDateTime(intDiv(first_seen_ns, 1000000000), 'UTC') AS first_seen, toDateTime(intDiv(last_seen_ns, 1000000000), 'UTC') AS last_seen, " +
      'avg(e2e_latency) AS avg_e2e_latency FROM paths' +
      where([
        `src_addr = ${p.src}`,
        `dst_addr = ${p.dst}`,
        ...(p.src_port !== undefined ? [`src_port = ${p.src_port}`] : []),
        ...(p.dst_port !== undefined ? [`dst_port = ${p.dst_port}`] : []),
        ...(p.protocol !== undefined ? [`protocol = ${p.protocol}`] : []),
        ...rawWindow(p),
      ]) +
      ' GROUP BY path ORDER BY first_seen_ns, path',
  },

  anomalies: {
    description: 'Anomalies overlapping a window (deduplicated by id), oldest first.',
    params: {
      from: FROM,
      to: TO,
      type: { type: 'string', description: 'only this anomaly type' },
      switch: { type: 'switch', description: 'only anomalies involving this switch' },
      limit: { type: 'limit', description: 'max rows (default 1000)' },
    },
    sql: (p) =>
      'SELECT id, type, start_ns, end_ns, switch_id, egress_port, queue_id, switches, flows, packets, details FROM anomalies FINAL' +
      where([
        ...(p.from !== undefined ? [`end_ns >= ${p.from}`] : []),
        ...(p.to !== undefined ? [`start_ns < ${p.to}`] : []),
        ...(p.type !== undefined ? [`type = ${p.type}`] : []),
        ...(p.switch !== undefined
          ? [`(switch_id = ${p.switch} OR has(switches, toUInt32(${p.switch})))`]
          : []),
      ]) +
      ` ORDER BY start_ns, type, id LIMIT ${p.limit ?? '1000'}`,
  },

  slowest_hops: {
    description:
      'Top (switch, egress port, queue) by p99 hop latency over a window (from the rollup).',
    params: { from: FROM, to: TO, limit: LIMIT },
    sql: (p) =>
      'SELECT switch_id, egress_port, queue_id, countMerge(hops) AS hops, quantilesTDigestMerge(0.5, 0.9, 0.99)(latency_q) AS q, ' +
      'round(q[1], 1) AS p50, round(q[3], 1) AS p99, maxMerge(latency_max) AS max_latency FROM hop_rollup_1m' +
      where(minuteWindow(p)) +
      ` GROUP BY switch_id, egress_port, queue_id HAVING countMerge(latency_samples) > 0 ORDER BY p99 DESC, max_latency DESC, hops DESC, switch_id, egress_port, queue_id LIMIT ${p.limit ?? '10'}`,
  },

  top_flows: {
    description:
      'Top flows over a window by bytes, packets, latency (p99 end to end) or jitter, with their latest path and worst hop (from the flows table).',
    params: {
      by: { type: 'string', description: 'bytes (default), packets, latency or jitter' },
      from: FROM,
      to: TO,
      limit: LIMIT,
    },
    sql: (p) => {
      const by = p.by === undefined ? 'bytes' : p.by.slice(1, -1);
      const order = TOP_FLOWS_ORDER[by];
      if (!order)
        throw new ParamError(`by: ${by} (known: ${Object.keys(TOP_FLOWS_ORDER).join(', ')})`);
      return (
        `SELECT ${FLOW_KEY}, ${FLOW_AGG} FROM flows FINAL` +
        where(flowWindow(p)) +
        ` GROUP BY ${FLOW_GROUP} ORDER BY ${order}, src, dst, src_port, dst_port, protocol LIMIT ${p.limit ?? '10'}`
      );
    },
  },

  flow_slo: {
    description:
      'Flows whose p99 end-to-end latency exceeded a threshold in a window: how often, how far, and the hop to blame.',
    params: {
      threshold: {
        type: 'duration',
        required: true,
        description: 'p99 end-to-end latency threshold, ns',
      },
      from: FROM,
      to: TO,
      limit: { type: 'limit', description: 'max rows (default 100)' },
    },
    sql: (p) =>
      `SELECT ${FLOW_KEY}, countIf(e2e_p99 > ${p.threshold}) AS intervals_over, ${FLOW_AGG} FROM flows FINAL` +
      where(flowWindow(p)) +
      ` GROUP BY ${FLOW_GROUP} HAVING intervals_over > 0 ORDER BY e2e_p99_ns DESC, src, dst, src_port, dst_port, protocol LIMIT ${p.limit ?? '100'}`,
  },

  flow_history: {
    description:
      "One flow's intervals over time: packets, bytes, path, end-to-end latency and jitter, worst hop, why each interval ended.",
    params: {
      ...FLOW_FILTER,
      src: { type: 'addr', required: true, description: 'source address' },
      dst: { type: 'addr', required: true, description: 'destination address' },
      from: FROM,
      to: TO,
      limit: { type: 'limit', description: 'max rows (default 1000)' },
    },
    sql: (p) =>
      `SELECT start_ns, end_ns, ${FLOW_KEY}, packets, bytes, path, path_changes, e2e_min, e2e_mean, e2e_p50, e2e_p99, e2e_max, e2e_source, jitter, worst_hop, worst_hop_latency, drop_reports, report_gaps, end_reason FROM flows FINAL` +
      where([...flowFilter(p), ...flowWindow(p)]) +
      ` ORDER BY start_ns, src_port, dst_port, protocol LIMIT ${p.limit ?? '1000'}`,
  },

  queue_peaks: {
    description:
      'Queues by peak occupancy over a window, with the minute of the peak (from the rollup).',
    params: { from: FROM, to: TO, limit: LIMIT },
    sql: (p) =>
      'SELECT switch_id, egress_port, queue_id, max(occ) AS peak_occupancy, argMax(minute, occ) AS peak_minute, sum(n) AS hops FROM (' +
      'SELECT minute, switch_id, egress_port, queue_id, assumeNotNull(maxMerge(occupancy_max)) AS occ, countMerge(hops) AS n FROM hop_rollup_1m' +
      where(minuteWindow(p)) +
      ' GROUP BY minute, switch_id, egress_port, queue_id HAVING isNotNull(maxMerge(occupancy_max)))' +
      ` GROUP BY switch_id, egress_port, queue_id ORDER BY peak_occupancy DESC, switch_id, egress_port, queue_id LIMIT ${p.limit ?? '10'}`,
  },
  // the web console's, the HTML report's and the Grafana panels' queries (console/queries.ts)
  ...consoleNamedQueries(),
};

/**
 * Validates `params` against the named query and returns its SQL. `ipv6Type`: the store's
 * address columns are of the IPv6 type (Capabilities.ipv6Type).
 */
export function buildNamedQuery(
  name: string,
  params: Record<string, unknown> = {},
  ipv6Type = false,
): string {
  const q = Object.prototype.hasOwnProperty.call(NAMED_QUERIES, name)
    ? NAMED_QUERIES[name]
    : undefined;
  if (!q)
    throw new ParamError(
      `unknown named query: ${name} (known: ${Object.keys(NAMED_QUERIES).join(', ')})`,
    );
  for (const k of Object.keys(params)) {
    if (!Object.prototype.hasOwnProperty.call(q.params, k)) {
      throw new ParamError(
        `${name}: unknown parameter ${k} (known: ${Object.keys(q.params).join(', ')})`,
      );
    }
  }
  const r: Rendered = {};
  for (const [k, spec] of Object.entries(q.params)) {
    const v = params[k];
    if (v === undefined || v === null) {
      if (spec.required) throw new ParamError(`${name}: missing parameter ${k}`);
      continue;
    }
    r[k] = renderParam(spec, v, k, ipv6Type);
  }
  return q.sql(r);
}
