/**
 * The Prometheus endpoints of serve, ingest and analyze as processes: scraped over HTTP and
 * checked with `promtool check metrics` (Prometheus' own parser and linter), with the process
 * metrics (CPU, memory, fds, start time, event loop, GC) on each.
 *
 * promtool comes with Debian's `prometheus` package (deploy/services.sh installs it). ingest
 * and analyze need Kafka (and analyze ClickHouse): skipped with a message when missing, unless
 * HOPWATCH_REQUIRE_SERVICES=1.
 */
import { spawnSync } from 'child_process';
import * as dgram from 'dgram';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { metricValue, runCli, waitFor, type CliProcess } from '@hopwatch/pipeline/testing';
import {
  servicesAvailable,
  startClickHouse,
  startKafka,
  unavailableMessage,
} from '@hopwatch/testkit';
import { built, startServe } from './serve-process';

const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
if (!promtool && !required)
  console.warn('[metrics-endpoints] promtool not found (apt-get install prometheus): skipped');
const avail = servicesAvailable();
const services = (avail.kafka && avail.clickhouse) || required;
if (!services)
  console.warn(
    `[metrics-endpoints] ingest/analyze: ${[!avail.kafka && unavailableMessage('kafka'), !avail.clickhouse && unavailableMessage('clickhouse')].filter(Boolean).join('; ')}: skipped`,
  );
const testIf = built && (promtool || required) ? test : test.skip;
const testServices = built && (promtool || required) && services ? test : test.skip;
if (!built) console.warn('[metrics-endpoints] skipped: run npx tsc -b first');

jest.setTimeout(180_000);

/** promtool's verdict on an exposition: '' when it parses and passes the lint. */
function promtoolProblems(text: string): string {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) return String(r.error);
  return r.status === 0 ? '' : `exit ${r.status}: ${r.stdout}${r.stderr}`;
}

async function scrape(url: string, auth?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, auth ? { headers: { authorization: auth } } : {});
  return { status: res.status, text: await res.text() };
}

/** The process metrics every endpoint carries, with values a live Node process has. */
function expectProcessMetrics(text: string): void {
  const v = (name: string, labels = ''): number => metricValue(text, name, labels);
  const now = Date.now() / 1000;
  expect(v('process_cpu_seconds_total')).toBeGreaterThan(0);
  expect(v('process_cpu_seconds_total')).toBeCloseTo(
    v('process_cpu_user_seconds_total') + v('process_cpu_system_seconds_total'),
    1,
  );
  expect(v('process_resident_memory_bytes')).toBeGreaterThan(20 << 20);
  expect(v('process_virtual_memory_bytes')).toBeGreaterThan(v('process_resident_memory_bytes'));
  expect(v('process_heap_bytes')).toBeGreaterThan(1 << 20);
  expect(v('process_start_time_seconds')).toBeGreaterThan(now - 600);
  expect(v('process_start_time_seconds')).toBeLessThanOrEqual(now + 1);
  expect(v('process_open_fds')).toBeGreaterThan(3);
  expect(v('process_max_fds')).toBeGreaterThanOrEqual(v('process_open_fds'));
  expect(v('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  expect(v('nodejs_heap_size_used_bytes')).toBeLessThanOrEqual(v('nodejs_heap_size_total_bytes'));
  expect(v('nodejs_version_info', `version="${process.version}"`)).toBe(1);
  for (const k of ['', '_max', '_p99']) {
    expect(v(`nodejs_eventloop_lag${k}_seconds`)).toBeGreaterThanOrEqual(0);
    expect(v(`nodejs_eventloop_lag${k}_seconds`)).toBeLessThan(60);
  }
  expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram');
}

/** The metrics URL a distributed process logged (JSON log line `"url":"…"`). */
const loggedUrl = (p: CliProcess): Promise<string> =>
  waitFor(
    () => /"msg":"metrics".*?"url":"(http:[^"]+)"/.exec(p.stderr())?.[1],
    60_000,
    'metrics url',
  );

