/**
 * DIGEST §5.1 hex vectors TV1-TV6: the encoder must produce exactly these bytes, and the decoder
 * must decode them (wrapped in full packets) to the values the digest states.
 */
import {
  buildIntPacket,
  buildPlainPacket,
  buildReport,
  bytesToHex,
  decodeOne,
  encodeGeneveIntOption,
  encodeReportPayload,
  encodeTcpUdpInt,
  geneveHeader,
  hexToBytes,
  makeConfig,
  type FlowSpec,
  type IntStackSpec,
  type ReportSpec,
} from '../src';

const hex = (s: string): string => s.replace(/[\s|]/g, '').toLowerCase();

/** Independent RFC 1071 check: the one's-complement sum over a checksummed range is 0xFFFF. */
function sum16(parts: number[][]): number {
  let s = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i += 2) s += (p[i] << 8) + (i + 1 < p.length ? p[i + 1] : 0);
  }
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}
function verifyChecksums(pkt: Uint8Array): void {
  const ip = Array.from(pkt.subarray(14));
  const v = ip[0] >> 4;
  let hl: number, proto: number, src: number[], dst: number[], l4len: number;
  if (v === 4) {
    hl = (ip[0] & 15) * 4;
    expect(sum16([ip.slice(0, hl)])).toBe(0xffff);
    proto = ip[9];
    src = ip.slice(12, 16);
    dst = ip.slice(16, 20);
    l4len = ((ip[2] << 8) | ip[3]) - hl;
  } else {
    hl = 40;
    proto = ip[6];
    src = ip.slice(8, 24);
    dst = ip.slice(24, 40);
    l4len = (ip[4] << 8) | ip[5];
  }
  expect(14 + hl + l4len).toBe(pkt.length);
  const seg = ip.slice(hl, hl + l4len);
  if (proto === 17) expect((seg[4] << 8) | seg[5]).toBe(l4len);
  if (proto !== 6 && proto !== 17) return;
  if (proto === 17 && seg[6] === 0 && seg[7] === 0) return; // no checksum
  const pseudo = [...src, ...dst, 0, proto, l4len >> 8, l4len & 0xff];
  expect(sum16([pseudo, seg])).toBe(0xffff);
}

const udpFlow: FlowSpec = {
  ipVersion: 4,
  srcAddr: '10.0.0.1',
  dstAddr: '10.0.0.2',
  protocol: 17,
  srcPort: 40000,
  dstPort: 0x1234,
  payload: new TextEncoder().encode('hello'),
};

const TV1 =
  '14 07 12 34 20 00 02 06 90 00 00 00 00 00 00 00 00 00 00 02 01 00 01 00 00 00 00 01 01 00 00 50';
const tv1Stack: IntStackSpec = {
  version: '2.1',
  mode: 'MD',
  instructionBitmap: 0x9000,
  remainingHopCount: 6,
  hops: [
    { switchId: 1, queueId: 1, queueOccupancy: 0x50 },
    { switchId: 2, queueId: 1, queueOccupancy: 0x100 },
  ],
};

