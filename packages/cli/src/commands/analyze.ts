/**
 * `hopwatch analyze`: one member of the analytics consumer group. Runs the detectors on the
 * Kafka data topics, writes per-hop and path rows and anomalies to a ClickHouse server
 * (offsets are committed only after the rows are durable; inserts are idempotent through the
 * offset ledger), publishes anomalies on hopwatch.anomalies.v2, and keeps detector checkpoints,
 * anomaly de-duplication and live state in Redis. Runs until SIGINT/SIGTERM.
 *
 * `hopwatch analyze --active` / `--path FLOW` read the live state from Redis and exit.
 */
import {
  AnalyzeWorker,
  createLogger,
  describeKafkaSecurity,
  DETECTOR_TOPICS,
  detectorGroupOf,
  createKafkaConsumer,
  createKafkaProducer,
  ANOMALY_COMPRESSION,
  ensureTopics,
  TOPIC_RECORDS,
  instrumentConsumer,
  instrumentProducer,
  KafkaOffsetAdmin,
  type Consumer,
  RedisState,
  Registry,
  FlowStage,
} from '@hopwatch/pipeline';
import { openStore } from '@hopwatch/store';
import { AnomalyLog, STDOUT } from '../anomaly-log';
import { checkOutputFiles, parseCommand } from '../command';
import {
  checkGroup,
  KAFKA_CLIENT_HELP,
  KAFKA_CLIENT_OPTIONS,
  KAFKA_SECURITY_HELP,
  KAFKA_SECURITY_OPTIONS,
  kafkaClientFromArgs,
  kafkaFromArgs,
} from '../config/kafka';
import { checkRedisUrl } from '../config/redis';
import { checkStoreUrl, redactUrl } from '../config/store';
import { storeAccess } from '../runtime-options';
import { EXIT, UsageError } from '../errors';
import { parseIntArg, parseNumberArg } from '../numbers';
import { METRICS_HELP, METRICS_OPTIONS, metricsListenFrom, startMetrics } from '../metrics-options';
import { FLOW_HELP, FLOW_OPTIONS, flowsFrom } from '../flow-options';

export const ANALYZE_HELP = `Usage: hopwatch analyze --brokers LIST --store-url URL [options]
       hopwatch analyze --redis URL --active [--limit N]
       hopwatch analyze --redis URL --path 'SRC:SPORT>DST:DPORT/PROTO'

Consumes the Kafka data topics as a member of a consumer group, runs the detectors, stores
hop and path rows, flow intervals and anomalies in ClickHouse, publishes anomalies on
hopwatch.anomalies.v2, exports flow intervals over IPFIX (--ipfix). Start several to share
the partitions (each computes the flows of its partitions of the records topic). Runs until
SIGINT/SIGTERM (final checkpoint on exit).

Options:
  --brokers LIST            Kafka bootstrap brokers (config 'kafka.brokers')
  --group ID                consumer group of the records topic (default hopwatch-analytics);
                            the queues and reports topics are read in group ID.detectors
  --partitions N            partitions when creating topics (default 12; must match ingest)
  --replication N           replication factor when creating topics (default 1)
  --store-url URL           ClickHouse server HTTP URL (config 'store.url')
  --database NAME           database (default hopwatch)
  --redis URL               redis://host:port for checkpoints, de-duplication, live state
                            (config 'redis.url'; without it: none of those)
  --checkpoint-every SECS   detector checkpoint period (default 5)
  --idle-flush-ms MS        close open episodes after this long without data (default 1000)
  --concurrency N           partitions handled concurrently (default 12)
  --insert-every-ms MS      shortest time between the starts of two row inserts into
                            ClickHouse (default 0: as soon as the previous one is done); more
                            means fewer, larger inserts, and rows queryable (and path, loop and
                            flow anomalies, which wait for their partition's insert) up to MS
                            later
  --anomalies FILE.jsonl    also append every published anomaly here (- = standard output;
                            the final statistics line then goes to standard error)
  --no-publish              do not publish anomalies on Kafka
${KAFKA_CLIENT_HELP}
${METRICS_HELP}
  --stop-timeout SECS       longest a graceful stop may take before the process exits
                            anyway (default 60; uncommitted data is re-read on restart)
  --status-every SECONDS    status line on stderr (default 10; 0 = never)
  --config FILE             YAML config file (sections analytics, store, kafka, redis, flows)
  --active                  print the active anomalies from Redis and exit (--limit N, default 20)
  --path FLOW               print the latest path of a flow from Redis and exit
${FLOW_HELP}
  (flows.maxFlows is shared by the records topic's partitions: each partition's table holds
  maxFlows / partitions flows, at least 1024)
${KAFKA_SECURITY_HELP}`;

