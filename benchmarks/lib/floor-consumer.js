#!/usr/bin/env node
/**
 * The floor under `hopwatch analyze`'s CPU per report: the same Kafka consumers as analyze (the
 * records topic in one group, the detector topics in another, the same client and options)
 * with a handler that does nothing (mode `consume`) or only decodes the messages into a
 * RecordBatch the way analyze does (mode `decode`). No detectors, no store, no Redis. Mode
 * `lowlevel` reads the same topics in the same groups through the package's low-level
 * librdkafka consumer instead (a `consume(n)` loop, offsets committed every 500 ms), without
 * its KafkaJS-compatible layer: what that layer costs. Run by
 * `benchmarks/distributed.js --floor-consumer MODE` beside analyze, in groups of its own, and
 * measured over the same window: what the transport (and the decode) alone costs per report.
 *
 * Usage: node benchmarks/lib/floor-consumer.js BROKERS consume|decode|lowlevel
 */
'use strict';
const path = require('path');
const { RecordBatch } = require('@hopwatch/codec');
const pipeline = require(path.resolve(__dirname, '../../packages/pipeline'));
const {
  createKafkaConsumer,
  createLogger,
  decodeMessage,
  defaultKafkaClient,
  kindOfTopic,
  DETECTOR_TOPICS,
  TOPIC_RECORDS,
} = pipeline;

const [brokers, mode] = process.argv.slice(2);
if (!brokers || !['consume', 'decode', 'lowlevel'].includes(mode)) {
  console.error('usage: floor-consumer.js BROKERS consume|decode|lowlevel');
  process.exit(2);
}
const logger = createLogger({ level: 'warn' });
const client = defaultKafkaClient();
// analyze's consumer options (packages/cli/src/commands/analyze.ts)
const consumerOf = (group, topics) =>
  createKafkaConsumer(client, {
    brokers: brokers.split(','),
    groupId: group,
    topics: [...topics],
    logger,
    clientId: 'hopwatch-floor',
    partitionsConsumedConcurrently: 12,
    maxWaitTimeMs: 100,
    maxBytesPerPartition: 4 * 1024 * 1024,
  });

let records = 0;
const pool = [];
const handler = async (batch) => {
  if (mode === 'consume') return;
  const b = pool.pop() ?? new RecordBatch(4096, 8);
  b.reset();
  const kind = kindOfTopic(batch.topic);
  for (const m of batch.messages) decodeMessage(kind, m.value, b);
  records += b.count;
  // held across an await, as analyze holds its decoded batch across the insert
  await new Promise(setImmediate);
  pool.push(b);
};

/** A consumer on the low-level API with the run / ready / close of the Consumer interface. */
function lowLevel(group, topics) {
  const { KafkaConsumer } = require('@confluentinc/kafka-javascript');
  const k = new KafkaConsumer(
    {
      'bootstrap.servers': brokers,
      'group.id': group,
      'client.id': 'hopwatch-floor',
      'enable.auto.commit': false,
      'fetch.wait.max.ms': 100,
      'max.partition.fetch.bytes': 4 * 1024 * 1024,
      'partition.assignment.strategy': 'roundrobin',
      rebalance_cb: true,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  let running = true;
  let joined;
  const ready = new Promise((r) => (joined = r));
  const next = new Map(); // "topic/partition" -> { topic, partition, offset }
  let timer;
  return {
    run: () =>
      new Promise((resolve, reject) =>
        k.connect({}, (err) => {
          if (err) return reject(err);
          k.setDefaultConsumeTimeout(100);
          k.setDefaultIsTimeoutOnlyForFirstMessage(true);
          k.subscribe([...topics]);
          timer = setInterval(() => {
            if (next.size) k.commit([...next.values()]);
            next.clear();
          }, 500);
          const loop = () => {
            if (!running) return resolve();
            k.consume(1000, (e, ms) => {
              if (!e && ms.length) joined();
              for (const m of ms ?? [])
                next.set(`${m.topic}/${m.partition}`, {
                  topic: m.topic,
                  partition: m.partition,
                  offset: m.offset + 1,
                });
              loop();
            });
          };
          k.on('rebalance', (e) => e.code === -175 && joined());
          loop();
        }),
      ),
    ready: () => ready,
    close: () =>
      new Promise((r) => {
        running = false;
        clearInterval(timer);
        k.disconnect(() => r());
      }),
  };
}

const consumers =
  mode === 'lowlevel'
    ? [lowLevel('bench-floor', [TOPIC_RECORDS]), lowLevel('bench-floor-detectors', DETECTOR_TOPICS)]
    : [
        consumerOf('bench-floor', [TOPIC_RECORDS]),
        consumerOf('bench-floor-detectors', DETECTOR_TOPICS),
      ];
for (const c of consumers) void c.run(handler);
Promise.all(consumers.map((c) => c.ready())).then(() =>
  console.error(`floor consumer (${mode}, ${client}) joined`),
);
process.once('SIGTERM', async () => {
  await Promise.all(consumers.map((c) => c.close()));
  console.error(`floor consumer: ${records} records decoded`);
  process.exit(0);
});