describe('TV1 INT v2.1 INT-MD over UDP, NPT=1', () => {
  it('encodes the exact bytes (and the NPT=2 and DSCP variants)', () => {
    expect(bytesToHex(encodeTcpUdpInt(tv1Stack, { npt: 1, originalDstPort: 0x1234 }))).toBe(
      hex(TV1),
    );
    const npt2 = hex(TV1).replace(/^14071234/, '18070006');
    expect(bytesToHex(encodeTcpUdpInt(tv1Stack, { npt: 2, originalProtocol: 6 }))).toBe(npt2);
    const dscp = hex(TV1).replace(/^14071234/, '10070028');
    expect(bytesToHex(encodeTcpUdpInt(tv1Stack, { npt: 0, originalDscp: 0x0a }))).toBe(dscp);
  });

  it('sits right after the UDP header and decodes to path [1, 2]', () => {
    const pkt = buildIntPacket(udpFlow, tv1Stack, { kind: 'udp-port', port: 5555 });
    verifyChecksums(pkt);
    expect(bytesToHex(pkt.subarray(42, 42 + 32))).toBe(hex(TV1));
    const res = decodeOne(pkt, 1, makeConfig('spec', { intUdpPorts: [5555] }));
    expect(res.rejection).toBeNull();
    expect(res.records).toHaveLength(1);
    const r = res.records[0];
    expect(r.findings).toEqual([]);
    expect(r.encapsulation).toBe('udp-port');
    expect(r.hopMl).toBe(2);
    expect(r.remainingHopCount).toBe(6);
    expect(r.instructionBitmap).toBe(0x9000);
    expect(r.hops.map((h) => h.switchId)).toEqual([1, 2]);
    expect(r.hops.map((h) => [h.queueId, h.queueOccupancy])).toEqual([
      [1, 0x50],
      [1, 0x100],
    ]);
    expect(r.header?.npt).toBe(1);
    expect(r.header?.originalDstPort).toBe(0x1234);
    expect(r.flow).toEqual({
      srcAddr: '10.0.0.1',
      dstAddr: '10.0.0.2',
      srcPort: 40000,
      dstPort: 0x1234,
      protocol: 17,
    });
  });

  it('NPT=2 before TCP decodes the original protocol and ports', () => {
    const tcp: FlowSpec = { ...udpFlow, protocol: 6, dstPort: 80 };
    const pkt = buildIntPacket(tcp, tv1Stack, { kind: 'udp-port', port: 5555, npt: 2 });
    verifyChecksums(pkt);
    expect(pkt[14 + 9]).toBe(17);
    const r = decodeOne(pkt, 1, makeConfig('spec', { intUdpPorts: [5555] })).records[0];
    expect(r.findings).toEqual([]);
    expect(r.header?.originalProtocol).toBe(6);
    expect(r.flow).toEqual({
      srcAddr: '10.0.0.1',
      dstAddr: '10.0.0.2',
      srcPort: 40000,
      dstPort: 80,
      protocol: 6,
    });
    // the original TCP segment follows the INT stack unchanged (checksum as the sender made it)
    const plain = buildPlainPacket(tcp);
    expect(bytesToHex(pkt.subarray(pkt.length - (plain.length - 34)))).toBe(
      bytesToHex(plain.subarray(34)),
    );
  });
});

const TV2 = `0a 00 65 58 00 00 64 00 01 03 01 09 20 00 02 05 90 00 00 00 00 00 00 00
  00 00 00 03 02 00 00 30 00 00 00 02 02 00 00 20 00 00 00 01 02 00 00 10`;
const tv2Stack: IntStackSpec = {
  version: '2.1',
  mode: 'MD',
  instructionBitmap: 0x9000,
  remainingHopCount: 5,
  hops: [1, 2, 3].map((n) => ({ switchId: n, queueId: 2, queueOccupancy: 0x10 * n })),
};
const outer = {
  ipVersion: 4 as const,
  srcAddr: '192.168.0.1',
  dstAddr: '192.168.0.2',
  srcPort: 50000,
};

describe('TV2 INT v2.1 INT-MD over Geneve, 3 hops', () => {
  it('encodes the exact bytes with the corrected OptLen=10', () => {
    const g = geneveHeader(encodeGeneveIntOption(tv2Stack), 0x6558, 0x64);
    expect(bytesToHex(g)).toBe(hex(TV2));
  });

  it('decodes cleanly with OptLen=10', () => {
    const pkt = buildIntPacket(udpFlow, tv2Stack, { kind: 'geneve', vni: 0x64, outer });
    verifyChecksums(pkt);
    expect(bytesToHex(pkt.subarray(42, 42 + 48))).toBe(hex(TV2));
    expect(bytesToHex(pkt.subarray(90))).toBe(bytesToHex(buildPlainPacket(udpFlow)));
    const res = decodeOne(pkt);
    expect(res.records).toHaveLength(1);
    const r = res.records[0];
    expect(r.findings).toEqual([]);
    expect(r.encapsulation).toBe('geneve');
    expect(r.remainingHopCount).toBe(5);
    expect(r.hops.map((h) => [h.switchId, h.queueId, h.queueOccupancy])).toEqual([
      [1, 2, 0x10],
      [2, 2, 0x20],
      [3, 2, 0x30],
    ]);
    expect(r.flow?.dstPort).toBe(0x1234);
  });

  it("decodes the spec's OptLen=9 with a geneve-length-mismatch finding", () => {
    const pkt = buildIntPacket(udpFlow, tv2Stack, {
      kind: 'geneve',
      vni: 0x64,
      outer,
      optLenOverride: 9,
    });
    expect(pkt[42]).toBe(0x09);
    const r = decodeOne(pkt).records[0];
    expect(r.hops.map((h) => h.switchId)).toEqual([1, 2, 3]);
    expect(r.findings.map((f) => f.kind)).toContain('geneve-length-mismatch');
  });
});

