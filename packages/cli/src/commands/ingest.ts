/**
 * `hopwatch ingest`: capture replay / live capture / UDP reports → decode → Kafka (the three
 * data topics). Memory is bounded (one batch + the producer's queue); a slow or absent Kafka
 * never stalls live capture: messages are shed and counted. Capture replay waits for Kafka
 * instead (nothing lost) and exits when the files are done and delivered.
 */
import { parseArgs } from 'util';
import {
  createLogger,
  ensureTopics,
  IngestWorker,
  instrumentProducer,
  KafkaProducer,
  LiveCaptureSource,
  PacketSource,
  parseListen,
  PcapReplaySource,
  Registry,
  serveMetrics,
  UdpSource,
} from '@hopwatch/pipeline';
import { CODEC_HELP, CODEC_OPTIONS, codecConfigFrom } from '../codec-options';
import { loadConfigFile } from '../config-file';
import { UsageError } from '../errors';
import { parseIntArg } from '../numbers';
import { loadUsersFile } from '../http-options';

export const INGEST_HELP = `Usage: hopwatch ingest --brokers HOST:PORT[,HOST:PORT] [options] [CAPTURE...]

Decodes packets and publishes the records on Kafka (hopwatch.records.v1, hopwatch.queues.v1,
hopwatch.reports.v1). Inputs: capture files (replayed, then the command exits), Telemetry
Reports on UDP (--listen), live capture (--interface). Live inputs run until SIGINT/SIGTERM.

Options:
  --brokers LIST            Kafka bootstrap brokers (required; config 'kafka.brokers')
  --partitions N            partitions of the data topics (default 12; must match analyze)
  --replication N           replication factor when creating topics (default 1)
  --listen HOST:PORT        UDP socket for Telemetry Reports (repeatable)
  --allow CIDR              accept reports only from these senders (repeatable)
  --receive-buffer BYTES    UDP socket receive buffer (default 33554432)
  --interface DEV           live capture on DEV (libpcap); --filter BPF
  --speed N                 replay at the capture's pace x N (default 0 = as fast as possible)
  --rate PPS                replay at most PPS packets per second (default unlimited)
  --batch-records N         records per published batch (default 4096)
  --max-queued-mb N         producer queue bound; beyond it messages are shed (default 64)
  --no-compression          send uncompressed (default GZIP)
  --metrics-port N          serve Prometheus metrics on 127.0.0.1:N/metrics (0 = any port)
  --metrics-users FILE      YAML users file: scrapes must authenticate (HTTP basic auth)
  --status-every SECONDS    status line on stderr (default 10; 0 = never)
  --config FILE             YAML config file (sections codec, sources, kafka)
${CODEC_HELP}`;

