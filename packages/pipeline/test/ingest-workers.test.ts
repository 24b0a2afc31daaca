/**
 * `hopwatch ingest --workers 2`: two processes read one UDP port (a socket shared through the
 * cluster module); every report sent reaches Kafka exactly once, and both workers read some.
 * Real Kafka (packages/testkit), real processes; skipped when Kafka is not installed, unless
 * HOPWATCH_REQUIRE_SERVICES=1.
 */
import { execFileSync } from 'child_process';
import * as dgram from 'dgram';
import * as path from 'path';
import { RecordBatch } from '@hopwatch/codec';
import { openCapture } from '@hopwatch/pcap';
import { servicesAvailable, startKafka, unavailableMessage } from '@hopwatch/testkit';
import { createLogger, decodeMessage, KafkaConsumer, TOPIC_REPORTS } from '@hopwatch/pipeline';
import { metricValue, REPO_ROOT, runCli, waitFor } from '@hopwatch/pipeline/testing';

const avail = servicesAvailable();
const ok = avail.kafka || process.env.HOPWATCH_REQUIRE_SERVICES === '1';
if (!ok) console.warn(`[ingest-workers] ${unavailableMessage('kafka')}: skipped`);
const describeIf = ok ? describe : describe.skip;

jest.setTimeout(180_000);

/** The Telemetry Report of captures/tr-v2.0-md.pcap (UDP payload), as the benchmark sends it. */
function template(): Buffer {
  const r = openCapture(path.join(REPO_ROOT, 'captures/tr-v2.0-md.pcap'));
  const p = r.next()!;
  r.close();
  const ihl = (p.data[14] & 0x0f) * 4;
  return Buffer.from(p.data.subarray(14 + ihl + 8));
}

describeIf('ingest --workers (one UDP port, several processes)', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-b', 'packages/cli'], { cwd: REPO_ROOT, stdio: 'inherit' });
  }, 180_000);

  test('two workers on one port: every report published once, both read some', async () => {
    const k = await startKafka({ brokers: 1 });
    const ing = runCli([
      'ingest',
      '--brokers',
      k.brokers.join(','),
      '--workers',
      '2',
      '--listen',
      '127.0.0.1:0',
      '--allow',
      '127.0.0.0/8',
      '--metrics-port',
      '0',
      '--status-every',
      '0',
    ]);
    let consumer: KafkaConsumer | undefined;
    try {
      const ready = await waitFor(
        () => {
          const ports = [...ing.stderr().matchAll(/"udp":"127\.0\.0\.1:(\d+)"/g)].map((m) => m[1]);
          const urls = [...ing.stderr().matchAll(/"url":"(http:[^"]+)"/g)].map((m) => m[1]);
          return ports.length === 2 && urls.length === 2 ? { ports, urls } : undefined;
        },
        60_000,
        'two workers listening',
      );
      expect(ready.ports[0]).toBe(ready.ports[1]); // one socket, shared
      expect(ready.urls[0]).not.toBe(ready.urls[1]); // metrics of its own each
      const port = Number(ready.ports[0]);
      // 64 reporters × 250 sequence numbers, paced (1,000 per 50 ms) so the kernel drops none
      const tpl = template();
      const sock = dgram.createSocket('udp4');
      const nodes = 64;
      const perNode = 250;
      const total = nodes * perNode;
      for (let i = 0; i < total; i++) {
        const b = Buffer.from(tpl);
        const node = i % nodes;
        const seq = Math.floor(i / nodes);
        b[1] = (b[1] & 0xc0) | (seq >>> 16);
        b.writeUInt16BE(seq & 0xffff, 2);
        b.writeUInt32BE(1000 + node, 4);
        await new Promise<void>((r) => sock.send(b, port, '127.0.0.1', () => r()));
        if (i % 1000 === 999) await new Promise((r) => setTimeout(r, 50));
      }
      sock.close();
      const received = async (): Promise<number[]> =>
        Promise.all(
          ready.urls.map(async (u) =>
            metricValue(await (await fetch(u)).text(), 'hopwatch_ingest_decoded_records_total'),
          ),
        );
      await waitFor(
        async () => (await received()).reduce((a, b) => a + b, 0) >= total,
        30_000,
        'all decoded',
      ).catch(() => undefined);
      const per = await received();
      const drops = metricValue(
        await (await fetch(ready.urls[0])).text(),
        'hopwatch_ingest_kernel_drops_total',
      );
      console.log(
        `[ingest-workers] per worker: ${per.join(' + ')} of ${total}; kernel drops ${drops}`,
      );
      expect(drops).toBe(0);
      expect(per[0] + per[1]).toBe(total);
      for (const n of per) expect(n).toBeGreaterThan(0);
      ing.proc.kill('SIGTERM');
      expect(await ing.exited).toBe(0);
      // both workers' summaries; then Kafka holds every (reporter, sequence) exactly once
      const sums = ing
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(sums.length).toBe(2);
      expect(sums.reduce((a, s) => a + s.kafka.shed, 0)).toBe(0);
      const seen = new Map<string, number>();
      consumer = new KafkaConsumer({
        brokers: k.brokers,
        clientId: 'hopwatch-test-reader',
        groupId: `reader-${process.pid}`,
        topics: [TOPIC_REPORTS],
        fromBeginning: true,
        maxWaitTimeMs: 100,
        logger: createLogger({ level: 'silent' }),
      });
      const b = new RecordBatch(4096, 1);
      await consumer.run(async (batch) => {
        for (const m of batch.messages) {
          b.reset();
          decodeMessage('reports', m.value, b);
          for (let r = 0; r < b.count; r++) {
            const key = `${b.nodeId[r]}/${b.sequence[r]}`;
            seen.set(key, (seen.get(key) ?? 0) + 1);
          }
        }
      });
      await waitFor(
        () => [...seen.values()].reduce((a, n) => a + n, 0) >= total,
        30_000,
        'reports on Kafka',
      ).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1000)); // nothing more arrives
      const rows = [...seen.values()].reduce((a, n) => a + n, 0);
      expect(seen.size).toBe(total); // none lost
      expect(rows).toBe(total); // none twice
      expect(seen.has(`${1000 + nodes - 1}/${perNode - 1}`)).toBe(true);
    } finally {
      await consumer?.close();
      if (ing.proc.exitCode === null) ing.proc.kill('SIGKILL');
      await k.stop();
    }
  });
});
