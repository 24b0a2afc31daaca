/** Embedded store (real chDB): schema, RowBinary insert, rollup MV, named queries, re-open. */
import { mkdtempSync, rmSync, existsSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { Decoder, makeConfig, materialize, RecordBatch } from '@hopwatch/codec';
import { openCapture } from '@hopwatch/pcap';
import {
  DEFAULT_EMBEDDED_MERGE_SELECTOR_BASE,
  openStore,
  StoreError,
  type Store,
} from '@hopwatch/store';
import { emptyExpected, fillSynthetic, T0, type Expected } from './synthetic';

const CAPTURE = '/work/shared/captures/scapy-pr4230_int-v2.1_udp-tcp.pcap';
const RECORDS = 66_000; // ≈ 198k hops

let dir: string;
let store: Store;
const exp: Expected = emptyExpected();

const one = async (sql: string): Promise<Record<string, unknown>> => (await store.query(sql))[0];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hopwatch-store-test-'));
  store = await openStore({ dataDir: path.join(dir, 'data'), batchRows: 50_000 });
  const b = new RecordBatch(4096);
  for (let first = 0; first < RECORDS; first += 4000) {
    fillSynthetic(b, first, Math.min(4000, RECORDS - first), exp);
    await store.insertBatch(b); // the batch is reused: insertBatch must copy
  }
  await store.flush();
});

