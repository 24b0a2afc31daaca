import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  buildIntPacket,
  buildPlainPacket,
  buildReport,
  Decoder,
  decodeOne,
  l4Checksum,
  onesSum,
  type FlowSpec,
} from '@hopwatch/codec';
import { openCapture, PcapngWriter, PcapWriter } from '@hopwatch/pcap';
import { buildTunnelPacket, spliceAndFix, stripCapture, stripPacket } from '../src';
import { CASES, checkAllChecksums, CONFIG, flow, OUTER4, OUTER6, stack } from './helpers';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const dec = new Decoder(CONFIG);

describe('stripPacket: strip(after INT) == before, byte for byte', () => {
  for (const c of CASES) {
    for (const ipv of [4, 6] as const) {
      for (const hops of [0, 1, 3]) {
        test(`${c.name} IPv${ipv}, ${hops} hop(s)`, () => {
          const f = flow(ipv, c.protocol, hops);
          const carrier = c.carrier(ipv);
          const before = buildTunnelPacket(f, carrier);
          const after = buildIntPacket(f, stack(c.version, hops), carrier);
          expect(decodeOne(after, 1, dec).records).toHaveLength(1);
          const r = stripPacket(after, 1, dec);
          expect(r.reason).toBeUndefined();
          expect(r.result).toBe('stripped');
          expect(hex(r.packet)).toBe(hex(before));
          expect(r.removed).toBe(after.length - before.length);
          expect(checkAllChecksums(r.packet)).toEqual([]);
        });
      }
    }
  }

  test('DSCP-marked INT inside a Geneve overlay without INT option (INT at depth 1)', () => {
    for (const ipv of [4, 6] as const) {
      const f = flow(ipv, 17, 6);
      const carrier = {
        kind: 'geneve' as const,
        outer: ipv === 4 ? { ...OUTER4, udpChecksum: true } : OUTER6,
      };
      const before = buildTunnelPacket(f, carrier);
      const spans = decodeOne(before, 1, dec).layers;
      const innerEth = spans.find((s) => s.layer === 'ethernet' && s.depth === 1)!;
      const innerInt = buildIntPacket(f, stack('2.1', 2), { kind: 'udp-dscp', dscpValue: 0x17 });
      const after = spliceAndFix(before, spans, innerEth.start, before.length, innerInt);
      expect(checkAllChecksums(after)).toEqual([]);
      const r = stripPacket(after, 1, dec);
      expect(r.result).toBe('stripped');
      expect(hex(r.packet)).toBe(hex(before));
    }
  });

  test('INT-MX (v2.1) over DSCP', () => {
    const f = flow(4, 17, 1);
    const after = buildIntPacket(
      f,
      { version: '2.1', mode: 'MX', instructionBitmap: 0xff00, hops: [] },
      { kind: 'udp-dscp', dscpValue: 0x17 },
    );
    const r = stripPacket(after, 1, dec);
    expect(r.result).toBe('stripped');
    expect(hex(r.packet)).toBe(hex(buildPlainPacket(f)));
  });

  test('original DSCP 0 (not carried in the shim) comes back as 0', () => {
    const f = { ...flow(6, 6, 2), dscp: 0 };
    for (const v of ['1.0', '2.1'] as const) {
      const after = buildIntPacket(f, stack(v, 2), { kind: 'tcp-dscp', dscpValue: 0x17 });
      expect(hex(stripPacket(after, 1, dec).packet)).toBe(hex(buildPlainPacket(f)));
    }
  });

  test('UDP checksum 0 (unused) stays 0', () => {
    const f = flow(4, 17, 3);
    const before = buildPlainPacket(f);
    const after = buildIntPacket(f, stack('2.1', 2), { kind: 'udp-dscp', dscpValue: 0x17 });
    before[14 + 20 + 6] = before[14 + 20 + 7] = 0;
    after[14 + 20 + 6] = after[14 + 20 + 7] = 0;
    expect(hex(stripPacket(after, 1, dec).packet)).toBe(hex(before));
  });

  test('checksum complement: the source left the L4 checksum alone; the sink keeps it', () => {
    const f = flow(4, 17, 4);
    const before = buildPlainPacket(f);
    const origCk = (before[40] << 8) | before[41];
    // a source using the complement: INT inserted, UDP checksum field unchanged, complement
    // chosen so that the checksum still verifies
    const spec = { ...stack('2.1', 1), instructionBitmap: 0x8001 };
    spec.hops = [{ switchId: 7, checksumComplement: 0 }];
    const after = buildIntPacket(f, spec, { kind: 'udp-dscp', dscpValue: 0x17 });
    const l4 = 34;
    after[l4 + 6] = origCk >>> 8;
    after[l4 + 7] = origCk & 0xff;
    // find the complement word (last word of the top hop block) and solve for it
    const shim = l4 + 8;
    const compAt = shim + 4 + 12 + 4; // shim, header, switch id, then the complement
    const seg = after.subarray(l4);
    const src = after.subarray(26, 30);
    const dst = after.subarray(30, 34);
    // want: checksum over (pseudo + seg) == origCk, i.e. the sum without the complement word + comp == ~origCk
    const need = ~origCk & 0xffff;
    after[l4 + 6] = after[l4 + 7] = 0;
    after.fill(0, compAt, compAt + 4);
    let fold = onesSum(src, 0, 4, 0);
    fold = onesSum(dst, 0, 4, fold);
    fold += 17 + seg.length;
    fold = onesSum(seg, 0, seg.length, fold);
    while (fold > 0xffff) fold = (fold & 0xffff) + Math.floor(fold / 0x10000);
    // complement = need - fold (one's complement arithmetic), in the low 16 bits
    let c = need + (~fold & 0xffff);
    while (c > 0xffff) c = (c & 0xffff) + (c >>> 16);
    after[l4 + 6] = origCk >>> 8;
    after[l4 + 7] = origCk & 0xff;
    after[compAt + 2] = c >>> 8;
    after[compAt + 3] = c & 0xff;
    expect(l4Checksum(src, dst, 17, seg)).toBe(origCk);
    const rec = decodeOne(after, 1, dec).records[0];
    expect(rec.hops[0].checksumComplement).not.toBeNull();
    const r = stripPacket(after, 1, dec);
    expect(hex(r.packet)).toBe(hex(before));
  });
});

