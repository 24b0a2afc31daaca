/**
 * Flow intervals in the distributed mode, real services, separate OS processes: demo-fabric
 * through `hopwatch ingest` → Kafka → `hopwatch analyze` → ClickHouse gives the flows (the
 * `top_flows` values) that `hopwatch replay` of the same capture gives, with one analyze
 * member, with two, and after a SIGKILL and a restart; `analyze --ipfix` delivers them to
 * GoFlow2 with the same values; an unreachable collector is counted and holds nothing up.
 *
 * One ingest into one Kafka; each scenario reads it in its own consumer group into its own
 * database. Skipped (with a message) without Kafka / ClickHouse / Redis, unless
 * HOPWATCH_REQUIRE_SERVICES=1; the GoFlow2 part also needs the collectors.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openStore, type Store } from '@hopwatch/store';
import {
  collectorsAvailable,
  freePorts,
  servicesAvailable,
  startClickHouse,
  startGoflow2,
  startKafka,
  startRedis,
  unavailableMessage,
} from '@hopwatch/testkit';
import { REPO_ROOT, runCli, waitFor, writeCodecConfig } from '@hopwatch/pipeline/testing';
import { codecOverridesFor, loadScenario } from '@hopwatch/simulator';
import Redis from 'ioredis';

const avail = servicesAvailable();
const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
const ok = (avail.kafka && avail.clickhouse && avail.redis) || required;
if (!ok)
  console.warn(
    `[distributed-flows] ${[!avail.kafka && unavailableMessage('kafka'), !avail.clickhouse && unavailableMessage('clickhouse'), !avail.redis && unavailableMessage('redis')].filter(Boolean).join('; ')}: skipped`,
  );
const describeIf = ok ? describe : describe.skip;
const goflow = collectorsAvailable().goflow2 || required;

jest.setTimeout(240_000);

const CAPTURE = path.join(REPO_ROOT, 'captures', 'demo-fabric.pcap');
/** The capture lasts 3 ms: a 1 s idle timeout closes every flow once, soon after the end. */
const FLOW_ARGS = ['--flow-idle-timeout', '1', '--flow-active-timeout', '10'];

type Row = Record<string, unknown>;
const key = (r: Row): string => `${r.src}:${r.src_port}>${r.dst}:${r.dst_port}/${r.protocol}`;

