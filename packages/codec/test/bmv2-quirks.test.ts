/**
 * bmv2-style INT v1.0: every bitmap bit set (0xFFFF) while transit hops insert only the
 * fields they implement, so Hop ML is shorter than the bitmap demands. Hop ML governs.
 */
import { buildIntPacket, decodeOne, makeConfig, type FlowSpec } from '../src';

const flow: FlowSpec = {
  ipVersion: 4,
  srcAddr: '10.0.0.1',
  dstAddr: '10.0.0.2',
  protocol: 17,
  srcPort: 1000,
  dstPort: 2000,
};

/** Builds a v1.0 packet with bitmap 0xF000 (4 words) and rewrites the bitmap to 0xFFFF. */
function bmv2Packet(): Uint8Array {
  const pkt = buildIntPacket(
    flow,
    {
      version: '1.0',
      mode: 'MD',
      instructionBitmap: 0xf000,
      hops: [
        { switchId: 1, hopLatency: 10 },
        { switchId: 2, hopLatency: 20 },
      ],
    },
    { kind: 'udp-dscp', dscpValue: 0x17 },
  );
  const out = Uint8Array.from(pkt);
  // the MD header's bitmap follows Hop ML (4) and the remaining hop count
  let at = -1;
  for (let i = 0; i + 3 < out.length; i++) {
    if ((out[i] & 0x1f) === 4 && out[i + 2] === 0xf0 && out[i + 3] === 0x00) at = i + 2;
  }
  expect(at).toBeGreaterThan(0);
  out[at] = 0xff;
  out[at + 1] = 0xff;
  return out;
}

describe('bmv2-style full bitmap with short Hop ML', () => {
  it('decodes the known fields within Hop ML words, with a finding', () => {
    const res = decodeOne(bmv2Packet(), 1, makeConfig());
    expect(res.records).toHaveLength(1);
    const r = res.records[0];
    expect(r.hopMl).toBe(4);
    expect(r.hops.map((h) => h.switchId)).toEqual([1, 2]);
    expect(r.hops.map((h) => h.hopLatency)).toEqual([10, 20]);
    expect(r.instructionBitmap).toBe(0xffff);
    expect(r.findings.map((f) => f.detail).join('\n')).toMatch(/decoded the fields within Hop ML/);
  });
});
