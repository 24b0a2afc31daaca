/**
 * The console's data (fine rollups, drill-down queries; src/console/) on the demo capture, in
 * the embedded store and in a ClickHouse 18.16 server (testkit; skipped with a message when
 * none is installed, unless HOPWATCH_REQUIRE_SERVICES=1): the same named queries give the same
 * rows in both dialects, and the 100 µs window is pruned by packet time.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeConfig, RecordBatch } from '@hopwatch/codec';
import { Pipeline, PcapReplaySource } from '@hopwatch/pipeline';
import { CONSOLE_QUERIES, openStore, pruneFineRollup, type Row, type Store } from '@hopwatch/store';
import { servicesAvailable, startClickHouse, unavailableMessage } from '@hopwatch/testkit';
import { fillSynthetic } from './synthetic';

const DEMO = path.join(__dirname, '../../../captures/demo-fabric.pcap');
const LABELS = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../../../captures/demo-fabric.labels.json'), 'utf8'),
) as { anomalies: { type: string; start: number; aggressors?: { srcPort: number }[] }[] };
const FROM = '1767225600000000000';
const TO = '1767225600004000000';

async function replayDemo(store: Store): Promise<void> {
  const p = new Pipeline({ codec: makeConfig(), store, batchRecords: 1024 });
  await new PcapReplaySource([DEMO]).run(p, new AbortController().signal);
  await p.close();
  expect(p.stats().storeErrors).toBe(0);
}

/** Every console query on the demo window, with the parameters the console would send. */
async function allQueries(store: Store): Promise<Record<string, Row[]>> {
  const win = { from: FROM, to: TO };
  const params: Record<string, Record<string, unknown>> = {
    console_span: {},
    console_heatmap_100us: { ...win, step: 1 },
    console_heatmap_10ms: { ...win, step: 1 },
    console_slowest_hops: win,
    console_switches: win,
    console_links: win,
    console_anomalies: win,
    console_queue_series: {
      switch: 2,
      port: 1,
      queue: 0,
      from: '1767225600000550000',
      to: '1767225600000800000',
    },
    console_loop_packets: win,
    console_flow: {
      src: '10.0.1.3',
      dst: '10.0.2.2',
      src_port: 39858,
      dst_port: 443,
      protocol: 17,
      ...win,
    },
  };
  expect(Object.keys(params).sort()).toEqual(Object.keys(CONSOLE_QUERIES).sort());
  const out: Record<string, Row[]> = {};
  for (const [name, p] of Object.entries(params)) out[name] = await store.named(name, p);
  return out;
}

function checkDemo(r: Record<string, Row[]>, queues: Row[]): void {
  expect(r.console_span[0]).toMatchObject({ records: expect.anything() });
  expect(Number(r.console_span[0].records)).toBe(2081);
  // a heatmap row for every queue the hops name, and every hop counted once per level
  const key = (x: Row): string =>
    `${String(x.switch_id)}/${String(x.egress_port)}/${String(x.queue_id)}`;
  const want = queues.map(key).sort();
  for (const level of ['console_heatmap_100us', 'console_heatmap_10ms']) {
    expect([...new Set(r[level].map(key))].sort()).toEqual(want);
    const total = r[level].reduce((s, x) => s + Number(x.hops), 0);
    expect(total).toBe(queues.reduce((s, x) => s + Number(x.n), 0));
  }
  // the burst is visible at 100 µs and flattened at 10 ms
  const burst100 = r.console_heatmap_100us.filter((x) => key(x) === '2/1/0');
  expect(Math.max(...burst100.map((x) => Number(x.max_occupancy)))).toBe(55758);
  expect(burst100.length).toBeGreaterThanOrEqual(10); // the queue carries traffic in 12 of the 30
  expect(r.console_heatmap_10ms.filter((x) => key(x) === '2/1/0')).toHaveLength(1);
  expect(r.console_slowest_hops[0]).toMatchObject({ switch_id: 2, egress_port: 1, queue_id: 0 });
  expect(r.console_switches.map((x) => Number(x.switch_id))).toEqual([1, 2, 3, 4, 101, 102]);
  expect(r.console_links.length).toBeGreaterThan(4);
  expect(r.console_links.some((x) => x.a === 101 && x.b === 3)).toBe(true);
  // the labelled anomalies, with their drill-down details
  const types = r.console_anomalies.map((x) => String(x.type));
  for (const l of LABELS.anomalies) expect(types).toContain(l.type);
  const mb = r.console_anomalies.find((x) => x.type === 'microburst');
  const details = JSON.parse(String(mb?.details)) as {
    aggressors: { srcPort: number; share: number }[];
  };
  const labelled = LABELS.anomalies.find((l) => l.type === 'microburst')?.aggressors ?? [];
  expect(details.aggressors.map((a) => a.srcPort).sort()).toEqual(
    labelled.map((a) => a.srcPort).sort(),
  );
  expect(details.aggressors.every((a) => a.share > 0.2)).toBe(true);
  // the burst's queue series: fills to the peak and drains, flows named
  const s = r.console_queue_series;
  const occ = s.map((x) => Number(x.queue_occupancy));
  const peak = occ.indexOf(Math.max(...occ));
  expect(occ[peak]).toBe(55758);
  expect(occ[0]).toBeLessThan(1000);
  expect(occ[occ.length - 1]).toBeLessThan(occ[peak] / 10);
  expect(s.every((x) => x.dst === '10.0.2.2')).toBe(true);
  // the loop's packets visit 101 and 3 again and again
  expect(r.console_loop_packets.length).toBeGreaterThanOrEqual(40);
  expect(String(r.console_loop_packets[0].path)).toMatch(/101,3,101/);
  expect(r.console_flow.length).toBeGreaterThan(10);
  expect(r.console_flow.every((x) => String(x.path) === '1,102,2' || Array.isArray(x.path))).toBe(
    true,
  );
}

