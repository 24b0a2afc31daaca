/**
 * Kafka transport against a real single-node KRaft broker (@hopwatch/testkit). Skipped, with
 * a message, when Kafka is not installed here (deploy/services.sh install kafka).
 */
import { Kafka, logLevel } from 'kafkajs';
import { prng, RecordBatch } from '@hopwatch/codec';
import {
  servicesAvailable,
  startKafka,
  unavailableMessage,
  type KafkaHandle,
} from '@hopwatch/testkit';
import {
  ConsumedBatch,
  createKafkaConsumer,
  createKafkaProducer,
  createLogger,
  DATA_TOPICS,
  decodeConsumed,
  ensureTopics,
  KafkaConsumer,
  type KafkaConsumerOptions,
  type KafkaClientName,
  KafkaOffsetAdmin,
  type KafkaProducerOptions,
  kindOfTopic,
  publishBatch,
} from '../src';
import { randomBatch, topicChecksum } from '@hopwatch/pipeline/testing';

const avail = servicesAvailable();
if (!avail.kafka) console.warn(`transport-kafka tests skipped: ${unavailableMessage('kafka')}`);
const d = avail.kafka ? describe : describe.skip;

const waitFor = async (what: string, cond: () => boolean, ms = 30000): Promise<void> => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

// both clients by default; HOPWATCH_TEST_KAFKA_CLIENTS=rdkafka (a list) narrows a run
const CLIENTS = (process.env.HOPWATCH_TEST_KAFKA_CLIENTS ?? 'kafkajs,rdkafka').split(
  ',',
) as KafkaClientName[];

