/**
 * The query endpoint in front of a ClickHouse server store (`serve --store-url … --http`):
 * on Debian's 18.16, which has neither formatQuery nor EXPLAIN, the guard is the server's own
 * readonly mode (set with every request, after the limits) and its HTTP handler. The same
 * attacks must fail there, with no row changed and no file written. Skipped without a server
 * unless HOPWATCH_REQUIRE_SERVICES=1 (CI).
 */
import { existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { RecordBatch } from '@hopwatch/codec';
import { openStore, startQueryEndpoint, type QueryEndpoint, type Store } from '@hopwatch/store';
import {
  servicesAvailable,
  startClickHouse,
  unavailableMessage,
  type ClickHouseHandle,
} from '@hopwatch/testkit';
import { fillSynthetic } from './synthetic';

const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
const DB = `hopwatch_ep_${process.pid}`;
let server: ClickHouseHandle | null = null;
let store: Store | null = null;
let ep: QueryEndpoint | null = null;
let dir = '';

beforeAll(async () => {
  if (!servicesAvailable().clickhouse && !required) return;
  server = await startClickHouse();
  store = await openStore({ url: server.url, database: DB });
  const b = new RecordBatch(2048);
  fillSynthetic(b, 0, 1000);
  await store.insertBatch(b);
  await store.flush();
  ep = await startQueryEndpoint(store, { host: '127.0.0.1', port: 0 });
  dir = mkdtempSync(path.join(tmpdir(), 'hopwatch-ep-server-'));
}, 120_000);

afterAll(async () => {
  await ep?.close();
  if (store) {
    await store.command(`DROP DATABASE IF EXISTS ${DB}`).catch(() => undefined);
    await store.close();
  }
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

const post = async (sql: string, params = ''): Promise<{ status: number; text: string }> => {
  const r = await fetch(`${ep!.url}/?${params}`, { method: 'POST', body: sql });
  return { status: r.status, text: await r.text() };
};

test('reads work and every write or escape is refused by the server itself', async () => {
  if (!ep) {
    console.warn(`no ClickHouse server (${unavailableMessage('clickhouse')}): skipped`);
    return;
  }
  const legacy = Number(server!.version.split('.')[0]) < 20;
  expect(ep.guard).toBe(legacy ? 'engine-readonly' : 'engine-parse');
  const hops = (await post('SELECT count() FROM hops')).text;
  expect(Number(hops)).toBeGreaterThan(0);
  expect((await post('SELECT 1 AS x', 'default_format=JSONEachRow')).text).toBe('{"x":1}\n');
  const refused = [
    'TRUNCATE TABLE paths',
    "INSERT INTO anomalies (id) VALUES ('pwned')",
    'DROP TABLE hops',
    "SELECT * FROM file('/etc/passwd', 'TSV', 'a String')",
    "SELECT * FROM url('http://127.0.0.1:9/x', 'TSV', 'a String')",
    "SELECT * FROM remote('127.0.0.1:9', system.one)",
    'SELECT 1 SETTINGS readonly = 0',
    'SET readonly = 0',
  ];
  for (const sql of refused) {
    const r = await post(sql);
    expect([r.status, r.text]).toEqual([expect.any(Number), expect.stringMatching(/^Code: \d+\./)]);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.text).not.toMatch(/root:/);
  }
  const out = path.join(dir, 'f');
  const f = await post(`SELECT 1 INTO OUTFILE '${out}'`);
  expect(f.status).toBeGreaterThanOrEqual(400);
  expect(existsSync(out)).toBe(false);
  expect((await post('SELECT 1; SELECT 2')).status).toBeGreaterThanOrEqual(400);
  expect((await post('SELECT count() FROM hops')).text).toBe(hops);
  // limits travel with each request and the server enforces them
  const slow = await post(
    // system.numbers, not numbers(): 18.16 forbids every table function in readonly mode
    'SELECT count() FROM (SELECT number FROM system.numbers LIMIT 100000000000) WHERE sipHash64(number) % 7 = 1',
    'max_execution_time=1',
  );
  expect(slow.status).toBe(500);
  expect(slow.text).toMatch(/TIMEOUT_EXCEEDED|Timeout exceeded/);
}, 60_000);
