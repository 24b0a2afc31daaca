/**
 * Real round trips against real servers started by @hopwatch/testkit (deploy/services.sh).
 * Each block is skipped, with a message, when its service is not installed here; set
 * HOPWATCH_REQUIRE_SERVICES=1 (CI) to run them anyway so a missing install fails loudly.
 */
import * as fs from 'node:fs';
import { createClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import {
  servicesAvailable,
  startClickHouse,
  startKafka,
  startRedis,
  unavailableMessage,
  type ClickHouseHandle,
  type KafkaHandle,
  type RedisHandle,
  type ServiceName,
} from '@hopwatch/testkit';

const avail = servicesAvailable();
const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
function describeIf(svc: ServiceName): jest.Describe {
  if (avail[svc] || required) return describe;
  console.warn(`[testkit] ${unavailableMessage(svc)}: skipped`);
  return describe.skip;
}

/** true while the process with the pid in `file` exists */
function alive(pidFile: string): boolean {
  try {
    process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 0);
    return true;
  } catch {
    return false;
  }
}

function client(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'testkit',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10 },
  });
}

async function createTopic(
  brokers: string[],
  topic: string,
  replicationFactor: number,
): Promise<void> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    // waitForLeaders: kafkajs gives up on UNKNOWN_TOPIC_OR_PARTITION, which a 3-node KRaft
    // cluster answers until the new topic's metadata reaches the broker asked: poll instead
    // A fresh KRaft cluster may name as controller a broker not yet in the metadata the
    // client cached (KafkaJSBrokerNotFound): retry the create itself too
    for (let i = 0; ; i++) {
      try {
        await admin.createTopics({
          topics: [{ topic, numPartitions: 1, replicationFactor }],
          waitForLeaders: false,
        });
        break;
      } catch (err) {
        if ((err as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') break;
        if (i >= 40) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    for (let i = 0; ; i++) {
      try {
        const meta = await admin.fetchTopicMetadata({ topics: [topic] });
        const p = meta.topics[0].partitions[0];
        if (p.leader < 0 || p.isr.length < replicationFactor)
          throw new Error(`${topic}: not ready ${JSON.stringify(p)}`);
        expect(p.replicas).toHaveLength(replicationFactor);
        return;
      } catch (err) {
        if (i >= 40) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

async function produce(brokers: string[], topic: string, values: string[]): Promise<void> {
  const producer = client(brokers).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: values.map((value, i) => ({ key: `k${i}`, value })),
    });
  } finally {
    await producer.disconnect();
  }
}

async function consume(brokers: string[], topic: string, count: number): Promise<string[]> {
  const consumer = client(brokers).consumer({ groupId: `g-${topic}-${Date.now()}` });
  await consumer.connect();
  const got: string[] = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`consume ${topic}: timeout, got ${JSON.stringify(got)}`)),
        30000,
      );
      consumer
        .run({
          eachMessage: async ({ message }) => {
            got.push(message.value?.toString() ?? '');
            if (got.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

describeIf('kafka')('kafka (KRaft, 1 node)', () => {
  let k: KafkaHandle;
  beforeAll(async () => {
    k = await startKafka();
  }, 120000);
  afterAll(async () => {
    await k?.stop();
    if (k) expect(alive(`${k.runDir}/node-0/pid`)).toBe(false);
  }, 60000);

  it('creates a topic, produces and consumes a message', async () => {
    expect(k.brokers).toHaveLength(1);
    await createTopic(k.brokers, 'hopwatch-test', 1);
    await produce(k.brokers, 'hopwatch-test', ['hello']);
    expect(await consume(k.brokers, 'hopwatch-test', 1)).toEqual(['hello']);
  }, 60000);
});

describeIf('kafka')('kafka (KRaft, 3 nodes)', () => {
  let k: KafkaHandle;
  beforeAll(async () => {
    k = await startKafka({ brokers: 3 });
  }, 120000);
  afterAll(async () => {
    await k?.stop();
  }, 60000);

  it('replicates to 3 brokers and survives one broker going down', async () => {
    expect(k.brokers).toHaveLength(3);
    await createTopic(k.brokers, 'rf3', 3);
    await produce(k.brokers, 'rf3', ['one']);
    // with node 2 down the topic (replicas on all 3 nodes) stays writable and readable
    await k.stopBroker(2);
    const up = k.brokers.slice(0, 2);
    await produce(up, 'rf3', ['two']);
    expect(await consume(up, 'rf3', 2)).toEqual(['one', 'two']);
    // back up: node 2 serves a new RF 3 topic
    await k.startBroker(2);
    await createTopic(k.brokers, 'rf3-again', 3);
    await produce([k.brokers[2]], 'rf3-again', ['three']);
    expect(await consume([k.brokers[2]], 'rf3-again', 1)).toEqual(['three']);
  }, 120000);
});

describeIf('clickhouse')('clickhouse server', () => {
  let ch: ClickHouseHandle;
  beforeAll(async () => {
    ch = await startClickHouse();
  }, 60000);
  afterAll(async () => {
    await ch?.stop();
  });

  it('answers over HTTP through @clickhouse/client: version, MergeTree, insert, select', async () => {
    expect(ch.version).toMatch(/^\d+\.\d+/);
    // Options that keep @clickhouse/client 1.x compatible with old servers such as 18.16:
    // no compression (the default), no query_params (18.16 rejects `param_*` settings), and
    // only formats 18.16 knows (JSONEachRow / JSON / TabSeparated..., not JSONCompactEachRow).
    const client = createClient({ url: ch.url, compression: { request: false, response: false } });
    try {
      const v = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
      expect(await v.json()).toEqual([{ v: ch.version }]);
      await client.command({
        query:
          'CREATE TABLE hops (day Date, id UInt32, sw String) ENGINE = MergeTree() PARTITION BY day ORDER BY id',
      });
      await client.insert({
        table: 'hops',
        format: 'JSONEachRow',
        values: [
          { day: '2024-01-01', id: 2, sw: 'spine-1' },
          { day: '2024-01-01', id: 1, sw: 'leaf-1' },
        ],
      });
      const rows = await client.query({
        query: 'SELECT id, sw FROM hops ORDER BY id',
        format: 'JSONEachRow',
      });
      expect(await rows.json()).toEqual([
        { id: 1, sw: 'leaf-1' },
        { id: 2, sw: 'spine-1' },
      ]);
      // 64-bit integers come back quoted in JSON formats
      const count = await client.query({
        query: 'SELECT count() AS n FROM hops',
        format: 'JSONEachRow',
      });
      expect(await count.json()).toEqual([{ n: '2' }]);
    } finally {
      await client.close();
    }
    // restart keeps the data
    await ch.stop();
    await ch.start();
    const again = createClient({ url: ch.url });
    try {
      const rows = await again.query({
        query: 'SELECT count() AS n FROM hops',
        format: 'JSONEachRow',
      });
      expect(await rows.json()).toEqual([{ n: '2' }]);
    } finally {
      await again.close();
    }
  }, 60000);
});

describeIf('redis')('redis', () => {
  let r: RedisHandle;
  beforeAll(async () => {
    r = await startRedis();
  }, 60000);
  afterAll(async () => {
    await r?.stop();
  });

  it('sets and gets a key', async () => {
    const redis = new Redis(r.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
    try {
      await redis.connect();
      expect(await redis.set('hopwatch:test', 'ok')).toBe('OK');
      expect(await redis.get('hopwatch:test')).toBe('ok');
    } finally {
      redis.disconnect();
    }
    await r.stop();
    expect(alive(`${r.runDir}/pid`)).toBe(false);
    await r.start();
    const again = new Redis(r.url, { lazyConnect: true });
    try {
      await again.connect();
      expect(await again.ping()).toBe('PONG');
    } finally {
      again.disconnect();
    }
  }, 60000);
});
