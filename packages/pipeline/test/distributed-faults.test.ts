/**
 * Fault injection on the distributed pipeline (real services, separate OS processes). Each
 * scenario streams the demo capture 40 times (83,240 records, 259,120 hop rows; frames are
 * numbered across the copies, so every row is distinct) through `hopwatch ingest` (rate-limited
 * so the fault lands mid-stream) → Kafka → `hopwatch analyze` → ClickHouse, injects one fault,
 * and then checks that the stored rows are exactly the capture's: counts, distinct keys and
 * checksums of `hops` and `paths` — zero lost, zero duplicated.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeConfig } from '@hopwatch/codec';
import { codecOverridesFor, loadScenario } from '@hopwatch/simulator';
import { openStore, type Store } from '@hopwatch/store';
import {
  servicesAvailable,
  startClickHouse,
  startKafka,
  startRedis,
  unavailableMessage,
} from '@hopwatch/testkit';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import {
  decodeCaptures,
  metricValue,
  REPO_ROOT,
  runCli,
  waitFor,
  writeCodecConfig,
  type CliProcess,
} from '@hopwatch/pipeline/testing';

const avail = servicesAvailable();
const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
const ok = (avail.kafka && avail.clickhouse && avail.redis) || required;
if (!ok)
  console.warn(
    `[distributed-faults] ${[!avail.kafka && unavailableMessage('kafka'), !avail.clickhouse && unavailableMessage('clickhouse'), !avail.redis && unavailableMessage('redis')].filter(Boolean).join('; ')}: skipped`,
  );
const describeIf = ok ? describe : describe.skip;

jest.setTimeout(300_000);

// every fault with each Kafka client; HOPWATCH_TEST_KAFKA_CLIENTS=rdkafka narrows a run
const CLIENTS = (process.env.HOPWATCH_TEST_KAFKA_CLIENTS ?? 'kafkajs,rdkafka').split(',');

const COPIES = 40;
const RATE = 8000; // packets/s: ~10 s of stream
const FILES = Array.from({ length: COPIES }, () =>
  path.join(REPO_ROOT, 'captures/demo-fabric.pcap'),
);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Fingerprint {
  paths: number;
  pathFrames: number;
  pathFrameSum: number;
  hops: number;
  hopKeys: number;
  latencySum: number;
}

describeIf('distributed pipeline under faults: zero records lost, zero rows duplicated', () => {
  let ch: Awaited<ReturnType<typeof startClickHouse>>;
  let rd: Awaited<ReturnType<typeof startRedis>>;
  let tmp: string;
  let cfg: string;
  let want: Fingerprint;
  const stores: Store[] = [];

  beforeAll(async () => {
    execFileSync('npx', ['tsc', '-b', 'packages/cli'], { cwd: REPO_ROOT, stdio: 'inherit' });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-faults-'));
    const o = codecOverridesFor(loadScenario(path.join(REPO_ROOT, 'captures/demo-fabric.yaml')));
    cfg = writeCodecConfig(path.join(tmp, 'codec.yaml'), o);
    const f: Fingerprint = {
      paths: 0,
      pathFrames: 0,
      pathFrameSum: 0,
      hops: 0,
      hopKeys: 0,
      latencySum: 0,
    };
    decodeCaptures(FILES, makeConfig(o.profile, o.overrides), (b) => {
      for (let r = 0; r < b.count; r++) {
        f.paths++;
        f.pathFrameSum += b.frame[r];
        const s = b.hopStart[r];
        for (let i = 0; i < b.hopCount[r]; i++) {
          f.hops++;
          f.latencySum += b.hopLatency[s + i];
        }
      }
    });
    f.pathFrames = f.paths;
    f.hopKeys = f.hops;
    want = f;
    [ch, rd] = await Promise.all([startClickHouse(), startRedis()]);
  }, 240_000);
  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    await Promise.all([ch?.stop(), rd?.stop()]);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  async function fingerprint(db: string): Promise<Fingerprint> {
    const s = await openStore({ url: ch.url, database: db });
    try {
      const p = (
        await s.query('SELECT count() AS n, uniqExact(frame) AS u, sum(frame) AS s FROM paths')
      )[0];
      const h = (
        await s.query(
          'SELECT count() AS n, uniqExact(frame, hop_index) AS u, sum(hop_latency) AS s FROM hops',
        )
      )[0];
      return {
        paths: Number(p.n),
        pathFrames: Number(p.u),
        pathFrameSum: Number(p.s),
        hops: Number(h.n),
        hopKeys: Number(h.u),
        latencySum: Number(h.s),
      };
    } finally {
      await s.close();
    }
  }

  interface Ctx {
    k: Awaited<ReturnType<typeof startKafka>>;
    db: string;
    analyzers: CliProcess[];
    startAnalyze: () => CliProcess;
    ingest: CliProcess;
  }

  async function scenario(
    name: string,
    opts: { brokers: 1 | 3; replication?: number; rate?: number; client: string },
    fault: (c: Ctx) => Promise<void>,
  ): Promise<Ctx> {
    const r = new Redis(rd.url);
    await r.flushall();
    r.disconnect();
    name = `${name}_${opts.client}`;
    const db = `faults_${name}`;
    const k = await startKafka({ brokers: opts.brokers });
    const rep = String(opts.replication ?? 1);
    const analyzers: CliProcess[] = [];
    const startAnalyze = (): CliProcess => {
      const p = runCli([
        'analyze',
        '--brokers',
        k.brokers.join(','),
        '--replication',
        rep,
        '--store-url',
        ch.url,
        '--database',
        db,
        '--redis',
        rd.url,
        '--status-every',
        '0',
        '--checkpoint-every',
        '1',
        '--metrics-port',
        '0',
        '--kafka-client',
        opts.client,
      ]);
      analyzers.push(p);
      return p;
    };
    const c: Ctx = { k, db, analyzers, startAnalyze, ingest: undefined as unknown as CliProcess };
    const t0 = Date.now();
    try {
      const first = startAnalyze();
      await waitFor(
        () => first.stderr().includes('joined consumer group'),
        120_000,
        'group join',
      ).catch((e: Error) => {
        // what analyze said meanwhile (its warnings name the cause)
        const said = first
          .stderr()
          .split('\n')
          .filter((l) => !l.includes('"level":"debug"'))
          .slice(-30)
          .join('\n');
        throw new Error(`${e.message}\nanalyze stderr:\n${said}`);
      });
      c.ingest = runCli([
        'ingest',
        '--brokers',
        k.brokers.join(','),
        '--replication',
        rep,
        '--config',
        cfg,
        '--rate',
        String(opts.rate ?? RATE),
        '--status-every',
        '0',
        '--kafka-client',
        opts.client,
        ...FILES,
      ]);
      await waitFor(() => c.ingest.proc.pid !== undefined, 1000, 'spawn');
      // faults hit a running stream: on a loaded machine ingest can take seconds to create its
      // topics, and a broker stopped before that made it exit instead
      await waitFor(
        () => c.ingest.stderr().includes('"msg":"topics ready"') || c.ingest.proc.exitCode !== null,
        60_000,
        'ingest topics',
      );
      await fault(c);
      const code = await Promise.race([c.ingest.exited, sleep(150_000).then(() => 'stuck')]);
      if (code !== 0) {
        const tail = (t: string): string =>
          t
            .split('\n')
            .filter((l) => !l.includes('"level":"debug"'))
            .slice(-25)
            .join('\n');
        console.log(
          `[distributed-faults] ${name}: ingest ${code}\n--- ingest\n${tail(c.ingest.stderr())}\n--- analyze\n${analyzers.map((a) => tail(a.stderr())).join('\n---\n')}`,
        );
      }
      const sum = JSON.parse(c.ingest.stdout().trim().split('\n').pop() ?? '{}');
      expect({ code, shed: sum.kafka?.shed }).toEqual({ code: 0, shed: 0 });
      expect(sum.records).toBe(want.paths);
      let got: Fingerprint | undefined;
      await waitFor(
        async () => {
          got = await fingerprint(db);
          return got.paths >= want.paths && got.hops >= want.hops;
        },
        120_000,
        'all rows',
      ).catch(() => undefined);
      await sleep(2000); // anything late (a duplicate) would show up now
      got = await fingerprint(db);
      console.log(`[distributed-faults] ${name}: ${JSON.stringify(got)} in ${Date.now() - t0} ms`);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        const st = await openStore({ url: ch.url, database: db });
        const dups = await st.query(
          'SELECT frame, count() AS n, groupArray(kafka_partition) AS p, groupArray(kafka_offset) AS o FROM paths GROUP BY frame HAVING n > 1 ORDER BY frame LIMIT 5',
        );
        const per = await st.query(
          'SELECT kafka_partition AS p, count() AS n, uniqExact(frame) AS u, min(kafka_offset) AS lo, max(kafka_offset) AS hi, uniqExact(kafka_offset) AS msgs FROM paths GROUP BY p ORDER BY p',
        );
        await st.close();
        const tail = (t: string): string =>
          t
            .split('\n')
            .filter((l) => !l.includes('"level":"debug"') && !l.includes('"level":"info"'))
            .slice(-30)
            .join('\n');
        console.log(
          `dups ${JSON.stringify(dups)}\nper partition ${JSON.stringify(per)}\n--- ingest\n${tail(c.ingest.stderr())}\n${c.ingest.stdout().slice(0, 400)}\n--- analyze\n${analyzers.map((a) => tail(a.stderr())).join('\n---\n')}`,
        );
      }
      expect(got).toEqual(want);
      const live = analyzers.filter((a) => a.proc.exitCode === null && a.proc.signalCode === null);
      for (const a of live) a.proc.kill('SIGTERM');
      for (const a of live) {
        const code = await Promise.race([a.exited, sleep(60_000).then(() => 'still running')]);
        if (code !== 0)
          console.log(
            `[distributed-faults] ${name}: analyze after SIGTERM: ${code}\n${a.stderr().split('\n').slice(-40).join('\n')}`,
          );
        expect(code).toBe(0);
      }
      return c;
    } finally {
      // HOPWATCH_TEST_LOG_DIR=dir keeps every child's full stderr for a post-mortem
      const dir = process.env.HOPWATCH_TEST_LOG_DIR;
      if (dir) {
        fs.mkdirSync(dir, { recursive: true });
        analyzers.forEach((a, i) =>
          fs.writeFileSync(`${dir}/${name}-analyze-${i}.log`, a.stderr()),
        );
        if (c.ingest) fs.writeFileSync(`${dir}/${name}-ingest.log`, c.ingest.stderr());
      }
      for (const a of analyzers) if (a.proc.exitCode === null) a.proc.kill('SIGKILL');
      if (c.ingest && c.ingest.proc.exitCode === null) c.ingest.proc.kill('SIGKILL');
      await k.stop();
    }
  }

  /** Index of the broker coordinating `groupId`: the leader of its __consumer_offsets
   * partition (|Java String.hashCode of the id| modulo the partitions, Kafka's Utils.abs);
   * services.sh gives node i the id i + 1. */
  async function coordinatorIndex(brokers: string[], groupId: string): Promise<number> {
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const md = await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] });
      const parts = md.topics[0].partitions;
      let h = 0;
      for (let i = 0; i < groupId.length; i++) h = (Math.imul(h, 31) + groupId.charCodeAt(i)) | 0;
      const p = parts.find(
        (x) => x.partitionId === (h === -0x80000000 ? 0 : Math.abs(h)) % parts.length,
      )!;
      return p.leader - 1;
    } finally {
      await admin.disconnect();
    }
  }

  for (const client of CLIENTS) {
    test(`[${client}] Kafka broker restarted mid-stream`, async () => {
      await scenario('broker_restart', { brokers: 1, client }, async ({ k }) => {
        await sleep(3000);
        await k.stopBroker(0);
        await sleep(4000);
        await k.startBroker(0);
      });
    });

    test(`[${client}] analytics killed with SIGKILL and restarted`, async () => {
      const c = await scenario(
        'sigkill',
        { brokers: 1, client },
        async ({ analyzers, startAnalyze }) => {
          await sleep(4000);
          // killed only once it has checkpointed (a loaded machine can take longer than 4 s)
          const r = new Redis(rd.url);
          try {
            await waitFor(
              async () => (await r.keys('hopwatch:ckpt:*')).length > 0,
              60_000,
              'a checkpoint',
            );
          } finally {
            r.disconnect();
          }
          analyzers[0].proc.kill('SIGKILL');
          await analyzers[0].exited;
          await sleep(1000);
          startAnalyze();
        },
      );
      // the restarted worker resumed from the checkpoints instead of re-learning
      expect(c.analyzers[1].stderr()).toMatch(/detector state restored from checkpoint/);
      expect(c.analyzers[1].stderr()).toMatch(/"msg":"analyze running"/);
    });

    test(`[${client}] ClickHouse stopped for 30 s, then started`, async () => {
      // ~33 s of stream (rate 2500), so rows still arrive after the server is down: its stop
      // takes up to ~15 s here, and a 10 s stream would be over before the outage begins
      const c = await scenario(
        'clickhouse_outage',
        { brokers: 1, rate: 2500, client },
        async () => {
          await sleep(3000);
          await ch.stop();
          await sleep(30_000);
          await ch.start();
        },
      );
      const st = JSON.parse(c.analyzers[0].stdout().trim().split('\n').pop()!);
      console.log(
        `[distributed-faults] clickhouse_outage (${client}): analyze stats ${JSON.stringify(st)}`,
      );
      // the outage was noticed (a failed insert, or anomaly inserts retried) and nothing was lost
      expect(st.insertFailures + st.anomalyStoreFailures).toBeGreaterThan(0);
    });

    test(`[${client}] one of three brokers down (the group coordinator), replication 3`, async () => {
      const c = await scenario(
        'one_broker_down',
        { brokers: 3, replication: 3, client },
        async ({ k }) => {
          await sleep(3000);
          // the hardest broker to lose: the group's coordinator moves along with a third of the
          // partition leaders
          const i = await coordinatorIndex(k.brokers, 'hopwatch-analytics');
          console.log(
            `[distributed-faults] stopping broker ${i} (${k.brokers[i]}), the coordinator`,
          );
          await k.stopBroker(i);
          await sleep(8000); // the rest of the stream runs with 2 of 3
          await k.startBroker(i);
        },
      );
      const st = JSON.parse(c.analyzers[0].stdout().trim().split('\n').pop()!);
      console.log(
        `[distributed-faults] one_broker_down (${client}): analyze stats ${JSON.stringify(st)}`,
      );
    });

    test(`[${client}] Redis restarted`, async () => {
      const c = await scenario('redis_restart', { brokers: 1, client }, async ({ analyzers }) => {
        await sleep(3000);
        await rd.stop();
        await sleep(3000);
        await rd.start();
        // checkpoints are written again once Redis is back
        const url = await waitFor(
          () => /"url":"(http:[^"]+)"/.exec(analyzers[0].stderr())?.[1],
          10_000,
          'metrics url',
        );
        const before = metricValue(
          await (await fetch(url)).text(),
          'hopwatch_analyze_checkpoints_total',
        );
        await waitFor(
          async () =>
            metricValue(await (await fetch(url)).text(), 'hopwatch_analyze_checkpoints_total') >
            before,
          60_000, // ioredis reconnects with backoff; a loaded machine took more than 20 s once
          'checkpoints after the restart',
        );
      });
      expect(c.analyzers[0].stderr()).toMatch(/redis .* failed; continuing without it/);
    });
  }
});
