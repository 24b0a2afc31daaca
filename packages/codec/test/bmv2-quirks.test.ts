/**
 * What deployed bmv2-style INT v1.0 pipelines send: every bitmap bit set (0xFFFF) while transit
 * hops insert only the fields they implement (Hop ML shorter than the bitmap), the UDP length
 * not updated after insertion, a few bytes more stack than Hop ML × hops. Hop ML governs; each
 * quirk is a finding, never a rejection.
 */
import {
  buildIntPacket,
  decodeOne,
  makeConfig,
  type CarrierSpec,
  type DeviceQuirks,
  type FlowSpec,
  type IntStackSpec,
} from '../src';

const udp: FlowSpec = {
  ipVersion: 4,
  srcAddr: '10.0.0.1',
  dstAddr: '10.0.0.2',
  protocol: 17,
  srcPort: 1000,
  dstPort: 2000,
  payload: new Uint8Array(40).fill(7),
};
const tcp: FlowSpec = { ...udp, protocol: 6 };
const dscp: CarrierSpec = { kind: 'udp-dscp', dscpValue: 0x17 };

/** Switch id, L1 ports, hop latency, queue: the four fields such pipelines implement. */
function stack(quirks: DeviceQuirks, version: '1.0' | '2.1' = '1.0'): IntStackSpec {
  return {
    version,
    mode: 'MD',
    instructionBitmap: 0xf000,
    quirks,
    hops: [
      { switchId: 1, ingressPort: 1, egressPort: 2, hopLatency: 10, queueId: 0, queueOccupancy: 5 },
      { switchId: 2, ingressPort: 3, egressPort: 4, hopLatency: 20, queueId: 1, queueOccupancy: 6 },
      { switchId: 3, ingressPort: 5, egressPort: 6, hopLatency: 30, queueId: 2, queueOccupancy: 7 },
    ],
  };
}

function decode(pkt: Uint8Array) {
  const res = decodeOne(pkt, 1, makeConfig());
  expect(res.rejection ?? null).toBeNull();
  expect(res.records).toHaveLength(1);
  return res.records[0];
}

function kinds(r: { findings: { kind: string }[] }): string[] {
  return [...new Set(r.findings.map((f) => f.kind))].sort();
}

describe('bmv2-style INT v1.0', () => {
  it('full bitmap, short Hop ML: the known fields within Hop ML, in bitmap order', () => {
    const r = decode(buildIntPacket(udp, stack({ advertisedBitmap: 0xffff }), dscp));
    expect(r.instructionBitmap).toBe(0xffff);
    expect(r.hopMl).toBe(4);
    expect(r.hops.map((h) => h.switchId)).toEqual([1, 2, 3]);
    expect(r.hops.map((h) => [h.ingressPort, h.egressPort])).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(r.hops.map((h) => h.hopLatency)).toEqual([10, 20, 30]);
    expect(r.hops.map((h) => h.queueOccupancy)).toEqual([5, 6, 7]);
    // fields the bitmap requests but no hop wrote are absent, not read from the payload
    expect(r.hops.map((h) => h.egressTimestamp)).toEqual([null, null, null]);
    expect(kinds(r)).toEqual(['hop-ml-below-bitmap', 'reserved-instruction-bits-set']);
    expect(r.findings.find((f) => f.kind === 'hop-ml-below-bitmap')!.detail).toMatch(
      /Hop ML 4 words < \d+ words the bitmap 0xffff demands/,
    );
  });

  it('UDP length not updated after insertion: a finding, the record intact', () => {
    const pkt = buildIntPacket(udp, stack({ staleUdpLength: true }), dscp);
    const r = decode(pkt);
    expect(kinds(r)).toEqual(['udp-length-mismatch']);
    expect(r.hops.map((h) => h.hopLatency)).toEqual([10, 20, 30]);
    // the original packet's IP length: what the flow sent, without the INT bytes
    const plain = decode(buildIntPacket(udp, stack({}), dscp));
    expect(r.ipLength).toBe(plain.ipLength);
  });

  it('extra bytes below the stack: kept apart, never read as a hop', () => {
    const r = decode(buildIntPacket(udp, stack({ extraStackBytes: 4 }), dscp));
    expect(r.hops).toHaveLength(3);
    expect(r.header!.sourceOnlyBytes).toBe(4);
    expect(kinds(r)).toEqual(['stack-not-multiple-of-hop-ml']);
  });

  it('all of them at once, over UDP and TCP, v1.0 and v2.1', () => {
    const all: DeviceQuirks = {
      advertisedBitmap: 0xffff,
      extraStackBytes: 8,
      staleUdpLength: true,
    };
    const r = decode(buildIntPacket(udp, stack(all), dscp));
    expect(r.hops.map((h) => h.switchId)).toEqual([1, 2, 3]);
    expect(kinds(r)).toEqual([
      'hop-ml-below-bitmap',
      'reserved-instruction-bits-set',
      'stack-not-multiple-of-hop-ml',
      'udp-length-mismatch',
    ]);
    const t = decode(
      buildIntPacket(tcp, stack({ advertisedBitmap: 0xffff, extraStackBytes: 4 }), {
        kind: 'tcp-dscp',
        dscpValue: 0x17,
      }),
    );
    expect(t.hops.map((h) => h.hopLatency)).toEqual([10, 20, 30]);
    const v2 = decode(buildIntPacket(udp, stack(all, '2.1'), dscp));
    expect(v2.hops.map((h) => h.queueOccupancy)).toEqual([5, 6, 7]);
    expect(kinds(v2)).toContain('hop-ml-below-bitmap');
  });

  it('the encoder refuses quirks that cannot be built', () => {
    expect(() => buildIntPacket(udp, stack({ extraStackBytes: 3 }), dscp)).toThrow(/multiple of 4/);
    expect(() =>
      buildIntPacket(tcp, stack({ staleUdpLength: true }), { kind: 'tcp-dscp', dscpValue: 0x17 }),
    ).toThrow(/staleUdpLength/);
  });
});
