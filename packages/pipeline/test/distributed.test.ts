/**
 * End to end, real services, separate OS processes: captures replayed through
 * `hopwatch ingest` → Kafka → `hopwatch analyze` → ClickHouse (18.16 here), Redis.
 *
 * Skipped (with a message) when Kafka / ClickHouse / Redis are not installed, unless
 * HOPWATCH_REQUIRE_SERVICES=1.
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
import {
  anomalyIds,
  anomalyTopicReader,
  embeddedAnomalies,
  expectedHopLatencies,
  metricValue,
  REPO_ROOT,
  runCli,
  waitFor,
  writeCodecConfig,
} from '@hopwatch/pipeline/testing';

const avail = servicesAvailable();
const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
const ok = (avail.kafka && avail.clickhouse && avail.redis) || required;
if (!ok)
  console.warn(
    `[distributed] ${[!avail.kafka && unavailableMessage('kafka'), !avail.clickhouse && unavailableMessage('clickhouse'), !avail.redis && unavailableMessage('redis')].filter(Boolean).join('; ')}: skipped`,
  );
const describeIf = ok ? describe : describe.skip;

jest.setTimeout(240_000);

// the end-to-end cases run with each Kafka client; HOPWATCH_TEST_KAFKA_CLIENTS=rdkafka narrows
const CLIENTS = (process.env.HOPWATCH_TEST_KAFKA_CLIENTS ?? 'kafkajs,rdkafka').split(',');

const cap = (name: string): string => path.join(REPO_ROOT, 'captures', `${name}.pcap`);
const codecOf = (name: string) => {
  const o = codecOverridesFor(loadScenario(path.join(REPO_ROOT, 'captures', `${name}.yaml`)));
  return { o, config: makeConfig(o.profile, o.overrides) };
};

describeIf('distributed pipeline (ingest → Kafka → analyze → ClickHouse)', () => {
  let ch: Awaited<ReturnType<typeof startClickHouse>>;
  let rd: Awaited<ReturnType<typeof startRedis>>;
  let tmp: string;
  const stores: Store[] = [];

  beforeAll(async () => {
    execFileSync('npx', ['tsc', '-b', 'packages/cli'], { cwd: REPO_ROOT, stdio: 'inherit' });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-dist-'));
    [ch, rd] = await Promise.all([startClickHouse(), startRedis()]);
  }, 240_000);
  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    await Promise.all([ch?.stop(), rd?.stop()]);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  const store = async (database: string): Promise<Store> => {
    const s = await openStore({ url: ch.url, database });
    stores.push(s);
    return s;
  };
  const flushRedis = async (): Promise<void> => {
    const r = new Redis(rd.url);
    await r.flushall();
    r.disconnect();
  };
  const analyzeArgs = (brokers: string[], db: string, extra: string[] = []): string[] => [
    'analyze',
    '--brokers',
    brokers.join(','),
    '--store-url',
    ch.url,
    '--database',
    db,
    '--redis',
    rd.url,
    '--status-every',
    '0',
    '--idle-flush-ms',
    '500',
    '--checkpoint-every',
    '1',
    ...extra,
  ];

  async function e2e(name: string, db: string, instances: number, client: string): Promise<void> {
    db = `${db}_${client}`;
    const kc = ['--kafka-client', client];
    await flushRedis();
    const k = await startKafka({ brokers: 1 });
    const procs: ReturnType<typeof runCli>[] = [];
    let reader: Awaited<ReturnType<typeof anomalyTopicReader>> | undefined;
    try {
      const { o, config } = codecOf(name);
      const cfg = writeCodecConfig(path.join(tmp, `${name}.yaml`), o);
      for (let i = 0; i < instances; i++) {
        procs.push(runCli(analyzeArgs(k.brokers, db, ['--metrics-port', '0', ...kc])));
        // one at a time, so each joins the group with the partitions spread by the rebalance
        await waitFor(
          () => procs[i].stderr().includes('joined consumer group'),
          60_000,
          'group join',
        );
      }
      if (instances > 1) await new Promise((r) => setTimeout(r, 4000)); // the first member rejoins
      const t0 = Date.now();
      const ing = runCli([
        'ingest',
        '--brokers',
        k.brokers.join(','),
        '--config',
        cfg,
        '--status-every',
        '0',
        '--metrics-port',
        '0',
        ...kc,
        cap(name),
      ]);
      expect(await ing.exited).toBe(0);
      const summary = JSON.parse(ing.stdout().trim().split('\n').pop()!);
      expect(summary.kafka.shed).toBe(0);
      reader = await anomalyTopicReader(k.brokers);
      const rd2 = reader;
      const s = await store(db);
      // rows: exactly the capture's per-hop values
      const want = expectedHopLatencies([cap(name)], config);
      await waitFor(
        async () => Number((await s.query('SELECT count() AS n FROM hops'))[0].n) >= want.length,
        60_000,
        'hop rows',
      );
      const got = (await s.query('SELECT frame, hop_index, switch_id, hop_latency FROM hops'))
        .map((r) => `${r.frame}/${r.hop_index}/${r.switch_id}/${r.hop_latency ?? 'null'}`)
        .sort();
      expect(got).toEqual(want);
      const paths = Number(
        (await s.query('SELECT count() AS n, uniqExact(frame) AS u FROM paths'))[0].n,
      );
      expect(paths).toBe(summary.records);
      // the named per-hop latency query agrees with the capture. It reads hop_rollup_1m, which
      // an INSERT into hops fills after the hops part is visible: under load a query can come
      // between the two, so wait until the rollup holds at least the capture's hops, then
      // check the exact count (a surplus fails)
      const sw = Number(want[0].split('/')[2]);
      const swHops = want.filter((w) => w.split('/')[2] === String(sw)).length;
      const rollupHops = async (): Promise<number> =>
        (await s.named('switch_latency', { switch: sw })).reduce((x, r) => x + Number(r.hops), 0);
      await waitFor(async () => (await rollupHops()) >= swHops, 30_000, 'rollup rows').catch(
        () => undefined,
      );
      const samples = want.filter(
        (w) => w.split('/')[2] === String(sw) && !w.endsWith('null'),
      ).length;
      expect(await rollupHops()).toBe(swHops);
      expect(samples).toBeGreaterThan(0);
      // anomalies: the embedded mode's, in the table and on the topic
      const emb = anomalyIds(embeddedAnomalies([cap(name)], config));
      await waitFor(
        async () =>
          (await s.query('SELECT id FROM anomalies FINAL')).length >= emb.length &&
          rd2.ids().length >= emb.length,
        30_000,
        `anomalies (${emb.length})`,
      ).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1500)); // nothing more arrives
      const stored = (await s.query('SELECT id FROM anomalies FINAL'))
        .map((r) => String(r.id))
        .sort();
      console.log(
        `[distributed] ${name} x${instances} (${client}): ${want.length} hop rows, ${emb.length} anomalies embedded, ${stored.length} stored, ${reader.ids().length} on the topic, ${Date.now() - t0} ms`,
      );
      if (JSON.stringify(stored) !== JSON.stringify(emb))
        for (const p of procs)
          console.log(
            p
              .stderr()
              .split('\n')
              .filter((l) => /micro-loop|joined|rebalanc/.test(l))
              .join('\n'),
          );
      expect(stored).toEqual(emb);
      expect([...new Set(reader.ids())].sort()).toEqual(emb);
      expect(reader.ids().length).toBe(emb.length); // each once (Redis de-duplication)
      // metrics: both consumer groups handled batches; every published anomaly and every batch
      // fed to the detectors has its delay observed
      let anomalyDelays = 0;
      let recordDelays = 0;
      let detectorBatches = 0;
      for (const p of procs) {
        const url = /"url":"(http:[^"]+)"/.exec(p.stderr())![1];
        const text = await (await fetch(url)).text();
        anomalyDelays += metricValue(text, 'hopwatch_anomaly_delay_seconds_count') || 0; // NaN: none
        recordDelays += metricValue(
          text,
          'hopwatch_analyze_event_delay_seconds_count',
          'kind="records"',
        );
        detectorBatches += metricValue(
          text,
          'hopwatch_consumer_batches_total',
          'consumer="hopwatch-analytics.detectors"',
        );
      }
      expect(anomalyDelays).toBe(emb.length);
      expect(recordDelays).toBeGreaterThan(0);
      expect(detectorBatches).toBeGreaterThan(0);
      for (const p of procs) p.proc.kill('SIGTERM');
      for (const p of procs) expect(await p.exited).toBe(0);
      for (const p of procs) expect(p.stderr()).not.toMatch(/"level":"error"/);
      const per = procs.map((p) => JSON.parse(p.stdout().trim().split('\n').pop()!));
      if (instances > 1) {
        console.log(
          `[distributed] per instance: ${per.map((x) => JSON.stringify(x.records)).join(' | ')}`,
        );
        for (const x of per) expect(x.records.records + x.records.queues).toBeGreaterThan(0); // both had partitions
      }
      expect(per.reduce((a, x) => a + x.pathRows, 0)).toBe(summary.records); // no row inserted twice
    } finally {
      await reader?.close();
      for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
      await k.stop();
    }
  }

  describe.each(CLIENTS)('over %s', (client) => {
    test('demo-fabric (INT over UDP: micro-loop, microburst, path changes): rows = capture, anomalies = embedded', async () => {
      await e2e('demo-fabric', 'e2e_demo', 1, client);
    });

    test('Telemetry Reports (tr-v2.0-md + report-loss): rows = capture, anomalies = embedded', async () => {
      await e2e('tr-v2.0-md', 'e2e_tr', 1, client);
      await e2e('report-loss', 'e2e_loss', 1, client);
    });

    test('two analytics instances find exactly what one finds', async () => {
      await e2e('demo-fabric', 'e2e_two', 2, client);
    });
  });

  test('UDP: a flood from a source not on the allowlist is dropped and counted; malformed reports are counted by reason', async () => {
    const k = await startKafka({ brokers: 1 });
    const { o } = codecOf('tr-v2.0-md');
    const cfg = writeCodecConfig(path.join(tmp, 'udp.yaml'), o);
    const ing = runCli([
      'ingest',
      '--brokers',
      k.brokers.join(','),
      '--config',
      cfg,
      '--listen',
      '127.0.0.1:0',
      '--allow',
      '10.0.0.0/8',
      '--metrics-port',
      '0',
      '--status-every',
      '0',
    ]);
    try {
      const port = await waitFor(
        () => /"udp":"127\.0\.0\.1:(\d+)"/.exec(ing.stderr())?.[1],
        30_000,
        'listening',
      );
      const murl = await waitFor(
        () => /"url":"(http:[^"]+)"/.exec(ing.stderr())?.[1],
        30_000,
        'metrics',
      );
      const dgram = await import('dgram');
      const sock = dgram.createSocket('udp4');
      const junk = Buffer.alloc(64, 0xab);
      for (let i = 0; i < 20000; i++) sock.send(junk, Number(port), '127.0.0.1');
      await waitFor(
        async () =>
          metricValue(await (await fetch(murl)).text(), 'hopwatch_ingest_refused_total') +
            metricValue(await (await fetch(murl)).text(), 'hopwatch_ingest_kernel_drops_total') >=
          20000,
        20_000,
        'refused count',
      );
      ing.proc.kill('SIGTERM');
      expect(await ing.exited).toBe(0);
      const m = JSON.parse(ing.stdout().trim());
      expect(m.sources[0].refused + m.sources[0].kernelDrops).toBe(20000);
      expect(m.records).toBe(0);
      // now allowed, but malformed: counted by reason, nothing crashes
      const ing2 = runCli([
        'ingest',
        '--brokers',
        k.brokers.join(','),
        '--config',
        cfg,
        '--listen',
        '127.0.0.1:0',
        '--allow',
        '127.0.0.0/8',
        '--metrics-port',
        '0',
        '--status-every',
        '0',
      ]);
      const port2 = await waitFor(
        () => /"udp":"127\.0\.0\.1:(\d+)"/.exec(ing2.stderr())?.[1],
        30_000,
        'listening',
      );
      const murl2 = await waitFor(
        () => /"url":"(http:[^"]+)"/.exec(ing2.stderr())?.[1],
        30_000,
        'metrics',
      );
      const bad = [
        Buffer.alloc(3, 1),
        Buffer.from('0123456789abcdef0123456789abcdef'),
        Buffer.alloc(200, 0xff),
        Buffer.alloc(0),
      ];
      for (let i = 0; i < 400; i++) sock.send(bad[i % bad.length], Number(port2), '127.0.0.1');
      await new Promise((r) => setTimeout(r, 1000));
      const text = await (await fetch(murl2)).text();
      const rejected = text
        .split('\n')
        .filter((l) => l.startsWith('hopwatch_ingest_rejected_total{'));
      console.log(`[distributed] malformed reports: ${rejected.join('; ')}`);
      expect(rejected.length).toBeGreaterThan(0);
      expect(metricValue(text, 'hopwatch_ingest_rejected_total')).toBe(
        metricValue(text, 'hopwatch_ingest_received_total'),
      );
      sock.close();
      ing2.proc.kill('SIGTERM');
      expect(await ing2.exited).toBe(0);
    } finally {
      if (ing.proc.exitCode === null) ing.proc.kill('SIGKILL');
      await k.stop();
    }
  });
});