/** Store errors a retry cannot mend: authentication (18.16: codes 192-194; later 516) and TLS. */
const STORE_REFUSED =
  /Code: (19[234]|516)\b|AUTHENTICATION_FAILED|Wrong password|Unknown user|certificate|self[- ]signed|altnames|EPROTO|wrong version number/i;

/** A partition's next batch waits until its previous one's rows are stored, so with fewer
 * handlers than partitions detection queued behind ClickHouse inserts: at 20,000 reports/s, 3
 * gave detectors 1.5 s behind (p50) and an anomaly p99 of 2.8 s, 12 (the default partitions)
 * 0.2 s and 1.3-1.4 s, with fewer, larger inserts (docs/benchmarks-distributed.md). */
const DEFAULT_CONCURRENCY = 12;
const DEFAULT_INSERT_EVERY_MS = 0;

export async function analyze(argv: string[]): Promise<number> {
  const cmd = parseCommand(argv, {
    help: ANALYZE_HELP,
    options: {
      ...KAFKA_SECURITY_OPTIONS,
      ...KAFKA_CLIENT_OPTIONS,
      brokers: { type: 'string' },
      group: { type: 'string' },
      partitions: { type: 'string' },
      replication: { type: 'string' },
      'store-url': { type: 'string' },
      database: { type: 'string' },
      redis: { type: 'string' },
      'checkpoint-every': { type: 'string' },
      'idle-flush-ms': { type: 'string' },
      concurrency: { type: 'string' },
      'insert-every-ms': { type: 'string' },
      anomalies: { type: 'string' },
      'no-publish': { type: 'boolean' },
      ...METRICS_OPTIONS,
      'status-every': { type: 'string' },
      'stop-timeout': { type: 'string' },
      active: { type: 'boolean' },
      limit: { type: 'string' },
      path: { type: 'string' },
      ...FLOW_OPTIONS,
    },
  });
  if (!cmd) return EXIT.OK;
  const { values, config: file } = cmd;
  const kafkaCfg = file.kafka;
  const storeCfg = file.store;
  const redisUrl =
    values.redis !== undefined ? checkRedisUrl('--redis', values.redis) : file.redis.url;
  const logger = createLogger({ fields: { process: 'analyze', pid: process.pid } });

  if (values.active || values.path) {
    if (!redisUrl) throw new UsageError('--active / --path need --redis');
    const r = new RedisState({ url: redisUrl, logger });
    try {
      await new Promise<void>((res, rej) => {
        r.redis.once('ready', () => res());
        setTimeout(() => rej(new UsageError(`cannot reach Redis at ${redisUrl}`)), 3000);
      });
      if (values.active) {
        const list = await r.activeAnomalies(
          values.limit ? parseIntArg('--limit', values.limit, 1, 100000) : 20,
        );
        for (const a of list) process.stdout.write(JSON.stringify(a) + '\n');
      } else {
        const p = await r.latestPath(values.path!);
        process.stdout.write((p ? JSON.stringify(p) : 'unknown flow') + '\n');
      }
    } finally {
      await r.close();
    }
    return 0;
  }

  const { brokers, partitions, replication, security } = kafkaFromArgs(
    values,
    kafkaCfg,
    process.env,
    (line) => logger.warn(line),
  );
  // anomalies go out gzip-compressed (kafka.compression is ingest's, for the data topics)
  const { client } = kafkaClientFromArgs(
    { 'kafka-client': values['kafka-client'], compression: 'gzip' },
    kafkaCfg,
    (line) => logger.warn(line),
  );
  const url =
    values['store-url'] !== undefined
      ? checkStoreUrl('--store-url', values['store-url'])
      : storeCfg.url;
  if (!url) throw new UsageError('--store-url is required (a ClickHouse server)');
  const access = storeAccess(url, storeCfg, process.env, (line) => logger.warn(line));
  const shownUrl = redactUrl(url);
  const stopTimeout = parseIntArg('--stop-timeout', values['stop-timeout'] ?? '60', 1, 86_400);
  const groupId = values.group ?? kafkaCfg.group;
  if (values.group !== undefined) checkGroup('--group', values.group);
  if (values.database !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(values.database))
    throw new UsageError(`--database: '${values.database}' is not a database name`);
  const concurrency =
    values.concurrency !== undefined
      ? parseIntArg('--concurrency', values.concurrency, 1, 64)
      : DEFAULT_CONCURRENCY;
  const insertEveryMs =
    values['insert-every-ms'] !== undefined
      ? parseIntArg('--insert-every-ms', values['insert-every-ms'], 0, 60_000)
      : DEFAULT_INSERT_EVERY_MS;
  const checkpointEveryMs =
    values['checkpoint-every'] !== undefined
      ? parseNumberArg('--checkpoint-every', values['checkpoint-every'], 0.01, 86_400) * 1000
      : 5000;
  const idleFlushMs =
    values['idle-flush-ms'] !== undefined
      ? parseIntArg('--idle-flush-ms', values['idle-flush-ms'], 1, 86_400_000)
      : 1000;
  const every =
    values['status-every'] !== undefined
      ? parseNumberArg('--status-every', values['status-every'], 0, 86_400)
      : 10;
  metricsListenFrom(values); // a flag mistake is a usage error before Kafka is touched
  const report = values.anomalies === STDOUT ? process.stderr : process.stdout;
  if (values.anomalies && values.anomalies !== STDOUT)
    checkOutputFiles(cmd, [], [{ name: '--anomalies', path: values.anomalies }]);
  const anomaliesOut = values.anomalies
    ? new AnomalyLog(values.anomalies, 'a', (line) => logger.warn(line))
    : null;
  // flags and config checked (and IPFIX exporters started: they never block) before connecting
  const flows = flowsFrom(values, file, { table: false });

  // ClickHouse: migrations at start-up; wait for the server if it is not up yet
  let store;
  for (let attempt = 1; ; attempt++) {
    try {
      store = await openStore({
        ...access,
        database: values.database ?? storeCfg.database,
        retentionDays: storeCfg.retentionDays,
        mergeSelectorBase: storeCfg.mergeSelectorBase,
        batchRows: 1_000_000,
        // the offset ledger needs a partition's rows to land in order
        maxWrites: 1,
      });
      break;
    } catch (e) {
      // waiting does not mend a wrong password or certificate
      if (attempt >= 30 || STORE_REFUSED.test((e as Error).message))
        throw new UsageError(`cannot open the store at ${shownUrl}: ${(e as Error).message}`);
      logger.warn('ClickHouse not reachable yet; retrying', {
        url: shownUrl,
        attempt,
        error: (e as Error).message.split('\n')[0],
      });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  await ensureTopics(brokers, {
    partitions,
    replicationFactor: replication,
    security,
    logger,
  }).catch((e) => {
    throw new UsageError(`cannot create the Kafka topics: ${(e as Error).message}`);
  });
  const registry = new Registry();
  const redis = redisUrl ? new RedisState({ url: redisUrl, logger }) : null;
  const producer = values['no-publish']
    ? null
    : createKafkaProducer(client, {
        brokers,
        security,
        clientId: 'hopwatch-analyze',
        logger,
        maxAttempts: 50,
        compression: ANOMALY_COMPRESSION,
      });
  if (producer) instrumentProducer(registry, producer, 'anomalies');
  // Two consumers in two groups: the detector topics must not wait behind the row inserts
  // of the records topic (see AnalyzeWorker).
  const detectorGroupId = detectorGroupOf(groupId);
  const consumerOf = (group: string, topics: readonly string[]): Consumer =>
    createKafkaConsumer(client, {
      brokers,
      security,
      groupId: group,
      topics: [...topics],
      logger,
      clientId: 'hopwatch-analyze',
      partitionsConsumedConcurrently: concurrency,
      maxWaitTimeMs: 100,
      maxBytesPerPartition: 4 * 1024 * 1024,
    });
  const consumer = consumerOf(groupId, [TOPIC_RECORDS]);
  const detectorConsumer = consumerOf(detectorGroupId, DETECTOR_TOPICS);
  instrumentConsumer(registry, consumer, groupId);
  instrumentConsumer(registry, detectorConsumer, detectorGroupId);
  const flowStage = flows.tableOptions
    ? new FlowStage({
        table: {
          ...flows.tableOptions,
          maxFlows: Math.max(1024, Math.ceil((flows.tableOptions.maxFlows ?? 32_768) / partitions)),
        },
        store,
        log: logger.child({ component: 'flows' }),
        registry,
        onFlows: flows.onFlows,
      })
    : null;
  const worker = new AnalyzeWorker({
    consumer,
    detectorConsumer,
    detectorGroupId,
    store,
    producer,
    redis,
    analytics: file.analytics,
    logger,
    registry,
    admin: new KafkaOffsetAdmin({ brokers, security }),
    groupId,
    checkpointEveryMs,
    idleFlushMs,
    insertEveryMs,
    onAnomaly: (a) => anomaliesOut?.write(a),
    flows: flowStage,
  });
  const metrics = await startMetrics(values, registry, logger);
  await worker.start();
  logger.info('analyze running', {
    brokers: brokers.join(','),
    kafkaSecurity: describeKafkaSecurity(security),
    kafkaClient: client,
    groupId,
    store: shownUrl,
    redis: redisUrl ?? null,
  });
  const status =
    every > 0
      ? setInterval(() => {
          const s = worker.stats();
          logger.info('status', { ...s });
        }, every * 1000)
      : null;
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info('stopping: final checkpoint');
  // A stop must end even when a dependency hangs: offsets are committed only after the rows
  // are durable, so whatever a forced exit leaves behind is read again by the next member.
  const forceExit = (why: string): void => {
    logger.error(`stopping: ${why}; exiting without the rest of the graceful stop`);
    report.write(JSON.stringify(worker.stats()) + '\n');
    process.exit(1);
  };
  setTimeout(() => forceExit(`not done after ${stopTimeout} s`), stopTimeout * 1000).unref();
  process.once('SIGINT', () => forceExit('second signal'));
  process.once('SIGTERM', () => forceExit('second signal'));
  if (status) clearInterval(status);
  await worker.close();
  const closed = (what: string): void => logger.info(`stopping: ${what} closed`);
  await flows.close().then(() => closed('IPFIX exporters'));
  for (const line of flows.summary()) logger.info(line);
  if (producer) await producer.close().then(() => closed('anomaly producer'));
  if (redis) await redis.close().then(() => closed('redis'));
  await store.close().then(() => closed('store'));
  if (metrics) await metrics.close().then(() => closed('metrics'));
  anomaliesOut?.close();
  report.write(
    JSON.stringify({ ...worker.stats(), ipfix: flows.exporters.map((e) => e.stats) }) + '\n',
  );
  const notWritten = anomaliesOut?.summary();
  if (notWritten) logger.error(notWritten);
  return notWritten ? EXIT.FAILURE : EXIT.OK;
}
