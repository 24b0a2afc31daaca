import { RecordBatch } from '@hopwatch/codec';
import {
  ConsumedBatch,
  decodeConsumed,
  InProcessBroker,
  InProcessConsumer,
  InProcessProducer,
  publishAnomalies,
  publishBatch,
  TOPIC_ANOMALIES,
  TOPIC_QUEUES,
  TOPIC_RECORDS,
  TOPIC_REPORTS,
  type MessageKind,
} from '../src';
import { randomBatch, topicChecksum } from '@hopwatch/pipeline/testing';

const waitFor = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const TOPICS: [string, MessageKind][] = [
  [TOPIC_RECORDS, 'records'],
  [TOPIC_QUEUES, 'queues'],
  [TOPIC_REPORTS, 'reports'],
];

describe('in-process transport', () => {
  test('publish → consumer group (2 members) → rebuilt batches match', async () => {
    const broker = new InProcessBroker(4);
    const producer = new InProcessProducer(broker);
    const batch = randomBatch(2000, 5);
    const counts = publishBatch(producer, batch, { partitions: 4, maxRows: 200 });
    await producer.flush();
    expect(producer.stats().sent).toBe(counts.messages);
    const rebuilt = new Map<string, RecordBatch>(TOPICS.map(([t]) => [t, new RecordBatch(64, 2)]));
    const keysByPartition = new Map<string, Set<number>>();
    const mk = (): InProcessConsumer =>
      new InProcessConsumer(broker, {
        groupId: 'g',
        topics: TOPICS.map(([t]) => t),
        maxBatchMessages: 7,
      });
    const consumers = [mk(), mk()];
    const handled = [0, 0];
    await Promise.all(
      consumers.map((c, i) =>
        c.run(async (b: ConsumedBatch) => {
          handled[i]++;
          decodeConsumed(b, rebuilt.get(b.topic)!);
          for (const m of b.messages) {
            const k = `${b.topic}|${m.key}`;
            if (!keysByPartition.has(k)) keysByPartition.set(k, new Set());
            keysByPartition.get(k)!.add(b.partition);
          }
        }),
      ),
    );
    const total = (): number => TOPICS.reduce((s, [t]) => s + rebuilt.get(t)!.count, 0);
    await waitFor(() => total() === counts.records + counts.queues + counts.reports).catch((e) => {
      throw new Error(
        `${e}: ${total()} of ${counts.records + counts.queues + counts.reports} ${JSON.stringify(consumers.map((c) => c.stats()))}`,
      );
    });
    for (const [t, kind] of TOPICS)
      expect(topicChecksum(rebuilt.get(t)!, kind)).toEqual(topicChecksum(batch, kind));
    expect(handled[0]).toBeGreaterThan(0);
    expect(handled[1]).toBeGreaterThan(0);
    for (const parts of keysByPartition.values()) expect(parts.size).toBe(1);
    await Promise.all(consumers.map((c) => c.close()));
  });

  test('handler failure → no commit → redelivered (also after restart)', async () => {
    const broker = new InProcessBroker(1);
    const producer = new InProcessProducer(broker);
    producer.send(
      't',
      [1, 2, 3].map((i) => ({ key: `k${i}`, value: Buffer.from([i]) })),
    );
    const seen: string[] = [];
    let fail = true;
    const c1 = new InProcessConsumer(broker, { groupId: 'g', topics: ['t'], retryBackoffMs: 5 });
    await c1.run(async (b) => {
      seen.push(b.messages.map((m) => m.offset).join(','));
      if (fail) throw new Error('clickhouse down');
    });
    await waitFor(() => seen.length >= 2);
    expect(c1.stats().failures).toBeGreaterThanOrEqual(2);
    expect(c1.stats().commits).toBe(0);
    await c1.close();
    expect(broker.committed('g', 't', 0)).toBe(0);
    fail = false;
    seen.length = 0;
    const c2 = new InProcessConsumer(broker, { groupId: 'g', topics: ['t'] });
    await c2.run(async (b) => void seen.push(b.messages.map((m) => m.offset).join(',')));
    await waitFor(() => seen.length >= 1);
    expect(seen[0]).toBe('0,1,2');
    await waitFor(() => broker.committed('g', 't', 0) === 3);
    await c2.close();
  });

  test('producer sheds when the broker is unavailable and the queue is full', async () => {
    const broker = new InProcessBroker(1);
    const producer = new InProcessProducer(broker, { maxQueuedMessages: 10 });
    broker.available = false;
    for (let i = 0; i < 25; i++) producer.send('t', [{ key: 'k', value: new Uint8Array(4) }]);
    expect(producer.stats()).toMatchObject({
      queuedMessages: 10,
      shed: 15,
      shedByReason: { queue_full: 15 },
    });
    broker.available = true;
    publishAnomalies(producer, [{ id: 'a1', kind: 'microburst', score: 2n }]);
    await producer.flush();
    expect(producer.stats()).toMatchObject({ queuedMessages: 0, sent: 11 });
    const [m] = broker.read(TOPIC_ANOMALIES, 0, 0, 10).filter((x) => x.key?.toString() === 'a1');
    expect(JSON.parse(m.value.toString())).toEqual({ id: 'a1', kind: 'microburst', score: '2' });
  });
});
