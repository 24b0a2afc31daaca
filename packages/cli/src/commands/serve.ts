/**
 * `hopwatch serve`: UDP listener for Telemetry Reports and/or live capture, feeding the same
 * pipeline continuously. Ctrl-C (SIGINT) or SIGTERM flushes everything and exits cleanly.
 */
import type { Anomaly } from '@hopwatch/analytics';
import {
  EmbeddedStore,
  recordEndpoint,
  startConsole,
  startQueryEndpoint,
  type QueryEndpoint,
} from '@hopwatch/store';
import { httpEndpointFrom } from '../http-options';
import {
  LiveCaptureSource,
  PacketSource,
  Pipeline,
  Registry,
  UdpSource,
  type MetricsServer,
} from '@hopwatch/pipeline';
import { AnomalyLog, STDOUT } from '../anomaly-log';
import { CODEC_HELP, CODEC_OPTIONS, codecConfigFrom } from '../codec-options';
import { checkOutputFiles, parseCommand } from '../command';
import { GuardedHandler } from '../guarded-handler';
import { checkAllowList, MAX_RECEIVE_BUFFER, parseListenList } from '../config/sources';
import { EXIT, UsageError } from '../errors';
import { parseIntArg, parseNumberArg } from '../numbers';
import { STORE_HELP, STORE_OPTIONS, storeFrom } from '../runtime-options';
import { FLOW_HELP, FLOW_OPTIONS, flowsFrom } from '../flow-options';
import { describeAnomaly, formatReplaySummary } from '../summary';
import { METRICS_HELP, METRICS_OPTIONS, metricsListenFrom, startMetrics } from '../metrics-options';
import { instrumentServe } from '../serve-metrics';

export const SERVE_HELP = `Usage: hopwatch serve [options]

Runs the pipeline continuously on live input: Telemetry Reports on UDP sockets and/or packets
captured on an interface. Anomalies are printed (and written with --anomalies) as they close.
Ctrl-C flushes everything to the store and exits.

Options:
  --listen HOST:PORT        UDP socket for Telemetry Reports (repeatable; default 127.0.0.1:32766
                            when no --interface is given)
  --allow CIDR              accept reports only from these senders (repeatable); others are
                            dropped and counted
  --receive-buffer BYTES    socket receive buffer (default 33554432; capped by net.core.rmem_max)
  --interface DEV           live capture on DEV (libpcap)
  --filter BPF              capture filter (e.g. "udp port 6081 or ip[1] & 0xfc == 0x5c")
  --anomalies FILE.jsonl    append every anomaly as one JSON object per line (a write that
                            fails is counted and reported, and serve goes on); - writes them
                            to standard output, and serve's own lines to standard error
  --status-every SECONDS    status line on stderr (default 10; 0 = never)
  --http HOST:PORT          read-only ClickHouse-compatible HTTP endpoint on the store while
                            serve runs: hopwatch query --store-url http://HOST:PORT, curl,
                            Grafana. With the embedded store it is on by default, on
                            127.0.0.1 and a free port recorded in the data directory, so that
                            hopwatch query --data-dir DIR reaches the running serve. Queries
                            run read-only in the engine, with time and memory limits (config
                            section http; docs/security.md)
  --http-users FILE         YAML users file for the endpoint (name: {password_sha256_hex |
                            password_file | password_env}); without one, only the anonymous
                            user, and a warning when bound beyond 127.0.0.1
  --no-http                 no HTTP endpoint
${METRICS_HELP}
  --config FILE             YAML config file (sections codec, sources, analytics, store, http, flows)
${STORE_HELP}
${FLOW_HELP}
${CODEC_HELP}

Exit codes: 0 stopped cleanly; 1 a failure while running (store errors, anomalies that could
not be written); 2 usage error (flag, config, address in use, --anomalies not writable).`;

