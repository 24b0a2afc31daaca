/**
 * ServerStore against a real ClickHouse server: the one at HOPWATCH_CLICKHOUSE_URL if set,
 * otherwise Debian's clickhouse-server (18.16) started here on 127.0.0.1 through the testkit.
 * Skipped with a message when neither exists, unless HOPWATCH_REQUIRE_SERVICES=1 (CI).
 */
import { request } from 'http';
import { RecordBatch } from '@hopwatch/codec';
import { openStore, StoreError, type Store } from '@hopwatch/store';
import {
  servicesAvailable,
  startClickHouse,
  unavailableMessage,
  type ClickHouseHandle,
} from '@hopwatch/testkit';
import { emptyExpected, fillSynthetic, T0 } from './synthetic';
import { expected, fillRandom, HOPS_SQL, PATHS_SQL, type Rows } from './random-batch';

let URL_ = process.env.HOPWATCH_CLICKHOUSE_URL ?? '';
const DB = `hopwatch_test_${process.pid}`;
const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';

function ping(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url + '/ping', { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

let up = false;
let store: Store;
let server: ClickHouseHandle | null = null;

beforeAll(async () => {
  if (!URL_ && (servicesAvailable().clickhouse || required)) {
    server = await startClickHouse();
    URL_ = server.url;
  }
  up = URL_ !== '' && (await ping(URL_));
  if (!up && required)
    throw new Error(`no ClickHouse server (${URL_ || unavailableMessage('clickhouse')})`);
  if (up) store = await openStore({ url: URL_, database: DB, retentionDays: 3650 });
}, 60_000);

afterAll(async () => {
  if (store) {
    await store.command(`DROP DATABASE IF EXISTS ${DB}`);
    await store.close();
  }
  if (server) await server.stop();
}, 60_000);

const maybe = (name: string, fn: () => Promise<void>): void =>
  test(name, async () => {
    if (!up) {
      console.warn(`no ClickHouse server (${unavailableMessage('clickhouse')}): skipped`);
      return;
    }
    await fn();
  });

describe('server store', () => {
  maybe('insert, exact sums, rollup, named queries, re-open', async () => {
    expect(store.kind).toBe('server');
    const v = store.capabilities.version;
    expect(store.capabilities.dialect).toBe(Number(v.split('.')[0]) < 20 ? 'legacy' : 'modern');
    console.log(`server ${v}: ${store.capabilities.dialect} dialect`);
    expect(await store.schemaVersions()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const exp = emptyExpected();
    const b = new RecordBatch(4096);
    for (let first = 0; first < 20_000; first += 4000) {
      fillSynthetic(b, first, 4000, exp);
      await store.insertBatch(b);
    }
    await store.flush();
    const h = (
      await store.query(
        'SELECT count() AS n, sum(hop_latency) AS lat, countIf(isNull(hop_latency)) AS lat_null, sum(ingress_ts) AS its, ' +
          'sum(switch_id) AS sw, countIf(isNull(queue_occupancy)) AS occ_null FROM hops',
      )
    )[0];
    expect(Number(h.n)).toBe(exp.hops);
    expect(BigInt(h.lat as string)).toBe(exp.latencySum);
    expect(Number(h.lat_null)).toBe(exp.latencyNulls);
    expect(Number(h.occ_null)).toBe(exp.occupancyNulls);
    expect(BigInt(h.its as string)).toBe(exp.ingressTsSum);
    expect(BigInt(h.sw as string)).toBe(exp.switchSum);
    const p = (await store.query('SELECT count() AS n, sum(e2e_latency) AS e2e FROM paths'))[0];
    expect(Number(p.n)).toBe(exp.records);
    expect(BigInt(p.e2e as string)).toBe(exp.e2eSum);
    const r = (await store.query('SELECT sum(hops) AS n FROM hop_latency_1m'))[0];
    expect(Number(r.n)).toBe(exp.hops);

    const paths = await store.named('flow_paths', { src: '10.0.0.0', dst: '10.1.0.1' });
    expect(paths.map((x) => x.path)).toEqual([[100], [110], [120]]);
    expect(paths[0].first_seen_ns).toBe(String(BigInt(T0) * 1_000_000_000n));
    const lat = await store.named('switch_latency', { switch: 100, egress_port: 0 });
    expect(lat.length).toBeGreaterThan(0);
    expect(lat[0].minute).toBe('2026-01-01 00:00:00');
    expect((await store.named('slowest_hops', { limit: 3 })).length).toBe(3);
    expect((await store.named('queue_peaks', { limit: 3 })).length).toBe(3);

    const base = BigInt(T0) * 1_000_000_000n;
    await store.insertAnomalies([
      {
        id: 'x1',
        type: 'queue-buildup',
        start: base,
        end: base + 1n,
        switchId: 100,
        switches: [100],
        packets: 3,
      },
    ]);
    await store.insertAnomalies([
      {
        id: 'x1',
        type: 'queue-buildup',
        start: base,
        end: base + 1n,
        switchId: 100,
        switches: [100],
        packets: 3,
      },
    ]);
    const an = await store.named('anomalies', { from: base });
    expect(an.map((x) => x.id)).toEqual(['x1']);
    expect(an[0]).toMatchObject({ start_ns: String(base), switch_id: 100, packets: '3' });

    const err = await store.query('SELEC 1').catch((e) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err.code).toBe(62);
    expect(err.message).toMatch(/Syntax error/);

    await store.close();
    store = await openStore({ url: URL_, database: DB });
    expect(Number((await store.query('SELECT count() AS n FROM schema_migrations'))[0].n)).toBe(7);
    expect(Number((await store.query('SELECT count() AS n FROM hops'))[0].n)).toBe(exp.hops);
  });

  maybe(
    'Native and RowBinary inserts store identical rows, as computed from the batches',
    async () => {
      const got: Record<string, Rows> = {};
      const want: Rows = { hops: [], paths: [] };
      for (const insertFormat of ['Native', 'RowBinary'] as const) {
        const db = `${DB}_${insertFormat.toLowerCase()}`;
        const s = await openStore({ url: URL_, database: db, insertFormat, batchRows: 3000 });
        try {
          const b = new RecordBatch(64, 2);
          let frame = 1;
          for (let k = 0; k < 6; k++) {
            const n = 50 + k * 37;
            fillRandom(b, 2000 + k, frame, n, k % 3 === 2);
            frame += n;
            if (insertFormat === 'Native') expected(b, want);
            await s.insertBatch(b);
          }
          await s.flush();
          got[insertFormat] = { hops: await s.query(HOPS_SQL), paths: await s.query(PATHS_SQL) };
        } finally {
          await s.command(`DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
          await s.close();
        }
      }
      expect(got.Native.hops).toEqual(want.hops);
      expect(got.Native.paths).toEqual(want.paths);
      expect(got.RowBinary).toEqual(got.Native);
    },
  );
});
