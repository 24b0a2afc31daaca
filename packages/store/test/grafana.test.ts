/**
 * The Grafana dashboard (deploy/grafana): every panel's and every variable's SQL, with the
 * ClickHouse plugin's macros expanded as the plugin does, run on the demo capture against a
 * real ClickHouse 18.16 server (testkit) and against the embedded store through the read-only
 * endpoint of `serve` (over HTTP, as Grafana sends it). Both give rows, the same number, and
 * the microburst panel its peak. The server half is skipped with a message when no server is
 * installed, unless HOPWATCH_REQUIRE_SERVICES=1 (CI).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeConfig } from '@hopwatch/codec';
import { Pipeline, PcapReplaySource } from '@hopwatch/pipeline';
import { openStore, startQueryEndpoint, type QueryEndpoint, type Store } from '@hopwatch/store';
import { servicesAvailable, startClickHouse, unavailableMessage } from '@hopwatch/testkit';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const builder = require('../../../deploy/grafana/build-dashboard.js') as {
  dashboard(): Dashboard;
  OUT: string;
};
interface Target {
  rawSql: string;
  datasource: { type: string; uid: string };
  format: number;
}
interface Dashboard {
  panels: { title: string; type: string; targets: Target[]; datasource: { uid: string } }[];
  templating: { list: { name: string; query: string; datasource: { uid: string } }[] };
}

const DEMO = path.join(__dirname, '../../../captures/demo-fabric.pcap');
const FROM_S = 1767225600; // the demo capture's minute
const RANGE = { from: FROM_S, to: FROM_S + 60, interval: 1 };
const VARS: Record<string, string> = { switch: '2', port: '1', queue: '0' };

/** The plugin's macros (toDateTime of seconds, the interval in seconds) and the variables. */
function expand(sql: string): string {
  return sql
    .replace(/\$__fromTime\b/g, `toDateTime(${RANGE.from})`)
    .replace(/\$__toTime\b/g, `toDateTime(${RANGE.to})`)
    .replace(/\$__interval_s\b/g, String(RANGE.interval))
    .replace(/\$\{(\w+)\}/g, (_, v: string) => {
      if (!(v in VARS)) throw new Error(`unknown variable ${v}`);
      return VARS[v];
    });
}

const dash = builder.dashboard();
const STATEMENTS: [string, string][] = [
  ...dash.panels.map((p): [string, string] => [p.title, p.targets[0].rawSql]),
  ...dash.templating.list.map((v): [string, string] => [`variable ${v.name}`, v.query]),
];

async function replayDemo(store: Store): Promise<void> {
  const p = new Pipeline({ codec: makeConfig(), store, batchRecords: 1024 });
  await new PcapReplaySource([DEMO]).run(p, new AbortController().signal);
  await p.close();
  expect(p.stats().storeErrors).toBe(0);
}

test('the committed dashboard is what the builder writes; one data source, the provisioned one', async () => {
  // prettier (which the builder formats with) needs ES modules: in a process of its own
  const r = spawnSync(
    process.execPath,
    [path.join(__dirname, '../../../deploy/grafana/build-dashboard.js'), '--check'],
    {
      encoding: 'utf8',
    },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(JSON.parse(fs.readFileSync(builder.OUT, 'utf8'))).toEqual(dash);
  const ds = fs.readFileSync(
    path.join(__dirname, '../../../deploy/grafana/provisioning/datasources/hopwatch.yaml'),
    'utf8',
  );
  expect(ds).toMatch(/uid: hopwatch/);
  expect(ds).toMatch(/type: grafana-clickhouse-datasource/);
  for (const p of dash.panels) {
    expect(p.datasource.uid).toBe('hopwatch');
    expect(p.targets).toHaveLength(1);
    expect(p.targets[0].datasource).toEqual({
      type: 'grafana-clickhouse-datasource',
      uid: 'hopwatch',
    });
  }
  expect(dash.panels.length).toBeGreaterThanOrEqual(8);
});

type Answers = Record<string, Record<string, unknown>[]>;

function check(a: Answers): void {
  for (const [title] of STATEMENTS)
    expect({ title, rows: a[title].length > 0 }).toEqual({ title, rows: true });
  const burst = a[dash.panels.find((p) => p.title.includes('microburst'))!.title];
  expect(Math.max(...burst.map((r) => Number(r.max_occupancy)))).toBe(55758);
  const anomalies = a['Anomalies'];
  expect(anomalies.map((r) => r.type).sort()).toEqual([
    'microburst',
    'microloop',
    'path_change',
    'path_change',
    'path_change',
  ]);
}

describe('every panel on the demo capture', () => {
  let dir: string;
  let store: Store;
  let endpoint: QueryEndpoint;
  const embedded: Answers = {};

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-grafana-'));
    store = await openStore({ dataDir: dir });
    await replayDemo(store);
    endpoint = await startQueryEndpoint(store, { port: 0 });
    for (const [title, sql] of STATEMENTS) {
      // as Grafana's plugin sends it over HTTP: the SQL in the body, JSON back
      const r = await fetch(`${endpoint.url}/?default_format=JSON&database=hopwatch`, {
        method: 'POST',
        body: expand(sql),
      });
      const text = await r.text();
      if (r.status !== 200) throw new Error(`${title}: ${r.status} ${text}`);
      embedded[title] = (JSON.parse(text) as { data: Record<string, unknown>[] }).data;
    }
  }, 120_000);

  afterAll(async () => {
    await endpoint?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('embedded store through the serve endpoint', () => check(embedded));

  const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
  const available = servicesAvailable().clickhouse || required;
  (available ? test : test.skip)(
    'ClickHouse 18.16 server: the same panels, the same row counts',
    async () => {
      const server = await startClickHouse();
      const db = `hopwatch_grafana_${process.pid}`;
      const remote = await openStore({ url: server.url, database: db });
      try {
        await replayDemo(remote);
        const answers: Answers = {};
        for (const [title, sql] of STATEMENTS) answers[title] = await remote.query(expand(sql));
        check(answers);
        for (const [title] of STATEMENTS)
          expect({ title, rows: answers[title].length }).toEqual({
            title,
            rows: embedded[title].length,
          });
      } finally {
        await remote.command(`DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
        await remote.close();
        await server.stop();
      }
    },
    240_000,
  );
  if (!available) test('server skipped', () => console.log(unavailableMessage('clickhouse')));
});
