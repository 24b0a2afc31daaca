/**
 * The read-only HTTP endpoint `serve --http` puts in front of the embedded store: a store
 * opened over HTTP on it (the server backend, @clickhouse/client) sees the same rows and named
 * queries; writes and file access are refused with ClickHouse-style errors. Real chDB.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { RecordBatch } from '@hopwatch/codec';
import {
  openStore,
  refusal,
  startQueryEndpoint,
  type QueryEndpoint,
  type Store,
} from '@hopwatch/store';
import { fillSynthetic } from './synthetic';

let dir: string;
let store: Store;
let ep: QueryEndpoint;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hopwatch-http-'));
  store = await openStore({ dataDir: path.join(dir, 'data') });
  const b = new RecordBatch(4096);
  for (let k = 0; k < 3; k++) {
    fillSynthetic(b, k * 3000, 3000);
    await store.insertBatch(b);
  }
  await store.flush();
  ep = await startQueryEndpoint(store, { host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await ep?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = async (sql: string, params = ''): Promise<{ status: number; text: string }> => {
  const r = await fetch(`${ep.url}/?${params}`, { method: 'POST', body: sql });
  return { status: r.status, text: await r.text() };
};

test('a store opened read-only over the endpoint sees the same rows and named queries', async () => {
  expect(await (await fetch(`${ep.url}/ping`)).text()).toBe('Ok.\n');
  const remote = await openStore({ url: ep.url, readOnly: true });
  try {
    expect(remote.kind).toBe('server');
    expect(remote.capabilities.dateTime64).toBe(true);
    const sql = 'SELECT count() AS n, sum(hop_latency) AS lat FROM hops';
    expect(await remote.query(sql)).toEqual(await store.query(sql));
    expect(Number((await remote.query(sql))[0].n)).toBeGreaterThan(0);
    expect(await remote.named('slowest_hops', { limit: 3 })).toEqual(
      await store.named('slowest_hops', { limit: 3 }),
    );
    expect(await remote.query('SELECT 1 AS x', 'csv')).toBe('"x"\n1\n');
    // writes through the endpoint are refused, and a read-only store does not try
    await expect(remote.command('DROP TABLE hops')).rejects.toThrow(/READONLY/);
    await expect(remote.insertBatch(new RecordBatch(16))).rejects.toThrow(/read-only/);
    expect(Number((await store.query('SELECT count() AS n FROM hops'))[0].n)).toBeGreaterThan(0);
  } finally {
    await remote.close();
  }
});

test('raw HTTP: formats, refusals and engine errors come back the way ClickHouse sends them', async () => {
  const ok = await post('SELECT count() FROM paths', 'default_format=JSONEachRow');
  expect(ok.status).toBe(200);
  expect(JSON.parse(ok.text)).toEqual({ 'count()': expect.any(String) });
  const tsv = await post('SELECT 1 + 1');
  expect(tsv).toEqual({ status: 200, text: '2\n' });
  const ins = await post("INSERT INTO anomalies (id, type) VALUES ('x', 'y')");
  expect(ins.status).toBe(403);
  expect(ins.text).toMatch(
    /^Code: 164\. DB::Exception: read-only endpoint: only SELECT.*\(READONLY\)\n$/,
  );
  const file = await post("SELECT * FROM file('/etc/passwd', 'LineAsString')");
  expect(file.status).toBe(403);
  expect(file.text).toMatch(/no table functions that reach files/);
  expect((await post('SELECT 1; DROP TABLE hops')).text).toMatch(/one statement per request/);
  expect((await post("SELECT 1 INTO OUTFILE '/tmp/x'")).text).toMatch(/no INTO OUTFILE/);
  const bad = await post('SELECT nope FROM hops');
  expect(bad.status).toBe(500);
  expect(bad.text).toMatch(/^Code: 47\. DB::Exception: .*\(UNKNOWN_IDENTIFIER\)\n$/);
  expect((await post('SELECT 1', 'database=other')).status).toBe(404);
  expect(ep.stats).toMatchObject({ failed: 1 });
  expect(ep.stats.refused).toBeGreaterThanOrEqual(5);
});

test('refusal() lets queries through and stops writes', () => {
  expect(refusal('  /* c */ (SELECT 1)')).toBeNull();
  expect(refusal('WITH 1 AS x SELECT x;')).toBeNull();
  expect(refusal('SHOW TABLES')).toBeNull();
  expect(refusal('ALTER TABLE hops DELETE WHERE 1')).toMatch(/only SELECT/);
  expect(refusal("SELECT * FROM url('http://x', CSV)")).toMatch(/table functions/);
  expect(refusal('')).toBe('empty query');
});