afterAll(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('embedded store', () => {
  test('detects a modern engine and applies all migrations', async () => {
    expect(store.kind).toBe('embedded');
    expect(store.capabilities.dialect).toBe('modern');
    expect(await store.schemaVersions()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const tables = (
      await store.query("SELECT name FROM system.tables WHERE database = 'hopwatch' ORDER BY name")
    ).map((r) => r.name);
    expect(tables).toEqual(
      expect.arrayContaining([
        'hops',
        'paths',
        'anomalies',
        'hop_rollup_1m',
        'hop_latency_1m',
        'schema_migrations',
        'flows',
        'hop_fine_100us',
        'hop_fine_100us_mv',
        'hop_fine_10ms',
        'hop_fine_10ms_mv',
      ]),
    );
  });

  test('exact row counts, sums and nulls', async () => {
    const h = await one(
      'SELECT count() AS n, sum(hop_latency) AS lat, countIf(hop_latency IS NULL) AS lat_null, ' +
        'countIf(queue_occupancy IS NULL) AS occ_null, sum(queue_occupancy) AS occ, sum(ingress_ts) AS its, ' +
        'sum(switch_id) AS sw, sum(time_ns) AS t, countIf(l2_ingress_port IS NULL) AS l2_null, ' +
        "countIf(origin = 'stack') AS stack, countIf(int_version = '2.1') AS v21, uniqExact(flow_hash) AS flows FROM hops",
    );
    expect(Number(h.n)).toBe(exp.hops);
    expect(exp.hops).toBeGreaterThan(190_000);
    expect(BigInt(h.lat as string)).toBe(exp.latencySum);
    expect(Number(h.lat_null)).toBe(exp.latencyNulls);
    expect(Number(h.occ_null)).toBe(exp.occupancyNulls);
    expect(BigInt(h.occ as string)).toBe(exp.occupancySum);
    expect(BigInt(h.its as string)).toBe(exp.ingressTsSum);
    expect(BigInt(h.sw as string)).toBe(exp.switchSum);
    // sum of UInt64 wraps at 2^64
    expect(BigInt(h.t as string)).toBe(exp.timeNsSum % (1n << 64n));
    expect(Number(h.l2_null)).toBe(exp.hops);
    expect(Number(h.stack)).toBe(exp.hops);
    expect(Number(h.v21)).toBe(exp.hops);
    expect(Number(h.flows)).toBe(10); // 5 v4 + 5 v6 source addresses/ports

    const p = await one(
      'SELECT count() AS n, sum(length(path)) AS hops, sum(e2e_latency) AS e2e, countIf(e2e_latency IS NULL) AS e2e_null, ' +
        'countIf(report_seq IS NOT NULL) AS reports, countIf(report_node = 77) AS nodes, ' +
        "countIf(startsWith(IPv6NumToString(src_addr), '2001:db8')) AS v6 FROM paths",
    );
    expect(Number(p.n)).toBe(exp.records);
    expect(Number(p.hops)).toBe(exp.hops);
    expect(BigInt(p.e2e as string)).toBe(exp.e2eSum);
    expect(Number(p.e2e_null)).toBe(exp.e2eNulls);
    expect(Number(p.reports)).toBe(exp.records / 2);
    expect(Number(p.nodes)).toBe(exp.records / 4);
    expect(Number(p.v6)).toBe(exp.v6Records);
  });

  test('first record round-trips exactly', async () => {
    const r = (await store.query(
      'SELECT time_ns, toString(time) AS t, switch_id, hop_index, hop_count, egress_port, queue_id, hop_latency, queue_occupancy, ' +
        'ingress_ts, IPv6NumToString(src_addr) AS src, IPv6NumToString(dst_addr) AS dst, src_port, dst_port, protocol, frame, encapsulation ' +
        'FROM hops WHERE frame = 2 ORDER BY hop_index',
    )) as Record<string, unknown>[];
    // record 1: 2 hops, v6, tsNsec 7919
    expect(r).toHaveLength(2);
    expect(r[0]).toMatchObject({
      time_ns: String(BigInt(T0) * 1_000_000_000n + 7919n),
      t: '2026-01-01 00:00:00.000007919',
      switch_id: 110,
      hop_index: 0,
      hop_count: 2,
      egress_port: 1,
      queue_id: 0,
      hop_latency: 1031,
      queue_occupancy: 13,
      ingress_ts: String((1n << 32n) | 1000n),
      src: '2001:db8::1',
      dst: '2001:db8::99',
      src_port: 1001,
      dst_port: 80,
      protocol: 17,
      frame: '2',
      encapsulation: 'udp-dscp',
    });
    expect(r[1]).toMatchObject({ switch_id: 111, hop_index: 1, egress_port: 2, queue_id: 1 });
  });

  test('rollup MV matches a direct GROUP BY', async () => {
    const diff = await one(`
      SELECT count() AS groups, countIf(r.hops != d.hops) AS bad_count, countIf(r.occ != d.occ) AS bad_occ,
             countIf(r.lmax != d.lmax) AS bad_lmax, countIf(r.lsum != d.lsum) AS bad_lsum,
             maxIf(abs(r.p50 - d.p50) / d.p50, r.latency_samples >= 100) AS p50_err, countIf(r.latency_samples >= 100) AS big
      FROM (SELECT minute, switch_id, egress_port, queue_id, hops, latency_sum AS lsum, latency_max AS lmax,
                   occupancy_max AS occ, p50, latency_samples FROM hop_latency_1m) AS r
      INNER JOIN (SELECT toStartOfMinute(time) AS minute, switch_id, egress_port, queue_id, count() AS hops,
                   sum(ifNull(hop_latency, 0)) AS lsum, max(hop_latency) AS lmax, max(queue_occupancy) AS occ,
                   quantileExact(0.5)(hop_latency) AS p50
                  FROM hops GROUP BY minute, switch_id, egress_port, queue_id) AS d
      USING (minute, switch_id, egress_port, queue_id)`);
    const groups = await one(
      'SELECT count() AS n FROM (SELECT DISTINCT toStartOfMinute(time), switch_id, egress_port, queue_id FROM hops)',
    );
    expect(Number(diff.groups)).toBe(Number(groups.n));
    expect(Number(diff.bad_count)).toBe(0);
    expect(Number(diff.bad_occ)).toBe(0);
    expect(Number(diff.bad_lmax)).toBe(0);
    expect(Number(diff.bad_lsum)).toBe(0);
    expect(Number(diff.big)).toBeGreaterThan(100); // t-digest is approximate: check the well-populated groups
    expect(Number(diff.p50_err)).toBeLessThan(0.05);
    const total = await one('SELECT sum(hops) AS n FROM hop_latency_1m');
    expect(Number(total.n)).toBe(exp.hops);
  });

  test('named query: switch_latency', async () => {
    const rows = await store.named('switch_latency', {
      switch: 100,
      from: BigInt(T0) * 1_000_000_000n,
      to: new Date((T0 + 60) * 1000),
    });
    const direct = await store.query(
      `SELECT egress_port, queue_id, count() AS n, max(queue_occupancy) AS occ FROM hops WHERE switch_id = 100
       AND time < toDateTime(${T0 + 60}) GROUP BY egress_port, queue_id ORDER BY egress_port, queue_id`,
    );
    expect(rows.length).toBe(direct.length);
    rows.forEach((r, i) => {
      expect(r.minute).toBe('2026-01-01 00:00:00');
      expect(r.egress_port).toBe(direct[i].egress_port);
      expect(Number(r.hops)).toBe(Number(direct[i].n));
      expect(r.max_occupancy).toBe(direct[i].occ);
      expect(Number(r.p50)).toBeGreaterThan(999);
      expect(Number(r.p99)).toBeGreaterThanOrEqual(Number(r.p50));
    });
    const text = await store.named(
      'switch_latency',
      { switch: 100, egress_port: 0, queue: 0 },
      'table',
    );
    expect(text.split('\n')[0]).toMatch(/^minute\s+egress_port\s+queue_id\s+hops/);
  });

  test('named query: flow_paths', async () => {
    const rows = await store.named('flow_paths', {
      src: '10.0.0.0',
      dst: '10.1.0.1',
      src_port: 1000,
      protocol: 17,
    });
    // records r ≡ 0 (mod 10): one hop at switch 100 + (r % 3) * 10
    expect(rows.map((r) => r.path)).toEqual([[100], [110], [120]]);
    const n = Math.ceil(RECORDS / 10);
    expect(rows.reduce((s, r) => s + Number(r.packets), 0)).toBe(n);
    expect(rows[0].first_seen_ns).toBe(String(BigInt(T0) * 1_000_000_000n));
  });

  test('named queries: slowest_hops and queue_peaks', async () => {
    const slow = await store.named('slowest_hops', { limit: 3 });
    expect(slow).toHaveLength(3);
    expect(Number(slow[0].p99)).toBeGreaterThanOrEqual(Number(slow[2].p99));
    const peaks = await store.named('queue_peaks', { limit: 5 });
    expect(peaks).toHaveLength(5);
    const max = await one('SELECT max(queue_occupancy) AS m FROM hops');
    expect(peaks[0].peak_occupancy).toBe(max.m);
  });

  test('anomalies: insert, dedupe by id, window query', async () => {
    const base = BigInt(T0) * 1_000_000_000n;
    const a = [
      {
        id: 'a1',
        type: 'queue-buildup',
        start: base,
        end: base + 5_000_000_000n,
        switchId: 100,
        egressPort: 3,
        queueId: 0,
        switches: [100],
        flows: [{ src: '10.0.0.1' }],
        packets: 42,
        extra: "it's",
      },
      {
        id: 'a2',
        type: 'path-change',
        start: base + 10_000_000_000n,
        switches: [100, 110],
        packets: 7,
      },
    ];
    expect(await store.insertAnomalies(a)).toBe(2);
    expect(await store.insertAnomalies([a[0]])).toBe(1); // same id again
    const all = await store.named('anomalies', {});
    expect(all.map((r) => r.id)).toEqual(['a1', 'a2']);
    expect(all[0]).toMatchObject({
      type: 'queue-buildup',
      switch_id: 100,
      egress_port: 3,
      queue_id: 0,
      packets: '42',
      start_ns: String(base),
    });
    expect(JSON.parse(all[0].details as string).extra).toBe("it's");
    expect(all[1].switch_id).toBeNull();
    const win = await store.named('anomalies', {
      from: base + 6_000_000_000n,
      to: base + 20_000_000_000n,
    });
    expect(win.map((r) => r.id)).toEqual(['a2']);
    expect((await store.named('anomalies', { switch: 110 })).map((r) => r.id)).toEqual(['a2']);
  });

  test('parameters are validated', async () => {
    await expect(
      store.named('flow_paths', { src: "1.2.3.4' OR 1=1 --", dst: '10.1.0.1' }),
    ).rejects.toThrow(/not an IP address/);
    await expect(store.named('switch_latency', { switch: '1; DROP TABLE hops' })).rejects.toThrow(
      /non-negative integer/,
    );
    await expect(store.named('switch_latency', { switch: 2 ** 33 })).rejects.toThrow(
      /out of range/,
    );
    await expect(store.named('switch_latency', {})).rejects.toThrow(/missing parameter switch/);
    await expect(store.named('nope', {})).rejects.toThrow(/unknown named query/);
    await expect(store.named('anomalies', { type: "x' OR '1" })).rejects.toThrow(StoreError);
  });

  test('bad SQL gives a clear error', async () => {
    const err = await store.query('SELEC 1').catch((e) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err.code).toBe(62);
    expect(err.message).toMatch(/ClickHouse error 62.*Syntax error/);
    expect(err.message).toMatch(/in: SELEC 1/);
    const err2 = await store.query('SELECT nope FROM hops').catch((e) => e);
    expect(err2.code).toBe(47);
    expect(err2.message).toMatch(/nope/);
  });

  test('csv and table formats', async () => {
    const csv = await store.query("SELECT 1 AS a, NULL AS b, 'x' AS c", 'csv');
    expect(csv).toBe('"a","b","c"\n1,\\N,"x"\n');
    const table = await store.query('SELECT 1 AS a, NULL AS b', 'table');
    expect(table).toBe('a  b\n-  ----\n1  NULL\n');
  });

  test('decoded capture packets round-trip', async () => {
    if (!existsSync(CAPTURE)) return;
    const reader = openCapture(CAPTURE);
    const dec = new Decoder(makeConfig('scapy-int'));
    const b = new RecordBatch(256);
    for (let rec = reader.next(); rec; rec = reader.next())
      dec.decode(rec.data, rec.linkType, rec.tsSec, rec.tsNsec, rec.index, b);
    reader.close();
    expect(b.count).toBeGreaterThan(0);
    const stats = await store.insertBatch(b);
    await store.flush();
    expect(stats.pathRows).toBe(b.count);
    // compare against materialize() for every hop of every record
    const rows = (await store.query(
      'SELECT frame, hop_index, switch_id, hop_latency, queue_occupancy, toString(egress_ts) AS ets, encapsulation, IPv6NumToString(src_addr) AS src ' +
        'FROM hops WHERE time_ns < ' +
        String(BigInt(T0) * 1_000_000_000n) +
        ' ORDER BY frame, hop_index, origin',
    )) as Record<string, unknown>[];
    const want: Record<string, unknown>[] = [];
    for (let r = 0; r < b.count; r++) {
      const m = materialize(b, r);
      for (const h of m.hops) {
        want.push({
          frame: String(m.frame),
          hop_index: h.index,
          switch_id: h.switchId ?? 0xffffffff,
          hop_latency: h.hopLatency,
          queue_occupancy: h.queueOccupancy,
          ets: h.egressTimestamp === null ? null : h.egressTimestamp.toString(),
          encapsulation: m.encapsulation,
          src: m.flow
            ? m.flow.srcAddr.includes(':')
              ? m.flow.srcAddr
              : '::ffff:' + m.flow.srcAddr
            : '::',
        });
      }
    }
    want.sort(
      (x, y) =>
        Number(x.frame) - Number(y.frame) || (x.hop_index as number) - (y.hop_index as number),
    );
    expect(rows.length).toBe(want.length);
    expect(rows).toEqual(want);
  });

  test('re-open keeps data; migrations are idempotent', async () => {
    const n = Number((await one('SELECT count() AS n FROM hops')).n);
    await store.close();
    store = await openStore({ dataDir: path.join(dir, 'data') });
    expect(await store.schemaVersions()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(Number((await one('SELECT count() AS n FROM schema_migrations')).n)).toBe(7);
    expect(Number((await one('SELECT count() AS n FROM hops')).n)).toBe(n);
    expect(Number((await one('SELECT sum(hops) AS n FROM hop_latency_1m')).n)).toBe(n);
    // retention can be set on an existing store (TTL via ALTER)
    await store.close();
    store = await openStore({ dataDir: path.join(dir, 'data'), retentionDays: 3650 });
    const ddl = await one(
      "SELECT create_table_query AS q FROM system.tables WHERE database = 'hopwatch' AND name = 'hops'",
    );
    expect(ddl.q).toMatch(/TTL toDateTime\(time\) \+ toIntervalDay\(3650\)/);
    expect(Number((await one('SELECT count() AS n FROM hops')).n)).toBe(n);
  });

  test('merge policy: embedded default, configurable, re-applied at start-up', async () => {
    const base = async (t: string): Promise<string | undefined> => {
      const r = await one(
        `SELECT create_table_query AS q FROM system.tables WHERE database = 'hopwatch' AND name = '${t}'`,
      );
      return /merge_selector_base = (\d+)/.exec(String(r.q))?.[1];
    };
    expect(await base('hops')).toBe(String(DEFAULT_EMBEDDED_MERGE_SELECTOR_BASE));
    expect(await base('paths')).toBe(String(DEFAULT_EMBEDDED_MERGE_SELECTOR_BASE));
    await store.close();
    store = await openStore({ dataDir: path.join(dir, 'data'), mergeSelectorBase: 8 });
    expect(await base('hops')).toBe('8');
    expect(await base('paths')).toBe('8');
    // null leaves the table as it is
    await store.close();
    store = await openStore({ dataDir: path.join(dir, 'data'), mergeSelectorBase: null });
    expect(await base('hops')).toBe('8');
    await store.close();
    await expect(
      openStore({ dataDir: path.join(dir, 'data'), mergeSelectorBase: 0 }),
    ).rejects.toThrow(/mergeSelectorBase must be a number from 1 to 1000/);
    store = await openStore({ dataDir: path.join(dir, 'data') });
    expect(await base('hops')).toBe(String(DEFAULT_EMBEDDED_MERGE_SELECTOR_BASE));
  });
});
