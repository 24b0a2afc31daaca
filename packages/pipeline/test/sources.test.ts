import * as dgram from 'dgram';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildIntPacket, makeConfig } from '@hopwatch/codec';
import { PcapWriter } from '@hopwatch/pcap';
import { openStore } from '@hopwatch/store';
import {
  Allowlist,
  PcapReplaySource,
  Pipeline,
  receiveBufferWarning,
  UdpSource,
} from '@hopwatch/pipeline';
import { twoHopReport } from './report-fixture';

const report = twoHopReport;

function send(sock: dgram.Socket, msg: Uint8Array, port: number): Promise<void> {
  return new Promise((res, rej) => sock.send(msg, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
}

test('allowlist matches IPv4 and IPv6 prefixes', () => {
  const a = new Allowlist(['127.0.0.1/32', '10.0.0.0/8', '2001:db8::/32']);
  expect(a.sender('127.0.0.1').allowed).toBe(true);
  expect(a.sender('::ffff:127.0.0.1').allowed).toBe(true);
  expect(a.sender('127.0.0.2').allowed).toBe(false);
  expect(a.sender('10.200.3.4').allowed).toBe(true);
  expect(a.sender('2001:db8:1::5').allowed).toBe(true);
  expect(a.sender('2001:db9::5').allowed).toBe(false);
  expect(new Allowlist([]).sender('192.0.2.9').allowed).toBe(true);
  expect(() => new Allowlist(['10.0.0.0/33'])).toThrow(/prefix length/);
  expect(() => new Allowlist(['nonsense'])).toThrow(/not an address/);
});

test.each(['recvmmsg', 'dgram'] as const)(
  'UDP listener (%s): reports decoded, foreign senders refused and counted, malformed counted by reason',
  async (receive) => {
    const pipeline = new Pipeline({
      codec: makeConfig('spec'),
      store: null,
      live: true,
      batchRecords: 64,
    });
    let port = 0;
    const src = new UdpSource({
      listen: [{ host: '127.0.0.1', port: 0 }],
      allow: ['127.0.0.1/32'],
      onListening: (a) => (port = a[0].port),
      receive,
    });
    expect(src.receivePath).toBe(receive);
    const ac = new AbortController();
    const running = src.run(pipeline, ac.signal);
    while (port === 0) await new Promise((r) => setTimeout(r, 5));
    const good = dgram.createSocket('udp4');
    const foreign = dgram.createSocket('udp4');
    await new Promise<void>((r) => foreign.bind(0, '127.0.0.2', () => r()));
    for (let i = 0; i < 500; i++) await send(good, report(i, 7), port);
    for (let i = 0; i < 200; i++) await send(foreign, report(i, 8), port);
    await send(good, Uint8Array.of(0x70, 0, 0, 0, 0, 0, 0, 0), port); // unknown report version
    await send(good, report(1, 7).subarray(0, 10), port); // truncated
    await new Promise((r) => setTimeout(r, 200));
    ac.abort();
    await running;
    await pipeline.close();
    good.close();
    foreign.close();
    const s = src.stats();
    expect(s.received).toBe(502);
    expect(s.refused).toBe(200);
    expect(s.kernelDrops).toBe(0);
    const p = pipeline.stats();
    expect(p.records).toBe(500);
    expect(p.hops).toBe(1000);
    expect(p.rejected).toEqual({ 'unknown-report-version': 1, truncated: 1 });
    // the sequence numbers were contiguous: no report loss anomaly
    expect(pipeline.analyzer.stats().records).toBe(500);
  },
);

test('live pipeline: partial insert batches reach the store on the tick, not only at 500,000 rows', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-live-flush-'));
  const store = await openStore({ dataDir: path.join(dir, 'data') });
  try {
    const stored = async (): Promise<number> =>
      Number((await store.query('SELECT count() AS n FROM hops', 'json'))[0].n);
    const feed = async (pipeline: Pipeline, first: number): Promise<void> => {
      let port = 0;
      const src = new UdpSource({
        listen: [{ host: '127.0.0.1', port: 0 }],
        onListening: (a) => (port = a[0].port),
      });
      const ac = new AbortController();
      const running = src.run(pipeline, ac.signal);
      while (port === 0) await new Promise((r) => setTimeout(r, 5));
      const sock = dgram.createSocket('udp4');
      for (let i = 0; i < 300; i++) await send(sock, report(first + i, 9), port);
      sock.close();
      // what `serve` does every 200 ms
      for (let t = 0; t < 8; t++) {
        await new Promise((r) => setTimeout(r, 50));
        pipeline.tick();
      }
      await new Promise((r) => setTimeout(r, 300));
      ac.abort();
      await running;
    };
    // without the timed write, nothing is stored before the end (the batch is far from full)
    const never = new Pipeline({ codec: makeConfig('spec'), store, live: true, storeFlushMs: 0 });
    await feed(never, 0);
    expect(await stored()).toBe(0);
    await never.close();
    expect(await stored()).toBe(600);

    const timed = new Pipeline({ codec: makeConfig('spec'), store, live: true, storeFlushMs: 100 });
    await feed(timed, 1000);
    expect(await stored()).toBe(1200); // while the pipeline still runs
    await timed.close();
    expect(await stored()).toBe(1200);
    expect(timed.stats()).toMatchObject({ storeErrors: 0, shedRecords: 0 });
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('UDP listener: a receive buffer capped by net.core.rmem_max is reported at start-up', async () => {
  const listen = async (receiveBuffer: number): Promise<string | null> => {
    let warning: string | null | undefined;
    const src = new UdpSource({
      listen: [{ host: '127.0.0.1', port: 0 }],
      receiveBuffer,
      onListening: (_a, w) => (warning = w),
    });
    const ac = new AbortController();
    const running = src.run({ onPacket: () => undefined, onDatagram: () => undefined }, ac.signal);
    while (warning === undefined) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await running;
    return warning;
  };
  // 1 GiB is beyond any default net.core.rmem_max; 64 KiB is below every one
  expect(await listen(1 << 30)).toMatch(
    /not the 1073741824 asked for.*sysctl -w net.core.rmem_max=1073741824/,
  );
  expect(await listen(64 * 1024)).toBeNull();
  expect(receiveBufferWarning(1000, process.platform === 'linux' ? 2000 : 1000)).toBeNull();
});

test('pcap replay into the embedded store: every record and hop lands', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-pipe-'));
  const file = path.join(dir, 'in.pcap');
  const w = new PcapWriter(file, { resolution: 'ns' });
  const flows = 40;
  for (let i = 0; i < 2000; i++) {
    const pkt = buildIntPacket(
      {
        ipVersion: 4,
        srcAddr: '10.1.0.1',
        dstAddr: '10.2.0.1',
        protocol: 6,
        srcPort: 40000 + (i % flows),
        dstPort: 443,
      },
      {
        version: '2.1',
        mode: 'MD',
        instructionBitmap: 0xf000,
        hops: [1, 2, 3].map((s) => ({
          switchId: s,
          ingressPort: 1,
          egressPort: 2,
          hopLatency: 200 + s,
          queueId: 0,
          queueOccupancy: s * 10,
        })),
      },
      { kind: 'tcp-dscp', dscpValue: 0x17 },
    );
    w.write(pkt, 1_767_225_600 + Math.floor(i / 1000), (i % 1000) * 1_000_000);
  }
  w.write(Uint8Array.of(1, 2, 3), 1_767_225_602, 0); // garbage: counted
  w.close();
  const store = await openStore({ dataDir: path.join(dir, 'data') });
  const pipeline = new Pipeline({ codec: makeConfig('spec'), store, batchRecords: 512 });
  await new PcapReplaySource([file]).run(pipeline, new AbortController().signal);
  await pipeline.close();
  const rows = await store.query(
    'SELECT count() AS n, sum(hop_latency) AS lat, uniqExact(switch_id) AS sw FROM hops',
    'json',
  );
  expect(rows[0]).toMatchObject({ n: '6000', lat: String(2000 * (201 + 202 + 203)), sw: '3' });
  const paths = await store.query(
    'SELECT count() AS n, uniqExact(flow_hash) AS f FROM paths',
    'json',
  );
  expect(paths[0]).toMatchObject({ n: '2000', f: String(flows) });
  expect(pipeline.stats().rejected).toEqual({ truncated: 1 });
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
