/**
 * The example subscribers of examples/ (Python with kafka-python, Go with franz-go) against a
 * real Kafka (@hopwatch/testkit): anomalies found by the real analyzer in two captures are
 * published by publishAnomalies on hopwatch.anomalies.v2, and each example must print every
 * one with its exact ns times. The Python example validates each message against the JSON
 * Schema (packages/pipeline/schema) with the jsonschema package, and must refuse a v1 message.
 * Skipped without Kafka, python3's kafka/jsonschema or go (deploy/services.sh install kafka
 * examples), unless HOPWATCH_REQUIRE_SERVICES=1 (CI).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Anomaly } from '@hopwatch/analytics';
import { makeConfig, nsToRfc3339, toJson } from '@hopwatch/codec';
import { servicesAvailable, startKafka, type KafkaHandle } from '@hopwatch/testkit';
import {
  anomalyToJson,
  ensureTopics,
  KafkaProducer,
  Pipeline,
  PcapReplaySource,
  publishAnomalies,
  ANOMALY_COMPRESSION,
  TOPIC_ANOMALIES,
} from '../src';

const ROOT = path.resolve(__dirname, '../../..');
const SCHEMA = path.join(ROOT, 'packages/pipeline/schema/hopwatch.anomalies.v2.schema.json');
const PY = path.join(ROOT, 'examples/subscriber-python/subscribe.py');
const GO_DIR = path.join(ROOT, 'examples/subscriber-go');

const pythonReady =
  spawnSync('python3', ['-c', 'import kafka, jsonschema'], { encoding: 'utf8' }).status === 0;
const goReady = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
const ready = servicesAvailable().kafka && pythonReady && goReady;
if (!ready && process.env.HOPWATCH_REQUIRE_SERVICES === '1')
  throw new Error('subscribers test: needs kafka, python3 kafka+jsonschema and go');
if (!ready)
  console.warn(
    'subscribers tests skipped: run `deploy/services.sh install kafka` and `... install examples`',
  );
const d = ready ? describe : describe.skip;

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function run(cmd: string, args: string[], ms = 90_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

async function analyze(capture: string): Promise<Anomaly[]> {
  const found: Anomaly[] = [];
  const pipeline = new Pipeline({
    codec: makeConfig('spec'),
    store: null,
    onAnomaly: (a) => found.push(a),
  });
  await new PcapReplaySource([path.join(ROOT, 'captures', capture)]).run(
    pipeline,
    new AbortController().signal,
  );
  await pipeline.close();
  return found;
}

/** What each example prints for an anomaly (from the bigints, never through a double). */
const expectedLine = (a: Anomaly): string =>
  [a.start, nsToRfc3339(a.start), a.end, nsToRfc3339(a.end), a.type, a.id].join('\t');

const sortedLines = (out: string): string[] => out.trim().split('\n').sort();

d('example subscribers (real Kafka)', () => {
  let kafka: KafkaHandle;
  const anomalies: Anomaly[] = [];
  let brokers = '';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-subscribers-'));

  beforeAll(async () => {
    kafka = await startKafka();
    brokers = kafka.brokers.join(',');
    const bad = 'hopwatch.anomalies.v1-style';
    await ensureTopics(kafka.brokers, { partitions: 3, topics: [TOPIC_ANOMALIES, bad] });
    for (const c of ['demo-fabric', 'several-at-once', 'report-loss', 'drops'])
      anomalies.push(...(await analyze(`${c}.pcap`)));
    // as analyze publishes them
    const producer = new KafkaProducer({
      brokers: kafka.brokers,
      compression: ANOMALY_COMPRESSION,
    });
    publishAnomalies(producer, anomalies);
    // the old encoding (bare 19-digit numbers) on another topic: the schema must refuse it
    producer.send(bad, [{ key: anomalies[0].id, value: Buffer.from(toJson(anomalies[0])) }]);
    await producer.flush();
    expect(producer.stats().sent).toBe(anomalies.length + 1);
    await producer.close();
  }, 240_000);

  afterAll(async () => {
    await kafka?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the anomalies cover every type, with ns times a double cannot hold', () => {
    expect(new Set(anomalies.map((a) => a.type))).toEqual(
      new Set(['microloop', 'microburst', 'path_change', 'report_loss', 'drop']),
    );
    // JSON.parse of a bare number would change these: the test can tell exact from rounded
    expect(anomalies.filter((a) => BigInt(Number(a.start)) !== a.start).length).toBeGreaterThan(0);
    const burst = anomalies.find((a) => a.id === 'microburst:2:1:0:1767225600000605827');
    expect(burst && expectedLine(burst)).toBe(
      '1767225600000605827\t2026-01-01T00:00:00.000605827Z\t1767225600000732662\t' +
        '2026-01-01T00:00:00.000732662Z\tmicroburst\tmicroburst:2:1:0:1767225600000605827',
    );
  });

  test('Python (kafka-python): every anomaly, exact ns, each message valid against the schema', async () => {
    const r = await run('python3', [
      PY,
      '--brokers',
      brokers,
      '--group',
      'py-test',
      '--from-beginning',
      '--schema',
      SCHEMA,
      '--max',
      String(anomalies.length),
      '--timeout',
      '60',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(sortedLines(r.out)).toEqual(anomalies.map(expectedLine).sort());
  }, 120_000);

  test('Python: a v1 message (bare ns numbers) breaks the schema: exit 1, the field named', async () => {
    const r = await run('python3', [
      PY,
      '--brokers',
      brokers,
      '--topic',
      'hopwatch.anomalies.v1-style',
      '--from-beginning',
      '--schema',
      SCHEMA,
      '--max',
      '1',
      '--timeout',
      '60',
    ]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(
      /breaks the schema at '(start|end)'.*is not of type 'string'|'startTime' is a required property/,
    );
  }, 120_000);

  test('the --anomalies file lines (same encoder) are valid against the schema too', async () => {
    const file = path.join(tmp, 'anomalies.jsonl');
    fs.writeFileSync(file, anomalies.map((a) => anomalyToJson(a) + '\n').join(''));
    const check = [
      'import json, sys, jsonschema',
      'schema = json.load(open(sys.argv[1]))',
      'v = jsonschema.Draft202012Validator(schema)',
      'bad = [e.message for l in open(sys.argv[2]) for e in v.iter_errors(json.loads(l))]',
      'print(len(bad), bad[:3])',
    ].join('\n');
    const r = await run('python3', ['-c', check, SCHEMA, file]);
    expect(r.err).toBe('');
    expect(r.out.trim()).toBe('0 []');
    // the validator does refuse: a line without its RFC 3339 time
    const broken = JSON.parse(anomalyToJson(anomalies[0])) as Record<string, unknown>;
    delete broken.startTime;
    fs.writeFileSync(file, JSON.stringify(broken) + '\n');
    const r2 = await run('python3', ['-c', check, SCHEMA, file]);
    expect(r2.out).toMatch(/^1 \["'startTime' is a required property"\]/);
  });

  test('Go (franz-go): every anomaly, exact ns', async () => {
    const bin = path.join(tmp, 'subscriber-go');
    const build = spawnSync('go', ['build', '-o', bin, '.'], { cwd: GO_DIR, encoding: 'utf8' });
    expect(build.stderr).toBe('');
    expect(build.status).toBe(0);
    const r = await run(bin, [
      '-brokers',
      brokers,
      '-group',
      'go-test',
      '-from-beginning',
      '-max',
      String(anomalies.length),
      '-timeout',
      '60s',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(sortedLines(r.out)).toEqual(anomalies.map(expectedLine).sort());
  }, 180_000);
});
