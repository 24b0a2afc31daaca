/**
 * IPFIX messages as RFC 7011 lays them out: headers, templates, sequence numbers, the size
 * limit, exact nanosecond times, and bad input refused rather than half-written.
 */
import {
  IPV4_ELEMENTS,
  IPV6_ELEMENTS,
  IpfixMessageBuilder,
  parseIpfixTarget,
  TEMPLATE_IPV4,
  TEMPLATE_IPV6,
} from '@hopwatch/flows';
import { parseAddr } from '@hopwatch/codec';
import { messageHeaders, sampleRecords } from './records';

const builder = (max?: number): IpfixMessageBuilder =>
  new IpfixMessageBuilder({ observationDomain: 7, enterprise: 32473, maxMessageBytes: max });

test('templates: both data templates, enterprise elements with their PEN', () => {
  const t = builder().templates(1_800_000_000);
  const [h] = messageHeaders(t);
  expect(h).toMatchObject({ length: t.length, sequence: 0, domain: 7 });
  expect(h.sets).toEqual([{ id: 2, length: t.length - 16 }]);
  expect(t.readUInt32BE(4)).toBe(1_800_000_000);
  // first template record: ID 256 with every IPv4 element
  expect(t.readUInt16BE(20)).toBe(TEMPLATE_IPV4);
  expect(t.readUInt16BE(22)).toBe(IPV4_ELEMENTS.length);
  expect(t.readUInt16BE(24)).toBe(8); // sourceIPv4Address
  let o = 24;
  for (const e of IPV4_ELEMENTS) {
    expect(t.readUInt16BE(o)).toBe(e.enterprise ? 0x8000 | e.id : e.id);
    expect(t.readUInt16BE(o + 2)).toBe(e.length);
    if (e.enterprise) expect(t.readUInt32BE(o + 4)).toBe(32473);
    o += e.enterprise ? 8 : 4;
  }
  expect(t.readUInt16BE(o)).toBe(TEMPLATE_IPV6);
  expect(t.readUInt16BE(o + 2)).toBe(IPV6_ELEMENTS.length);
});

test('data: every message within the size limit, sequence numbers count records sent before', () => {
  for (const max of [200, 576, 1400, 9000]) {
    const b = builder(max);
    const recs = sampleRecords(500);
    const msgs = b.data(recs, 1);
    let seq = 0;
    for (const m of msgs) {
      expect(m.buf.length).toBeLessThanOrEqual(max);
      const [h] = messageHeaders(m.buf);
      expect(h.sequence).toBe(seq);
      expect(h.sets).toHaveLength(1);
      expect([TEMPLATE_IPV4, TEMPLATE_IPV6]).toContain(h.sets[0].id);
      seq += m.records;
    }
    expect(seq).toBe(500);
    expect(b.sequence).toBe(500);
    // a template message carries the current count and does not advance it
    expect(messageHeaders(b.templates(1))[0].sequence).toBe(500);
  }
});

test('values: addresses, 64-bit counters, ms and exact ns times (NTP format), nulls as 0', () => {
  const [r] = sampleRecords(1);
  r.vlan = null;
  const [m] = builder().data([r], 1);
  const d = m.buf.subarray(20);
  expect([...d.subarray(0, 4)]).toEqual([10, 0, 0, 0]);
  expect([...d.subarray(4, 8)]).toEqual([10, 1, 0, 1]);
  let o = 8;
  const at = (name: string): number => {
    let off = 0;
    for (const e of IPV4_ELEMENTS) {
      if (e.name === name) return off;
      off += e.length;
    }
    throw new Error(name);
  };
  o = at('octetDeltaCount');
  expect(d.readBigUInt64BE(o)).toBe(BigInt(r.bytes));
  expect(d.readBigUInt64BE(at('flowStartMilliseconds'))).toBe(r.startNs / 1_000_000n);
  const ns = at('flowStartNanoseconds');
  const sec = BigInt(d.readUInt32BE(ns)) - 2208988800n;
  const frac = BigInt(d.readUInt32BE(ns + 4));
  // what a reader computes: floor(frac * 1e9 / 2^32) gives the ns back exactly
  expect(sec * 1_000_000_000n + (frac * 1_000_000_000n) / (1n << 32n)).toBe(r.startNs);
  expect(d.readUInt16BE(at('vlanId'))).toBe(0);
  expect(d.readUInt32BE(at('egressInterface'))).toBe(70000);

  const v6 = sampleRecords(4)[3];
  for (const [text, bytes] of [
    ['2001:db8::4', '20010db8000000000000000000000004'],
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
    ['::', '00000000000000000000000000000000'],
    ['fe80::1:2:3:4', 'fe800000000000000001000200030004'],
  ]) {
    v6.src = text;
    const [mm] = builder().data([v6], 1);
    expect(mm.buf.subarray(20, 36).toString('hex')).toBe(bytes);
  }
});