const QUEUES =
  'SELECT switch_id, egress_port, queue_id, count() AS n FROM hops GROUP BY switch_id, egress_port, queue_id ORDER BY switch_id, egress_port, queue_id';

describe('embedded store', () => {
  let dir: string;
  let store: Store;
  let rows: Record<string, Row[]>;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-console-data-'));
    store = await openStore({ dataDir: dir });
    await replayDemo(store);
    rows = await allQueries(store);
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('fine rollups and drill-down data of the demo capture', async () => {
    checkDemo(rows, await store.query(QUEUES));
  });

  test('the 100 µs window is pruned by packet time; the 10 ms level keeps everything', async () => {
    expect(await pruneFineRollup(store, 30)).toBe(0);
    const b = new RecordBatch(256);
    fillSynthetic(b, 7_200_000, 100); // two hours of packet time later
    await store.insertBatch(b);
    await store.flush();
    expect(await pruneFineRollup(store, 30)).toBe(1);
    const after = await store.named('console_heatmap_100us', { from: FROM, to: TO, step: 1 });
    expect(after).toEqual([]);
    const coarse = await store.named('console_heatmap_10ms', { from: FROM, to: TO, step: 1 });
    expect(coarse.length).toBe(rows.console_heatmap_10ms.length);
    expect(await pruneFineRollup(store, 30)).toBe(0);
    await expect(pruneFineRollup(store, 24 * 60)).rejects.toThrow(/window/);
  });

  test('one insert spanning days stores (partitions: at most 24 hours of the day)', async () => {
    // 150 records an hour apart: more than 100 hours, fewer than 100 days (as hops allows)
    const b = new RecordBatch(256);
    fillSynthetic(b, 0, 150);
    for (let i = 0; i < b.count; i++) b.tsSec[i] = 1_767_225_600 + 86_400 * 10 + i * 3600;
    const before = Number((await store.query('SELECT count() AS n FROM hops'))[0].n);
    await store.insertBatch(b);
    await store.flush();
    const hops = Number((await store.query('SELECT count() AS n FROM hops'))[0].n) - before;
    expect(hops).toBeGreaterThan(150);
    const parts = await store.query(
      "SELECT count(DISTINCT partition) AS n FROM system.parts WHERE database = 'hopwatch' AND table = 'hop_fine_100us' AND active",
    );
    expect(Number(parts[0].n)).toBeLessThanOrEqual(24);
    // the newest hours stay (30 minutes rounded out to whole hours), the rest of the days go
    await pruneFineRollup(store, 30);
    // the same hours of earlier days go by a mutation: asynchronous, so wait for it
    let span = 0n;
    for (let i = 0; i < 100; i++) {
      const left = await store.query(
        'SELECT toString(min(bucket)) AS lo, toString(max(bucket)) AS hi FROM hop_fine_100us',
      );
      span = BigInt(String(left[0].hi)) - BigInt(String(left[0].lo));
      if (span < 2n * 36_000_000n) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(span).toBeLessThan(2n * 36_000_000n);
    expect(await pruneFineRollup(store, 30)).toBe(0);
  });

  test('hostile parameters are refused before any SQL', async () => {
    await expect(
      store.named('console_flow', {
        src: "1'; DROP",
        dst: '10.0.0.1',
        src_port: 1,
        dst_port: 1,
        protocol: 17,
        from: FROM,
        to: TO,
      }),
    ).rejects.toThrow(/src/);
    await expect(
      store.named('console_heatmap_100us', { from: FROM, to: TO, step: -1 }),
    ).rejects.toThrow(/step/);
    await expect(store.named('console_heatmap_100us', { from: FROM, to: TO })).rejects.toThrow(
      /missing parameter step/,
    );
  });

  describe('ClickHouse 18.16 server (legacy dialect)', () => {
    const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
    const available = servicesAvailable().clickhouse || required;
    (available ? test : test.skip)(
      'the same rows as the embedded store',
      async () => {
        const server = await startClickHouse();
        const db = `hopwatch_console_${process.pid}`;
        const remote = await openStore({ url: server.url, database: db });
        try {
          expect(remote.capabilities.dialect).toBe('legacy');
          await replayDemo(remote);
          const r = await allQueries(remote);
          checkDemo(r, await remote.query(QUEUES));
          // pruning's statements on 18.16 (system.parts, system.mutations): nothing to drop here
          expect(await pruneFineRollup(remote, 30)).toBe(0);
          // one dialect's answer is the other's, row for row (JSON numbers and strings alike)
          const norm = (x: Record<string, Row[]>): string =>
            JSON.stringify(x, (_, v) => (typeof v === 'number' ? String(v) : v));
          const { console_anomalies: a1, ...rest1 } = r;
          const { console_anomalies: a2, ...rest2 } = rows;
          const differ = Object.keys(rest1).filter(
            (k) => norm({ [k]: rest1[k] }) !== norm({ [k]: rest2[k] }),
          );
          if (differ.length)
            fs.writeFileSync('/tmp/console-diff.json', norm({ server: r, embedded: rows }));
          expect(differ).toEqual([]);
          expect(a1.map((x) => x.id)).toEqual(a2.map((x) => x.id));
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
});
