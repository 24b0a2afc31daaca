/** Scenario YAML, validation, the matching decoder settings, and the CLI entry point. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeConfig } from '@hopwatch/codec';
import { openCapture } from '@hopwatch/pcap';
import {
  codecOverridesFor,
  loadScenario,
  runSimulateCommand,
  ScenarioError,
  simulate,
  simulateToBuffer,
  parseLabels,
} from '../src';
import { SMALL } from './helpers';

const YAML = `
name: yaml-test
seed: 42
durationMs: 0.5
topology: { leaves: 3, spines: 2, hostsPerLeaf: 2 }
int:
  version: 1.0          # a YAML number is accepted
  encapsulation: tcp     # alias of tcp-dscp
  dscp: 0x20
  instructionBitmap: 0xF000
output: { kind: reports, reportVersion: 1.0, collectorPort: 9555 }
events:
  - { type: drop, atMs: 0.1, switchId: 102 }
`;

describe('scenarios', () => {
  test('YAML text with defaults, aliases and hex numbers', () => {
    const s = loadScenario(YAML);
    expect(s.name).toBe('yaml-test');
    expect(s.int.version).toBe('1.0');
    expect(s.int.encapsulation).toBe('tcp-dscp');
    expect(s.int.dscp).toBe(0x20);
    expect(s.int.instructionBitmap).toBe(0xf000);
    expect(s.output.reportVersion).toBe('1.0');
    expect(s.topology.spines).toBe(2);
    expect(s.topology.processingNs).toBe(300);
    expect(s.events[0]).toMatchObject({
      type: 'drop',
      switchId: 102,
      probability: 1,
      durationUs: 1000,
    });
    expect(s.epoch).toBe('2026-01-01T00:00:00Z');
  });

  test('a YAML file path', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-sim-'));
    const f = path.join(dir, 's.yaml');
    fs.writeFileSync(f, YAML);
    expect(loadScenario(f).seed).toBe(42);
    fs.rmSync(dir, { recursive: true });
  });

  test.each([
    ['unknown field', { bogus: 1 }, /unknown scenario field 'bogus'/],
    ['unknown nested field', { topology: { leafs: 2 } }, /topology: unknown field 'leafs'/],
    ['bad version', { int: { version: '3.0' } }, /int.version/],
    ['MX needs v2', { int: { version: '1.0', mode: 'MX' } }, /INT-MX needs/],
    [
      'v1.0 has no port INT',
      { int: { version: '1.0', encapsulation: 'udp-port' } },
      /no port-based INT/,
    ],
    ['GRE needs v2', { int: { version: '1.0', encapsulation: 'gre' } }, /GRE exists only in v2/],
    [
      'MX reports need v2.0',
      { int: { mode: 'MX' }, output: { kind: 'reports', reportVersion: '1.0' } },
      /INT-MX reports/,
    ],
    ['bad event type', { events: [{ type: 'earthquake' }] }, /events\[0\].type/],
    ['event past the end', { durationMs: 1, events: [{ type: 'drop', atMs: 5 }] }, /atMs/],
    [
      'loop via its destination',
      { events: [{ type: 'microloop', dstLeaf: 1, viaLeaf: 1 }] },
      /viaLeaf must differ/,
    ],
    ['reserved bitmap bits', { int: { instructionBitmap: 0x0040 } }, /reserved bits/],
  ])('rejects: %s', (_name, raw, msg) => {
    expect(() => loadScenario(raw as object)).toThrow(ScenarioError);
    expect(() => loadScenario(raw as object)).toThrow(msg as RegExp);
  });

  test('codecOverridesFor gives a valid config matching the markers and ports', () => {
    const s = loadScenario({
      int: { encapsulation: 'udp-port', udpPort: 4000, dscp: 0x11, greProtocol: 0x9999 },
      output: { collectorPort: 7777 },
    });
    const { profile, overrides } = codecOverridesFor(s);
    const cfg = makeConfig(profile, overrides);
    expect(cfg.intUdpPorts).toEqual([4000]);
    expect(cfg.dscp).toEqual({ value: 0x11, mask: 0x3f });
    expect(cfg.reportUdpPorts).toEqual([7777]);
    expect(cfg.greProtocols).toEqual([0x9999]);
  });

  test('Geneve caps the hop limit so the stack fits the 124-byte option', () => {
    const r = simulate({
      ...SMALL,
      int: { encapsulation: 'geneve', instructionBitmap: 0xf000, hopLimit: 32 },
    });
    expect(r.stats.packetsWritten).toBeGreaterThan(0);
    expect(() =>
      simulate({ ...SMALL, int: { encapsulation: 'geneve', instructionBitmap: 0xff00 } }),
    ).toThrow(/Geneve option limit/);
  });
});

describe('simulate() and the CLI', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-sim-cli-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('simulate writes pcap/pcapng and labels; limit stops early', () => {
    const out = path.join(dir, 'a.pcapng');
    const labelsFile = path.join(dir, 'a.json');
    const progress: number[] = [];
    const r = simulate(
      { name: 'lim', ...SMALL },
      { out, labels: labelsFile, limit: 100, onProgress: (n) => progress.push(n) },
    );
    expect(r.stats.packetsWritten).toBe(100);
    const reader = openCapture(out);
    let n = 0;
    let lastNs = 0n;
    for (let rec = reader.next(); rec !== null; rec = reader.next()) {
      const t = BigInt(rec.tsSec) * 1000000000n + BigInt(rec.tsNsec);
      expect(t >= lastNs).toBe(true);
      lastNs = t;
      n++;
    }
    reader.close();
    expect(n).toBe(100);
    const l = parseLabels(fs.readFileSync(labelsFile, 'utf8'));
    expect(l.packets).toBe(100);
    // the same run in memory is byte-identical to the file
    const mem = simulateToBuffer({ name: 'lim', ...SMALL }, { limit: 100, format: 'pcapng' });
    expect(mem.capture.equals(fs.readFileSync(out))).toBe(true);
  });

  test('runSimulateCommand', async () => {
    const scen = path.join(dir, 's.yaml');
    fs.writeFileSync(scen, YAML);
    const out = path.join(dir, 'cli.pcap');
    const labels = path.join(dir, 'cli.json');
    const io = { o: '', e: '', out: (s: string) => (io.o += s), err: (s: string) => (io.e += s) };
    expect(
      await runSimulateCommand([scen, '--out', out, '--labels', labels, '--seed', '7'], io),
    ).toBe(0);
    expect(io.e).toMatch(/yaml-test: 0 packets, \d+ reports/);
    expect(fs.statSync(out).size).toBeGreaterThan(1000);
    expect(JSON.parse(fs.readFileSync(labels, 'utf8')).seed).toBe(7);
    io.o = '';
    expect(await runSimulateCommand([scen, '--print-config'], io)).toBe(0);
    expect(JSON.parse(io.o).overrides.reportUdpPorts).toEqual([9555]);
    expect(await runSimulateCommand([scen, '--bogus'], io)).toBe(2);
    expect(io.e).not.toContain('\r'); // not a terminal: no progress rewritten in place
    io.e = '';
    expect(await runSimulateCommand([path.join(dir, 'missing.yaml'), '--out', out], io)).toBe(2);
    expect(io.e).toMatch(/missing\.yaml: no such file/);
    io.e = '';
    expect(await runSimulateCommand([scen], io)).toBe(2); // nothing asked for, nothing written
    expect(io.e).toMatch(/nothing to write/);
    expect(await runSimulateCommand([scen, '--out', out, '--limit', 'abc'], io)).toBe(2);
    expect(await runSimulateCommand(['--help'], io)).toBe(0);
    // an output that is the scenario or another output is refused before anything is written
    const alias = path.join(dir, 'alias.yaml');
    fs.symlinkSync(scen, alias);
    for (const args of [
      ['--out', scen],
      ['--labels', alias],
      ['--out', out, '--before', `${dir}/./cli.pcap`],
    ]) {
      io.e = '';
      expect(await runSimulateCommand([scen, ...args], io)).toBe(2);
      expect(io.e).toMatch(/same file/);
    }
    expect(fs.readFileSync(scen, 'utf8')).toBe(YAML);
    // flag values are usage errors too (2), before anything is sent or written
    for (const args of [
      ['--format', 'pcapx'],
      ['--live', '127.0.0.1:99999'],
      ['--live', '127.0.0.1:9', '--rate', 'abc'],
      ['--live', '127.0.0.1:9', '--before', out],
    ])
      expect(await runSimulateCommand([scen, ...args], io)).toBe(2);
    // outputs go through a temporary file beside them: none is left behind
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.hopwatch-'))).toEqual([]);
  });

  test('live: reports sent to a UDP socket on loopback', async () => {
    const dgram = await import('dgram');
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
    const port = (sock.address() as { port: number }).port;
    const got: Buffer[] = [];
    sock.on('message', (m) => got.push(m));
    const { simulateLive } = await import('../src');
    const r = await simulateLive(
      { ...SMALL, output: { kind: 'reports' } },
      { target: `127.0.0.1:${port}`, rate: 50000, limit: 200 },
    );
    await new Promise((res) => setTimeout(res, 100));
    sock.close();
    expect(r.sent).toBe(200);
    expect(got.length).toBeGreaterThan(150); // loopback UDP may drop a few under load
    expect(got[0][0] >> 4).toBe(2); // TR v2.0
  });
});
