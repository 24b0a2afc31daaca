import {
  buildIntPacket,
  decodeOne,
  ipv4HeaderChecksum,
  setL4Checksum,
  type FlowSpec,
  type IntStackSpec,
} from '@hopwatch/codec';
import {
  buildTunnelPacket,
  spliceAndFix,
  stripPacket,
  verifyPackets,
  type CapturedPacket,
  type VerifyResult,
} from '../src';
import { CASES, CONFIG, flow, hop, stack, INT_UDP_PORT } from './helpers';

const cap = (pkts: Uint8Array[]): CapturedPacket[] =>
  pkts.map((data, i) => ({ frame: i + 1, data, linkType: 1 }));
const kinds = (r: VerifyResult): string[] => Object.keys(r.summary.violations).sort();

function fixIpv4(p: Uint8Array, ipOff = 14): void {
  p[ipOff + 10] = p[ipOff + 11] = 0;
  const c = ipv4HeaderChecksum(p, ipOff);
  p[ipOff + 10] = c >>> 8;
  p[ipOff + 11] = c & 0xff;
}

/** A transit device's correct output: one more hop on top, RHC decremented. */
function transitPair(
  f: FlowSpec,
  carrier: Parameters<typeof buildIntPacket>[2],
  version: IntStackSpec['version'],
  extraAfter: Partial<IntStackSpec> = {},
): [Uint8Array, Uint8Array] {
  const b = buildIntPacket(f, stack(version, 2), carrier);
  const a = buildIntPacket(f, { ...stack(version, 3), ...extraAfter }, carrier);
  return [b, a];
}

const udpDscp = { kind: 'udp-dscp' as const, dscpValue: 0x17 };

