/**
 * Attacks on the read-only query endpoint of `serve`, against the real thing: chDB with rows in
 * it, the endpoint on 127.0.0.1, and a TCP listener that counts any outbound connection the
 * engine would make. Every attack must be refused with a clear ClickHouse-style error and
 * leave no trace: no file written, no row changed, no connection made. docs/security.md lists
 * the promises these check.
 */
import { existsSync, mkdtempSync, rmSync } from 'fs';
import * as net from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { RecordBatch } from '@hopwatch/codec';
import {
  limitPolicy,
  openStore,
  startQueryEndpoint,
  type QueryEndpoint,
  type Store,
} from '@hopwatch/store';
import { rawRequest } from '@hopwatch/testkit';
import { fillSynthetic } from './synthetic';

let dir: string;
let store: Store;
let ep: QueryEndpoint;
let trap: net.Server;
let trapPort = 0;
let connections = 0;
const counts = { hops: 0, paths: 0, anomalies: 0 };

const countRows = async (): Promise<typeof counts> => {
  const r = await store.query(
    'SELECT (SELECT count() FROM hops) AS hops, (SELECT count() FROM paths) AS paths, (SELECT count() FROM anomalies) AS anomalies',
  );
  return { hops: Number(r[0].hops), paths: Number(r[0].paths), anomalies: Number(r[0].anomalies) };
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hopwatch-sec-'));
  store = await openStore({ dataDir: path.join(dir, 'data') });
  const b = new RecordBatch(4096);
  fillSynthetic(b, 0, 3000);
  await store.insertBatch(b);
  await store.flush();
  await store.insertAnomalies([{ id: 'a1', type: 'microburst', start: 1n }]);
  Object.assign(counts, await countRows());
  trap = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
  trapPort = (trap.address() as net.AddressInfo).port;
  ep = await startQueryEndpoint(store, {
    host: '127.0.0.1',
    port: 0,
    maxConcurrentQueries: 3,
    requestTimeoutMs: 2000,
    limits: limitPolicy({ max_execution_time: { default: 20, max: 60 } }),
  });
}, 60_000);

afterAll(async () => {
  await ep?.close();
  await store?.close();
  await new Promise<void>((r) => (trap ? trap.close(() => r()) : r()));
  rmSync(dir, { recursive: true, force: true });
});

const post = async (sql: string, params = ''): Promise<{ status: number; text: string }> => {
  const r = await fetch(`${ep.url}/?${params}`, { method: 'POST', body: sql });
  return { status: r.status, text: await r.text() };
};

const out = (name: string): string => path.join(dir, name);

