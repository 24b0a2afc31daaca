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

test('bad input is refused whole: sizes, enterprise numbers, addresses, targets', () => {
  expect(() => builder(100)).toThrow(/message size/);
  expect(() => builder(70000)).toThrow(/message size/);
  expect(() => new IpfixMessageBuilder({ observationDomain: 1, enterprise: 0 })).toThrow(
    /enterprise/,
  );
  const [r] = sampleRecords(1);
  for (const bad of ['10.0.0', '1.2.3.4.5', 'x', '300.1.1.1']) {
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