test('the input is never modified (also when it is a Buffer view into a capture chunk)', () => {
  const after = buildIntPacket(flow(4, 17, 1), stack('2.1', 2), {
    kind: 'udp-port',
    port: 5555,
    npt: 1,
  });
  const chunk = Buffer.concat([Buffer.alloc(7), Buffer.from(after)]);
  const view = chunk.subarray(7);
  const copy = Buffer.from(view);
  expect(stripPacket(view, 1, dec).result).toBe('stripped');
  expect(view.equals(copy)).toBe(true);
});

describe('stripPacket: untouched and refused', () => {
  test('plain packets and tunnels without INT are untouched, byte-identical', () => {
    const f = flow(4, 17, 9);
    for (const p of [
      buildPlainPacket(f),
      buildPlainPacket(flow(6, 6, 9)),
      buildTunnelPacket(f, {
        kind: 'geneve',
        outer: { ipVersion: 4, srcAddr: '1.1.1.1', dstAddr: '2.2.2.2' },
      }),
      Uint8Array.of(1, 2, 3),
    ]) {
      const r = stripPacket(p, 1, dec);
      expect(r.result).toBe('untouched');
      expect(r.packet).toBe(p);
    }
  });

  test('Telemetry Reports are untouched by default, unwrapped on request', () => {
    const f = flow(4, 17, 5);
    const inner = buildIntPacket(f, stack('2.1', 2), { kind: 'udp-dscp', dscpValue: 0x17 });
    const report = buildReport({
      version: '2.0',
      srcAddr: '10.9.9.9',
      dstAddr: '10.9.9.10',
      dstPort: 32766,
      sequence: 1,
      nodeId: 9,
      reports: [{ repType: 1, inType: 3, repMdBits: 0x8000, metadata: { switchId: 9 }, inner }],
    });
    expect(stripPacket(report, 1, dec).result).toBe('untouched');
    const r = stripPacket(report, 1, dec, { unwrapReports: true });
    expect(r.result).toBe('stripped');
    expect(r.unwrapped).toHaveLength(1);
    expect(hex(r.unwrapped![0])).toBe(hex(buildPlainPacket(f)));
  });

  test('truncated INT is refused with a reason, packet unchanged', () => {
    const after = buildIntPacket(flow(4, 17, 1), stack('2.1', 3), {
      kind: 'udp-dscp',
      dscpValue: 0x17,
    });
    const cut = after.slice(0, 14 + 20 + 8 + 30);
    const r = stripPacket(cut, 1, dec);
    expect(r.result).toBe('refused');
    expect(r.reason).toMatch(/truncated/);
    expect(r.packet).toBe(cut);
  });

  test('snaplen-truncated payload is refused (checksum cannot be recomputed)', () => {
    const after = buildIntPacket(flow(4, 17, 1), stack('2.1', 1), {
      kind: 'udp-dscp',
      dscpValue: 0x17,
    });
    const r = stripPacket(after.slice(0, after.length - 5), 1, dec);
    expect(r.result).toBe('refused');
    expect(r.reason).toMatch(/truncated/);
  });

  test('unknown INT version is refused', () => {
    const after = buildIntPacket(flow(4, 17, 1), stack('2.1', 1), {
      kind: 'udp-dscp',
      dscpValue: 0x17,
    });
    after[14 + 20 + 8 + 4] = 0x70; // INT header Ver = 7
    const r = stripPacket(after, 1, dec);
    expect(r.result).toBe('refused');
    expect(r.reason).toMatch(/unknown-int-version/);
  });

  test('length inconsistencies and the D bit are refused', () => {
    const after = buildIntPacket(flow(4, 17, 1), stack('2.1', 1), {
      kind: 'udp-dscp',
      dscpValue: 0x17,
    });
    const bad = after.slice();
    bad[14 + 20 + 5] += 4; // UDP length off by 4
    expect(stripPacket(bad, 1, dec).reason).toMatch(/udp-length-mismatch/);
    const disc = buildIntPacket(flow(4, 17, 1), stack('2.1', 1, { discard: true }), {
      kind: 'udp-dscp',
      dscpValue: 0x17,
    });
    expect(stripPacket(disc, 1, dec).reason).toMatch(/D bit/);
    expect(stripPacket(disc, 1, dec, { keepDiscard: true }).result).toBe('stripped');
  });
});