describe('writes and escapes are refused by the engine parse, whatever the spelling', () => {
  const trapUrl = (): string => `http://127.0.0.1:${trapPort}/x`;
  const attacks: [string, () => string, RegExp][] = [
    [
      'nested comments hide a TRUNCATE',
      () => '/* /* */ SELECT */ TRUNCATE TABLE paths',
      /not Truncate/,
    ],
    [
      'a CTE in front of an INSERT',
      () => "WITH 1 AS x INSERT INTO anomalies (id) SELECT 'pwned'",
      /not Insert/,
    ],
    ['lower case and odd spacing', () => "insert\tinto anomalies (id) values ('p')", /not Insert/],
    ['ALTER … DELETE', () => 'ALTER TABLE hops DELETE WHERE 1', /not Alter/],
    ['DROP', () => 'DROP TABLE hops', /not Drop/],
    ['CREATE', () => 'CREATE TABLE x (a UInt8) ENGINE = Memory', /not Create/],
    ['OPTIMIZE', () => 'OPTIMIZE TABLE hops FINAL', /not Optimize/],
    ['SET', () => 'SET readonly = 0', /not Set/],
    ['KILL another query', () => 'KILL QUERY WHERE 1', /not KillQuery/],
    ['SYSTEM', () => 'SYSTEM STOP MERGES', /not SYSTEM/],
    ['USE', () => 'USE system', /not Use/],
    [
      'file() with a comment before the parenthesis',
      () => "SELECT * FROM file/**/('/etc/passwd', 'LineAsString')",
      /no file\(\)/,
    ],
    [
      'back-quoted `file`',
      () => "SELECT * FROM `file`('/etc/passwd', 'LineAsString')",
      /no file\(\)/,
    ],
    ['upper-case FILE', () => "SELECT * FROM FILE('/etc/passwd', 'LineAsString')", /no file\(\)/],
    ['scalar file()', () => "SELECT file('/etc/passwd')", /no file\(\)/],
    ['file() inside IN', () => "SELECT 1 IN file('/etc/passwd', 'LineAsString')", /no file\(\)/],
    ['file() in a lambda', () => "SELECT arrayMap(x -> file(x), ['/etc/passwd'])", /no file\(\)/],
    [
      'file() in a JOIN',
      () => "SELECT * FROM hops AS h JOIN file('/etc/passwd', 'LineAsString') AS f ON 1",
      /no file\(\)/,
    ],
    [
      'file() in a CTE subquery',
      () => "WITH (SELECT file('/etc/passwd')) AS x SELECT x",
      /no file\(\)/,
    ],
    ['DESCRIBE file()', () => "DESCRIBE TABLE file('/etc/passwd', 'LineAsString')", /no file\(\)/],
    [
      'EXPLAIN SYNTAX runs scalar subqueries',
      () => "EXPLAIN SYNTAX SELECT (SELECT file('/etc/passwd'))",
      /no file\(\)/,
    ],
    [
      'EXPLAIN PIPELINE of url()',
      () => `EXPLAIN PIPELINE SELECT * FROM url('${trapUrl()}', 'TSV', 'a String')`,
      /no url\(\)/,
    ],
    ['EXPLAIN of an INSERT', () => 'EXPLAIN INSERT INTO anomalies (id) SELECT 1', /not Insert/],
    [
      'url() with a comment',
      () => `SELECT * FROM url/**/('${trapUrl()}', 'TSV', 'a String')`,
      /no url\(\)/,
    ],
    [
      'url() back to the endpoint itself',
      () => `SELECT * FROM url('${ep.url}/?query=SELECT+1', 'TSV', 'a String')`,
      /no url\(\)/,
    ],
    [
      'remote()',
      () => `SELECT * FROM remote('127.0.0.1:${trapPort}', system.one)`,
      /no remote\(\)/,
    ],
    [
      'mysql()',
      () => `SELECT * FROM mysql('127.0.0.1:${trapPort}', 'db', 't', 'u', 'p')`,
      /no mysql\(\)/,
    ],
    [
      'postgresql()',
      () => `SELECT * FROM postgresql('127.0.0.1:${trapPort}', 'db', 't', 'u', 'p')`,
      /no postgresql\(\)/,
    ],
    [
      's3()',
      () => `SELECT * FROM s3('http://127.0.0.1:${trapPort}/b/k', 'TSV', 'a String')`,
      /no s3\(\)/,
    ],
    [
      'executable()',
      () => "SELECT * FROM executable('id', 'TSV', 'a String')",
      /no executable\(\)/,
    ],
    [
      'INTO OUTFILE with a comment',
      () => `SELECT 'x' INTO/**/OUTFILE '${out('f1')}'`,
      /no INTO OUTFILE/,
    ],
    [
      'INTO OUTFILE … AND STDOUT',
      () => `SELECT 'x' INTO OUTFILE '${out('f2')}' AND STDOUT FORMAT CSV`,
      /no INTO OUTFILE/,
    ],
    ['SHOW … INTO OUTFILE', () => `SHOW TABLES INTO OUTFILE '${out('f3')}'`, /no INTO OUTFILE/],
    [
      'INSERT INTO FUNCTION file()',
      () => `INSERT INTO FUNCTION file/**/('${out('f4')}', 'TSV', 'a UInt8') VALUES (1)`,
      /not Insert/,
    ],
    [
      'settings in the query',
      () => 'SELECT 1 SETTINGS readonly = 0',
      /Cannot modify 'readonly' setting in readonly mode/,
    ],
    [
      'settings in the query to lift a limit',
      () => 'SELECT 1 SETTINGS max_execution_time = 100000',
      /Cannot modify 'max_execution_time' setting in readonly mode/,
    ],
  ];
  test.each(attacks)('%s', async (_name, sql, why) => {
    const r = await post(sql());
    expect(r.status).toBe(403);
    // refused by the guard, or by the engine's own readonly mode (settings)
    expect(r.text).toMatch(/^Code: 164\. DB::Exception: .*\(READONLY\)\n$/);
    expect(r.text).toMatch(why);
    expect(r.text).not.toMatch(/root:/);
  });

  test('multi-statements: the engine parser refuses them and nothing of them runs', async () => {
    for (const sql of [
      'SELECT 1; TRUNCATE TABLE hops',
      'SELECT 1;\nDROP TABLE paths;',
      "SELECT 1; SELECT file('/etc/passwd')",
    ]) {
      const r = await post(sql);
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/Multi-statements are not allowed.*\(SYNTAX_ERROR\)\n$/);
    }
  });

  test('no trace: no file written, no row changed, no connection made', async () => {
    for (const f of ['f1', 'f2', 'f3', 'f4']) expect(existsSync(out(f))).toBe(false);
    expect(await countRows()).toEqual(counts);
    expect(connections).toBe(0);
  });
});

