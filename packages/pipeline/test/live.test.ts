/**
 * `hopwatch serve --interface lo --filter BPF` as a real process: libpcap (through `cap`)
 * captures Telemetry Reports sent to a local port, the BPF filter keeps out other traffic,
 * and Ctrl-C (SIGINT) flushes and prints the summary. A child process keeps the native
 * capture module out of the test runner. Needs root and the built CLI; skipped otherwise.
 */
import { spawn } from 'child_process';
import * as dgram from 'dgram';
import * as fs from 'fs';
import * as path from 'path';
import { buildIntPacket, encodeReportPayload } from '@hopwatch/codec';
import { loadCap } from '@hopwatch/pipeline';

const CLI = path.resolve(__dirname, '../../cli/bin/hopwatch.js');
let why = '';
try {
  if (!fs.existsSync(path.resolve(__dirname, '../../cli/dist/main.js')))
    why = 'the CLI is not built (npx tsc -b)';
  else if (process.getuid && process.getuid() !== 0) why = 'live capture needs root';
  else if (
    !loadCap()
      .deviceList()
      .some((d) => d.name === 'lo')
  )
    why = 'no loopback device visible to libpcap';
} catch (e) {
  why = (e as Error).message;
}
const testIf = why ? test.skip : test;
if (why) console.warn(`live capture test skipped: ${why}`);

testIf(
  'hopwatch serve captures Telemetry Reports on lo with a BPF filter',
  async () => {
    const port = 40000 + (process.pid % 20000);
    const child = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--interface',
        'lo',
        '--filter',
        `udp dst port ${port}`,
        '--report-port',
        String(port),
        '--no-store',
        '--status-every',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await new Promise((r) => setTimeout(r, 1500)); // process start + libpcap attach
    const inner = buildIntPacket(
      {
        ipVersion: 4,
        srcAddr: '10.0.0.1',
        dstAddr: '10.0.0.2',
        protocol: 17,
        srcPort: 5,
        dstPort: 6,
      },
      {
        version: '2.1',
        mode: 'MD',
        instructionBitmap: 0xa000,
        hops: [
          { switchId: 11, hopLatency: 500 },
          { switchId: 12, hopLatency: 700 },
        ],
      },
      { kind: 'udp-dscp', dscpValue: 0x17 },
    );
    const sock = dgram.createSocket('udp4');
    for (let i = 0; i < 50; i++) {
      const p = encodeReportPayload({
        version: '2.0',
        srcAddr: '127.0.0.1',
        dstAddr: '127.0.0.1',
        dstPort: port,
        sequence: i,
        nodeId: 12,
        reports: [{ repType: 0, inType: 3, inner }],
      });
      await new Promise<void>((res) => sock.send(p, port, '127.0.0.1', () => res()));
      await new Promise<void>((res) =>
        sock.send(Buffer.from('not for us'), port + 1, '127.0.0.1', () => res()),
      ); // filtered out
    }
    sock.close();
    await new Promise((r) => setTimeout(r, 700));
    child.kill('SIGINT');
    const code = await exited;
    expect({ code, err: err.includes('Error') ? err : '' }).toEqual({ code: 0, err: '' });
    expect(out).toMatch(/Received 50 packet\(s\): 50 INT record\(s\), 100 hop\(s\)/);
    expect(out).toMatch(/Source live:lo: 50 received, 0 kernel drops/);
    expect(out).not.toMatch(/Rejected:/);
  },
  30_000,
);
