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
  ALLOWED_TABLE_FUNCTIONS,
  judge,
  openStore,
  parseExplainAst,
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
  expect(file.text).toMatch(/no file\(\): functions that reach files/);
  expect((await post('SELECT 1; DROP TABLE hops')).text).toMatch(
    /Multi-statements are not allowed.*\(SYNTAX_ERROR\)/,
  );
  expect((await post("SELECT 1 INTO OUTFILE '/tmp/x'")).text).toMatch(/no INTO OUTFILE/);
  const bad = await post('SELECT nope FROM hops');
  expect(bad.status).toBe(500);
  expect(bad.text).toMatch(/^Code: 47\. DB::Exception: .*\(UNKNOWN_IDENTIFIER\)\n$/);
  expect((await post('SELECT 1', 'database=other')).status).toBe(404);
  expect(ep.stats).toMatchObject({ failed: 2 }); // the multi-statement and the unknown column
  expect(ep.stats.refused).toBeGreaterThanOrEqual(4);
});

test('judge() reads the engine tree: statement kinds, output files, functions by name', () => {
  const tree = (lines: string[]): ReturnType<typeof parseExplainAst> => parseExplainAst(lines);
  const tf = new Set(['file', 'url', 'numbers']);
  const select = (fn: string): string[] => [
    'SelectWithUnionQuery (children 1)',
    ' ExpressionList (children 1)',
    '  SelectQuery (children 2)',
    '   ExpressionList (children 1)',
    '    Asterisk',
    '   TablesInSelectQuery (children 1)',
    '    TablesInSelectQueryElement (children 1)',
    '     TableExpression (children 1)',
    `      Function ${fn} (children 1)`,
    '       ExpressionList (children 1)',
    "        Literal 'x'",
  ];
  expect(judge(tree(select('numbers')), tf)).toBeNull();
  expect(ALLOWED_TABLE_FUNCTIONS.has('numbers')).toBe(true);
  expect(judge(tree(select('url')), tf)).toMatch(/no url\(\)/);
  expect(judge(tree(select('FILE')), tf)).toMatch(/no file\(\)/);
  expect(judge(tree([...select('numbers'), " Literal '/tmp/x'"]), tf)).toMatch(/INTO OUTFILE/);
  expect(judge(tree(['InsertQuery (children 1)', ' Identifier t']), tf)).toMatch(/not Insert/);
  expect(
    judge(
      tree(['Explain EXPLAIN PIPELINE (children 1)', ...select('url').map((l) => ' ' + l)]),
      tf,
    ),
  ).toMatch(/no url\(\)/);
  expect(() => parseExplainAst([])).toThrow(/no single statement/);
});
