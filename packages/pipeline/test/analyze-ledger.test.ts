/**
 * The offset ledger when only one of a write's two inserts lands: `hops` and `paths` are
 * inserted in parallel, so either can fail alone. The batch is redelivered, the worker inserts
 * the missing table's rows only, and each row ends up stored exactly once. Real embedded
 * store (chDB), in-process transport.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Decoder, makeConfig, RecordBatch } from '@hopwatch/codec';
import { openCapture } from '@hopwatch/pcap';
import { openStore, type Store } from '@hopwatch/store';
import {
  AnalyzeWorker,
  createLogger,
  InProcessBroker,
  InProcessConsumer,
  InProcessProducer,
  publishBatch,
  TOPIC_RECORDS,
  type OutMessage,
} from '../src';
import { RowWriter } from '../src/distributed/analyze/ledger';
import { emptyAnalyzeStats } from '../src/distributed/analyze/metrics';
import type { ConsumedBatch } from '../src/transport/types';

const CAPTURE = path.join(__dirname, '..', '..', '..', 'captures', 'demo-fabric.pcap');

function captureBatch(): RecordBatch {
  const d = new Decoder(makeConfig('spec'));
  const b = new RecordBatch(8192, 8);
  const r = openCapture(CAPTURE);
  try {
    for (let rec = r.next(); rec; rec = r.next())
      d.decode(rec.data, 1, rec.tsSec, rec.tsNsec, rec.index, b);
  } finally {
    r.close();
  }
  return b;
}

let dir: string;
let store: Store;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-ledger-'));
  store = await openStore({ dataDir: path.join(dir, 'data'), maxWrites: 1 });
});
afterAll(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test.each(['hops', 'paths'])(
  'the %s insert fails once: redelivered, the other table is not inserted twice',
  async (failing) => {
    await store.command('TRUNCATE TABLE hops');
    await store.command('TRUNCATE TABLE paths');
    const batch = captureBatch();
    const broker = new InProcessBroker(2);
    publishBatch(new InProcessProducer(broker), batch, { partitions: 2 });
    // the first insert into `failing` throws, after the other table's insert was started
    const s = store as unknown as {
      insertBody(table: string, ...rest: unknown[]): Promise<void>;
    };
    const real = s.insertBody.bind(store);
    let failed = 0;
    s.insertBody = async (table: string, ...rest: unknown[]) => {
      if (table === failing && failed === 0) {
        failed++;
        await new Promise((r) => setTimeout(r, 50)); // the other insert is under way
        throw new Error(`injected ${table} insert failure`);
      }
      return real(table, ...rest);
    };
    const lines: string[] = [];
    const consumer = new InProcessConsumer(broker, {
      groupId: `ledger-${failing}`,
      topics: [TOPIC_RECORDS],
      retryBackoffMs: 20,
    });
    const worker = new AnalyzeWorker({
      consumer,
      store,
      producer: null,
      redis: null,
      logger: createLogger({ write: (l) => void lines.push(l) }),
      checkpointEveryMs: 0,
    });
    try {
      await worker.start();
      const want = { hops: batch.hopTotal, paths: batch.count };
      const count = async (): Promise<{ h: string; hu: string; p: string; pu: string }> =>
        (
          await store.query(
            'SELECT (SELECT count() FROM hops) AS h, (SELECT uniqExact(frame, hop_index) FROM hops) AS hu, (SELECT count() FROM paths) AS p, (SELECT uniqExact(frame) FROM paths) AS pu',
          )
        )[0] as { h: string; hu: string; p: string; pu: string };
      for (let i = 0; i < 300; i++) {
        const c = await count();
        if (Number(c.h) >= want.hops && Number(c.p) >= want.paths) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 500)); // a duplicate would land by now
      const st = worker.stats();
      expect(failed).toBe(1);
      expect(st.insertFailures).toBe(1);
      expect(lines.some((l) => l.includes('insert failed; the batch will be redelivered'))).toBe(
        true,
      );
      expect(await count()).toEqual({
        h: String(want.hops),
        hu: String(want.hops),
        p: String(want.paths),
        pu: String(want.paths),
      });
    } finally {
      await worker.close();
      s.insertBody = real;
    }
  },
  60_000,
);

test('messages that do not decode are skipped and counted; the partition goes on, rows once', async () => {
  await store.command('TRUNCATE TABLE hops');
  await store.command('TRUNCATE TABLE paths');
  const batch = captureBatch();
  const broker = new InProcessBroker(1);
  const producer = new InProcessProducer(broker);
  // hostile messages before, between and after the real ones: not protobuf at all, a real
  // message cut short, a column that runs past the end
  const real: OutMessage[] = [];
  const capture = {
    send: (t: string, ms: OutMessage[]) => void (t === TOPIC_RECORDS && real.push(...ms)),
  };
  publishBatch(capture as unknown as InProcessProducer, batch, { partitions: 1 });
  const recs = real;
  expect(recs.length).toBeGreaterThan(1);
  const bad = (value: Uint8Array): OutMessage => ({ key: 'x', value, partition: 0 });
  const hostile = [
    bad(Buffer.from('{"not":"protobuf"}')),
    bad(recs[0].value.subarray(0, Math.floor(recs[0].value.length / 2))),
    bad(Uint8Array.from([0x08, 0xe8, 0x07, 0x12, 0x7f, 0x01, 0x02])), // count 1000, column cut
  ];
  producer.send(TOPIC_RECORDS, [hostile[0], hostile[1]]);
  const half = Math.ceil(recs.length / 2);
  producer.send(
    TOPIC_RECORDS,
    recs.slice(0, half).map((m) => ({ ...m, partition: 0 })),
  );
  producer.send(TOPIC_RECORDS, [hostile[2]]);
  producer.send(
    TOPIC_RECORDS,
    recs.slice(half).map((m) => ({ ...m, partition: 0 })),
  );
  await producer.flush();
  const lines: string[] = [];
  const worker = new AnalyzeWorker({
    consumer: new InProcessConsumer(broker, {
      groupId: 'malformed',
      topics: [TOPIC_RECORDS],
      retryBackoffMs: 20,
    }),
    store,
    producer: null,
    redis: null,
    logger: createLogger({ write: (l) => void lines.push(l) }),
    checkpointEveryMs: 0,
  });
  try {
    await worker.start();
    const want = { h: String(batch.hopTotal), p: String(batch.count) };
    const count = async (): Promise<{ h: string; p: string }> =>
      (
        await store.query(
          'SELECT (SELECT uniqExact(frame, hop_index) FROM hops) AS h, (SELECT uniqExact(frame) FROM paths) AS p',
        )
      )[0] as { h: string; p: string };
    for (let i = 0; i < 300 && JSON.stringify(await count()) !== JSON.stringify(want); i++)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    expect(await count()).toEqual(want);
    const rows = (
      await store.query('SELECT (SELECT count() FROM hops) AS h, (SELECT count() FROM paths) AS p')
    )[0];
    expect(rows).toEqual(want); // nothing stored twice
    expect(worker.stats().malformedMessages).toBe(3);
    expect(worker.stats().insertFailures).toBe(0);
    expect(lines.filter((l) => l.includes('malformed message skipped'))).toHaveLength(3);
  } finally {
    await worker.close();
  }
}, 60_000);

test('an insert that lands but reports failure while another partition reads the ledger: that read is taken again, rows once', async () => {
  await store.command('TRUNCATE TABLE hops');
  await store.command('TRUNCATE TABLE paths');
  const batch = captureBatch();
  const byPartition: OutMessage[][] = [[], []];
  const capture = {
    send: (t: string, ms: OutMessage[]) =>
      void (t === TOPIC_RECORDS && ms.forEach((m) => byPartition[m.partition!].push(m))),
  };
  publishBatch(capture as unknown as InProcessProducer, batch, { partitions: 2 });
  expect(byPartition[0].length).toBeGreaterThan(0);
  expect(byPartition[1].length).toBeGreaterThan(0);
  const consumed = (p: number): ConsumedBatch => ({
    topic: TOPIC_RECORDS,
    partition: p,
    messages: byPartition[p].map((m, i) => ({
      key: null,
      value: Buffer.from(m.value),
      offset: String(i),
    })),
  });
  // The race, forced: partition 0's `hops` insert waits until partition 1's ledger read has
  // seen the table, then lands and reports a failure (as when the server applies an insert
  // and the connection drops); the read is released only after that failure was handled.
  const s = store as unknown as {
    insertBody(table: string, ...rest: unknown[]): Promise<void>;
    query(sql: string): Promise<unknown>;
  };
  const realInsert = s.insertBody.bind(store);
  const realQuery = s.query.bind(store);
  let readSeen!: () => void;
  const readStarted = new Promise<void>((r) => (readSeen = r));
  let failureHandled!: () => void;
  const failedOnce = new Promise<void>((r) => (failureHandled = r));
  let armed = true;
  let reads = 0;
  s.query = async (sql: string) => {
    const rows = await realQuery(sql);
    if (sql.includes('max(kafka_offset)') && sql.includes('FROM hops')) {
      reads++;
      if (reads === 2) {
        // the second read (partition 1's first batch) saw `hops` before partition 0's rows
        readSeen();
        await failedOnce;
      }
    }
    return rows;
  };
  s.insertBody = async (table: string, ...rest: unknown[]) => {
    if (table === 'hops' && armed) {
      armed = false;
      await readStarted;
      await realInsert(table, ...rest);
      setTimeout(failureHandled, 20); // after RowWriter's catch ran
      throw new Error('injected: connection dropped after the insert was applied');
    }
    return realInsert(table, ...rest);
  };
  const stats = emptyAnalyzeStats();
  const writer = new RowWriter({
    store,
    log: createLogger({ write: () => undefined }),
    stats,
    inst: {},
  });
  try {
    const p0 = writer.store(consumed(0), false);
    const p1 = writer.store(consumed(1), false);
    await expect(p0).rejects.toThrow(/injected/);
    await p1;
    await writer.store(consumed(0), false); // the redelivery
    expect(stats.insertFailures).toBe(1);
    const c = (
      await realQuery(
        'SELECT (SELECT count() FROM hops) AS h, (SELECT uniqExact(frame, hop_index) FROM hops) AS hu, (SELECT count() FROM paths) AS p',
      )
    )[0];
    expect(c).toEqual({
      h: String(batch.hopTotal),
      hu: String(batch.hopTotal),
      p: String(batch.count),
    });
  } finally {
    s.insertBody = realInsert;
    s.query = realQuery;
  }
}, 60_000);
