/**
 * `hopwatch ingest`: capture replay / live capture / UDP reports → decode → Kafka (the three
 * data topics). Memory is bounded (one batch + the producer's queue); a slow or absent Kafka
 * never stalls live capture: messages are shed and counted. Capture replay waits for Kafka
 * instead (nothing lost) and exits when the files are done and delivered.
 */
import {
  createLogger,
  createKafkaProducer,
  ensureTopics,
  IngestWorker,
  instrumentProducer,
  LiveCaptureSource,
  PacketSource,
  PcapReplaySource,
  Registry,
  UdpSource,
  UDP_RECEIVE_CHOICES,
  chooseReceivePath,
  type UdpReceiveChoice,
} from '@hopwatch/pipeline';
import * as fs from 'fs';
import { CaptureFormatError, openCapture } from '@hopwatch/pcap';
import { CODEC_HELP, CODEC_OPTIONS, codecConfigFrom } from '../codec-options';
import { parseCommand } from '../command';
import { GuardedHandler } from '../guarded-handler';
import {
  KAFKA_CLIENT_HELP,
  KAFKA_CLIENT_OPTIONS,
  KAFKA_SECURITY_HELP,
  KAFKA_SECURITY_OPTIONS,
  kafkaClientFromArgs,
  kafkaFromArgs,
} from '../config/kafka';
import { checkAllowList, MAX_RECEIVE_BUFFER, parseListenList } from '../config/sources';
import { EXIT, UsageError } from '../errors';
import { parseIntArg, parseNumberArg } from '../numbers';
import { METRICS_HELP, METRICS_OPTIONS, metricsListenFrom, startMetrics } from '../metrics-options';
import { ingestWorkerIndex, isIngestPrimary, runIngestWorkers } from './ingest-workers';

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
  --udp-receive PATH        auto, recvmmsg or dgram (default auto: recvmmsg, many datagrams per
                            system call, where its addon is built; dgram in --workers processes)
  --receive-hold-ms N       recvmmsg: once datagrams come often (a wake-up finds 2 or more, or
                            comes within N ms of the last), read again N ms later, not on the
                            next datagram (default 1; 0 = never): fewer wake-ups, less CPU per
                            report; receive times stay the kernel's
  --interface DEV           live capture on DEV (libpcap); --filter BPF
  --speed N                 replay at the capture's pace x N (default 0 = as fast as possible)
  --rate PPS                replay at most PPS packets per second (default unlimited)
  --batch-records N         records per published batch (default 8192)
  --publish-every-ms N      a partial batch is published after at most N ms (default 400): more
                            means fewer, larger Kafka messages (less work for Kafka and analyze
                            per report) and N ms more latency
  --max-queued-mb N         producer queue bound; beyond it messages are shed (default 64)
  --workers N               N ingest processes sharing the --listen sockets (default 1; UDP
                            only; with --metrics-port P > 0, worker i serves on P + i)
  --compression CODEC       none, gzip, lz4 or zstd (default lz4; config 'kafka.compression';
                            zstd needs --kafka-client rdkafka)
  --no-compression          the same as --compression none
${KAFKA_CLIENT_HELP}
${METRICS_HELP}
  --status-every SECONDS    status line on stderr (default 10; 0 = never)
  --config FILE             YAML config file (sections codec, sources, kafka)
${KAFKA_SECURITY_HELP}
${CODEC_HELP}

