/**
 * Native insert round trip: random RecordBatches (every presence bit, 64-bit values with the top
 * bits set, NULLs, IPv4/IPv6/no flow, reports, unknown codes, records without hops, hops that are
 * not contiguous) go through the Native encoder into chDB and come back column by column exactly
 * as computed from the batch; a second store fed the same batches through the RowBinary encoder
 * holds identical rows.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { RecordBatch } from '@hopwatch/codec';
import { openStore, type Store } from '@hopwatch/store';
import { expected, fillRandom, HOPS_SQL, PATHS_SQL, type Rows } from './random-batch';

let dir: string;
const want: Rows = { hops: [], paths: [] };
/** Per insert format: rows read back, rollup total, capabilities. */
const got: Record<string, Rows & { rollup: number; native: boolean }> = {};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hopwatch-native-test-'));
  // one chDB data directory per process: the two stores take turns, in two databases
  for (const insertFormat of ['Native', 'RowBinary'] as const) {
    const store: Store = await openStore({
      dataDir: path.join(dir, 'data'),
      database: `hw_${insertFormat.toLowerCase()}`,
      insertFormat,
      batchRows: 3000, // several writes, some while the next batch is encoded
    });
    try {
      const b = new RecordBatch(64, 2); // small: the batch grows while filling
      let frame = 1;
      for (let k = 0; k < 12; k++) {
        const n = k === 0 ? 1 : 50 + k * 37;
        fillRandom(b, 1000 + k, frame, n, k % 3 === 2);
        frame += n;
        if (insertFormat === 'Native') expected(b, want);
        await store.insertBatch(b); // the batch is reused: insertBatch copies
      }
      await store.flush();
      got[insertFormat] = {
        hops: await store.query(HOPS_SQL),
        paths: await store.query(PATHS_SQL),
        rollup: Number((await store.query('SELECT sum(hops) AS n FROM hop_latency_1m'))[0].n),
        native: store.capabilities.nativeInsert,
      };
    } finally {
      await store.close();
    }
  }
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Native insert', () => {
  test('the embedded store inserts Native by default', () => {
    expect(got.Native.native).toBe(true);
  });

  test('every hops column round-trips exactly (nulls, sentinels, 64-bit values)', () => {
    expect(want.hops.length).toBeGreaterThan(1500);
    expect(got.Native.hops.length).toBe(want.hops.length);
    expect(got.Native.hops).toEqual(want.hops);
  });

  test('every paths column round-trips exactly (arrays, e2e sums, findings)', () => {
    expect(got.Native.paths).toEqual(want.paths);
  });

  test('RowBinary (legacy path) stores the same rows', () => {
    expect(got.RowBinary.hops).toEqual(got.Native.hops);
    expect(got.RowBinary.paths).toEqual(got.Native.paths);
  });

  test('rollup sees every hop', () => {
    expect(got.Native.rollup).toBe(want.hops.length);
    expect(got.RowBinary.rollup).toBe(want.hops.length);
  });
});