describe('metrics endpoints', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-metrics-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  testIf('serve: counts, process metrics, users, promtool', async () => {
    const users = path.join(dir, 'users.yaml');
    fs.writeFileSync(users, 'prom:\n  password_env: HOPWATCH_TEST_METRICS_PW\n');
    const serve = await startServe(
      path.join(dir, 'data'),
      ['--metrics-listen', '127.0.0.1:0', '--metrics-users', users],
      { ...process.env, HOPWATCH_TEST_METRICS_PW: 's3cret' },
    );
    try {
      const url = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(serve.err())?.[1];
      expect(url).toBeDefined();
      expect(serve.err()).not.toMatch(/warning: the metrics endpoint/);
      expect((await scrape(url!)).status).toBe(401);
      const auth = `Basic ${Buffer.from('prom:s3cret').toString('base64')}`;
      // 25 datagrams of filler bytes: received, counted, serve goes on
      const sock = dgram.createSocket('udp4');
      for (let i = 0; i < 25; i++)
        await new Promise((r) => sock.send(Buffer.alloc(40, i), serve.port, '127.0.0.1', r));
      sock.close();
      const text = await waitFor(
        async () => {
          const s = await scrape(url!, auth);
          // each datagram either decodes into a record (counted once its batch is handed on,
          // within 200 ms) or is rejected with a reason
          const handled =
            metricValue(s.text, 'hopwatch_serve_records_total') +
            metricValue(s.text, 'hopwatch_serve_rejected_total');
          return (
            metricValue(s.text, 'hopwatch_serve_received_total') === 25 && handled === 25 && s.text
          );
        },
        20_000,
        '25 datagrams counted and handled',
      );
      expect(promtoolProblems(text)).toBe('');
      expect(metricValue(text, 'hopwatch_serve_packets_total')).toBe(25);
      expect(metricValue(text, 'hopwatch_serve_rejected_total')).toBeGreaterThan(0);
      expect(metricValue(text, 'hopwatch_serve_queries_total', 'outcome="ok"')).toBe(0);
      expectProcessMetrics(text);
      // the event-loop window restarts with every scrape; the counters do not
      const again = (await scrape(url!, auth)).text;
      expect(metricValue(again, 'hopwatch_serve_received_total')).toBe(25);
      expect(metricValue(again, 'process_cpu_seconds_total')).toBeGreaterThanOrEqual(
        metricValue(text, 'process_cpu_seconds_total'),
      );
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });

  testIf('flag mistakes are usage errors (exit 2, one line)', () => {
    const cases: [string[], RegExp][] = [
      [['--metrics-listen', '127.0.0.1:0', '--metrics-port', '0'], /together/],
      [['--metrics-listen', '9100'], /must be HOST:PORT/],
      [['--metrics-listen', '127.0.0.1:70000'], /--metrics-listen/],
      [['--metrics-port', 'x'], /--metrics-port/],
      [['--metrics-users', path.join(dir, 'nobody.yaml')], /needs --metrics-listen/],
    ];
    for (const [cmd, extra] of [
      ['serve', ['--no-store']],
      ['ingest', ['--brokers', '127.0.0.1:1', '--listen', '127.0.0.1:0']],
      ['analyze', ['--brokers', '127.0.0.1:1', '--store-url', 'http://127.0.0.1:1']],
    ] as const) {
      for (const [flags, msg] of cases) {
        const r = spawnSync(
          process.execPath,
          [path.join(__dirname, '../bin/hopwatch.js'), cmd, ...extra, ...flags],
          { encoding: 'utf8', timeout: 30_000 },
        );
        expect({ cmd, flags, status: r.status }).toEqual({ cmd, flags, status: 2 });
        expect(r.stderr).toMatch(msg);
      }
    }
  });

  testServices('ingest and analyze: process metrics, promtool', async () => {
    const [k, ch] = await Promise.all([startKafka({ brokers: 1 }), startClickHouse()]);
    const procs: CliProcess[] = [];
    try {
      const brokers = k.brokers.join(',');
      const ing = runCli([
        'ingest',
        '--brokers',
        brokers,
        '--listen',
        '127.0.0.1:0',
        '--metrics-listen',
        '127.0.0.1:0',
        '--status-every',
        '0',
      ]);
      procs.push(ing);
      const ingUrl = await loggedUrl(ing);
      const port = Number(
        await waitFor(() => /"udp":"127\.0\.0\.1:(\d+)"/.exec(ing.stderr())?.[1], 30_000, 'udp'),
      );
      const sock = dgram.createSocket('udp4');
      for (let i = 0; i < 10; i++)
        await new Promise((r) => sock.send(Buffer.alloc(40, i), port, '127.0.0.1', r));
      sock.close();
      const ingText = await waitFor(
        async () => {
          const t = (await scrape(ingUrl)).text;
          return metricValue(t, 'hopwatch_ingest_received_total') === 10 && t;
        },
        20_000,
        'ingest counts',
      );
      expect(promtoolProblems(ingText)).toBe('');
      expectProcessMetrics(ingText);

      const an = runCli([
        'analyze',
        '--brokers',
        brokers,
        '--store-url',
        ch.url,
        '--database',
        'metrics_test',
        '--metrics-port',
        '0',
        '--status-every',
        '0',
      ]);
      procs.push(an);
      const anUrl = await loggedUrl(an);
      await waitFor(() => an.stderr().includes('joined consumer group'), 60_000, 'group join');
      const anText = (await scrape(anUrl)).text;
      expect(promtoolProblems(anText)).toBe('');
      expectProcessMetrics(anText);
      expect(anText).toContain('hopwatch_consumer_batches_total');
      for (const p of procs) p.proc.kill('SIGTERM');
      for (const p of procs) expect(await p.exited).toBe(0);
    } finally {
      for (const p of procs) p.proc.kill('SIGKILL');
      await Promise.all([k.stop(), ch.stop()]);
    }
  });
});
