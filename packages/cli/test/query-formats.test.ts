/**
 * `hopwatch query` output against the real stores: chDB (embedded) and a ClickHouse server
 * (18.16 from the testkit), each filled by `hopwatch replay` of the demo capture. Every
 * --format is checked value by value against the engine's own output for the same SQL (a
 * FORMAT JSONEachRow clause, which the command passes through untouched): addresses as
 * written (IPv4 dotted), ns times with their RFC 3339 beside them. Runs the built CLI (after
 * `npx tsc -b`); the server half is skipped without ClickHouse unless HOPWATCH_REQUIRE_SERVICES=1.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nsToRfc3339 } from '@hopwatch/codec';
import { servicesAvailable, startClickHouse, type ClickHouseHandle } from '@hopwatch/testkit';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'packages/cli/bin/hopwatch.js');
const built = fs.existsSync(path.join(ROOT, 'packages/cli/dist/main.js'));
if (!built) console.warn('query-formats CLI test skipped: run npx tsc -b first');
const serverReady = servicesAvailable().clickhouse || process.env.HOPWATCH_REQUIRE_SERVICES === '1';
if (built && !serverReady) console.warn('query-formats: no ClickHouse server, server half skipped');

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function hopwatch(args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

type Obj = Record<string, unknown>;

/** The cells of an aligned table line (columns are two or more spaces apart). */
const cells = (line: string): string[] => line.trim().split(/\s{2,}/);

function suite(kind: 'embedded' | 'server', storeArgs: () => string[]): void {
  const q = (...args: string[]): Run => hopwatch(['query', ...storeArgs(), ...args]);
  // the server (18.16) keeps addresses as FixedString(16): IPv6NumToString gives ::ffff:a.b.c.d
  const addr = (c: string): string => (kind === 'embedded' ? c : `IPv6NumToString(${c}) AS ${c}`);
  const SQL = `SELECT ${addr('src_addr')}, ${addr('dst_addr')}, time_ns, path FROM paths ORDER BY time_ns, frame LIMIT 4`;
  let engine: Obj[] = [];
  let expected: Obj[] = [];

  beforeAll(() => {
    const raw = q(`${SQL} FORMAT JSONEachRow`);
    expect(raw.err).toBe('');
    expect(raw.code).toBe(0);
    engine = raw.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Obj);
    expect(engine).toHaveLength(4);
    expect(String(engine[0].src_addr)).toMatch(/^::ffff:10\.0\.\d+\.\d+$/); // untouched
    const unmap = (a: unknown): string => String(a).replace(/^::ffff:/, '');
    expected = engine.map((r) => ({
      src_addr: unmap(r.src_addr),
      dst_addr: unmap(r.dst_addr),
      time_ns: String(r.time_ns),
      time_rfc3339: nsToRfc3339(BigInt(String(r.time_ns))),
      path: r.path,
    }));
    expect(expected[0].time_rfc3339).toMatch(/^2026-01-01T00:00:00\.\d{9}Z$/);
  });

  const COLS = ['src_addr', 'dst_addr', 'time_ns', 'time_rfc3339', 'path'];
  const line = (r: Obj, sep: string): string =>
    COLS.map((c) => (Array.isArray(r[c]) ? JSON.stringify(r[c]) : String(r[c]))).join(sep);

  test(`${kind}: --format table (the default): IPv4 dotted, RFC 3339 beside time_ns`, () => {
    const r = q(SQL);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(cells(lines[0])).toEqual(COLS);
    expect(lines.slice(2).map(cells)).toEqual(expected.map((e) => line(e, '\n').split('\n')));
    expect(r.out).not.toMatch(/::ffff:/);
  });

  test(`${kind}: --format json and jsonl`, () => {
    const j = q('--format', 'json', SQL);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.out)).toEqual(expected);
    const l = q('--format', 'jsonl', SQL);
    expect(l.code).toBe(0);
    expect(l.out.endsWith('\n')).toBe(true);
    expect(
      l.out
        .trimEnd()
        .split('\n')
        .map((x) => JSON.parse(x)),
    ).toEqual(expected);
  });

  test(`${kind}: --format csv and tsv, with a header line`, () => {
    const c = q('--format', 'csv', SQL);
    expect(c.code).toBe(0);
    const csvRow = (e: Obj): string =>
      [e.src_addr, e.dst_addr, e.time_ns, e.time_rfc3339, `"${JSON.stringify(e.path)}"`].join(',');
    expect(c.out).toBe([COLS.join(','), ...expected.map(csvRow)].join('\n') + '\n');
    const t = q('--format', 'tsv', SQL);
    expect(t.code).toBe(0);
    expect(t.out).toBe([COLS.join('\t'), ...expected.map((e) => line(e, '\t'))].join('\n') + '\n');
    // quoting and escaping, NULL
    const odd = q('--format', 'tsv', "SELECT 'a\\tb\\\\c' AS s, NULL AS n");
    expect(odd.out).toBe('s\tn\na\\tb\\\\c\t\\N\n');
    const oddCsv = q('--format', 'csv', 'SELECT \'say "hi", ok\' AS s, NULL AS n');
    expect(oddCsv.out).toBe('s,n\n"say ""hi"", ok",\n');
  });

  test(`${kind}: a FORMAT clause in the SQL is passed through untouched`, () => {
    const p = q(`${SQL} FORMAT Pretty`);
    expect(p.err).toBe('');
    expect(p.code).toBe(0);
    expect(p.out).toMatch(/src_addr/);
    expect(p.out).toContain(String(engine[0].src_addr)); // the engine's text, not ours
    expect(p.out).not.toContain('time_rfc3339');
    const csv = q(`SELECT 1 AS x, 'a,b' AS s FORMAT CSVWithNames;`);
    expect(csv.code).toBe(0);
    expect(csv.out).toBe('"x","s"\n1,"a,b"\n');
    const bad = q('SELECT 1 FORMAT NoSuchFormat');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/NoSuchFormat/);
    expect(bad.err).not.toMatch(/FORMAT JSON/);
    const both = q('--format', 'csv', 'SELECT 1 FORMAT Pretty');
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/FORMAT Pretty.*--format csv/);
  });

  test(`${kind}: named anomalies: start_time/end_time beside start_ns/end_ns`, () => {
    const j = q('--format', 'json', '--named', 'anomalies');
    expect(j.code).toBe(0);
    const rows = JSON.parse(j.out) as Obj[];
    expect(rows.length).toBe(5);
    for (const r of rows) {
      expect(r.start_time).toBe(nsToRfc3339(BigInt(String(r.start_ns))));
      expect(r.end_time).toBe(nsToRfc3339(BigInt(String(r.end_ns))));
    }
    const t = q('--named', 'anomalies');
    expect(cells(t.out.split('\n')[0]).slice(0, 6)).toEqual([
      'id',
      'type',
      'start_ns',
      'start_time',
      'end_ns',
      'end_time',
    ]);
    expect(t.out).toContain('2026-01-01T00:00:00.000605827Z'); // the microburst's start
  });
}