describeIf('flows in the distributed mode (ingest → Kafka → analyze → ClickHouse)', () => {
  let ch: Awaited<ReturnType<typeof startClickHouse>>;
  let rd: Awaited<ReturnType<typeof startRedis>>;
  let k: Awaited<ReturnType<typeof startKafka>>;
  let tmp: string;
  const stores: Store[] = [];
  /** top_flows of the embedded replay: the reference */
  let ref: Row[];
  let cfg: string;
  /** Records of one ingest of the capture. */
  let records: number;
  const ingest = async (extra: string[] = []): Promise<void> => {
    const ing = runCli([
      'ingest',
      ...extra,
      '--brokers',
      k.brokers.join(','),
      '--config',
      cfg,
      '--status-every',
      '0',
      CAPTURE,
    ]);
    expect(await ing.exited).toBe(0);
    records = JSON.parse(ing.stdout().trim().split('\n').pop()!).records;
  };

  const store = async (database: string): Promise<Store> => {
    const s = await openStore({ url: ch.url, database });
    stores.push(s);
    return s;
  };
  const topFlows = async (s: Store): Promise<Row[]> =>
    (await s.named('top_flows', { limit: 100000 })).sort((a, b) => (key(a) < key(b) ? -1 : 1));
  /** Resolves once the member has opened the store (migrations) and joined its group. */
  const joined = (p: ReturnType<typeof runCli>): Promise<boolean> =>
    waitFor(() => p.stderr().includes('joined consumer group'), 60_000, 'group join');
  /** Checkpoints are keyed by topic and partition, not group: each scenario starts clean. */
  const flushRedis = async (): Promise<void> => {
    const r = new Redis(rd.url);
    await r.flushall();
    r.disconnect();
  };
  const analyze = (
    group: string,
    db: string,
    extra: string[] = [],
    redis = true,
  ): ReturnType<typeof runCli> =>
    runCli([
      'analyze',
      '--brokers',
      k.brokers.join(','),
      '--group',
      group,
      '--store-url',
      ch.url,
      '--database',
      db,
      ...(redis ? ['--redis', rd.url] : []),
      '--status-every',
      '0',
      '--idle-flush-ms',
      '300',
      '--no-publish',
      ...FLOW_ARGS,
      ...extra,
    ]);
  /** Waits until the database holds every packet of the reference, then a little longer. */
  const flowsDone = async (
    s: Store,
    procs: ReturnType<typeof runCli>[],
    copies = 1,
  ): Promise<void> => {
    const want = copies * ref.reduce((n, r) => n + Number(r.flow_packets), 0);
    await waitFor(
      async () => {
        const n = await s.query('SELECT sum(packets) AS p FROM flows FINAL').catch(() => []);
        return Number(n[0]?.p ?? 0) >= want;
      },
      90_000,
      `flow rows (${want} packets)`,
    ).catch((e) => {
      for (const p of procs) console.log(p.stderr().split('\n').slice(-40).join('\n'));
      throw e;
    });
    await new Promise((r) => setTimeout(r, 1000)); // nothing more arrives
  };

  beforeAll(async () => {
    execFileSync('npx', ['tsc', '-b', 'packages/cli'], { cwd: REPO_ROOT, stdio: 'inherit' });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-dflows-'));
    [ch, rd, k] = await Promise.all([startClickHouse(), startRedis(), startKafka({ brokers: 1 })]);
    const o = codecOverridesFor(loadScenario(path.join(REPO_ROOT, 'captures', 'demo-fabric.yaml')));
    cfg = writeCodecConfig(path.join(tmp, 'codec.yaml'), o);
    // the reference: the embedded pipeline, into the same server
    const refCfg = path.join(tmp, 'replay.yaml');
    const codec = JSON.parse(fs.readFileSync(cfg, 'utf8')) as object; // JSON is YAML
    fs.writeFileSync(refCfg, JSON.stringify({ ...codec, store: { database: 'flows_ref' } }));
    const rep = runCli([
      'replay',
      '--store-url',
      ch.url,
      '--config',
      refCfg,
      ...FLOW_ARGS,
      CAPTURE,
    ]);
    if ((await rep.exited) !== 0) console.log(rep.stderr());
    expect(await rep.exited).toBe(0);
    ref = await topFlows(await store('flows_ref'));
    expect(ref.length).toBeGreaterThan(100);
    expect(ref.some((r) => Number(r.flow_bytes) > 0)).toBe(true); // ip_length crossed the wire
    await ingest();
  }, 240_000);

  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    await Promise.all([ch?.stop(), rd?.stop(), k?.stop()]);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  (goflow ? test : test.skip)(
    'one member: top_flows = replay; --ipfix delivers the same values to GoFlow2; an unreachable collector is counted',
    async () => {
      await flushRedis();
      const gf = await startGoflow2();
      // nothing listens there: UDP sends go nowhere, TCP connects are refused
      const [dead] = await freePorts(1);
      const a = analyze('g-one', 'flows_one', [
        '--ipfix',
        `127.0.0.1:${gf.port}`,
        '--ipfix',
        `tcp://127.0.0.1:${dead}`,
      ]);
      try {
        await joined(a);
        const s = await store('flows_one');
        await flowsDone(s, [a]);
        const got = await topFlows(s);
        expect(got).toEqual(ref);
        // each interval inserted once
        const [n] = await s.query('SELECT count() AS n FROM flows');
        expect(Number(n.n)).toBe(ref.length);
        a.proc.kill('SIGTERM');
        expect(await a.exited).toBe(0);
        const stats = JSON.parse(a.stdout().trim().split('\n').pop()!);
        expect(stats.flows).toMatchObject({ rows: ref.length, writeFailures: 0, stateGaps: 0 });
        const [udp, tcp] = stats.ipfix;
        expect(udp).toMatchObject({ records: ref.length, droppedRecords: 0 });
        // the dead TCP collector: counted, and it held nothing up (the rows above are complete)
        expect(tcp.records).toBe(0);
        expect(tcp.sendErrors + tcp.droppedRecords).toBeGreaterThan(0);
        expect(a.stderr()).toMatch(/IPFIX tcp:\/\/127\.0\.0\.1:\d+: 0 records/);
        await new Promise((r) => setTimeout(r, 500));
        const flows = await gf.stop();
        const want = new Map(ref.map((r) => [key(r), r]));
        expect(flows).toHaveLength(ref.length);
        for (const g of flows) {
          const f = want.get(
            key({
              src: g.src_addr,
              src_port: g.src_port,
              dst: g.dst_addr,
              dst_port: g.dst_port,
              protocol: g.proto === 'UDP' ? 17 : 6,
            }),
          )!;
          expect(f).toBeDefined();
          expect(String(g.packets)).toBe(String(f.flow_packets));
          expect(String(g.bytes)).toBe(String(f.flow_bytes));
          expect(String(g.time_flow_start_ns)).toBe(String(f.first_ns));
          expect(String(g.time_flow_end_ns)).toBe(String(f.last_ns));
        }
      } finally {
        if (a.proc.exitCode === null) a.proc.kill('SIGKILL');
      }
    },
  );

  test('two members: each computes the flows of its partitions; together top_flows = replay', async () => {
    await flushRedis();
    const a = analyze('g-two', 'flows_two');
    const b = analyze('g-two', 'flows_two');
    try {
      await Promise.all([joined(a), joined(b)]);
      const s = await store('flows_two');
      await flowsDone(s, [a, b]);
      expect(await topFlows(s)).toEqual(ref);
      const [n] = await s.query('SELECT count() AS n FROM flows');
      expect(Number(n.n)).toBe(ref.length);
      for (const p of [a, b]) p.proc.kill('SIGTERM');
      for (const p of [a, b]) expect(await p.exited).toBe(0);
      const per = [a, b].map((p) => JSON.parse(p.stdout().trim().split('\n').pop()!).flows);
      console.log(`[distributed-flows] rows per member: ${per.map((x) => x.rows).join(' + ')}`);
      // every interval inserted by exactly one member; how the partitions were spread depends
      // on whether the second member joined before the first had read everything (the data is
      // in Kafka already): usually both have some, but not always
      expect(per[0].rows + per[1].rows).toBe(ref.length);
    } finally {
      for (const p of [a, b]) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
    }
  });

  test('a bad flow setting is an error before anything starts, as in replay', async () => {
    const bad = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(bad, 'flows:\n  idleTimout: 5\n');
    const a = analyze('g-bad', 'flows_bad', ['--config', bad]);
    expect(await a.exited).toBe(2);
    expect(a.stderr()).toMatch(/unknown setting 'flows.idleTimout'/);
    const c = analyze('g-bad', 'flows_bad', ['--no-flows', '--ipfix', '127.0.0.1:4739']);
    expect(await c.exited).toBe(2);
    expect(c.stderr()).toMatch(/--ipfix needs flows/);
  });
  // last: it publishes the capture a second time
  test('SIGKILL with flows open, restart: the checkpointed tables continue where they were; nothing twice', async () => {
    // a long idle timeout keeps every flow open until well after the kill
    const args = ['--checkpoint-every', '0.2', '--flow-idle-timeout', '8'];
    await flushRedis();
    const a = analyze('g-kill', 'flows_kill', args);
    await joined(a);
    const s = await store('flows_kill');
    await waitFor(
      async () => Number((await s.query('SELECT count() AS n FROM paths'))[0].n) >= records,
      90_000,
      'all records handled',
    ).catch((e) => {
      console.log(a.stderr().split('\n').slice(-40).join('\n'));
      throw e;
    });
    await new Promise((r) => setTimeout(r, 1500)); // checkpoints after the last batch
    a.proc.kill('SIGKILL');
    await a.exited;
    expect(Number((await s.query('SELECT count() AS n FROM flows'))[0].n)).toBe(0);
    // A partition's state is loaded with its first batch after the restart: the capture again
    // (the same flows, so the same partitions). Reference: a group that reads both copies
    // without interruption.
    const b = analyze('g-kill', 'flows_kill', args);
    await joined(b);
    // other batches, so other message bytes: the same bytes again would be taken for a
    // producer's duplicate and skipped (partitions.ts)
    await ingest(['--batch-records', '500']);
    // without Redis: the killed group's checkpoints (keyed by partition) are not its own
    const c = analyze('g-kill-ref', 'flows_kill_ref', args, false);
    try {
      await joined(c);
      const ref2 = await store('flows_kill_ref');
      await Promise.all([flowsDone(s, [b], 2), flowsDone(ref2, [c], 2)]);
      const want = await topFlows(ref2);
      expect(want).toHaveLength(ref.length);
      expect(want.map((r) => Number(r.flow_packets))).toEqual(
        ref.map((r) => 2 * Number(r.flow_packets)),
      );
      expect(await topFlows(s)).toEqual(want);
      const [n] = await s.query('SELECT count() AS n FROM flows');
      expect(Number(n.n)).toBe(ref.length); // one interval per flow, inserted once
      for (const p of [b, c]) p.proc.kill('SIGTERM');
      for (const p of [b, c]) expect(await p.exited).toBe(0);
      const stats = JSON.parse(b.stdout().trim().split('\n').pop()!);
      expect(stats.flows.restored).toBeGreaterThan(0);
      expect(stats.flows.stateGaps).toBe(0);
    } finally {
      for (const p of [a, b, c]) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
    }
  });
});