d.each(CLIENTS)('kafka transport over %s (real broker)', (client) => {
  const newProducer = (o: KafkaProducerOptions) => createKafkaProducer(client, o);
  const newConsumer = (o: KafkaConsumerOptions) => createKafkaConsumer(client, o);
  const kafkajsOnly = client === 'kafkajs' ? test : test.skip;
  let kafka: KafkaHandle;
  const lines: string[] = [];
  const logger = createLogger({
    level: 'info',
    write: (l) => {
      lines.push(l);
      if (process.env.HOPWATCH_TEST_LOG) process.stderr.write(l);
    },
  });

  beforeAll(async () => {
    kafka = await startKafka({ brokers: 1 });
    const res = await ensureTopics(kafka.brokers, { partitions: 4, replicationFactor: 1, logger });
    expect(res.created.sort()).toEqual([...DATA_TOPICS, 'hopwatch.anomalies.v2'].sort());
    const again = await ensureTopics(kafka.brokers, { partitions: 4, logger });
    expect(again.created).toEqual([]);
  }, 90_000);

  afterAll(async () => {
    await kafka?.stop();
  }, 60_000);

  test('10k records → 3 topics × 4 partitions → consumer group → same columns', async () => {
    const producer = newProducer({ brokers: kafka.brokers, logger });
    const batch = randomBatch(10_000, 11);
    const counts = publishBatch(producer, batch, { partitions: 4 });
    await producer.flush();
    expect(producer.stats()).toMatchObject({ sent: counts.messages, shed: 0, queuedMessages: 0 });
    await producer.close();

    const rebuilt = new Map<string, RecordBatch>(
      DATA_TOPICS.map((t) => [t, new RecordBatch(256, 2)]),
    );
    const partitionsSeen = new Map<string, Set<number>>(DATA_TOPICS.map((t) => [t, new Set()]));
    const keyPartition = new Map<string, number>();
    let keyMoved = 0;
    const handler = async (b: ConsumedBatch): Promise<void> => {
      decodeConsumed(b, rebuilt.get(b.topic)!);
      partitionsSeen.get(b.topic)!.add(b.partition);
      for (const m of b.messages) {
        const k = `${b.topic}|${m.key}`;
        const p = keyPartition.get(k);
        if (p !== undefined && p !== b.partition) keyMoved++;
        keyPartition.set(k, b.partition);
      }
    };
    const consumers = [0, 1].map(() =>
      newConsumer({
        brokers: kafka.brokers,
        groupId: 'analytics',
        topics: [...DATA_TOPICS],
        logger,
      }),
    );
    await Promise.all(consumers.map((c) => c.run(handler)));
    const expected = { records: counts.records, queues: counts.queues, reports: counts.reports };
    await waitFor('all rows', () =>
      DATA_TOPICS.every((t) => rebuilt.get(t)!.count >= expected[kindOfTopic(t)!]),
    );
    for (const t of DATA_TOPICS) {
      const kind = kindOfTopic(t)!;
      expect({ t, ...topicChecksum(rebuilt.get(t)!, kind) }).toEqual({
        t,
        ...topicChecksum(batch, kind),
      });
      expect(partitionsSeen.get(t)!.size).toBe(4);
    }
    expect(keyMoved).toBe(0);
    await Promise.all(consumers.map((c) => c.close()));
    // offsets commit on a cycle (and at close): counted once closed
    const st = consumers.map((c) => c.stats());
    expect(st[0].failures + st[1].failures).toBe(0);
    expect(st[0].commits + st[1].commits).toBeGreaterThan(0);
  }, 90_000);

  test('offsets are committed only after the handler resolves: failures are redelivered', async () => {
    const topic = 'hopwatch.test.redeliver';
    await ensureTopics(kafka.brokers, { topics: [topic], partitions: 1, logger });
    const producer = newProducer({ brokers: kafka.brokers, logger });
    producer.send(
      topic,
      [0, 1, 2, 3, 4].map((i) => ({ key: `k${i}`, value: Buffer.from(`v${i}`) })),
    );
    await producer.flush();
    await producer.close();

    const seen1: string[] = [];
    const c1 = newConsumer({
      brokers: kafka.brokers,
      groupId: 'redeliver',
      topics: [topic],
      logger,
      retryBackoffMs: 50,
    });
    await c1.run(async (b) => {
      seen1.push(b.messages.map((m) => m.offset).join(','));
      throw new Error('clickhouse insert failed');
    });
    await waitFor('two failed attempts', () => c1.stats().failures >= 2);
    expect(seen1[0]).toBe(seen1[1]);
    expect(seen1[0].startsWith('0')).toBe(true);
    expect(c1.stats().commits).toBe(0);
    await c1.close();

    const seen2: string[] = [];
    const c2 = newConsumer({
      brokers: kafka.brokers,
      groupId: 'redeliver',
      topics: [topic],
      logger,
    });
    await c2.run(async (b) => {
      seen2.push(...b.messages.map((m) => `${m.offset}:${m.value.toString()}`));
    });
    await waitFor('redelivery', () => seen2.length >= 5);
    expect(seen2).toEqual(['0:v0', '1:v1', '2:v2', '3:v3', '4:v4']);
    await waitFor('commit', () => c2.stats().commits >= 1);
    await c2.close();

    // committed: a third member starts after offset 4
    const p2 = newProducer({ brokers: kafka.brokers, logger });
    p2.send(topic, [{ key: 'k5', value: Buffer.from('v5') }]);
    await p2.flush();
    await p2.close();
    const seen3: string[] = [];
    const c3 = newConsumer({
      brokers: kafka.brokers,
      groupId: 'redeliver',
      topics: [topic],
      logger,
    });
    await c3.run(async (b) => void seen3.push(...b.messages.map((m) => m.offset)));
    await waitFor('new message', () => seen3.length >= 1);
    expect(seen3).toEqual(['5']);
    await c3.close();
  }, 90_000);

  test('offset admin: partition ends and committed offsets of a group (lag, catch-up)', async () => {
    const topic = 'hopwatch.test.offsets';
    await ensureTopics(kafka.brokers, { topics: [topic], partitions: 2, logger });
    const producer = newProducer({ brokers: kafka.brokers, logger });
    producer.send(
      topic,
      [0, 1, 2].map((i) => ({ key: `k${i}`, value: Buffer.from(`v${i}`), partition: 0 })),
    );
    await producer.flush();
    await producer.close();
    const c = newConsumer({
      brokers: kafka.brokers,
      groupId: 'offsets',
      topics: [topic],
      logger,
    });
    let n = 0;
    await c.run(async (b) => void (n += b.messages.length));
    await waitFor('three messages', () => n >= 3);
    await waitFor('commit', () => c.stats().commits >= 1);
    await c.close();
    // the first call of a fresh client asks for a group's offsets (as the idle flush does)
    const admin = new KafkaOffsetAdmin({ brokers: kafka.brokers });
    try {
      const done = await admin.committedOffsets('offsets', [topic]);
      expect(done.get(topic)!.get(0)).toBe(3);
      const none = await admin.committedOffsets('offsets-none', [topic]);
      expect(none.get(topic)!.get(0)).toBe(-1);
      expect(await admin.endOffsets(topic)).toEqual(
        new Map([
          [0, 3],
          [1, 0],
        ]),
      );
    } finally {
      await admin.close();
    }
    await expect(admin.endOffsets(topic)).rejects.toThrow(/closed/);
    // nothing listens there: the call fails (callers keep their last values) instead of hanging
    const dead = new KafkaOffsetAdmin({ brokers: ['127.0.0.1:1'], connectTimeoutMs: 500 });
    await expect(dead.endOffsets(topic)).rejects.toThrow();
    await dead.close();
  }, 90_000);

  /** The group's committed offset of partition 0 of `topic` (-1: none). */
  async function committedAt(groupId: string, topic: string): Promise<number> {
    const admin = new KafkaOffsetAdmin({ brokers: kafka.brokers });
    try {
      return (await admin.committedOffsets(groupId, [topic])).get(topic)!.get(0)!;
    } finally {
      await admin.close();
    }
  }

  test('offsets commit on a cycle: many batches, one commit request, the rest at close', async () => {
    const topic = 'hopwatch.test.commit-cycle';
    await ensureTopics(kafka.brokers, { topics: [topic], partitions: 1, logger });
    const c = newConsumer({
      brokers: kafka.brokers,
      groupId: 'commit-cycle',
      topics: [topic],
      logger,
      maxWaitTimeMs: 50,
      commitIntervalMs: 60_000, // no cycle within the test: only close() commits
    });
    let n = 0;
    const hooks: number[] = [];
    await c.run(async (b) => void (n += b.messages.length), {
      beforeCommit: async () => void hooks.push(n),
    });
    await c.ready();
    const producer = newProducer({ brokers: kafka.brokers, logger });
    // one message at a time, each consumed before the next is sent: a batch each
    for (let i = 0; i < 20; i++) {
      producer.send(topic, [{ key: `k${i}`, value: Buffer.from(`v${i}`), partition: 0 }]);
      await producer.flush();
      await waitFor(`message ${i}`, () => n >= i + 1);
    }
    await producer.close();
    expect(c.stats().batches).toBeGreaterThanOrEqual(10);
    // the old behaviour committed after every batch
    expect(c.stats().commits).toBe(0);
    expect(await committedAt('commit-cycle', topic)).toBe(-1);
    await c.close();
    // close committed all 20 in one request, after the hook saw all of them handled
    expect(c.stats()).toMatchObject({ commits: 1, commitErrors: 0, messages: 20 });
    expect(hooks).toEqual([20]);
    expect(await committedAt('commit-cycle', topic)).toBe(20);
  }, 90_000);

  test('a failed batch is never committed past, on the cycle or at close', async () => {
    const topic = 'hopwatch.test.commit-failed';
    await ensureTopics(kafka.brokers, { topics: [topic], partitions: 1, logger });
    const producer = newProducer({ brokers: kafka.brokers, logger });
    const send = async (from: number, to: number): Promise<void> => {
      const ms = [];
      for (let i = from; i < to; i++)
        ms.push({ key: `k${i}`, value: Buffer.from(`v${i}`), partition: 0 });
      producer.send(topic, ms);
      await producer.flush();
    };
    await send(0, 5);
    const c = newConsumer({
      brokers: kafka.brokers,
      groupId: 'commit-failed',
      topics: [topic],
      logger,
      maxWaitTimeMs: 50,
      retryBackoffMs: 50,
      maxRetryBackoffMs: 100,
      commitIntervalMs: 50,
    });
    let handled = 0;
    await c.run(async (b) => {
      if (b.messages.some((m) => Number(m.offset) >= 5)) throw new Error('store down');
      handled += b.messages.length;
    });
    await waitFor('first five handled', () => handled >= 5);
    await waitFor('their commit', () => c.stats().commits >= 1);
    await send(5, 10);
    await waitFor('failed attempts', () => c.stats().failures >= 3);
    // several cycles ran meanwhile: the committed offset stays before the failed batch
    await new Promise((r) => setTimeout(r, 300));
    expect(await committedAt('commit-failed', topic)).toBe(5);
    await c.close();
    expect(await committedAt('commit-failed', topic)).toBe(5);
    expect(c.stats().commitErrors).toBe(0);
    await producer.close();
    // the next member starts with the failed messages
    const seen: string[] = [];
    const c2 = newConsumer({
      brokers: kafka.brokers,
      groupId: 'commit-failed',
      topics: [topic],
      logger,
    });
    await c2.run(async (b) => void seen.push(...b.messages.map((m) => m.offset)));
    await waitFor('redelivery', () => seen.length >= 5);
    expect(seen).toEqual(['5', '6', '7', '8', '9']);
    await c2.close();
  }, 90_000);

  /** The log end offset (high watermark) of one partition, as the broker reports it. */
  async function logEnd(topic: string, partition: number): Promise<string | undefined> {
    const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(topic)).find((o) => o.partition === partition)?.high;
    } finally {
      await admin.disconnect();
    }
  }

  /** Two messages on each of partitions 0 and 1; all four must reach the consumer (`seen`
   * holds "partition:offset"). */
  async function sendFourAndExpectThem(topic: string, seen: Set<string>): Promise<void> {
    const producer = newProducer({ brokers: kafka.brokers, logger });
    producer.send(
      topic,
      [0, 1, 2, 3].map((i) => ({ key: `k${i}`, value: Buffer.from(`v${i}`), partition: i % 2 })),
    );
    await producer.flush();
    await producer.close();
    await waitFor('all four messages', () => seen.size >= 4, 30_000);
    expect([...seen].sort()).toEqual(['0:0', '0:1', '1:0', '1:1']);
  }

  // the stall watchdog mends a kafkajs fault; librdkafka's consumer has none
  kafkajsOnly(
    'a partition that stops being fetched (behind its log end) makes the member rejoin',
    async () => {
      const topic = 'hopwatch.test.stall';
      await ensureTopics(kafka.brokers, { topics: [topic], partitions: 2, logger });
      const c = new KafkaConsumer({
        brokers: kafka.brokers,
        groupId: 'stall',
        topics: [topic],
        logger,
        stallTimeoutMs: 1500,
      });
      const seen = new Set<string>();
      await c.run(
        async (b) => void b.messages.forEach((m) => seen.add(`${b.partition}:${m.offset}`)),
      );
      await c.ready();
      // What kafkajs does after some leader moves, reproduced: partition 1 silently stops
      // being fetched while the member stays in its group.
      (c as unknown as { consumer: { pause(t: object[]): void } }).consumer.pause([
        { topic, partitions: [1] },
      ]);
      await sendFourAndExpectThem(topic, seen);
      expect(c.stats().restarts).toBeGreaterThanOrEqual(1);
      expect(lines.some((l) => l.includes('made no progress; rejoining'))).toBe(true);
      await c.close();
    },
    60_000,
  );

  test('a handler that stays busy (slow downstream) does not make the member rejoin', async () => {
    const topic = 'hopwatch.test.busy';
    await ensureTopics(kafka.brokers, { topics: [topic], partitions: 2, logger });
    const c = newConsumer({
      brokers: kafka.brokers,
      groupId: 'busy',
      topics: [topic],
      logger,
      stallTimeoutMs: 1000,
    });
    const seen = new Set<string>();
    // The first batch waits 5 s, as inserts do while ClickHouse is down: partitions behind
    // their log end make no progress meanwhile, and that is backpressure, not a stall.
    let first = true;
    await c.run(async (b) => {
      if (first) {
        first = false;
        await new Promise((r) => setTimeout(r, 5000));
      }
      b.messages.forEach((m) => seen.add(`${b.partition}:${m.offset}`));
    });
    await c.ready();
    await sendFourAndExpectThem(topic, seen);
    expect(c.stats().restarts).toBe(0);
    await c.close();
  }, 60_000);

  test('a backlog for one partition is sent in record batches the broker accepts (no compression)', async () => {
    const topic = 'hopwatch.test.hot-partition';
    await ensureTopics(kafka.brokers, { topics: [topic], partitions: 2, logger });
    const producer = newProducer({ brokers: kafka.brokers, logger, compression: 'none' });
    // 24 messages of 200 KiB for partition 0, enqueued at once: 4.7 MiB, while the broker takes
    // at most 1 MiB per record batch (message.max.bytes)
    const value = Buffer.alloc(200 * 1024, 7);
    producer.send(
      topic,
      Array.from({ length: 24 }, (_, i) => ({ key: `k${i}`, value, partition: 0 })),
    );
    await producer.flush();
    const st = producer.stats();
    await producer.close();
    expect(st.shed).toBe(0);
    expect(st.sent).toBe(24);
    expect(await logEnd(topic, 0)).toBe('24');
  }, 60_000);

  test('data that does not compress: the broker says "too large", the producer sends less', async () => {
    const topic = 'hopwatch.test.incompressible';
    await ensureTopics(kafka.brokers, { topics: [topic], partitions: 1, logger });
    const producer = newProducer({ brokers: kafka.brokers, logger }); // gzip
    const rnd = prng(5);
    const messages = Array.from({ length: 24 }, (_, i) => {
      const value = Buffer.alloc(200 * 1024);
      for (let j = 0; j < value.length; j++) value[j] = (rnd() * 256) | 0;
      return { key: `k${i}`, value, partition: 0 };
    });
    producer.send(topic, messages);
    await producer.flush();
    const st = producer.stats();
    await producer.close();
    expect(st.shed).toBe(0);
    expect(st.sent).toBe(24);
    // kafkajs halves its bound after the broker's answer; librdkafka sizes batches itself
    if (client === 'kafkajs')
      expect(lines.some((l) => l.includes('record batch too large for the broker'))).toBe(true);
    expect(await logEnd(topic, 0)).toBe('24');
  }, 60_000);

  test.each(['none', 'gzip', 'lz4', 'zstd'] as const)(
    'compression %s: messages arrive intact, read by both clients (zstd: rdkafka only)',
    async (compression) => {
      if (client === 'kafkajs' && compression === 'zstd') {
        expect(() => newProducer({ brokers: kafka.brokers, logger, compression })).toThrow(
          /needs the rdkafka client/,
        );
        return;
      }
      const topic = `hopwatch.test.codec-${compression}`;
      await ensureTopics(kafka.brokers, { topics: [topic], partitions: 1, logger });
      const producer = newProducer({ brokers: kafka.brokers, logger, compression });
      const want = Array.from({ length: 50 }, (_, i) => `${compression}-${i}-`.repeat(200));
      producer.send(
        topic,
        want.map((v, i) => ({ key: `k${i}`, value: Buffer.from(v) })),
      );
      await producer.flush();
      expect(producer.stats()).toMatchObject({ sent: 50, shed: 0 });
      await producer.close();
      // what one client compressed, the other decompresses (kafkajs: lz4.ts)
      const readers = CLIENTS.filter((r) => r === client || compression !== 'zstd');
      for (const reader of readers) {
        const got: string[] = [];
        const c = createKafkaConsumer(reader, {
          brokers: kafka.brokers,
          groupId: `codec-${compression}-${reader}`,
          topics: [topic],
          logger,
        });
        await c.run(async (b) => void got.push(...b.messages.map((m) => m.value.toString())));
        await waitFor(`50 messages through ${reader}`, () => got.length >= 50);
        await c.close();
        expect(got).toEqual(want);
      }
    },
    60_000,
  );

  test('producer sheds (no exception) while the broker is down and resumes after restart', async () => {
    const topic = 'hopwatch.test.shed';
    await ensureTopics(kafka.brokers, { topics: [topic], partitions: 1, logger });
    const producer = newProducer({
      brokers: kafka.brokers,
      logger,
      maxQueuedMessages: 50,
      maxQueueAgeMs: 4000,
      maxAttempts: 3,
      retryBackoffMs: 100,
      maxRetryBackoffMs: 500,
      connectTimeoutMs: 1000,
      requestTimeoutMs: 3000,
    });
    const value = Buffer.alloc(100, 1);
    producer.send(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ key: `a${i}`, value })),
    );
    await producer.flush();
    expect(producer.stats()).toMatchObject({ sent: 10, shed: 0 });

    const lineCount = lines.length;
    await kafka.stopBroker(0);
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) {
      expect(() =>
        producer.send(
          topic,
          Array.from({ length: 10 }, (_, j) => ({ key: `b${i}.${j}`, value })),
        ),
      ).not.toThrow();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(Date.now() - t0).toBeLessThan(5000); // send() never blocked
    await waitFor('shedding', () => producer.stats().shed > 0, 20000);
    await waitFor('a failed attempt', () => producer.stats().errors > 0, 20000);
    const st = producer.stats();
    expect(st.sent).toBe(10);
    expect(st.shedByReason.queue_full).toBeGreaterThan(0);
    expect(st.lastError).toMatch(/Kafka brokers 127\.0\.0\.1:\d+/);
    const warned = lines
      .slice(lineCount)
      .map((l) => JSON.parse(l))
      .filter((l) => l.level === 'warn');
    expect(warned.some((l) => /kafka producer: (send|connect) failed/.test(l.msg))).toBe(true);

    await kafka.startBroker(0);
    // what was still queued is either delivered or shed; new messages get through. A restarted
    // broker takes a few seconds to lead its partitions again (longer than this producer's 4 s
    // message timeout on a busy machine), so new messages are sent until ten are delivered.
    const before = producer.stats();
    let after = 0;
    for (const t1 = Date.now(); producer.stats().sent < before.sent + 10;) {
      if (Date.now() - t1 > 60_000) throw new Error('timed out waiting for delivery to resume');
      producer.send(
        topic,
        Array.from({ length: 10 }, (_, i) => ({ key: `c${after + i}`, value })),
      );
      after += 10;
      await producer.flush();
    }
    const end = producer.stats();
    expect(end.queuedMessages).toBe(0);
    expect(end.sent + end.shed).toBe(10 + 200 + after);
    await producer.close();
  }, 150_000);
});
