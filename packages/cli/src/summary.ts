/** The replay summary a network engineer reads at a glance. */
import { toJson } from '@hopwatch/codec';
import type { Analyzer, Anomaly, FlowTuple, QueueLatency } from '@hopwatch/analytics';
import type { PipelineStats } from '@hopwatch/pipeline';

function ns(t: bigint): string {
  const ms = Number(t / 1_000_000n);
  const rest = String(t % 1_000_000_000n).padStart(9, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${rest}Z`;
}

function dur(a: bigint, b: bigint): string {
  const d = Number(b - a);
  if (d < 1e3) return `${d} ns`;
  if (d < 1e6) return `${(d / 1e3).toFixed(1)} µs`;
  if (d < 1e9) return `${(d / 1e6).toFixed(1)} ms`;
  return `${(d / 1e9).toFixed(2)} s`;
}

export function flowText(f: FlowTuple): string {
  const p = f.protocol === 6 ? 'tcp' : f.protocol === 17 ? 'udp' : `p${f.protocol}`;
  const a = (x: string, port: number): string =>
    x.includes(':') ? `[${x}]:${port}` : `${x}:${port}`;
  return `${a(f.srcAddr, f.srcPort)}→${a(f.dstAddr, f.dstPort)}/${p}`;
}

function lat(v: number | null): string {
  return v === null ? '-' : v >= 10000 ? `${(v / 1000).toFixed(1)}µs` : `${v}ns`;
}

const desc = (a: number | null, b: number | null): number => (b ?? -1) - (a ?? -1);
const asc = (a: number | null, b: number | null): number => (a ?? -1) - (b ?? -1);
const byQueue = (a: QueueLatency, b: QueueLatency): number =>
  asc(a.switchId, b.switchId) || asc(a.egressPort, b.egressPort) || asc(a.queueId, b.queueId);

/**
 * Slowest first: p99, then max, then packets. p99s tie often (sketch buckets, few samples above
 * the p99 of a short burst), and a tie must not hide a 45 µs queue behind 400 ns ones; the
 * queue's key last, so the order is the same in every run.
 */
export function rankSlowest(queues: readonly QueueLatency[]): QueueLatency[] {
  return [...queues].sort(
    (a, b) => desc(a.p99, b.p99) || desc(a.max, b.max) || b.count - a.count || byQueue(a, b),
  );
}

/** Largest peak occupancy first, then the slowest order. */
export function rankByOccupancy(queues: readonly QueueLatency[]): QueueLatency[] {
  return rankSlowest(queues.filter((q) => q.maxOccupancy !== null)).sort((a, b) =>
    desc(a.maxOccupancy, b.maxOccupancy),
  );
}

const ANOMALY_ORDER = ['microloop', 'microburst', 'path_change', 'drop', 'report_loss'];

/** By type (the order above), then start, then id: the same order in every run. */
export function rankAnomalies(list: readonly Anomaly[]): Anomaly[] {
  return [...list].sort(
    (x, y) =>
      ANOMALY_ORDER.indexOf(x.type) - ANOMALY_ORDER.indexOf(y.type) ||
      (x.start < y.start ? -1 : x.start > y.start ? 1 : 0) ||
      (x.id < y.id ? -1 : x.id > y.id ? 1 : 0),
  );
}

export function describeAnomaly(a: Anomaly): string {
  const when = `${ns(a.start)} (${dur(a.start, a.end)})`;
  switch (a.type) {
    case 'microloop':
      return `microloop    ${when}  cycle [${a.switches.join(' → ')} → ${a.switches[0]}]  ${a.packets} packets, ${a.flowCount} flow(s)${a.eBitPackets ? `, E bit on ${a.eBitPackets}` : ''}  e.g. ${a.flows.slice(0, 2).map(flowText).join(', ')}`;
    case 'microburst':
      return `microburst   ${when}  switch ${a.switchId} port ${a.egressPort ?? '-'} queue ${a.queueId ?? '-'}  peak latency ${lat(a.peakLatency)} (baseline ${lat(a.baselineLatency)}), peak occupancy ${a.peakOccupancy ?? '-'}  aggressors ${a.aggressors
        .slice(0, 3)
        .map((f) => `${flowText(f)} ${(f.share * 100).toFixed(0)}%`)
        .join(', ')} (of ${a.shareBy ?? 'packets'}); ${a.victims.length} victim(s)`;
    case 'path_change':
      return `path_change  ${ns(a.start)}  ${flowText(a.flow)}  [${a.oldPath.join(' → ')}] ⇒ [${a.newPath.join(' → ')}]${a.summary ? ` (flapping: ${a.changes} changes)` : ''}`;
    case 'report_loss':
      return `report_loss  ${when}  node ${a.nodeId ?? a.reporterAddr} hw_id ${a.hwId}  ${a.lost} report(s) lost`;
    case 'drop':
      return `drop         ${when}  switch ${a.switchId ?? '?'}${a.dropReason !== null ? ` reason ${a.dropReason}` : ''}${a.silent ? ' (flows went silent)' : ''}  ${a.packets} packet(s), ${a.flowCount} flow(s)`;
    default:
      return toJson(a);
  }
}

export function formatReplaySummary(
  stats: PipelineStats,
  analyzer: Analyzer,
  anomalies: Anomaly[],
  elapsedMs: number,
  topN = 10,
  verb = 'Replayed',
): string {
  const out: string[] = [];
  const rate = stats.records / Math.max(0.001, elapsedMs / 1000);
  out.push(
    `${verb} ${stats.packets} packet(s): ${stats.records} INT record(s), ${stats.hops} hop(s) in ${(elapsedMs / 1000).toFixed(2)} s (${Math.round(rate)} records/s)`,
  );
  const rej = Object.entries(stats.rejected);
  if (rej.length) out.push(`Rejected: ${rej.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (stats.shedRecords || stats.storeErrors)
    out.push(
      `Store: ${stats.shedRecords} record(s) shed, ${stats.storeErrors} error(s)${stats.lastStoreError ? ` (last: ${stats.lastStoreError})` : ''}`,
    );
  const ls = analyzer.latencyStats();
  const queues = ls.queues.filter((q) => q.count > 0);
  if (queues.length) {
    out.push('', `Slowest hops (by p99, then max hop latency; switch/port/queue):`);
    out.push(
      `  ${'switch'.padStart(8)} ${'port'.padStart(5)} ${'queue'.padStart(5)} ${'packets'.padStart(9)} ${'p50'.padStart(9)} ${'p90'.padStart(9)} ${'p99'.padStart(9)} ${'max'.padStart(9)}`,
    );
    for (const q of rankSlowest(queues).slice(0, topN)) {
      out.push(
        `  ${String(q.switchId).padStart(8)} ${String(q.egressPort ?? '-').padStart(5)} ${String(q.queueId ?? '-').padStart(5)} ${String(q.count).padStart(9)} ${lat(q.p50).padStart(9)} ${lat(q.p90).padStart(9)} ${lat(q.p99).padStart(9)} ${lat(q.max).padStart(9)}`,
      );
    }
    const occ = rankByOccupancy(queues);
    if (occ.length) {
      out.push('', 'Queues by peak occupancy:');
      for (const q of occ.slice(0, topN)) {
        out.push(
          `  switch ${q.switchId} port ${q.egressPort ?? '-'} queue ${q.queueId ?? '-'}: ${q.maxOccupancy}`,
        );
      }
    }
  }
  out.push('', `Anomalies: ${anomalies.length}`);
  for (const a of rankAnomalies(anomalies)) out.push(`  ${describeAnomaly(a)}`);
  return out.join('\n') + '\n';
}