test('every record field is where the element table says, with the value its element gives', () => {
  const recs = sampleRecords(200);
  // edges: nothing measured, counters beyond 64 bits, fractions, the epoch's first ns
  recs.push(
    {
      ...recs[0],
      e2e: null,
      jitter: null,
      worstHop: null,
      worstHopLatency: null,
      ingressInterface: null,
      egressInterface: null,
      vlan: null,
      vni: null,
      e2eSource: 'none',
      startNs: 0n,
      endNs: 999_999_999n,
    },
    {
      ...recs[3],
      packets: 2 ** 60 + 2 ** 40,
      bytes: 1e20,
      pathChanges: 2 ** 33,
      worstHopLatency: 12.5,
      jitter: 0.49,
      startNs: 4_294_967_295_999_999_999n,
      endNs: 4_294_967_296_000_000_001n,
      path: Array.from({ length: 300 }, (_, i) => i),
    },
  );
  const msgs = builder().data(recs, 1);
  let i = 0;
  const byVersion = [4, 6].map((v) => recs.filter((r) => r.ipVersion === v));
  for (const m of msgs) {
    const [h] = messageHeaders(m.buf);
    const v6 = h.sets[0].id === TEMPLATE_IPV6;
    const els = v6 ? IPV6_ELEMENTS : IPV4_ELEMENTS;
    const mine = byVersion[v6 ? 1 : 0];
    let o = 20;
    for (let k = 0; k < m.records; k++) {
      const r = mine.shift()!;
      for (const e of els) {
        const v = e.value(r);
        const at = `${e.name} of record ${i}`;
        switch (e.type) {
          case 'ipv4Address':
            expect([...m.buf.subarray(o, o + 4)].join('.')).toBe(v);
            break;
          case 'ipv6Address':
            expect(Buffer.from(m.buf.subarray(o, o + 16))).toEqual(
              Buffer.from(parseAddr(String(v), 6)),
            );
            break;
          case 'dateTimeMilliseconds':
            expect([at, m.buf.readBigUInt64BE(o)]).toEqual([at, BigInt(v!) / 1_000_000n]);
            break;
          case 'dateTimeNanoseconds': {
            const t = BigInt(v!);
            // seconds since 1900, modulo 2^32 (NTP era)
            const sec = BigInt(m.buf.readUInt32BE(o));
            const frac = BigInt(m.buf.readUInt32BE(o + 4));
            expect([at, sec]).toEqual([at, (t / 1_000_000_000n + 2208988800n) & 0xffffffffn]);
            expect([at, frac]).toEqual([
              at,
              (((t % 1_000_000_000n) << 32n) + 999_999_999n) / 1_000_000_000n,
            ]);
            break;
          }
          case 'unsigned64': {
            const n = BigInt(Math.floor(Math.max(0, Number(v ?? 0))));
            const want = n > 0xffffffffffffffffn ? 0xffffffffffffffffn : n;
            expect([at, m.buf.readBigUInt64BE(o)]).toEqual([at, want]);
            break;
          }
          default: {
            const max = 2 ** (8 * e.length) - 1;
            const want = Math.floor(Math.min(Math.max(Number(v ?? 0), 0), max));
            expect([at, m.buf.readUIntBE(o, e.length)]).toEqual([at, want]);
          }
        }
        o += e.length;
      }
      i++;
    }
    expect(o).toBe(m.buf.length);
  }
  expect(i).toBe(recs.length);
});

test('bad input is refused whole: sizes, enterprise numbers, addresses, targets', () => {
  expect(() => builder(100)).toThrow(/message size/);
  expect(() => builder(70000)).toThrow(/message size/);
  expect(() => new IpfixMessageBuilder({ observationDomain: 1, enterprise: 0 })).toThrow(
    /enterprise/,
  );
  const [r] = sampleRecords(1);
  for (const bad of [
    '10.0.0',
    '1.2.3.4.5',
    'x',
    '300.1.1.1',
    '01.2.3.4',
    '1.2.3.4 ',
    '',
    '1..2.3',
  ]) {
    r.src = bad;
    expect(() => builder().data([r], 1)).toThrow(/not an IPv4 address/);
  }
  const r6 = sampleRecords(4)[3];
  for (const bad of ['2001:db8::1::2', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9']) {
    r6.src = bad;
    expect(() => builder().data([r6], 1)).toThrow(/not an IPv6 address/);
  }
  expect(parseIpfixTarget('127.0.0.1:4739')).toEqual({
    transport: 'udp',
    host: '127.0.0.1',
    port: 4739,
  });
  expect(parseIpfixTarget('tcp://[::1]:4739')).toEqual({
    transport: 'tcp',
    host: '::1',
    port: 4739,
  });
  for (const bad of ['127.0.0.1', 'http://x:1', 'x:0', 'x:70000', ' :1', 'a b:1'])
    expect(() => parseIpfixTarget(bad)).toThrow(/IPFIX collector/);
});
