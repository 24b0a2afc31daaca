/**
 * Live capture through libpcap (`cap`) on the loopback interface, with a BPF filter: Telemetry
 * Reports sent to a local port are captured, decoded and counted. Needs root (CI runs as root)
 * and the native module; skipped with a message otherwise.
 */
import * as dgram from 'dgram';
import { buildIntPacket, encodeReportPayload, makeConfig } from '@hopwatch/codec';
import { LiveCaptureSource, loadCap, Pipeline } from '@hopwatch/pipeline';

let why = '';
try {
  const cap = loadCap();
  if (!cap.deviceList().some((d) => d.name === 'lo')) why = 'no loopback device visible to libpcap';
  if (process.getuid && process.getuid() !== 0) why = 'live capture needs root';
} catch (e) {
  why = (e as Error).message;
}
const testIf = why ? test.skip : test;
if (why) console.warn(`live capture test skipped: ${why}`);

testIf('captures Telemetry Reports on lo with a BPF filter', async () => {
  const port = 40000 + (process.pid % 20000);
  const pipeline = new Pipeline({ codec: makeConfig('spec', { reportUdpPorts: [port] }), store: null, live: true, batchRecords: 16 });
  const src = new LiveCaptureSource({ device: 'lo', filter: `udp dst port ${port}` });
  const ac = new AbortController();
  const running = src.run(pipeline, ac.signal);
  await new Promise((r) => setTimeout(r, 300)); // let libpcap attach
  const inner = buildIntPacket(
    { ipVersion: 4, srcAddr: '10.0.0.1', dstAddr: '10.0.0.2', protocol: 17, srcPort: 5, dstPort: 6 },
    { version: '2.1', mode: 'MD', instructionBitmap: 0xa000, hops: [{ switchId: 11, hopLatency: 500 }, { switchId: 12, hopLatency: 700 }] },
    { kind: 'udp-dscp', dscpValue: 0x17 },
  );
  const sock = dgram.createSocket('udp4');
  const other = dgram.createSocket('udp4');
  for (let i = 0; i < 50; i++) {
    const p = encodeReportPayload({ version: '2.0', srcAddr: '127.0.0.1', dstAddr: '127.0.0.1', dstPort: port, sequence: i, nodeId: 12, reports: [{ repType: 0, inType: 3, inner }] });
    await new Promise<void>((res) => sock.send(p, port, '127.0.0.1', () => res()));
    await new Promise<void>((res) => other.send(Buffer.from('not for us'), port + 1, '127.0.0.1', () => res())); // filtered out
  }
  await new Promise((r) => setTimeout(r, 500));
  ac.abort();
  await running;
  await pipeline.close();
  sock.close();
  other.close();
  const st = src.stats();
  expect(st.received).toBe(50); // the BPF filter kept only the report port
  const ps = pipeline.stats();
  expect(ps.records).toBe(50);
  expect(ps.hops).toBe(100);
  expect(ps.rejected).toEqual({});
});
