/**
 * The `flows` table and its named queries in both dialects: the embedded engine (chDB) and
 * Debian's ClickHouse 18.16 (skipped without a server unless HOPWATCH_REQUIRE_SERVICES=1).
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { FlowEndReason, type FlowRecord } from '@hopwatch/flows';
import { openStore, type Store } from '@hopwatch/store';
import { servicesAvailable, startClickHouse, type ClickHouseHandle } from '@hopwatch/testkit';

const S = 1_767_225_600n * 1_000_000_000n; // 2026-01-01T00:00:00Z

function flow(i: number, over: Partial<FlowRecord> = {}): FlowRecord {
  return {
    ipVersion: 4,
    src: `10.0.0.${i}`,
    dst: '10.1.0.1',
    srcPort: 1000 + i,
    dstPort: 80,
    protocol: 6,
    vlan: i % 2 ? 10 : null,
    vni: null,
    startNs: S + BigInt(i) * 1_000_000_123n,
    endNs: S + BigInt(i) * 1_000_000_123n + 999_999_999n,
    packets: 100 * i,
    bytes: 150_000 * i,
    bytesPackets: 100 * i,
    path: [1, 10 + i, 2],
    pathChanges: i % 2,
    ingressInterface: 3,
    egressInterface: null,
    e2e: { min: 1000, mean: 2000 + i, max: 9000 + i, p50: 1900, p99: 5000 * i, samples: 100 * i },
    e2eSource: 'hop-latency-sum',
    jitter: 10 * i,
    worstHop: 10 + i,
    worstHopLatency: 800.5,
    dropReports: 0,
    reportGaps: i === 3 ? 2 : 0,
    endReason: FlowEndReason.IDLE,
    ...over,
  };
}

async function exercise(store: Store): Promise<void> {
  expect(await store.schemaVersions()).toContain(6);
  const flows = [1, 2, 3, 4].map((i) => flow(i));
  // flow 1 has a second interval (active timeout) with a new path
  flows.push(
    flow(1, {
      startNs: flows[0].endNs + 1n,
      endNs: flows[0].endNs + 10_000_000_000n,
      path: [1, 99, 2],
      e2e: { min: 1000, mean: 3000, max: 50_000, p50: 2000, p99: 40_000, samples: 100 },
      endReason: FlowEndReason.ACTIVE,
    }),
    flow(5, {
      ipVersion: 6,
      src: '2001:db8::5',
      dst: '2001:db8::1',
      e2e: null,
      jitter: null,
      e2eSource: 'none',
    }),
  );
  expect(await store.insertFlows(flows)).toBe(6);
  // a replay of the same capture writes the same intervals again: read once
  expect(await store.insertFlows(flows.slice(0, 2))).toBe(2);
  const top = await store.named('top_flows', { by: 'bytes', limit: 3 });
  expect(top.map((r) => [r.src, Number(r.flow_bytes)])).toEqual([
    ['2001:db8::5', 750_000],
    ['10.0.0.4', 600_000],
    ['10.0.0.3', 450_000],
  ]);
  const lat = await store.named('top_flows', { by: 'latency', limit: 2 });
  expect(lat.map((r) => [r.src, Number(r.e2e_p99_ns), Number(r.intervals)])).toEqual([
    ['10.0.0.1', 40_000, 2],
    ['10.0.0.4', 20_000, 1],
  ]);
  // the latest path, the mean weighted by packets with a latency
  expect(lat[0].latest_path).toEqual([1, 99, 2]);
  expect(Number(lat[0].e2e_mean_ns)).toBeCloseTo((2001 * 100 + 3000 * 100) / 200, 1);
  const slo = await store.named('flow_slo', { threshold: 12_000 });
  expect(slo.map((r) => [r.src, Number(r.intervals_over)])).toEqual([
    ['10.0.0.1', 1],
    ['10.0.0.4', 1],
    ['10.0.0.3', 1],
  ]);
  expect(Number(slo[2].report_gaps_total)).toBe(2);
  const hist = await store.named('flow_history', { src: '10.0.0.1', dst: '10.1.0.1' });
  expect(hist.map((r) => [String(r.start_ns), r.end_reason, r.path])).toEqual([
    [String(flows[0].startNs), 'idle', [1, 11, 2]],
    [String(flows[4].startNs), 'active', [1, 99, 2]],
  ]);
  expect(hist[0]).toMatchObject({ e2e_source: 'hop-latency-sum', worst_hop: 11 });
  const w = await store.named('top_flows', {
    from: String(S + 3_500_000_000n),
    to: String(S + 4_100_000_000n),
  });
  // flow 1's second interval (2 s – 12 s) overlaps the window too
  expect(w.map((r) => r.src).sort()).toEqual(['10.0.0.1', '10.0.0.3', '10.0.0.4']);
  // a window that ends within the second after the data's: chDB 26 answers a coarse
  // `start < toDateTime(S + 2)` on a DateTime64 column with no rows, so the bound is `<=`
  const sameSecond = await store.named('top_flows', {
    from: String(S + 1_000_000_000n),
    to: String(S + 1_500_000_000n),
  });
  expect(sameSecond.map((r) => r.src)).toEqual(['10.0.0.1']);
  await expect(store.named('top_flows', { by: 'colour' })).rejects.toThrow(/by: colour/);
  await expect(store.insertFlows([flow(1, { vlan: 5000 })])).rejects.toThrow(/vlan/);
}

test('embedded: flows stored, named queries answer', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hopwatch-flows-'));
  const store = await openStore({ dataDir: path.join(dir, 'data') });
  try {
    await exercise(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const server = servicesAvailable().clickhouse || process.env.HOPWATCH_REQUIRE_SERVICES === '1';
(server ? test : test.skip)(
  'ClickHouse server (18.16): the same',
  async () => {
    let ch: ClickHouseHandle | null = null;
    let store: Store | null = null;
    try {
      ch = await startClickHouse();
      store = await openStore({ url: ch.url, database: `hopwatch_flows_${process.pid}` });
      await exercise(store);
    } finally {
      await store?.command(`DROP DATABASE IF EXISTS hopwatch_flows_${process.pid}`).catch(() => 0);
      await store?.close();
      await ch?.stop();
    }
  },
  120_000,
);
