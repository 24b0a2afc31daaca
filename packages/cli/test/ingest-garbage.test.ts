/**
 * `hopwatch ingest --listen` fed garbage UDP datagrams of random lengths between Telemetry
 * Reports, against a real Kafka (packages/testkit): it keeps running, counts the garbage as
 * rejections and publishes the reports. Built CLI in a child process; skipped without Kafka.
 */
import { spawn } from 'child_process';
import * as crypto from 'crypto';
import * as dgram from 'dgram';
import * as fs from 'fs';
import * as path from 'path';
import { servicesAvailable, startKafka, unavailableMessage } from '@hopwatch/testkit';
import { twoHopReport } from '../../pipeline/test/report-fixture';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'packages/cli/bin/hopwatch.js');
const built = fs.existsSync(path.join(ROOT, 'packages/cli/dist/main.js'));
const kafka = servicesAvailable().kafka;
const testIf = built && kafka ? test : test.skip;
if (!built) console.warn('ingest garbage test skipped: run npx tsc -b first');
else if (!kafka) console.warn(`ingest garbage test skipped: ${unavailableMessage('kafka')}`);

testIf(
  'ingest keeps running on garbage datagrams and publishes the reports',
  async () => {
    const k = await startKafka();
    try {
      const child = spawn(
        process.execPath,
        [CLI, 'ingest', '--brokers', k.brokers[0], '--listen', '127.0.0.1:0'].concat([
          '--partitions',
          '2',
          '--status-every',
          '0',
        ]),
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((r) => child.on('exit', r));
      for (let i = 0; i < 600 && !/"udp":"127\.0\.0\.1:\d+"/.test(err); i++)
        await new Promise((r) => setTimeout(r, 100));
      const port = Number(/"udp":"127\.0\.0\.1:(\d+)"/.exec(err)?.[1]);
      expect(port).toBeGreaterThan(0);
      const sock = dgram.createSocket('udp4');
      const send = (b: Uint8Array): Promise<void> =>
        new Promise((res, rej) => sock.send(b, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
      const report = twoHopReport(0, 9);
      for (let i = 0; i < 400; i++) {
        if (i % 4 === 0) await send(twoHopReport(i, 9));
        const g = crypto.randomBytes(Math.floor(Math.random() * 2000));
        if (i % 3 === 0) Buffer.from(report).copy(g, 0, 0, Math.min(g.length, 12 + (i % 40)));
        await send(g);
      }
      sock.close();
      await new Promise((r) => setTimeout(r, 1000));
      expect(child.exitCode).toBeNull(); // still running
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(err).not.toMatch(/^\s+at /m);
      const summary = JSON.parse(out.trim().split('\n').pop()!);
      expect(summary.packets).toBe(500);
      expect(summary.unhandled).toBe(0);
      expect(summary.records).toBeGreaterThanOrEqual(100); // the reports (garbage may decode too)
      const rejected = Object.values(summary.rejected as Record<string, number>).reduce(
        (a, b) => a + b,
        0,
      );
      expect(rejected).toBeGreaterThan(200);
      expect(summary.kafka.sent).toBeGreaterThan(0);
      expect(summary.kafka.shed).toBe(0);
    } finally {
      await k.stop();
    }
  },
  180_000,
);
