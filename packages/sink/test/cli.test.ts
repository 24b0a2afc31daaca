/** The `hopwatch strip` and `hopwatch verify` commands (packages/cli/src/commands). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { buildIntPacket } from '@hopwatch/codec';
import { openCapture, PcapWriter } from '@hopwatch/pcap';
import { strip, STRIP_HELP } from '../../cli/src/commands/strip';
import { verify, VERIFY_HELP } from '../../cli/src/commands/verify';
import { UsageError } from '../../cli/src/errors';
import { buildTunnelPacket } from '../src';
import { flow, stack, PROBE, INT_UDP_PORT } from './helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-sink-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(
  cmd: typeof strip,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const o: string[] = [];
  const e: string[] = [];
  out.on('data', (c) => o.push(String(c)));
  err.on('data', (c) => e.push(String(c)));
  const code = await cmd(args, out, err);
  return { code, out: o.join(''), err: e.join('') };
}

function write(name: string, pkts: Uint8Array[]): string {
  const f = path.join(dir, name);
  const w = new PcapWriter(f);
  pkts.forEach((p, i) => w.write(p, 1000 + i, i * 1000));
  w.close();
  return f;
}

const dscp = { kind: 'udp-dscp' as const, dscpValue: 0x17 };
const flows = [flow(4, 17, 1), flow(6, 17, 2), flow(4, 17, 3)];
const codecArgs = ['--int-port', String(INT_UDP_PORT), '--probe-marker', PROBE];

test('strip: summary, restored packets, exit codes', async () => {
  const intPkts = flows.map((f) => buildIntPacket(f, stack('2.1', 2), dscp));
  const truncated = intPkts[0].slice(0, 60);
  const inFile = write('in.pcap', [...intPkts, buildTunnelPacket(flows[0], dscp), truncated]);
  const outFile = path.join(dir, 'out.pcap');
  const r = await run(strip, [...codecArgs, inFile, outFile]);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/5 packet\(s\): 3 stripped, 1 untouched, 1 refused/);
  expect(r.out).toMatch(/truncated\s+1/);
  const rd = openCapture(outFile);
  const got: string[] = [];
  for (let p = rd.next(); p; p = rd.next()) got.push(Buffer.from(p.data).toString('hex'));
  rd.close();
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  expect(got).toEqual([
    ...flows.map((f) => hex(buildTunnelPacket(f, dscp))),
    hex(buildTunnelPacket(flows[0], dscp)),
    hex(truncated),
  ]);

  const j = await run(strip, ['--json', '--drop-refused', '--fail-on-refused', inFile, outFile]);
  expect(j.code).toBe(1);
  expect(JSON.parse(j.out)).toMatchObject({
    packets: 5,
    stripped: 3,
    untouched: 1,
    refused: 1,
    written: 4,
  });
  expect((await run(strip, ['--help'])).out).toContain('Usage: hopwatch strip');
  expect(STRIP_HELP).toContain('--unwrap-reports');
  await expect(run(strip, [inFile])).rejects.toThrow(UsageError);
  await expect(run(strip, [path.join(dir, 'nope.pcap'), outFile])).rejects.toThrow(/no such file/);
});

test('verify: --json parseable, exit 0 on a correct device, 1 on violations, 2-class usage errors', async () => {
  const before = write(
    'b.pcap',
    flows.map((f) => buildIntPacket(f, stack('2.1', 2), dscp)),
  );
  const good = write(
    'a-good.pcap',
    [...flows].reverse().map((f) => buildIntPacket(f, stack('2.1', 3), dscp)),
  );
  const stale = write(
    'a-stale.pcap',
    flows.map((f) => buildIntPacket(f, { ...stack('2.1', 3), remainingHopCount: 6 }, dscp)),
  );
  const ok = await run(verify, [
    '--role',
    'transit',
    '--before',
    before,
    '--after',
    good,
    '--switch-id',
    '102',
    '--json',
  ]);
  expect(ok.code).toBe(0);
  const j = JSON.parse(ok.out);
  expect(j.summary).toMatchObject({ role: 'transit', ok: true, checked: 3, passed: 3 });
  expect(j.packets).toHaveLength(3);

  const bad = await run(verify, [
    '--role',
    'transit',
    '--before',
    before,
    '--after',
    stale,
    '--json',
  ]);
  expect(bad.code).toBe(1);
  const jb = JSON.parse(bad.out);
  expect(jb.summary.violations).toEqual({ 'remaining-hop-count': 3 });
  expect(jb.packets[0].violations[0].kind).toBe('remaining-hop-count');

  const text = await run(verify, ['--role', 'transit', '--before', before, '--after', stale]);
  expect(text.code).toBe(1);
  expect(text.out).toMatch(/violation remaining-hop-count/);
  expect(text.out).toMatch(/FAIL\n$/);

  const sinkOk = write(
    's-good.pcap',
    flows.map((f) => buildTunnelPacket(f, dscp)),
  );
  const s = await run(verify, ['--role', 'sink', '--before', before, '--after', sinkOk]);
  expect(s.code).toBe(0);
  expect(s.out).toMatch(/PASS\n$/);
  const sinkBad = await run(verify, [
    '--role',
    'sink',
    '--before',
    before,
    '--after',
    before,
    '--json',
  ]);
  expect(sinkBad.code).toBe(1);
  expect(JSON.parse(sinkBad.out).summary.violations['int-not-removed']).toBe(3);

  await expect(
    run(verify, ['--role', 'router', '--before', before, '--after', good]),
  ).rejects.toThrow(UsageError);
  await expect(run(verify, ['--role', 'sink', '--before', before])).rejects.toThrow(UsageError);
  expect(VERIFY_HELP).toContain('--switch-id');
});
