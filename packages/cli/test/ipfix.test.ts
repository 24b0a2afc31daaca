/**
 * `hopwatch replay captures/demo-fabric.pcap --ipfix …` as a user runs it: the flow records
 * GoFlow2 and nfcapd store, and those tshark decodes from the wire, carry the values
 * `hopwatch query --named top_flows` shows for the same replay. Real collectors on 127.0.0.1
 * (deploy/services.sh install collectors); skipped without them unless
 * HOPWATCH_REQUIRE_SERVICES=1 (CI).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as dgram from 'dgram';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  captureLoopback,
  collectorsAvailable,
  freePorts,
  startGoflow2,
  startNfcapd,
} from '@hopwatch/testkit';
import { built, CLI, ROOT } from './serve-process';

const avail = collectorsAvailable();
const ready = built && avail.nfcapd && avail.goflow2 && avail.tshark;
if (!ready && process.env.HOPWATCH_REQUIRE_SERVICES === '1')
  throw new Error(`IPFIX test needs the collectors and a build: ${JSON.stringify(avail)}`);
const maybe = ready ? test : test.skip;

interface TopFlow {
  src: string;
  dst: string;
  src_port: number;
  dst_port: number;
  protocol: number;
  flow_packets: string;
  flow_bytes: string;
  first_ns: string;
  last_ns: string;
  intervals: string;
}

maybe(
  'replay --ipfix: GoFlow2, nfdump and tshark see the flows of top_flows',
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-ipfix-'));
    const gf = await startGoflow2();
    const nf = await startNfcapd();
    const [wirePort] = await freePorts(1);
    const sink = dgram.createSocket('udp4');
    await new Promise<void>((r) => sink.bind(wirePort, '127.0.0.1', () => r()));
    const cap = await captureLoopback(wirePort);
    const run = spawnSync(
      process.execPath,
      [
        CLI,
        'replay',
        '--data-dir',
        path.join(dir, 'data'),
        '--ipfix',
        `127.0.0.1:${gf.port}`,
        '--ipfix',
        `udp://127.0.0.1:${nf.port}`,
        '--ipfix',
        `127.0.0.1:${wirePort}`,
        path.join(ROOT, 'captures/demo-fabric.pcap'),
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(
      /IPFIX udp:\/\/127\.0\.0\.1:\d+: (\d+) records in \d+ messages, 0 dropped, 0 send errors/,
    );
    await new Promise((r) => setTimeout(r, 500));
    const wire = await cap.stop();
    sink.close();
    const [goflows, nfflows] = await Promise.all([gf.stop(), nf.stop()]);
    const q = spawnSync(
      process.execPath,
      [
        CLI,
        'query',
        '--data-dir',
        path.join(dir, 'data'),
        '--format',
        'json',
        '--named',
        'top_flows',
        '--param',
        'limit=100000',
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(q.status).toBe(0);
    const top = JSON.parse(q.stdout) as TopFlow[];
    expect(top.length).toBeGreaterThan(100);
    const key = (s: string, sp: number, d: string, dp: number, p: number): string =>
      `${s}:${sp}>${d}:${dp}/${p}`;
    const want = new Map(
      top.map((f) => [key(f.src, f.src_port, f.dst, f.dst_port, f.protocol), f]),
    );
    // the demo capture lasts 3 ms: one interval per flow
    expect(top.every((f) => f.intervals === '1')).toBe(true);

    expect(goflows).toHaveLength(top.length);
    for (const g of goflows) {
      const f = want.get(
        key(g.src_addr, g.src_port, g.dst_addr, g.dst_port, g.proto === 'UDP' ? 17 : 6),
      )!;
      expect(f).toBeDefined();
      expect(String(g.packets)).toBe(f.flow_packets);
      expect(String(g.bytes)).toBe(f.flow_bytes);
      expect(String(g.time_flow_start_ns)).toBe(f.first_ns);
      expect(String(g.time_flow_end_ns)).toBe(f.last_ns);
    }

    expect(nfflows).toHaveLength(top.length);
    for (const n of nfflows) {
      const f = want.get(key(n.src4_addr!, n.src_port, n.dst4_addr!, n.dst_port, n.proto))!;
      expect(f).toBeDefined();
      expect(String(n.in_packets)).toBe(f.flow_packets);
      expect(String(n.in_bytes)).toBe(f.flow_bytes);
      const ms = Number(BigInt(f.first_ns) / 1_000_000n);
      expect(n.first).toBe(new Date(ms).toISOString().replace('Z', ''));
    }

    const out = execFileSync(
      'tshark',
      [
        '-r',
        wire,
        '-d',
        `udp.port==${wirePort},cflow`,
        '-T',
        'fields',
        '-E',
        'occurrence=a',
        '-E',
        'aggregator=;',
        '-e',
        'cflow.srcaddr',
        '-e',
        'cflow.srcport',
        '-e',
        'cflow.packets',
        '-e',
        '_ws.malformed',
        '-e',
        '_ws.expert.severity',
        '-Y',
        'cflow',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    fs.rmSync(wire, { force: true });
    let records = 0;
    for (const line of out.split('\n').filter(Boolean)) {
      const [srcs, ports, pkts, malformed, severity] = line.split('\t');
      expect(malformed ?? '').toBe('');
      expect(severity ?? '').toBe('');
      if (!srcs) continue; // the template message
      const s = srcs.split(';');
      const p = ports.split(';');
      const k = pkts.split(';');
      s.forEach((src, i) => {
        const f = top.find((x) => x.src === src && String(x.src_port) === p[i]);
        expect(f?.flow_packets).toBe(k[i]);
        records++;
      });
    }
    expect(records).toBe(top.length);
    fs.rmSync(dir, { recursive: true, force: true });
  },
  180_000,
);