export async function ingest(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...CODEC_OPTIONS,
      brokers: { type: 'string' },
      partitions: { type: 'string' },
      replication: { type: 'string' },
      listen: { type: 'string', multiple: true },
      allow: { type: 'string', multiple: true },
      'receive-buffer': { type: 'string' },
      interface: { type: 'string' },
      filter: { type: 'string' },
      speed: { type: 'string' },
      rate: { type: 'string' },
      'batch-records': { type: 'string' },
      'max-queued-mb': { type: 'string' },
      'no-compression': { type: 'boolean' },
      'metrics-port': { type: 'string' },
      'metrics-users': { type: 'string' },
      'status-every': { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(INGEST_HELP + '\n');
    return 0;
  }
  const file = loadConfigFile(values.config);
  const kafkaCfg = (file.kafka ?? {}) as {
    brokers?: string | string[];
    partitions?: number;
    replication?: number;
  };
  const src = (file.sources ?? {}) as {
    listen?: string[];
    allow?: string[];
    interface?: string;
    filter?: string;
    receiveBuffer?: number;
  };
  const brokersText =
    values.brokers ??
    (Array.isArray(kafkaCfg.brokers) ? kafkaCfg.brokers.join(',') : kafkaCfg.brokers);
  if (!brokersText) throw new UsageError('--brokers is required');
  const brokers = brokersText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const partitions = values.partitions
    ? parseIntArg('--partitions', values.partitions, 1, 10000)
    : (kafkaCfg.partitions ?? 12);
  const replication = values.replication
    ? parseIntArg('--replication', values.replication, 1, 16)
    : (kafkaCfg.replication ?? 1);
  const codec = codecConfigFrom(values, file);
  const logger = createLogger({ fields: { process: 'ingest', pid: process.pid } });

  const sources: PacketSource[] = [];
  if (positionals.length) {
    sources.push(
      new PcapReplaySource(positionals, { speed: values.speed ? Number(values.speed) : 0 }),
    );
  }
  const listenSpecs = values.listen ?? src.listen ?? [];
  if (listenSpecs.length) {
    let listen;
    try {
      listen = listenSpecs.map(parseListen);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    sources.push(
      new UdpSource({
        listen,
        allow: values.allow ?? src.allow ?? [],
        receiveBuffer:
          values['receive-buffer'] !== undefined
            ? Number(values['receive-buffer'])
            : (src.receiveBuffer ?? 32 * 1024 * 1024),
        onListening: (a, warning) => {
          logger.info('listening', { udp: a.map((x) => `${x.host}:${x.port}`).join(',') });
          if (warning) logger.warn(warning);
        },
      }),
    );
  }
  const device = values.interface ?? src.interface;
  if (device) sources.push(new LiveCaptureSource({ device, filter: values.filter ?? src.filter }));
  if (!sources.length)
    throw new UsageError('nothing to ingest: give capture files, --listen or --interface');
  const replayOnly = sources.every((s) => s instanceof PcapReplaySource);

  await ensureTopics(brokers, { partitions, replicationFactor: replication, logger }).catch((e) => {
    throw new UsageError(`cannot create the Kafka topics: ${(e as Error).message}`);
  });
  const registry = new Registry();
  const producer = new KafkaProducer({
    brokers,
    clientId: 'hopwatch-ingest',
    logger,
    compression: values['no-compression'] ? 'none' : 'gzip',
    maxQueuedBytes:
      (values['max-queued-mb']
        ? parseIntArg('--max-queued-mb', values['max-queued-mb'], 1, 65536)
        : 64) *
      1024 *
      1024,
    // a replay waits for Kafka rather than dropping: keep retrying while a broker restarts
    maxAttempts: replayOnly ? 1000 : 5,
    maxQueueAgeMs: replayOnly ? 24 * 3600_000 : 30_000,
    closeTimeoutMs: replayOnly ? 100 : 5000,
  });
  instrumentProducer(registry, producer, 'ingest');
  const worker = new IngestWorker({
    codec,
    producer,
    partitions,
    batchRecords: values['batch-records']
      ? parseIntArg('--batch-records', values['batch-records'], 1, 1 << 20)
      : 4096,
    waitForKafka: replayOnly,
    maxPacketsPerSec: values.rate ? parseIntArg('--rate', values.rate, 1, 100_000_000) : undefined,
  });
  worker.instrument(registry, () => sources.map((s) => s.stats()));
  const metrics =
    values['metrics-port'] !== undefined
      ? await serveMetrics(
          parseIntArg('--metrics-port', values['metrics-port'], 0, 65535),
          registry,
          '127.0.0.1',
          {
            users:
              values['metrics-users'] !== undefined
                ? loadUsersFile(values['metrics-users'])
                : undefined,
          },
        )
      : null;
  if (metrics) logger.info('metrics', { url: metrics.url });
  for (const w of metrics?.warnings ?? []) logger.warn(w);

  const ac = new AbortController();
  const stop = (): void => {
    if (!ac.signal.aborted) logger.info('stopping: publishing what is buffered');
    ac.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // a partial batch waits at most 50 ms
  const ticker = setInterval(() => worker.publish(), 50);
  const every = Number(values['status-every'] ?? 10);
  const t0 = Date.now();
  const status =
    every > 0
      ? setInterval(() => {
          const st = worker.stats();
          const p = producer.stats();
          logger.info('status', {
            records: st.records,
            perSec: Math.round(st.records / ((Date.now() - t0) / 1000)),
            sent: p.sent,
            queued: p.queuedMessages,
            shed: p.shed,
            rejected: st.rejected,
          });
        }, every * 1000)
      : null;
  try {
    await Promise.all(sources.map((s) => s.run(worker, ac.signal)));
  } catch (e) {
    ac.abort();
    throw new UsageError((e as Error).message);
  } finally {
    clearInterval(ticker);
    if (status) clearInterval(status);
    worker.publish();
    // replay: deliver everything (the producer retries while Kafka is away); live: up to 5 s
    if (replayOnly && !ac.signal.aborted) await producer.flush();
    await producer.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (metrics) await metrics.close();
  }
  const st = worker.stats();
  const p = producer.stats();
  const summary = {
    packets: st.packets,
    records: st.records,
    hops: st.hops,
    published: st.published,
    rejected: st.rejected,
    kafka: { sent: p.sent, shed: p.shed, shedByReason: p.shedByReason, errors: p.errors },
    sources: sources.map((s) => s.stats()),
    elapsedMs: Date.now() - t0,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
  return p.shed > 0 && replayOnly ? 3 : 0;
}