describe('stripCapture', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-sink-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function build(): { before: Uint8Array[]; after: Uint8Array[] } {
    const before: Uint8Array[] = [];
    const after: Uint8Array[] = [];
    let n = 0;
    for (const c of CASES) {
      for (const ipv of [4, 6] as const) {
        const f: FlowSpec = flow(ipv, c.protocol, n++);
        const carrier = c.carrier(ipv);
        before.push(buildTunnelPacket(f, carrier));
        after.push(buildIntPacket(f, stack(c.version, 2), carrier));
      }
    }
    // plain traffic in between
    before.push(buildPlainPacket(flow(4, 6, 99)));
    after.push(buildPlainPacket(flow(4, 6, 99)));
    return { before, after };
  }

  for (const fmt of ['pcap', 'pcapng'] as const) {
    test(`${fmt}: every packet restored, timestamps and link type kept, tshark finds no bad checksum`, () => {
      const { before, after } = build();
      const inFile = path.join(dir, `in.${fmt}`);
      const outFile = path.join(dir, `out.${fmt}`);
      const w =
        fmt === 'pcap' ? new PcapWriter(inFile, { resolution: 'ns' }) : new PcapngWriter(inFile);
      after.forEach((p, i) => w.write(p, 1700000000 + i, 123456789));
      w.close();
      const sum = stripCapture(inFile, outFile, { config: CONFIG });
      expect(sum).toMatchObject({
        packets: after.length,
        stripped: after.length - 1,
        untouched: 1,
        refused: 0,
        written: after.length,
      });
      const r = openCapture(outFile);
      let i = 0;
      for (let p = r.next(); p; p = r.next(), i++) {
        expect(hex(p.data)).toBe(hex(before[i]));
        expect(p.tsSec).toBe(1700000000 + i);
        expect(p.tsNsec).toBe(123456789);
        expect(p.linkType).toBe(1);
        expect(checkAllChecksums(p.data)).toEqual([]);
      }
      r.close();
      expect(i).toBe(before.length);
      tshark(outFile, before.length);
    });
  }

  function tshark(file: string, packets: number): void {
    if (!fs.existsSync('/usr/bin/tshark')) {
      console.warn('tshark not installed: skipping the independent checksum check');
      return;
    }
    const out = execFileSync(
      '/usr/bin/tshark',
      [
        '-r',
        file,
        '-o',
        'ip.check_checksum:TRUE',
        '-o',
        'udp.check_checksum:TRUE',
        '-o',
        'tcp.check_checksum:TRUE',
        '-T',
        'fields',
        '-e',
        'ip.checksum.status',
        '-e',
        'udp.checksum.status',
        '-e',
        'tcp.checksum.status',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(packets);
    const statuses = lines.flatMap((l) => l.split(/[\t,]/)).filter((s) => s !== '');
    expect(statuses.length).toBeGreaterThan(packets);
    expect(statuses.filter((s) => s === '2')).toEqual([]);
    expect(statuses.filter((s) => s === '1').length).toBeGreaterThan(packets);
  }
});
