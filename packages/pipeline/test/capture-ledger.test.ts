/**
 * Idempotent replays (the capture ledger) through the real Pipeline and PcapReplaySource into
 * real chDB and, where the testkit can start one (Debian's 18.16 here), a real ClickHouse
 * server: a second replay stores nothing new, a replay after lost writes (an earlier write
 * gone while a later one landed, per table) stores exactly the missing rows, --force appends,
 * and different captures (or the same one twice, or a copy) are told apart by content.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeConfig } from '@hopwatch/codec';
import { loadScenario, simulate, codecOverridesFor } from '@hopwatch/simulator';
import { openStore, type Store } from '@hopwatch/store';
import {
  servicesAvailable,
  startClickHouse,
  unavailableMessage,
  type ClickHouseHandle,
} from '@hopwatch/testkit';
import {
  captureIdentity,
  PcapReplaySource,
  Pipeline,
  type PipelineStats,
} from '@hopwatch/pipeline';

// across midnight UTC: writes land per day partition, so a write can be half stored
const scenario = (seed: number): ReturnType<typeof loadScenario> =>
  loadScenario(`
name: ledger-test
seed: ${seed}
epoch: '2026-03-01T23:59:59.990Z'
durationMs: 40
topology: { leaves: 4, spines: 2, hostsPerLeaf: 4 }
traffic:
  elephants: { count: 8, rateGbps: 1, payloadBytes: 1000 }
  mice: { arrivalsPerMs: 50, minPackets: 2, maxPackets: 10, rateGbps: 1, payloadBytes: [64, 512] }
int: { version: '2.1', mode: 'MD', encapsulation: 'udp-dscp', instructionBitmap: 0xFF00, hopLimit: 8 }
output: { kind: 'packets', snaplen: 256 }
`);

let dir: string;
let capA: string;
let capB: string;
let codec: ReturnType<typeof makeConfig>;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-replay-ledger-'));
  capA = path.join(dir, 'a.pcap');
  capB = path.join(dir, 'b.pcap');
  simulate(scenario(1), { out: capA, limit: 30_000 });
  simulate(scenario(2), { out: capB, limit: 12_000 });
  const { profile, overrides } = codecOverridesFor(scenario(1));
  codec = makeConfig(profile, overrides);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function replay(store: Store, files: string[], force = false): Promise<PipelineStats> {
  const p = new Pipeline({ codec, store, force, batchRecords: 1024 });
  await new PcapReplaySource(files).run(p, new AbortController().signal);
  await p.close();
  const st = p.stats();
  expect(st.storeErrors).toBe(0);
  return st;
}

/** Row counts and checksums of both tables (capture_write left out: it differs per run). */
async function contents(store: Store): Promise<string> {
  const h = await store.query(
    'SELECT count() AS n, sum(cityHash64(capture_id, frame, hop_index, switch_id, time_ns, flow_hash, egress_port)) AS s FROM hops',
  );
  const p = await store.query(
    'SELECT count() AS n, sum(cityHash64(capture_id, frame, time_ns, flow_hash, hop_count)) AS s FROM paths',
  );
  return `hops ${h[0].n} ${h[0].s}, paths ${p[0].n} ${p[0].s}`;
}

/**
 * Deletes the rows of one write of a table (as if that insert had failed), or of one day of
 * it (as if one of its partitions had not landed), and waits for the mutation.
 */
