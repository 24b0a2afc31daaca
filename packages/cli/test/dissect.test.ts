import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { dissect } from '../src/commands/dissect';
import { UsageError } from '../src/errors';

const DIR = path.resolve(__dirname, '../../../../shared/captures');
const have = fs.existsSync(DIR);
const testIf = have ? test : test.skip;

async function runDissect(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: string[] = [];
  const echunks: string[] = [];
  out.on('data', (c) => chunks.push(String(c)));
  err.on('data', (c) => echunks.push(String(c)));
  const code = await dissect(args, out, err);
  return { code, out: chunks.join(''), err: echunks.join('') };
}

testIf('--json: one line per record, travel-order hops, exact fields', async () => {
  const file = path.join(DIR, 'prometheus-int-exporter_tr-v0.5_int-v0.5.pcap');
  const r = await runDissect(['--json', '--profile', 'onos-v0.5', file]);
  expect(r.code).toBe(0);
  const lines = r.out.trim().split('\n');
  expect(lines).toHaveLength(1);
  const rec = JSON.parse(lines[0]);
  expect(rec).toMatchObject({
    frame: 1,
    encapsulation: 'tcp-dscp',
    intVersion: '0.5',
    mode: 'MD',
    instructionBitmap: 0x8000,
    hopMl: 1,
    report: { version: '0.5', hwId: 1, sequence: 0 },
    flow: { srcAddr: '10.0.1.1', dstAddr: '10.0.2.3', srcPort: 63804, dstPort: 1234, protocol: 6 },
    findings: [],
  });
  expect(rec.hops.map((h: { switchId: number }) => h.switchId)).toEqual([1, 3, 2]);
  expect(rec.hops[0]).toHaveProperty('hopLatency', null);
  // exact 64-bit time, not a rounded float
  expect(lines[0]).toContain('"timeNs":1518507719283993000');
  expect(r.err).toMatch(/Summary: 1 packet\(s\), 1 INT record\(s\)/);
});

testIf('rejected packets appear with their reason; the summary counts them', async () => {
  const file = path.join(DIR, 'laofan13-p4-int_int-mx_s1-eth1_in.pcap');
  const r = await runDissect(['--json', '--profile', 'bmv2-int-mx', file]);
  const objs = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(objs.length).toBeGreaterThan(0);
  for (const o of objs) expect(o.rejected).toBe('not-int');
  expect(r.err).toMatch(/rejections by reason:\n\s+not-int\s+\d+/);
});

testIf('text output names every layer and INT field, and the summary lists findings', async () => {
  const file = path.join(DIR, 'laofan13-p4-int_int-mx_s2-cpu-eth0_out.pcap');
  const r = await runDissect(['--profile', 'bmv2-int-mx', file]);
  for (const s of [
    'Telemetry Report group header (v2.0)',
    'Node id: 2',
    'Individual report (v2.0)',
    'INT shim (v2.x, TCP/UDP)',
    'INT-MX header (v2.x)',
    'Instruction bitmap: 0xff00',
    'Hop 0: switch 2',
    'finding mx-header-with-metadata',
    'findings by kind:',
  ]) {
    expect(r.out).toContain(s);
  }
});

test('bad options give a usage error', async () => {
  await expect(runDissect(['--dscp', '99', 'x.pcap'])).rejects.toThrow(UsageError);
  await expect(runDissect(['--profile', 'nope', 'x.pcap'])).rejects.toThrow(
    /unknown profile 'nope'/,
  );
  await expect(runDissect([])).rejects.toThrow(/no capture file/);
});

test('a file that is not a capture is reported with exit 3, a missing one is a usage error', async () => {
  const tmp = path.join(os.tmpdir(), `hw-bad-${process.pid}.pcap`);
  fs.writeFileSync(tmp, Buffer.from('not a capture at all, just text'));
  await expect(runDissect([tmp, '/nonexistent/file.pcap'])).rejects.toThrow(
    /\/nonexistent\/file.pcap: no such file/,
  );
  const r = await runDissect([tmp]);
  fs.unlinkSync(tmp);
  expect(r.code).toBe(3);
  expect(r.err).toContain(tmp);
});