export async function serve(argv: string[]): Promise<number> {
  const cmd = parseCommand(argv, {
    help: SERVE_HELP,
    options: {
      ...CODEC_OPTIONS,
      ...STORE_OPTIONS,
      ...FLOW_OPTIONS,
      listen: { type: 'string', multiple: true },
      allow: { type: 'string', multiple: true },
      'receive-buffer': { type: 'string' },
      interface: { type: 'string' },
      filter: { type: 'string' },
      anomalies: { type: 'string' },
      'status-every': { type: 'string' },
      http: { type: 'string' },
      'no-http': { type: 'boolean' },
      'http-users': { type: 'string' },
      ...METRICS_OPTIONS,
    },
  });
  if (!cmd) return EXIT.OK;
  const { values } = cmd;
  const file = cmd.config;
  const src = file.sources;
  const codec = codecConfigFrom(values, file);
  const analytics = file.analytics;
  const every =
    values['status-every'] !== undefined
      ? parseNumberArg('--status-every', values['status-every'], 0, 86_400)
      : 10;
  const device = values.interface ?? src.interface;
  let listenSpecs = values.listen ?? src.listen ?? [];
  if (listenSpecs.length === 0 && !device)
    listenSpecs = [`127.0.0.1:${codec.reportUdpPorts[0] ?? 32766}`];
  const sources: PacketSource[] = [];
  if (listenSpecs.length) {
    const listen = parseListenList('--listen', listenSpecs);
    const receiveBuffer =
      values['receive-buffer'] !== undefined
        ? parseIntArg('--receive-buffer', values['receive-buffer'], 1, MAX_RECEIVE_BUFFER)
        : src.receiveBuffer;
    sources.push(
      new UdpSource({
        listen,
        allow: values.allow ? checkAllowList('--allow', values.allow) : src.allow,
        receiveBuffer,
        onListening: (a, warning) => {
          process.stderr.write(
            `hopwatch serve: listening on ${a.map((x) => `${x.host}:${x.port}/udp`).join(', ')}\n`,
          );
          if (warning) process.stderr.write(`hopwatch serve: warning: ${warning}\n`);
        },
      }),
    );
  }
  if (device) sources.push(new LiveCaptureSource({ device, filter: values.filter ?? src.filter }));

  // an anomalies file that cannot be opened stops here; one that fails later is counted
  const anomaliesToStdout = values.anomalies === STDOUT;
  // with the anomalies on standard output, serve's own lines go to standard error
  const report = anomaliesToStdout ? process.stderr : process.stdout;
  if (values.anomalies && !anomaliesToStdout)
    checkOutputFiles(cmd, [], [{ name: '--anomalies', path: values.anomalies }]);
  const anomaliesOut = values.anomalies
    ? new AnomalyLog(values.anomalies, 'a', (line) =>
        process.stderr.write(`hopwatch serve: ${line}\n`),
      )
    : null;
  const found: Anomaly[] = [];
  metricsListenFrom(values); // a flag mistake is a usage error before the store opens
  const http = httpEndpointFrom(values, file);
  let httpAt = http.listen;
  if (httpAt && values['no-store'])
    throw new UsageError('--http needs a store (not with --no-store)');
  const flows = flowsFrom(values, file);
  let store;
  try {
    store = await storeFrom(values, file);
  } catch (e) {
    anomaliesOut?.close();
    await flows.close();
    throw e;
  }
  // the embedded engine locks its directory: without an endpoint nothing else can query it
  if (!httpAt && !values['no-http'] && store?.kind === 'embedded')
    httpAt = { host: '127.0.0.1', port: 0 };
  let endpoint: QueryEndpoint | null = null;
  let unrecord: (() => void) | null = null;
  // the web console (docs/console.md): pages on the endpoint, its data through the same queries
  const web = store
    ? startConsole(store, { onError: (m) => process.stderr.write(`hopwatch serve: ${m}\n`) })
    : null;
  if (store && httpAt) {
    try {
      endpoint = await startQueryEndpoint(store, { ...http.options, ...httpAt, pages: web?.pages });
    } catch (e) {
      web?.stop();
      await store.close();
      await flows.close();
      throw new UsageError(
        `query endpoint on ${httpAt.host}:${httpAt.port}: ${(e as Error).message}`,
      );
    }
    if (store instanceof EmbeddedStore) unrecord = recordEndpoint(store.dataDir, endpoint.url);
    process.stderr.write(
      `hopwatch serve: read-only queries on ${endpoint.url} (hopwatch query --store-url ${endpoint.url} "SELECT …")\n`,
    );
    process.stderr.write(`hopwatch serve: web console on ${endpoint.url}/console/\n`);
    for (const w of endpoint.warnings) process.stderr.write(`hopwatch serve: warning: ${w}\n`);
  }
  const pipeline = new Pipeline({
    codec,
    analytics,
    store,
    live: true,
    batchRecords: 4096,
    flows: flows.table,
    onFlows: flows.onFlows,
    onAnomaly: (a) => {
      found.push(a);
      report.write(`${describeAnomaly(a)}\n`);
      anomaliesOut?.write(a);
    },
  });
  const guarded = new GuardedHandler(pipeline, (line) =>
    process.stderr.write(`hopwatch serve: ${line}\n`),
  );
  const registry = new Registry();
  instrumentServe(registry, {
    pipeline: () => pipeline.stats(),
    sources: () => sources.map((x) => x.stats()),
    endpoint: () => endpoint?.stats ?? null,
    unhandled: () => guarded.failed,
    anomaliesNotWritten: () => anomaliesOut?.failed ?? 0,
  });
  let metrics: MetricsServer | null;
  try {
    metrics = await startMetrics(values, registry, {
      info: (_msg, f) => process.stderr.write(`hopwatch serve: metrics on ${String(f?.url)}\n`),
      warn: (w) => process.stderr.write(`hopwatch serve: warning: ${w}\n`),
    });
  } catch (e) {
    await pipeline.close();
    await flows.close();
    anomaliesOut?.close();
    unrecord?.();
    if (endpoint) await endpoint.close();
    if (store) await store.close();
    throw e;
  }
  const ac = new AbortController();
  const stop = (): void => {
    if (!ac.signal.aborted) process.stderr.write('hopwatch serve: stopping, flushing...\n');
    ac.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // a partial batch waits at most 200 ms: an anomaly is out within ~1 s of its last packet
  const ticker = setInterval(
    () => guarded.guard('the periodic flush', () => pipeline.tick(BigInt(Date.now()) * 1_000_000n)),
    200,
  );
  const t0 = Date.now();
  const status =
    every > 0
      ? setInterval(() => {
          const st = pipeline.stats();
          const s = sources.map((x) => x.stats());
          const secs = (Date.now() - t0) / 1000;
          process.stderr.write(
            `hopwatch serve: ${st.records} records (${Math.round(st.records / secs)}/s), ${st.anomalies} anomalies, kernel drops ${s.reduce((a, x) => a + x.kernelDrops, 0)}, refused ${s.reduce((a, x) => a + x.refused, 0)}, source errors ${s.reduce((a, x) => a + x.errors, 0) + guarded.failed}, shed ${st.shedRecords}${anomaliesOut?.failed ? `, anomalies not written ${anomaliesOut.failed}` : ''}\n`,
          );
        }, every * 1000)
      : null;
  try {
    await Promise.all(sources.map((s) => s.run(guarded, ac.signal)));
  } catch (e) {
    ac.abort();
    throw new UsageError((e as Error).message);
  } finally {
    clearInterval(ticker);
    web?.stop();
    if (status) clearInterval(status);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await pipeline.close();
    await flows.close();
    anomaliesOut?.close();
    unrecord?.();
    if (endpoint) await endpoint.close();
    if (store) await store.close();
    if (metrics) await metrics.close();
  }
  const st = pipeline.stats();
  report.write(formatReplaySummary(st, pipeline.analyzer, found, Date.now() - t0, 10, 'Received'));
  for (const line of flows.summary()) report.write(`${line}\n`);
  if (endpoint) {
    const e = endpoint.stats;
    report.write(
      `Query endpoint: ${e.queries} queries, ${e.refused} refused, ${e.failed} failed, ${e.unauthorized} unauthorized, ${e.busy} busy, ${e.cancelled} cancelled, ${e.badRequests} bad requests\n`,
    );
  }
  for (const s of sources) {
    const x = s.stats();
    report.write(
      `Source ${x.source}: ${x.received} received, ${x.kernelDrops} kernel drops, ${x.refused} refused (allowlist), ${x.errors} errors${x.lastError ? ` (last: ${x.lastError})` : ''}\n`,
    );
  }
  if (guarded.failed)
    report.write(
      `Inputs that could not be handled: ${guarded.failed} (last: ${guarded.lastError})\n`,
    );
  const notWritten = anomaliesOut?.summary();
  if (notWritten) report.write(notWritten + '\n');
  return st.storeErrors > 0 || notWritten ? EXIT.FAILURE : EXIT.OK;
}