describe('verify --role transit', () => {
  test('bmv2-style full bitmap: Hop ML governs, the unwritten fields are one warning', () => {
    const quirky = (hops: number, staleUdpLength: boolean): IntStackSpec =>
      stack('1.0', hops, {
        instructionBitmap: 0xf000,
        quirks: { advertisedBitmap: 0xffff, staleUdpLength },
      });
    const f = flow(4, 17, 1);
    const pair = (stale: boolean): VerifyResult =>
      verifyPackets(
        cap([buildIntPacket(f, quirky(2, stale), udpDscp)]),
        cap([buildIntPacket(f, quirky(3, stale), udpDscp)]),
        { role: 'transit', config: CONFIG, switchId: 102 },
      );
    const ok = pair(false);
    expect(kinds(ok)).toEqual([]);
    expect(ok.summary.warnings['hop-ml-below-bitmap']).toBe(1);
    expect(ok.summary.warnings['field-unavailable']).toBeUndefined();
    // a device that leaves the UDP length alone is still reported: verify judges devices
    const stale = pair(true);
    expect(kinds(stale)).toEqual(['length-update']);
  });

  test('correct devices: every encapsulation and version, zero violations', () => {
    const before: Uint8Array[] = [];
    const after: Uint8Array[] = [];
    let n = 0;
    for (const c of CASES) {
      for (const ipv of [4, 6] as const) {
        const [b, a] = transitPair(flow(ipv, c.protocol, n++), c.carrier(ipv), c.version);
        before.push(b);
        after.push(a);
      }
    }
    const r = verifyPackets(cap(before), cap(after), {
      role: 'transit',
      config: CONFIG,
      switchId: 102,
    });
    expect(r.packets.filter((p) => p.violations.length)).toEqual([]);
    expect(r.summary).toMatchObject({
      ok: true,
      checked: before.length,
      passed: before.length,
      failed: 0,
      missingAfter: 0,
    });
  });

  test('hop limit reached: no insertion and E set is correct; E missing is a fault', () => {
    const f = flow(4, 17, 1);
    const full = { ...stack('2.1', 2), remainingHopCount: 0 };
    const b = buildIntPacket(f, full, udpDscp);
    const good = buildIntPacket(f, { ...full, hopLimitExceeded: true }, udpDscp);
    expect(
      verifyPackets(cap([b]), cap([good]), { role: 'transit', config: CONFIG }).summary.ok,
    ).toBe(true);
    expect(kinds(verifyPackets(cap([b]), cap([b]), { role: 'transit', config: CONFIG }))).toEqual([
      'e-flag',
    ]);
    const pushed = buildIntPacket(f, { ...full, hops: [...full.hops, hop(2)] }, udpDscp);
    expect(
      kinds(verifyPackets(cap([b]), cap([pushed]), { role: 'transit', config: CONFIG })),
    ).toContain('hop-limit-ignored');
  });

  test('MTU: no insertion with M set is correct; no insertion without M is a fault', () => {
    const f = flow(6, 6, 2);
    const b = buildIntPacket(f, stack('2.1', 2), { kind: 'tcp-dscp', dscpValue: 0x17 });
    const m = buildIntPacket(
      f,
      { ...stack('2.1', 2), mtuExceeded: true },
      { kind: 'tcp-dscp', dscpValue: 0x17 },
    );
    const ok = verifyPackets(cap([b]), cap([m]), { role: 'transit', config: CONFIG });
    expect(ok.summary.ok).toBe(true);
    expect(ok.summary.warnings['mtu-skip']).toBe(1);
    expect(kinds(verifyPackets(cap([b]), cap([b]), { role: 'transit', config: CONFIG }))).toEqual([
      'no-hop-added',
    ]);
  });

  describe('injected faults are found with the right kind', () => {
    for (const [name, carrier, ipv, proto, version] of [
      ['udp-dscp v2.1', udpDscp, 4, 17, '2.1'],
      ['tcp-dscp v1.0 IPv6', { kind: 'tcp-dscp', dscpValue: 0x17 }, 6, 6, '1.0'],
      [
        'geneve v2.1',
        { kind: 'geneve', outer: { ipVersion: 4, srcAddr: '1.1.1.1', dstAddr: '2.2.2.2' } },
        4,
        17,
        '2.1',
      ],
      ['udp-port v0.5', { kind: 'udp-port', port: INT_UDP_PORT }, 4, 17, '0.5'],
    ] as const) {
      const f = flow(ipv, proto, 3);
      const run = (a: Uint8Array, switchId?: number, b?: Uint8Array): string[] =>
        kinds(
          verifyPackets(cap([b ?? transitPair(f, carrier, version)[0]]), cap([a]), {
            role: 'transit',
            config: CONFIG,
            switchId,
          }),
        );
      const good = (): Uint8Array => transitPair(f, carrier, version)[1];
      const spans = (p: Uint8Array) => decodeOne(p, 1, CONFIG).layers;
      const hdr = (p: Uint8Array) => spans(p).find((s) => /^int-(md|mx)-header/.test(s.layer))!;
      const shimLenAt = (p: Uint8Array): number => {
        const s = spans(p).find(
          (x) =>
            /^int-shim|^geneve-option$/.test(x.layer) &&
            x.start < hdr(p).start &&
            (x.layer !== 'geneve-option' || x.start + 4 === hdr(p).start),
        )!;
        return s.layer === 'int-shim-v1'
          ? s.start + 2
          : s.layer === 'geneve-option'
            ? s.start + 3
            : s.start + 1;
      };

      test(`${name}: correct → none`, () => {
        expect(run(good(), 102)).toEqual([]);
      });
      test(`${name}: IP length not updated → length-update`, () => {
        const a = good();
        const ipOff = 14;
        const hopMl = (version === '0.5' ? 6 : version === '1.0' ? 6 : 8) * 4;
        if (ipv === 4) {
          const t = ((a[ipOff + 2] << 8) | a[ipOff + 3]) - hopMl;
          a[ipOff + 2] = t >>> 8;
          a[ipOff + 3] = t & 0xff;
          fixIpv4(a);
        } else {
          const t = ((a[ipOff + 4] << 8) | a[ipOff + 5]) - hopMl;
          a[ipOff + 4] = t >>> 8;
          a[ipOff + 5] = t & 0xff;
        }
        expect(run(a)).toContain('length-update');
      });
      test(`${name}: shim/option length not updated → length-update`, () => {
        const a = good();
        const at = shimLenAt(a);
        a[at] -= version === '0.5' ? 6 : version === '1.0' ? 6 : 8;
        expect(run(a)).toContain('length-update');
      });
      test(`${name}: a requested field missing (block one word short) → hop-block-size`, () => {
        const a0 = good();
        const h = hdr(a0);
        const a = spliceAndFix(a0, spans(a0), h.end, h.end + 4);
        a[shimLenAt(a)] -= 1;
        const gen = spans(a0).find((x) => x.layer === 'geneve');
        if (gen) a[gen.start] -= 1; // the Geneve base OptLen counts the option too
        expect(run(a)).toContain('hop-block-size');
      });
      test(`${name}: stale Remaining Hop Count → remaining-hop-count`, () => {
        if (version === '0.5') {
          // v0.5 counts up: Total Hop Count not incremented
          const a = good();
          a[hdr(a).start + 3] -= 1;
          expect(run(a)).toEqual(expect.arrayContaining(['remaining-hop-count']));
          return;
        }
        const [, a] = transitPair(f, carrier, version, { remainingHopCount: 6 });
        expect(run(a)).toEqual(['remaining-hop-count']);
      });
      test(`${name}: wrong switch id → switch-id`, () => {
        expect(run(good(), 999)).toEqual(['switch-id']);
      });
      test(`${name}: new block pushed at the bottom → hop-position`, () => {
        const [, a] = transitPair(f, carrier, version, { hops: [hop(2), hop(0), hop(1)] });
        expect(run(a)).toEqual(['hop-position']);
      });
      test(`${name}: payload changed → payload-changed`, () => {
        const p = Uint8Array.from(f.payload!, (x) => x ^ 0xff);
        const a = buildIntPacket({ ...f, payload: p }, stack(version, 3), carrier);
        expect(run(a)).toContain('payload-changed');
      });
      test(`${name}: Hop ML rewritten → header-changed`, () => {
        const a = good();
        const h = hdr(a).start;
        if (version === '0.5') a[h + 1] += 1;
        else a[h + 2] += 1;
        expect(run(a)).toContain('header-changed');
      });
    }
  });

  test('reordering and missing packets on either side are tolerated (not violations unless --strict)', () => {
    const before: Uint8Array[] = [];
    const after: Uint8Array[] = [];
    for (let n = 0; n < 20; n++) {
      const [b, a] = transitPair(flow(n % 2 ? 4 : 6, 17, n), udpDscp, '2.1');
      before.push(b);
      after.push(a);
    }
    // same flow, same payload, different IP id: pairs must follow the id
    const shuffled = after
      .map((p, i) => ({ p, k: (i * 7) % 20 }))
      .sort((x, y) => x.k - y.k)
      .map((x) => x.p);
    const lostAfter = shuffled.filter((_, i) => i !== 3 && i !== 11);
    const extra = transitPair(flow(4, 17, 77), udpDscp, '2.1')[1];
    const r = verifyPackets(cap(before.filter((_, i) => i !== 5)), cap([...lostAfter, extra]), {
      role: 'transit',
      config: CONFIG,
    });
    expect(r.summary.ok).toBe(true);
    expect(r.summary).toMatchObject({
      paired: 17,
      missingAfter: 2,
      unexpectedAfter: 2,
      failed: 0,
      passed: 17,
    });
    const strict = verifyPackets(
      cap(before.filter((_, i) => i !== 5)),
      cap([...lostAfter, extra]),
      { role: 'transit', config: CONFIG, strict: true },
    );
    expect(kinds(strict)).toEqual(['missing-after', 'unexpected-after']);
  });

  test('non-INT packets before the device are skipped', () => {
    const p = buildTunnelPacket(flow(4, 17, 1), udpDscp);
    const r = verifyPackets(cap([p]), cap([p]), { role: 'transit', config: CONFIG });
    expect(r.summary).toMatchObject({ ok: true, skipped: 1, checked: 0 });
  });
});