async function loseWrite(store: Store, table: string, write: number, day = ''): Promise<number> {
  const before = Number((await store.query(`SELECT count() AS n FROM ${table}`))[0].n);
  await store.command(
    `ALTER TABLE ${table} DELETE WHERE capture_write = ${write}${day ? ` AND toDate(time) = '${day}'` : ''}`,
  );
  for (let i = 0; i < 600; i++) {
    const m = await store.query(
      `SELECT count() AS n FROM system.mutations WHERE database = currentDatabase() AND table = '${table}' AND is_done = 0`,
    );
    if (Number(m[0].n) === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const after = Number((await store.query(`SELECT count() AS n FROM ${table}`))[0].n);
  expect(after).toBeLessThan(before);
  return before - after;
}

/** The capture's write numbers, in order, of the rows of `table` (both days). */
async function writes(store: Store, table: string): Promise<number[]> {
  const r = await store.query(
    `SELECT DISTINCT capture_write AS w FROM ${table} WHERE capture_id != 0 ORDER BY w`,
  );
  return r.map((x) => Number(x.w));
}

/** The scenario run against one store (embedded or server). */
async function exercise(open: (name: string) => Promise<Store>): Promise<void> {
  // reference: one full replay of each capture
  const ref = await open('ref');
  const once = await replay(ref, [capA]);
  expect(once.alreadyStored).toBe(0);
  const refA = await contents(ref);
  const days = await ref.query('SELECT DISTINCT toDate(time) AS d FROM paths');
  expect(days.length).toBe(2); // the capture crosses midnight
  await replay(ref, [capB]);
  const refAB = await contents(ref);
  await ref.close();

  const s = await open('work');
  await replay(s, [capA]);
  expect(await contents(s)).toBe(refA);
  // the same capture again: nothing new stored, and said so
  const again = await replay(s, [capA]);
  expect(again.alreadyStored).toBe(once.records);
  expect(await contents(s)).toBe(refA);

  // a write across midnight that landed in one day partition and not the other
  const [split] = await s.query(
    'SELECT capture_write AS w, toString(min(toDate(time))) AS d1, toString(max(toDate(time))) AS d2 FROM hops WHERE capture_write IN (SELECT capture_write FROM paths GROUP BY capture_write HAVING uniqExact(toDate(time)) = 2) GROUP BY w HAVING uniqExact(toDate(time)) = 2',
  );
  expect(split).toBeDefined();
  await loseWrite(s, 'hops', Number(split.w), String(split.d1));
  const lostLate = await loseWrite(s, 'paths', Number(split.w), String(split.d2));
  const resumed2 = await replay(s, [capA]);
  expect(resumed2.alreadyStored).toBe(once.records - lostLate);
  expect(await contents(s)).toBe(refA);

  // lost writes: an earlier write of each table gone while later ones landed (hops and paths
  // lose different writes, as when one of a write's two inserts fails)
  const wh = await writes(s, 'hops');
  const wp = await writes(s, 'paths');
  expect(wh.length).toBeGreaterThan(3);
  await loseWrite(s, 'hops', wh[1]);
  const lostPaths = await loseWrite(s, 'paths', wp[2]);
  await loseWrite(s, 'hops', wh[wh.length - 1]);
  expect(await contents(s)).not.toBe(refA);
  const resumed = await replay(s, [capA]);
  expect(resumed.alreadyStored).toBe(once.records - lostPaths);
  expect(await contents(s)).toBe(refA);

  // a copy under another name is the same capture; a different capture is stored
  const copy = path.join(dir, 'copy-of-a.pcap');
  fs.copyFileSync(capA, copy);
  expect(captureIdentity(copy)).toBe(captureIdentity(capA));
  expect(captureIdentity(capB)).not.toBe(captureIdentity(capA));
  const both = await replay(s, [copy, capB, capB]); // capB twice in one run: stored once
  const recordsB = (both.records - once.records) / 2;
  expect(both.alreadyStored).toBe(once.records + recordsB);
  expect(await contents(s)).toBe(refAB);

  // --force appends: capA's rows twice
  const forced = await replay(s, [capA], true);
  expect(forced.alreadyStored).toBe(0);
  const twice = await s.query(
    `SELECT count() AS n FROM paths WHERE capture_id = ${captureIdentity(capA)}`,
  );
  expect(Number(twice[0].n)).toBe(2 * once.records);
  await s.close();
}

test('embedded store (chDB): replays are idempotent, resume what is missing, --force appends', async () => {
  await exercise((name) => openStore({ dataDir: path.join(dir, `data-${name}`), batchRows: 8000 }));
}, 300_000);

describe('server store', () => {
  let server: ClickHouseHandle | null = null;
  const url = process.env.HOPWATCH_CLICKHOUSE_URL ?? '';
  const dbs: string[] = [];
  afterAll(async () => {
    for (const db of dbs) {
      const s = await openStore({ url: url || server!.url, database: db }).catch(() => null);
      await s?.command(`DROP DATABASE IF EXISTS ${db}`);
      await s?.close();
    }
    await server?.stop();
  }, 60_000);

  test('the same on a ClickHouse server (--store-url)', async () => {
    const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
    if (!url && !servicesAvailable().clickhouse && !required) {
      console.warn(`no ClickHouse server (${unavailableMessage('clickhouse')}): skipped`);
      return;
    }
    if (!url) server = await startClickHouse();
    const at = url || server!.url;
    await exercise(async (name) => {
      const db = `hopwatch_ledger_${process.pid}_${name}`;
      dbs.push(db);
      const s = await openStore({ url: at, database: db, batchRows: 8000 });
      if (name === 'ref') console.log(`server ${s.capabilities.version}`);
      return s;
    });
  }, 300_000);
});