const dEmbedded = built ? describe : describe.skip;
dEmbedded('query formats, embedded store (chDB)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-query-'));
  const data = path.join(dir, 'data');
  beforeAll(() => {
    const r = hopwatch(['replay', '--data-dir', data, 'captures/demo-fabric.pcap']);
    expect(r.code).toBe(0);
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  suite('embedded', () => ['--data-dir', data]);

  test('embedded: DateTime64 columns as RFC 3339; --format xml is a usage error', () => {
    const r = hopwatch([
      'query',
      '--data-dir',
      data,
      '--format',
      'jsonl',
      'SELECT time FROM paths LIMIT 1',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).time).toMatch(/^2026-01-01T00:00:00\.\d{9}Z$/);
    const x = hopwatch(['query', '--data-dir', data, '--format', 'xml', 'SELECT 1']);
    expect(x.code).toBe(2);
    expect(x.err).toMatch(/--format must be table, json, jsonl, csv or tsv/);
  });
});

const dServer = built && serverReady ? describe : describe.skip;
dServer('query formats, ClickHouse server (testkit)', () => {
  let server: ClickHouseHandle;
  beforeAll(async () => {
    server = await startClickHouse();
    const r = hopwatch(['replay', '--store-url', server.url, 'captures/demo-fabric.pcap']);
    expect(r.code).toBe(0);
  }, 180_000);
  afterAll(async () => server?.stop());
  suite('server', () => ['--store-url', server.url]);
});