describe('what the endpoint promises still works', () => {
  test('string literals are never judged as SQL', async () => {
    const r = await post("SELECT 'a;b', 'file(', 'INTO OUTFILE', '/* x */', 'DROP TABLE hops'");
    expect(r).toEqual({
      status: 200,
      text: 'a;b\tfile(\tINTO OUTFILE\t/* x */\tDROP TABLE hops\n',
    });
  });

  test('SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN, and the harmless table functions', async () => {
    expect((await post('SELECT count() > 0 FROM hops')).text).toBe('1\n');
    expect((await post('WITH 2 AS x SELECT x * 21')).text).toBe('42\n');
    expect((await post('SHOW TABLES')).text).toMatch(/^anomalies$/m);
    expect((await post('DESCRIBE TABLE hops')).text).toMatch(/^switch_id\tUInt32/m);
    expect((await post('EXISTS TABLE hops')).text).toBe('1\n');
    expect((await post('EXPLAIN SELECT count() FROM hops')).status).toBe(200);
    expect((await post('SELECT sum(number) FROM numbers(10)')).text).toBe('45\n');
    expect((await post('/* a comment */ SELECT 1 -- and another\n')).text).toBe('1\n');
    const j = await post('SELECT 1 AS one FORMAT JSONEachRow');
    expect(j).toEqual({ status: 200, text: '{"one":1}\n' });
  });

  test('query parameters are bound as ClickHouse binds them, never spliced', async () => {
    const r = await post(
      'SELECT {x:UInt32} + 1, {s:String}',
      `param_x=41&param_s=${encodeURIComponent("it's'; DROP TABLE hops; --")}`,
    );
    expect(r).toEqual({ status: 200, text: "42\tit\\'s\\'; DROP TABLE hops; --\n" });
    expect((await post('SELECT {x:UInt8}', 'param_x=abc')).status).toBe(400);
  });

  test('URL settings are honoured within the caps, anything else is refused by name', async () => {
    expect((await post('SELECT 1', 'max_execution_time=10&max_threads=1')).text).toBe('1\n');
    const over = await post('SELECT 1', 'max_execution_time=1000');
    expect(over.status).toBe(400);
    expect(over.text).toMatch(
      /max_execution_time should be between 1 and 60.*SETTING_CONSTRAINT_VIOLATION/,
    );
    expect((await post('SELECT 1', 'max_execution_time=0')).status).toBe(400);
    expect((await post('SELECT 1', 'max_memory_usage=99999999999999')).status).toBe(400);
    const ro = await post('SELECT 1', 'readonly=0');
    expect(ro.status).toBe(403);
    const unknown = await post('SELECT 1', 'allow_ddl=1');
    expect(unknown.status).toBe(400);
    expect(unknown.text).toMatch(/Setting allow_ddl is not accepted.*UNKNOWN_SETTING/);
    expect((await post('SELECT 1', 'format_schema=x')).status).toBe(400);
    // output settings a client sends apply
    const q = await post(
      'SELECT toUInt64(1) AS n FORMAT JSONEachRow',
      'output_format_json_quote_64bit_integers=1',
    );
    expect(q.text).toBe('{"n":"1"}\n');
    // the engine enforces the limits
    const mem = await post(
      'SELECT groupArray(number) FROM numbers(10000000)',
      'max_memory_usage=10000000',
    );
    expect(mem.status).toBe(500);
    expect(mem.text).toMatch(/MEMORY_LIMIT_EXCEEDED/);
    const big = await post('SELECT * FROM numbers(1000000)', 'max_result_bytes=1000');
    expect(big.status).toBe(500);
    expect(big.text).toMatch(/TOO_MANY_ROWS_OR_BYTES/);
  });
});