describe('verify --role sink', () => {
  function sinkPairs(): { before: Uint8Array[]; after: Uint8Array[]; flows: FlowSpec[] } {
    const before: Uint8Array[] = [];
    const after: Uint8Array[] = [];
    const flows: FlowSpec[] = [];
    let n = 0;
    for (const c of CASES) {
      for (const ipv of [4, 6] as const) {
        const f = flow(ipv, c.protocol, n++);
        before.push(buildIntPacket(f, stack(c.version, 3), c.carrier(ipv)));
        const a = buildTunnelPacket(f, c.carrier(ipv));
        // a routing sink decrements the (outer) TTL
        if (a[14] >>> 4 === 4) {
          a[14 + 8]--;
          fixIpv4(a);
        } else a[14 + 7]--;
        after.push(a);
        flows.push(f);
      }
    }
    return { before, after, flows };
  }

  test('correct sink: every encapsulation and version, zero violations', () => {
    const { before, after } = sinkPairs();
    const r = verifyPackets(cap(before), cap(after), { role: 'sink', config: CONFIG });
    expect(r.packets.filter((p) => p.violations.length)).toEqual([]);
    expect(r.summary).toMatchObject({ ok: true, checked: before.length, passed: before.length });
  });

  const f = flow(4, 17, 5);
  const b = buildIntPacket(f, stack('2.1', 3), udpDscp);
  const good = (): Uint8Array => buildTunnelPacket(f, udpDscp);
  const run = (a: Uint8Array, bb = b): string[] =>
    kinds(verifyPackets(cap([bb]), cap([a]), { role: 'sink', config: CONFIG }));

  test('INT left untouched → int-not-removed', () => {
    expect(run(b)).toContain('int-not-removed');
  });
  test('leftover shim (stack removed, shim left, DSCP restored) → int-not-removed', () => {
    const a0 = good();
    const spans = decodeOne(a0, 1, CONFIG).layers;
    const udp = spans.find((s) => s.layer === 'udp')!;
    const a = spliceAndFix(a0, spans, udp.end, udp.end, b.subarray(udp.end, udp.end + 4));
    expect(run(a)).toEqual(['int-not-removed']);
  });
  test('DSCP not restored → dscp-not-restored', () => {
    const a = good();
    a[15] = (0x17 << 2) | (a[15] & 3);
    fixIpv4(a);
    expect(run(a)).toEqual(['dscp-not-restored']);
  });
  test('UDP port not restored (NPT=1) → port-not-restored', () => {
    const carrier = { kind: 'udp-port' as const, port: INT_UDP_PORT, npt: 1 as const };
    const bb = buildIntPacket(f, stack('2.1', 2), carrier);
    const a = buildTunnelPacket(f, carrier);
    a[14 + 20 + 2] = INT_UDP_PORT >>> 8;
    a[14 + 20 + 3] = INT_UDP_PORT & 0xff;
    a[14 + 20 + 6] = a[14 + 20 + 7] = 0;
    setL4Checksum(a.subarray(26, 30), a.subarray(30, 34), 17, a.subarray(34));
    // with the INT port restored-not, the packet looks like INT to the decoder; keyed by flow it still pairs
    expect(run(a, bb)).toContain('port-not-restored');
  });
  test('IP protocol not restored (NPT=2) → protocol-not-restored', () => {
    const carrier = { kind: 'udp-port' as const, port: INT_UDP_PORT, npt: 2 as const };
    const tf = flow(4, 6, 8);
    const bb = buildIntPacket(tf, stack('2.1', 2), carrier);
    const a = buildTunnelPacket(tf, carrier);
    a[14 + 9] = 17;
    fixIpv4(a);
    expect(run(a, bb)).toContain('protocol-not-restored');
  });
  test('wrong checksum → checksum', () => {
    const a = good();
    a[14 + 20 + 6] ^= 0x55;
    expect(run(a)).toEqual(['checksum']);
  });
  test('wrong IP length → length', () => {
    const a = good();
    a[14 + 3] += 4;
    fixIpv4(a);
    expect(run(a)).toContain('length');
  });
  test('payload changed → payload-changed', () => {
    const a = buildTunnelPacket(
      { ...f, payload: Uint8Array.from(f.payload!, (x) => x ^ 1) },
      udpDscp,
    );
    expect(run(a)).toEqual(['payload-changed']);
  });
  test('GPE next protocol not restored → next-protocol-not-restored', () => {
    const carrier = CASES.find((c) => c.name === 'vxlan-gpe v2.1')!.carrier(4);
    const bb = buildIntPacket(f, stack('2.1', 2), carrier);
    const a = buildTunnelPacket(f, carrier);
    a[14 + 20 + 8 + 3] = 0x82;
    expect(run(a, bb)).toContain('next-protocol-not-restored');
  });
  test('reference strip is exactly what verify expects', () => {
    expect(stripPacket(b, 1, CONFIG).packet).toEqual(good());
  });
});
