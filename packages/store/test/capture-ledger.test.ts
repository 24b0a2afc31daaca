/**
 * The capture ledger in the store: the interval logic (TableLedger), the rows' capture columns
 * and write numbers in real chDB, storedCapture(), and migration 5 on a store that predates it.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { RecordBatch } from '@hopwatch/codec';
import { openStore, TableLedger, type Store, type StoredWrite } from '@hopwatch/store';
import { emptyExpected, fillSynthetic } from './synthetic';

const g = (write: number, day: number, lo: number, hi: number, rows = 1): StoredWrite => ({
  write,
  day,
  lo,
  hi,
  rows,
});

describe('TableLedger', () => {
  test('the union of the (write, day) intervals, with the gaps of missing writes', () => {
    // writes 1 and 3 landed, write 2 (frames 101-200) did not; write 4 landed on day 11 only
    const l = new TableLedger([g(3, 10, 201, 300), g(1, 10, 1, 100), g(4, 11, 305, 400)]);
    expect(l.end).toBe(400);
    const ask = (f: number, d: number): boolean => l.stored(f, d);
    expect([ask(1, 10), ask(100, 10), ask(101, 10), ask(200, 10), ask(201, 10)]).toEqual([
      true,
      true,
      false,
      false,
      true,
    ]);
    // day 10 records of write 4 (frames 301-400) are not stored: its day-10 part never landed
    expect([ask(300, 10), ask(301, 11), ask(305, 10), ask(305, 11), ask(400, 11)]).toEqual([
      true,
      false,
      false,
      true,
      true,
    ]);
    expect(ask(401, 11)).toBe(false);
    expect(new TableLedger([]).empty).toBe(true);
  });

  test('overlapping intervals (a --force replay) and adjacent ones merge', () => {
    const l = new TableLedger([g(1, 0, 1, 50), g(2, 0, 51, 90), g(7, 0, 1, 90), g(8, 0, 95, 99)]);
    expect([1, 50, 51, 90, 91, 94, 95, 99, 100].map((f) => l.stored(f, 0))).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
      true,
      true,
      false,
    ]);
  });

  test('frames repeat (several records per packet)', () => {
    const l = new TableLedger([g(1, 0, 5, 5), g(2, 0, 7, 8)]);
    expect([4, 5, 5, 6, 7, 7, 8, 8, 9].map((f) => l.stored(f, 0))).toEqual([
      false,
      true,
      true,
      false,
      true,
      true,
      true,
      true,
      false,
    ]);
  });
});

describe('capture ledger in chDB', () => {
  let dir: string;
  let store: Store | null = null;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'hw-capled-'));
  });
  afterAll(async () => {
    await store?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const one = async (s: Store, sql: string): Promise<Record<string, unknown>> =>
    (await s.query(sql))[0];

  test('rows carry the capture and their write; storedCapture groups them; numbers go on above', async () => {
    const data = path.join(dir, 'a');
    store = await openStore({ dataDir: data, batchRows: 2500 });
    const id = 0xfedcba9876543210n; // above 2^63: the UInt64 literal and words must hold
    const b = new RecordBatch(2048);
    const exp = emptyExpected();
    fillSynthetic(b, 0, 10);
    await expect(store.insertBatch(b, { captureId: id })).rejects.toThrow(/storedCapture/);
    expect(await store.storedCapture(id)).toEqual({ hops: [], paths: [] });
    for (let first = 0; first < 6000; first += 1000) {
      fillSynthetic(b, first, 1000, exp);
      for (let r = 0; r < b.count; r++) b.frame[r] = first + r + 1;
      await store.insertBatch(b, { captureId: id });
    }
    await store.flush();
    const s = await store.storedCapture(id);
    const rows = (l: StoredWrite[]): number => l.reduce((x, y) => x + y.rows, 0);
    expect(rows(s.paths)).toBe(6000);
    expect(rows(s.hops)).toBe(exp.hops);
    const writes = [...new Set(s.paths.map((x) => x.write))].sort((x, y) => x - y);
    expect(writes.length).toBeGreaterThan(1); // several writes of 2500 rows
    // each write is a contiguous run of frames, the runs back to back
    const ranges = writes.map((w) => {
      const gs = s.paths.filter((x) => x.write === w);
      return [Math.min(...gs.map((x) => x.lo)), Math.max(...gs.map((x) => x.hi))];
    });
    expect(ranges[0][0]).toBe(1);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBe(ranges[i - 1][1] + 1);
    expect(ranges[ranges.length - 1][1]).toBe(6000);
    const idRow = await one(store, `SELECT toString(any(capture_id)) AS id FROM hops`);
    expect(idRow.id).toBe(id.toString());
    expect((await store.storedCapture(42n)).hops).toEqual([]);
    // rows without a capture keep 0 and are not in any capture's ledger
    fillSynthetic(b, 9000, 10, emptyExpected());
    await store.insertBatch(b);
    await store.close();

    // a new session numbers its writes above those stored for the capture
    store = await openStore({ dataDir: data, batchRows: 2500 });
    await store.storedCapture(id);
    fillSynthetic(b, 7000, 10, emptyExpected());
    for (let r = 0; r < b.count; r++) b.frame[r] = 7000 + r;
    await store.insertBatch(b, { captureId: id });
    await store.flush();
    const next = await one(
      store,
      `SELECT max(capture_write) AS w FROM paths WHERE capture_id = ${id} AND frame >= 7000`,
    );
    expect(Number(next.w)).toBe(Math.max(...writes) + 1);
    expect(
      Number((await one(store, 'SELECT count() AS n FROM paths WHERE capture_id = 0')).n),
    ).toBe(10);
    await store.close();
    store = null;
  });

  test('Native and RowBinary write the same ledger columns (Kafka and capture)', async () => {
    const got: Record<string, unknown[]> = {};
    for (const insertFormat of ['Native', 'RowBinary'] as const) {
      store = await openStore({
        dataDir: path.join(dir, 'c'),
        database: `hw_${insertFormat.toLowerCase()}`,
        insertFormat,
        batchRows: 700,
      });
      const b = new RecordBatch(512);
      for (let k = 0; k < 4; k++) await store.storedCapture(0x8000000000000001n + BigInt(k));
      for (let k = 0; k < 4; k++) {
        fillSynthetic(b, k * 300, 300);
        const offsets = new Float64Array(300).map((_, r) => 2 ** 40 + k * 1000 + r);
        await store.insertBatch(b, {
          captureId: 0x8000000000000001n + BigInt(k),
          partition: k === 3 ? 65535 : k,
          offset: k === 1 ? 7 : offsets,
        });
      }
      await store.flush();
      got[insertFormat] = [
        await store.query(
          'SELECT frame, hop_index, kafka_partition, kafka_offset, toString(capture_id) AS c, capture_write FROM hops ORDER BY frame, hop_index',
        ),
        await store.query(
          'SELECT frame, kafka_partition, kafka_offset, toString(capture_id) AS c, capture_write FROM paths ORDER BY frame',
        ),
      ];
      await store.close();
      store = null;
    }
    const paths = got.Native[1] as Record<string, unknown>[];
    expect(paths).toHaveLength(1200);
    expect(paths[0]).toEqual({
      frame: '1',
      kafka_partition: 0,
      kafka_offset: String(2 ** 40),
      c: 0x8000000000000001n.toString(),
      capture_write: 1,
    });
    expect(paths[1199]).toMatchObject({
      kafka_partition: 65535,
      c: 0x8000000000000004n.toString(),
    });
    expect(new Set(paths.map((p) => p.capture_write)).size).toBeGreaterThan(1);
    expect(got.RowBinary).toEqual(got.Native);
  });

  test('migration 5 adds the columns to a store without them, and tolerates one already there', async () => {
    const data = path.join(dir, 'b');
    store = await openStore({ dataDir: data });
    // a store as an interrupted start-up left it: capture_id there, capture_write not, and
    // migration 5 not recorded
    await store.command('ALTER TABLE hops DROP COLUMN capture_write');
    await store.command('ALTER TABLE paths DROP COLUMN capture_write');
    await store.command(
      'ALTER TABLE schema_migrations DELETE WHERE version = 5 SETTINGS mutations_sync = 1',
    );
    expect(await store.schemaVersions()).toEqual([1, 2, 3, 4, 6, 7]);
    await store.close();
    store = await openStore({ dataDir: data });
    expect(await store.schemaVersions()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const cols = await store.query(
      "SELECT table, name, type FROM system.columns WHERE database = 'hopwatch' AND name LIKE 'capture%' ORDER BY table, name",
    );
    expect(cols).toEqual([
      { table: 'hops', name: 'capture_id', type: 'UInt64' },
      { table: 'hops', name: 'capture_write', type: 'UInt32' },
      { table: 'paths', name: 'capture_id', type: 'UInt64' },
      { table: 'paths', name: 'capture_write', type: 'UInt32' },
    ]);
    await store.close();
    store = null;
  });
});
