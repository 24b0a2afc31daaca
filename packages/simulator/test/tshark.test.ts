/**
 * Wireshark's dissectors agree the generated frames are well formed: no malformed packets and
 * no expert errors (IPv4/UDP/TCP checksums verified) in Ethernet/IP/UDP/TCP/Geneve/VXLAN/GRE.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { simulate } from '../src';
import { SMALL } from './helpers';

const TSHARK = '/usr/bin/tshark';
const haveTshark = fs.existsSync(TSHARK);
if (!haveTshark) {
  console.warn(`tshark not found at ${TSHARK}: skipping the Wireshark conformance tests`);
}
const maybe = haveTshark ? describe : describe.skip;

const CASES: [string, object][] = [
  ['udp-dscp v2.1 MD', { int: { encapsulation: 'udp-dscp', version: '2.1' } }],
  ['tcp-dscp v2.1 MD', { int: { encapsulation: 'tcp-dscp', version: '2.1' } }],
  ['udp-port v2.1 MD', { int: { encapsulation: 'udp-port', version: '2.1' } }],
  [
    'geneve v2.1 MD',
    { int: { encapsulation: 'geneve', version: '2.1', instructionBitmap: 0xf000 } },
  ],
  ['vxlan-gpe v2.1 MD', { int: { encapsulation: 'vxlan-gpe', version: '2.1' } }],
  ['gre v2.1 MD', { int: { encapsulation: 'gre', version: '2.1' } }],
  ['udp-dscp v1.0 MD', { int: { encapsulation: 'udp-dscp', version: '1.0' } }],
  [
    'geneve v1.0 MD',
    { int: { encapsulation: 'geneve', version: '1.0', instructionBitmap: 0xf000 } },
  ],
  ['vxlan-gpe v1.0 MD', { int: { encapsulation: 'vxlan-gpe', version: '1.0' } }],
  ['udp-dscp v0.5 MD', { int: { encapsulation: 'udp-dscp', version: '0.5' } }],
  ['udp-port v0.5 MD', { int: { encapsulation: 'udp-port', version: '0.5' } }],
  ['udp-dscp v2.1 MX', { int: { encapsulation: 'udp-dscp', version: '2.1', mode: 'MX' } }],
  ['geneve v2.1 MX', { int: { encapsulation: 'geneve', version: '2.1', mode: 'MX' } }],
  ['TR v2.0 (MD)', { output: { kind: 'reports', reportVersion: '2.0' } }],
  ['TR v2.0 (MX)', { int: { mode: 'MX' }, output: { kind: 'reports', reportVersion: '2.0' } }],
  ['TR v1.0', { output: { kind: 'reports', reportVersion: '1.0' } }],
  ['TR v0.5', { output: { kind: 'reports', reportVersion: '0.5' } }],
  [
    'TR v2.0 over tcp-dscp, pcapng',
    {
      int: { encapsulation: 'tcp-dscp' },
      output: { kind: 'reports', reportVersion: '2.0', format: 'pcapng' },
    },
  ],
];

// Wireshark has no INT/Telemetry Report dissector: the report headers are offered to its UDP
// heuristics and the DNS one claims some TR v1.0 headers, so it is disabled. (VXLAN-GPE next
// protocol 0x05, INT v0.5's code point, is MPLS to Wireshark; that case is not run here.)
const BASE_ARGS = [
  '-o',
  'ip.check_checksum:TRUE',
  '-o',
  'udp.check_checksum:TRUE',
  '-o',
  'tcp.check_checksum:TRUE',
  '--disable-heuristic',
  'dns_udp',
];

maybe('tshark finds no malformed packets or expert errors', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-sim-tshark-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test.each(CASES)('%s', (name, extra) => {
    const file = path.join(
      dir,
      name.replace(/[^a-z0-9.]+/gi, '_') +
        ((extra as { output?: { format?: string } }).output?.format === 'pcapng'
          ? '.pcapng'
          : '.pcap'),
    );
    const r = simulate(
      {
        name,
        seed: 21,
        ...SMALL,
        events: [{ type: 'drop', atMs: 0.3, durationUs: 50, switchId: 101 }],
        ...extra,
      },
      { out: file },
    );
    const records = r.stats.packetsWritten + r.stats.reportsWritten;
    expect(records).toBeGreaterThan(50);
    const bad = execFileSync(
      TSHARK,
      ['-r', file, ...BASE_ARGS, '-Y', '_ws.malformed || _ws.expert.severity >= error'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    expect(bad.trim()).toBe('');
    const expert = execFileSync(TSHARK, ['-r', file, ...BASE_ARGS, '-q', '-z', 'expert,error'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(expert).not.toMatch(/Errors \([1-9]/);
    const frames = execFileSync(TSHARK, ['-r', file, '-T', 'fields', '-e', 'frame.protocols'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .trim()
      .split('\n');
    expect(frames.length).toBe(records);
    // the encapsulation is dissected as such (Wireshark 4.0's VXLAN-GPE dissector declines the
    // INT next-protocol code points 0x08/0x80/0x82, so those frames stay UDP data)
    const want = name.startsWith('geneve')
      ? 'geneve'
      : name.startsWith('gre')
        ? 'gre'
        : name.startsWith('tcp')
          ? 'tcp'
          : 'udp';
    expect(frames.every((p) => p.includes(want))).toBe(true);
  });
});
