/**
 * serve's Prometheus metrics (hopwatch_serve_*): the counts its status line and summary show,
 * read from the pipeline, the sources and the query endpoint at scrape time.
 */
import type { PipelineStats, Registry, SourceStats } from '@hopwatch/pipeline';
import type { EndpointStats } from '@hopwatch/store';

export interface ServeMetricsInputs {
  pipeline: () => PipelineStats;
  sources: () => SourceStats[];
  /** The query endpoint's counts, or null when serve runs without one. */
  endpoint: () => EndpointStats | null;
  /** Inputs the guarded handler skipped after a failure. */
  unhandled: () => number;
  /** Anomalies that could not be written to --anomalies. */
  anomaliesNotWritten: () => number;
}

export function instrumentServe(registry: Registry, m: ServeMetricsInputs): void {
  const total = (name: string, help: string, read: () => number): void => {
    registry.counter(name, help, [], (c) => c.setTotal(read()));
  };
  const perSource = (name: string, help: string, read: (s: SourceStats) => number): void => {
    registry.counter(name, help, ['source'], (c) => {
      for (const s of m.sources()) c.setTotal({ source: s.source }, read(s));
    });
  };
  perSource(
    'hopwatch_serve_received_total',
    'Packets / datagrams received, by source.',
    (s) => s.received,
  );
  perSource('hopwatch_serve_received_bytes_total', 'Bytes received, by source.', (s) => s.bytes);
  perSource(
    'hopwatch_serve_kernel_drops_total',
    'Packets dropped by the kernel before hopwatch saw them, by source.',
    (s) => s.kernelDrops,
  );
  perSource(
    'hopwatch_serve_refused_total',
    'Datagrams refused by the sender allowlist, by source.',
    (s) => s.refused,
  );
  perSource(
    'hopwatch_serve_source_errors_total',
    'Source errors (socket errors, capture errors), by source.',
    (s) => s.errors,
  );
  total(
    'hopwatch_serve_packets_total',
    'Packets handed to the decoder.',
    () => m.pipeline().packets,
  );
  total(
    'hopwatch_serve_records_total',
    'Records decoded (INT stacks / reports).',
    () => m.pipeline().records,
  );
  total('hopwatch_serve_hops_total', 'Hops decoded.', () => m.pipeline().hops);
  registry.counter(
    'hopwatch_serve_rejected_total',
    'Packets that yielded no record, by reason.',
    ['reason'],
    (c) => {
      for (const [reason, v] of Object.entries(m.pipeline().rejected)) c.setTotal({ reason }, v);
    },
  );
  total(
    'hopwatch_serve_shed_records_total',
    'Records analysed but not stored because the store fell behind.',
    () => m.pipeline().shedRecords,
  );
  total(
    'hopwatch_serve_store_errors_total',
    'Store writes that failed.',
    () => m.pipeline().storeErrors,
  );
  total('hopwatch_serve_anomalies_total', 'Anomalies closed.', () => m.pipeline().anomalies);
  total(
    'hopwatch_serve_anomalies_not_written_total',
    'Anomalies that could not be written to the --anomalies file.',
    m.anomaliesNotWritten,
  );
  total('hopwatch_serve_flows_total', 'Flow intervals closed.', () => m.pipeline().flows);
  total(
    'hopwatch_serve_unhandled_total',
    'Inputs skipped after a failure while handling them.',
    m.unhandled,
  );
  registry.gauge('hopwatch_serve_store_inflight', 'Store writes in flight.', [], (g) =>
    g.set(m.pipeline().inflight),
  );
  registry.counter(
    'hopwatch_serve_queries_total',
    'Query endpoint requests by outcome (ok, refused, failed, unauthorized, busy, cancelled, bad_request).',
    ['outcome'],
    (c) => {
      const e = m.endpoint();
      if (!e) return;
      c.setTotal({ outcome: 'ok' }, e.queries);
      c.setTotal({ outcome: 'refused' }, e.refused);
      c.setTotal({ outcome: 'failed' }, e.failed);
      c.setTotal({ outcome: 'unauthorized' }, e.unauthorized);
      c.setTotal({ outcome: 'busy' }, e.busy);
      c.setTotal({ outcome: 'cancelled' }, e.cancelled);
      c.setTotal({ outcome: 'bad_request' }, e.badRequests);
    },
  );
}