const TV3 = '01 00 07 28 10 00 02 06 90 00 00 00 00 00 00 02 01 00 01 00 00 00 00 01 01 00 00 50';
const tv3Stack: IntStackSpec = { ...tv1Stack, version: '1.0' };

describe('TV3 INT v1.0 DSCP-marked, 2 hops', () => {
  it('encodes the exact bytes (Length 7 includes the shim)', () => {
    expect(bytesToHex(encodeTcpUdpInt(tv3Stack, { npt: 0, originalDscp: 0x0a }))).toBe(hex(TV3));
  });

  it('decodes over UDP and TCP with DSCP 0x17', () => {
    for (const proto of [17, 6] as const) {
      const flow: FlowSpec = { ...udpFlow, protocol: proto, dscp: 0x0a };
      const pkt = buildIntPacket(flow, tv3Stack, {
        kind: proto === 17 ? 'udp-dscp' : 'tcp-dscp',
        dscpValue: 0x17,
      });
      verifyChecksums(pkt);
      const at = 34 + (proto === 17 ? 8 : 20);
      expect(bytesToHex(pkt.subarray(at, at + 28))).toBe(hex(TV3));
      expect(pkt[15] >> 2).toBe(0x17);
      const r = decodeOne(pkt).records[0];
      expect(r.findings).toEqual([]);
      expect(r.intVersion).toBe('1.0');
      expect(r.header?.originalDscp).toBe(0x0a);
      expect(r.hops.map((h) => h.switchId)).toEqual([1, 2]);
      expect(r.remainingHopCount).toBe(6);
    }
  });

  it("the spec's Length=8 variant gives a finding or a rejection", () => {
    const flow: FlowSpec = { ...udpFlow, dscp: 0x0a };
    const pkt = buildIntPacket(flow, tv3Stack, { kind: 'udp-dscp', dscpValue: 0x17 });
    pkt[42 + 2] = 8;
    const res = decodeOne(pkt);
    const flagged = res.rejection !== null || res.records.some((r) => r.findings.length > 0);
    expect(flagged).toBe(true);
    // and without any payload after the stack it cannot be read at all
    const bare = buildIntPacket({ ...flow, payload: undefined }, tv3Stack, {
      kind: 'udp-dscp',
      dscpValue: 0x17,
    });
    bare[42 + 2] = 8;
    expect(decodeOne(bare).rejection?.rejected).toBe('truncated');
  });
});

describe('TV4 TR v2.0 group header + INT individual report', () => {
  const TV4 = '20 40 00 05 00 00 00 03 14 17 01 20 10 00 00 00 00 00 00 00 00 00 00 07';
  const tcp: FlowSpec = { ...udpFlow, protocol: 6, dstPort: 80, payload: undefined };
  const innerFrame = buildIntPacket(tcp, tv1Stack, { kind: 'udp-port', port: 5555, npt: 2 });
  const innerIp = innerFrame.subarray(14);
  const spec: ReportSpec = {
    version: '2.0',
    srcAddr: '10.9.9.3',
    dstAddr: '10.9.9.100',
    dstPort: 32766,
    hwId: 1,
    sequence: 5,
    nodeId: 3,
    reports: [
      {
        repType: 1,
        inType: 4,
        repMdBits: 0x1000,
        metadata: { queueId: 0, queueOccupancy: 7 },
        trackedFlow: true,
        inner: innerIp,
      },
    ],
  };

  it('encodes the exact header bytes; the truncated packet is 80 B = 20 words', () => {
    expect(innerIp.length).toBe(80);
    const p = encodeReportPayload(spec);
    expect(bytesToHex(p.subarray(0, 24))).toBe(hex(TV4));
    expect(p.length).toBe(24 + 80);
  });

  it('decodes to node 3, hw_id 1, seq 5, RepType 1 with the inner stack and the node hop', () => {
    const pkt = buildReport(spec);
    verifyChecksums(pkt);
    const res = decodeOne(pkt, 1, makeConfig('spec', { intUdpPorts: [5555] }));
    expect(res.records).toHaveLength(1);
    const r = res.records[0];
    expect(r.findings).toEqual([]);
    expect(r.report).toMatchObject({
      version: '2.0',
      hwId: 1,
      sequence: 5,
      nodeId: 3,
      reportType: 1,
      innerType: 4,
      trackedFlow: true,
      dropped: false,
      reporterAddr: '10.9.9.3',
    });
    expect(r.hops.map((h) => [h.switchId, h.queueId, h.queueOccupancy, h.origin])).toEqual([
      [1, 1, 0x50, 'stack'],
      [2, 1, 0x100, 'stack'],
      [3, 0, 7, 'report'],
    ]);
    expect(r.flow?.protocol).toBe(6);
  });
});