describe('resources: time, concurrency, cancellation, the store keeps writing', () => {
  const LONG = 'SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) % 7 = 1';
  const until = async (ok: () => Promise<boolean>, ms: number): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await ok()) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  };
  // no long query of this block may outlive it and take the next tests' slots
  afterAll(async () => {
    await until(async () => (await running()) === 0, 30_000);
  }, 40_000);
  // the endpoint's guard runs `EXPLAIN AST <the query>` first: not counted, or a poll that
  // catches the guard sees the query "running" before it runs (a flake on a slow machine)
  const running = async (): Promise<number> =>
    Number(
      (
        await store.query(
          "SELECT count() AS n FROM system.processes WHERE query LIKE '%numbers(100000000000)%' AND query NOT LIKE '%system.processes%' AND NOT startsWith(query, 'EXPLAIN')",
        )
      )[0].n,
    );

  test('the time limit ends a long query with the engine error', async () => {
    const t0 = Date.now();
    const r = await post(LONG, 'max_execution_time=1');
    expect(r.status).toBe(500);
    expect(r.text).toMatch(/TIMEOUT_EXCEEDED/);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  test('a client that goes away has its query killed', async () => {
    const ac = new AbortController();
    const p = fetch(`${ep.url}/`, { method: 'POST', body: LONG, signal: ac.signal }).catch(
      (e: Error) => e,
    );
    const before = ep.stats.cancelled;
    try {
      // on a loaded machine the query can take seconds to show in system.processes
      // twice in a row: the query itself, not a step before it
      await until(async () => {
        if ((await running()) !== 1) return false;
        await new Promise((r) => setTimeout(r, 200));
        return (await running()) === 1;
      }, 30_000);
      expect(await running()).toBe(1);
    } finally {
      // whatever happened above, this query must not hold a slot for the tests after it
      ac.abort();
    }
    expect(await p).toHaveProperty('name', 'AbortError');
    let left = 1;
    for (let i = 0; i < 300 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = await running();
    }
    expect(left).toBe(0);
    expect(ep.stats.cancelled).toBe(before + 1);
  }, 90_000);

  test('a long query neither waits for nor delays store writes and other queries; the cap answers 503', async () => {
    const slow = [post(LONG, 'max_execution_time=8'), post(LONG, 'max_execution_time=8')];
    await until(async () => (await running()) >= 2, 30_000);
    expect(await running()).toBe(2);
    // the store's own statements and inserts go on meanwhile
    const t0 = Date.now();
    const b = new RecordBatch(1024);
    fillSynthetic(b, 5000, 500);
    await store.insertBatch(b);
    await store.flush();
    await store.query('SELECT count() FROM hops');
    expect(Date.now() - t0).toBeLessThan(5_000);
    // a third query still runs (cap 3), a fourth is refused at once
    const third = post(LONG, 'max_execution_time=8');
    await until(async () => (await running()) >= 3, 30_000);
    const busy = await post('SELECT 1');
    expect(busy.status).toBe(503);
    expect(busy.text).toMatch(/TOO_MANY_SIMULTANEOUS_QUERIES/);
    for (const r of await Promise.all([...slow, third])) expect(r.text).toMatch(/TIMEOUT_EXCEEDED/);
    expect((await post('SELECT 1')).text).toBe('1\n');
    counts.hops = (await countRows()).hops;
  }, 60_000);
});

