/**
 * hopwatch on Node 24 (the current LTS) beside the Node 20 that runs the tests: the CLI smoke
 * runs and the native modules loaded by a Node 24 process, its output compared with Node 20's.
 * deploy/node24.sh installs Node 24 into deploy/.cache/node24 (.ci/run runs it); without it the
 * test is skipped with the reason, unless HOPWATCH_REQUIRE_SERVICES=1 (CI), where it fails.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const BIN = path.join(ROOT, 'packages/cli/bin/hopwatch.js');
const NODE24 = process.env.HOPWATCH_NODE24 ?? path.join(ROOT, 'deploy/.cache/node24/bin/node');
const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
let why = '';
if (!fs.existsSync(path.join(ROOT, 'packages/cli/dist/main.js')))
  why = 'the CLI is not built (npx tsc -b)';
else if (!fs.existsSync(NODE24) && !required)
  why = `no Node 24 at ${NODE24} (run deploy/node24.sh)`;
if (why) console.warn(`[node24] skipped: ${why}`);
const testIf = why ? test.skip : test;

jest.setTimeout(120_000);

const run = (node: string, args: string[], cwd = ROOT) =>
  spawnSync(node, args, {
    cwd,
    encoding: 'utf8',
    timeout: 90_000,
    maxBuffer: 1 << 28,
    env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
  });

describe('Node 24', () => {
  testIf('is Node 24', () => {
    const r = run(NODE24, ['--version']);
    expect(r.stdout).toMatch(/^v24\./);
  });

  testIf('hopwatch --version', () => {
    const r = run(NODE24, [BIN, '--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('hopwatch 0.1.0\n');
  });

  testIf('dissect of a bundled capture prints what Node 20 prints', () => {
    const args = [BIN, 'dissect', path.join(ROOT, 'captures/demo-fabric.pcap'), '--json'];
    const a = run(NODE24, args);
    const b = run(process.execPath, args);
    expect(a.stderr).toBe(b.stderr);
    expect(a.status).toBe(0);
    expect(a.stdout.length).toBeGreaterThan(1000);
    expect(a.stdout).toBe(b.stdout);
  });

  testIf('replay into the embedded store (chDB) finds what Node 20 finds', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-node24-'));
    try {
      const summary = (node: string, data: string): string[] => {
        const r = run(node, [
          BIN,
          'replay',
          path.join(ROOT, 'captures/demo-fabric.pcap'),
          '--data-dir',
          path.join(dir, data),
        ]);
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
        // timings and the data directory differ between runs; counts and anomalies do not
        return r.stdout
          .split('\n')
          .filter((l) => !/ms\b|\/s\b|elapsed|seconds|^Stored in/i.test(l));
      };
      const a = summary(NODE24, 'a');
      expect(a.join('\n')).toMatch(/anomal/i);
      expect(a).toEqual(summary(process.execPath, 'b'));
      // the rows are in the store, read back by Node 24
      const q = run(NODE24, [
        BIN,
        'query',
        '--data-dir',
        path.join(dir, 'a'),
        '--format',
        'json',
        'SELECT count() AS n FROM hops',
      ]);
      expect(q.status).toBe(0);
      expect(q.stdout).toMatch(/"n":\s*"?[1-9]/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  testIf('native modules load and work: cap (libpcap), chdb, kafkajs', () => {
    const script = `
      const { loadCap } = require('@hopwatch/pipeline');
      const cap = loadCap();
      const devices = cap.deviceList().map((d) => d.name);
      let opened = 'not root';
      if (process.getuid() === 0) {
        const c = new cap.Cap();
        opened = c.open('lo', 'udp port 9', 65536, Buffer.alloc(65535));
        c.close();
      }
      const chdb = require('chdb');
      const one = chdb.query('SELECT 40 + 2', 'CSV').trim();
      const { Kafka } = require('kafkajs');
      const producer = new Kafka({ clientId: 'n24', brokers: ['127.0.0.1:1'] }).producer();
      // librdkafka is built for the Node that ran npm install (ABI-specific): where it does not
      // load, the default client is kafkajs, and the reason names this Node's ABI
      const { defaultKafkaClient, rdkafkaUnavailable } = require('@hopwatch/pipeline');
      const why = rdkafkaUnavailable();
      const kafkaClient = defaultKafkaClient() === (why ? 'kafkajs' : 'rdkafka') && (!why || why.includes('ABI ' + process.versions.modules));
      console.log(JSON.stringify({ abi: process.versions.modules, lo: devices.includes('lo'), opened, one, producer: typeof producer.send, kafkaClient }));
    `;
    const r = run(NODE24, ['-e', script], path.join(ROOT, 'packages/cli'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = JSON.parse(r.stdout);
    expect(got).toEqual({
      abi: expect.stringMatching(/^1[3-9]\d$/),
      lo: true,
      opened: process.getuid?.() === 0 ? 'ETHERNET' : 'not root',
      one: '42',
      producer: 'function',
      kafkaClient: true,
    });
  });
});