Exit codes: 0 done; 1 a failure while running (a capture replay that had to shed messages);
2 usage error (flag, config, Kafka unreachable at start); 3 a capture is not a capture, or is
corrupt or truncated (what could be read was published).`;

function parseUdpReceive(v: string | undefined): UdpReceiveChoice {
  if (v === undefined) return 'auto';
  if (!(UDP_RECEIVE_CHOICES as readonly string[]).includes(v))
    throw new UsageError(`--udp-receive must be one of ${UDP_RECEIVE_CHOICES.join(', ')}`);
  try {
    chooseReceivePath(v as UdpReceiveChoice); // recvmmsg asked for: is the addon there?
  } catch (e) {
    throw new UsageError(`--udp-receive ${v}: ${(e as Error).message}`);
  }
  return v as UdpReceiveChoice;
}

export async function ingest(argv: string[]): Promise<number> {
  const cmd = parseCommand(argv, {
    help: INGEST_HELP,
    positionals: true,
    options: {
      ...CODEC_OPTIONS,
      ...KAFKA_SECURITY_OPTIONS,
      ...KAFKA_CLIENT_OPTIONS,
      compression: { type: 'string' },
      brokers: { type: 'string' },
      partitions: { type: 'string' },
      replication: { type: 'string' },
      listen: { type: 'string', multiple: true },
      allow: { type: 'string', multiple: true },
      'receive-buffer': { type: 'string' },
      'udp-receive': { type: 'string' },
      'receive-hold-ms': { type: 'string' },
      interface: { type: 'string' },
      filter: { type: 'string' },
      speed: { type: 'string' },
      rate: { type: 'string' },
      'batch-records': { type: 'string' },
      'publish-every-ms': { type: 'string' },
      'max-queued-mb': { type: 'string' },
      'no-compression': { type: 'boolean' },
      ...METRICS_OPTIONS,
      'status-every': { type: 'string' },
      workers: { type: 'string' },
    },
  });
  if (!cmd) return EXIT.OK;
  const { values, positionals, config: file } = cmd;
  const kafkaCfg = file.kafka;
  const src = file.sources;
  const logger = createLogger({ fields: { process: 'ingest', pid: process.pid } });
  const { brokers, partitions, replication, security } = kafkaFromArgs(
    values,
    kafkaCfg,
    process.env,
    (line) => logger.warn(line),
  );
  const { client, compression } = kafkaClientFromArgs(values, kafkaCfg, (line) =>
    logger.warn(line),
  );
  const speed = values.speed !== undefined ? parseNumberArg('--speed', values.speed, 0, 1e6) : 0;
  const every =
    values['status-every'] !== undefined
      ? parseNumberArg('--status-every', values['status-every'], 0, 86_400)
      : 10;
  const batchRecords =
    values['batch-records'] !== undefined
      ? parseIntArg('--batch-records', values['batch-records'], 1, 1 << 20)
      : 8192;
  const publishEveryMs =
    values['publish-every-ms'] !== undefined
      ? parseIntArg('--publish-every-ms', values['publish-every-ms'], 1, 10_000)
      : 400; // against 200 (and 4096 records): analyze -1.3 µs per report, Kafka -15 %, +0.1 s (docs)
  const maxQueuedMb =
    values['max-queued-mb'] !== undefined
      ? parseIntArg('--max-queued-mb', values['max-queued-mb'], 1, 65536)
      : 64;
  const rate =
    values.rate !== undefined ? parseIntArg('--rate', values.rate, 1, 100_000_000) : undefined;
  // a flag mistake is a usage error before Kafka is touched
  const metricsAt = metricsListenFrom(values);
  if (positionals.filter((f) => f === '-').length > 1)
    throw new UsageError('ingest: standard input (-) can be read only once');
  const workers =
    values.workers !== undefined ? parseIntArg('--workers', values.workers, 1, 256) : 1;
  // each worker of --workers serves its own metrics: P + index (0 stays "any port")
  const workerIndex = ingestWorkerIndex();
  const metricsValues =
    metricsAt && metricsAt.port > 0 && workerIndex > 0
      ? {
          'metrics-listen': `${metricsAt.host.includes(':') ? `[${metricsAt.host}]` : metricsAt.host}:${metricsAt.port + workerIndex}`,
          'metrics-users': values['metrics-users'],
        }
      : values;
  for (const f of positionals) {
    if (f === '-') continue; // checked as it is read: opening it here would consume it
    if (!fs.existsSync(f)) throw new UsageError(`ingest: ${f}: no such file`);
    try {
      openCapture(f).close();
    } catch (e) {
      if (!(e instanceof CaptureFormatError)) throw new UsageError(`${f}: ${(e as Error).message}`);
      process.stderr.write(`hopwatch ingest: ${f}: ${e.message}; nothing published\n`);
      return EXIT.INPUT;
    }
  }
  const codec = codecConfigFrom(values, file);
  if (workers > 1) {
    if (positionals.length || values.interface || src.interface)
      throw new UsageError(
        '--workers shares UDP sockets: only with --listen (no captures, no --interface)',
      );
    if (!(values.listen ?? src.listen).length)
      throw new UsageError('--workers needs --listen (the UDP sockets the workers share)');
    if (metricsAt && metricsAt.port > 0 && metricsAt.port + workers - 1 > 65535)
      throw new UsageError(
        `metrics port ${metricsAt.port}: worker ports P..P+${workers - 1} exceed 65535`,
      );
  }
  if (isIngestPrimary(workers)) {
    // create the topics once, before N workers race to do it
    await ensureTopics(brokers, {
      partitions,
      replicationFactor: replication,
      security,
      logger,
    }).catch((e) => {
      throw new UsageError(`cannot create the Kafka topics: ${(e as Error).message}`);
    });
    return runIngestWorkers(argv, workers, logger);
  }

  const sources: PacketSource[] = [];
  if (positionals.length) {
    sources.push(new PcapReplaySource(positionals, { speed }));
  }
  const listenSpecs = values.listen ?? src.listen;
  if (listenSpecs.length) {
    const listen = parseListenList('--listen', listenSpecs);
    sources.push(
      new UdpSource({
        listen,
        allow: values.allow ? checkAllowList('--allow', values.allow) : src.allow,
        receiveBuffer:
          values['receive-buffer'] !== undefined
            ? parseIntArg('--receive-buffer', values['receive-buffer'], 1, MAX_RECEIVE_BUFFER)
            : src.receiveBuffer,
        receive: parseUdpReceive(values['udp-receive']),
        receiveHoldMs:
          values['receive-hold-ms'] !== undefined
            ? parseIntArg('--receive-hold-ms', values['receive-hold-ms'], 0, 1000)
            : undefined,
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

  await ensureTopics(brokers, {
    partitions,
    replicationFactor: replication,
    security,
    logger,
  }).catch((e) => {
    throw new UsageError(`cannot create the Kafka topics: ${(e as Error).message}`);
  });
  const registry = new Registry();
  const producer = createKafkaProducer(client, {
    brokers,
    security,
    clientId: 'hopwatch-ingest',
    logger,
    compression,
    maxQueuedBytes: maxQueuedMb * 1024 * 1024,
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
    batchRecords,
    waitForKafka: replayOnly,
    maxPacketsPerSec: rate,
  });
  worker.instrument(registry, () => sources.map((s) => s.stats()));
  const metrics = await startMetrics(metricsValues, registry, logger);

  const guarded = new GuardedHandler(worker, (line) => logger.warn(line));
  const ac = new AbortController();
  const stop = (): void => {
    if (!ac.signal.aborted) logger.info('stopping: publishing what is buffered');
    ac.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // a partial batch waits at most publishEveryMs
  const ticker = setInterval(
    () => guarded.guard('the periodic publish', () => worker.publish()),
    publishEveryMs,
  );
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
            unhandled: guarded.failed,
          });
        }, every * 1000)
      : null;
  try {
    await Promise.all(sources.map((s) => s.run(guarded, ac.signal)));
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
    unhandled: guarded.failed,
    kafka: { sent: p.sent, shed: p.shed, shedByReason: p.shedByReason, errors: p.errors },
    sources: sources.map((s) => s.stats()),
    elapsedMs: Date.now() - t0,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
  const inputErrors = sources.filter((s) => s instanceof PcapReplaySource && s.stats().errors);
  for (const s of inputErrors)
    process.stderr.write(`hopwatch ingest: capture problem: ${s.stats().lastError}\n`);
  if (p.shed > 0 && replayOnly) return EXIT.FAILURE;
  return inputErrors.length ? EXIT.INPUT : EXIT.OK;
}