describe('hostile HTTP never takes the endpoint down', () => {
  const raw = (bytes: string | Buffer, wait = 3000): Promise<string> =>
    rawRequest(ep.port, bytes, wait);
  const alive = async (): Promise<void> => {
    expect(await (await fetch(`${ep.url}/ping`)).text()).toBe('Ok.\n');
  };

  test('malformed URLs, request lines and headers get 400, and the endpoint stays up', async () => {
    expect(await raw('GET //[ HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw('GET /?query=%zz HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(
      /^HTTP\/1\.1 [45]\d\d/,
    );
    expect(await raw('NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(`GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`)).toMatch(
      /^HTTP\/1\.1 431|^HTTP\/1\.1 400/,
    );
    expect(await raw('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\nSELECT 1')).toMatch(
      /^HTTP\/1\.1 400/,
    );
    expect(
      await raw('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'),
    ).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10]))).toMatch(/^HTTP\/1\.1 400/);
    expect((await fetch(`${ep.url}/other`)).status).toBe(404);
    expect((await fetch(`${ep.url}/`, { method: 'DELETE' })).status).toBe(405);
    await alive();
  });

  test('a huge body is refused with 413 without reading it all', async () => {
    const r = await post('SELECT 1 -- ' + 'x'.repeat(2 << 20));
    expect(r.status).toBe(413);
    await alive();
  });

  test('a slow client is cut off, and others are served meanwhile', async () => {
    const s = net.connect(ep.port, '127.0.0.1');
    s.on('error', () => undefined);
    const closed = new Promise<number>((r) => s.on('close', () => r(Date.now())));
    const t0 = Date.now();
    s.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nSEL');
    const drip = setInterval(() => s.writable && s.write('E'), 300);
    expect((await post('SELECT 2')).text).toBe('2\n');
    const t1 = await closed;
    clearInterval(drip);
    expect(t1 - t0).toBeLessThan(10_000);
    await alive();
  });

  test('fuzz: random request lines, headers and bodies all get an answer or a close', async () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pieces = [
      '/',
      '/?',
      'query=',
      'SELECT',
      '%',
      '%2',
      '&',
      '=',
      'param_',
      'database',
      'user',
      'password',
      'max_execution_time',
      '[',
      ']',
      '#',
      '\\',
      ' ',
      '\u00ff',
      '..',
      'default_format=',
      'readonly=',
    ];
    const methods = ['GET', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'G\u0000T', ''];
    for (let i = 0; i < 200; i++) {
      let target = '/';
      for (let k = rnd(8); k > 0; k--) target += pieces[rnd(pieces.length)];
      const headers =
        rnd(3) === 0
          ? `Authorization: Basic ${Buffer.from(pieces[rnd(pieces.length)]).toString('base64')}\r\n`
          : rnd(3) === 0
            ? `X-ClickHouse-User: ${pieces[rnd(pieces.length)]}\r\n`
            : '';
      const body = Buffer.alloc(rnd(64), rnd(256));
      const req = `${methods[rnd(methods.length)]} ${target} HTTP/1.1\r\nHost: x\r\n${headers}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
      const got = await raw(Buffer.concat([Buffer.from(req, 'latin1'), body]), 2000);
      expect(got === '' || /^HTTP\/1\.1 \d{3}/.test(got)).toBe(true);
    }
    await alive();
    expect(ep.stats.badRequests).toBeGreaterThan(0);
  }, 120_000);
});