describe('TV5 TR v0.5 switch-local report', () => {
  const TV5 = '02 20 00 01 00 00 00 2a 11 22 33 44 00 00 00 01 00 01 00 02 00 00 00 10 11 22 34 00';
  const inner = buildPlainPacket(udpFlow);
  const spec: ReportSpec = {
    version: '0.5',
    srcAddr: '10.9.9.1',
    dstAddr: '10.9.9.100',
    dstPort: 32766,
    hwId: 1,
    sequence: 42,
    nodeId: 1,
    v05NextProto: 2,
    ingressTimestamp: 0x11223344,
    reports: [
      {
        repType: 0,
        inType: 3,
        trackedFlow: true,
        metadata: {
          ingressPort: 1,
          egressPort: 2,
          queueId: 0,
          queueOccupancy: 0x10,
          egressTimestamp: 0x11223400n,
        },
        inner,
      },
    ],
  };
  it('encodes the exact bytes', () => {
    const p = encodeReportPayload(spec);
    expect(bytesToHex(p.subarray(0, 28))).toBe(hex(TV5));
    expect(bytesToHex(p.subarray(28))).toBe(bytesToHex(inner));
  });
  it('decodes with hop latency 188', () => {
    const pkt = buildReport(spec);
    verifyChecksums(pkt);
    const r = decodeOne(pkt).records[0];
    expect(r.findings).toEqual([]);
    expect(r.report).toMatchObject({
      version: '0.5',
      hwId: 1,
      sequence: 42,
      nodeId: 1,
      reportType: 2,
      trackedFlow: true,
    });
    expect(r.hops).toHaveLength(1);
    expect(r.hops[0]).toMatchObject({
      switchId: 1,
      ingressPort: 1,
      egressPort: 2,
      queueId: 0,
      queueOccupancy: 0x10,
      hopLatency: 188,
    });
    expect(r.flow?.dstPort).toBe(0x1234);
  });
});

describe('TV6 TR v1.0 header', () => {
  const TV6 = '14 00 00 41 00 00 00 04 00 00 00 01 5a d9 b1 b2';
  const inner = buildPlainPacket(udpFlow);
  const spec: ReportSpec = {
    version: '1.0',
    srcAddr: '10.9.9.4',
    dstAddr: '10.9.9.100',
    dstPort: 32766,
    hwId: 1,
    sequence: 1,
    nodeId: 4,
    ingressTimestamp: 0x5ad9b1b2,
    reports: [{ repType: 0, inType: 3, repMdBits: 0, trackedFlow: true, inner }],
  };
  it('encodes the exact bytes', () => {
    expect(bytesToHex(encodeReportPayload(spec).subarray(0, 16))).toBe(hex(TV6));
  });
  it('decodes Ver 1, Length 4, NProt 0, F=1, hw_id 1, switch 4, seq 1', () => {
    const pkt = buildReport(spec);
    verifyChecksums(pkt);
    const r = decodeOne(pkt).records[0];
    expect(r.findings).toEqual([]);
    expect(r.report).toMatchObject({
      version: '1.0',
      hwId: 1,
      sequence: 1,
      nodeId: 4,
      innerType: 0,
      trackedFlow: true,
      dropped: false,
      congestedQueue: false,
    });
    expect(r.hops[0]).toMatchObject({
      switchId: 4,
      ingressTimestamp: 0x5ad9b1b2n,
      origin: 'report',
    });
    expect(hexToBytes(TV6)).toHaveLength(16);
  });
});
