import {
  Decoder,
  encodeReportPayload,
  buildIntPacket,
  makeConfig,
  materialize,
  RecordBatch,
} from '@hopwatch/codec';

test('decodeDatagram reads a report payload as received on a UDP socket', () => {
  const inner = buildIntPacket(
    {
      ipVersion: 4,
      srcAddr: '10.0.0.1',
      dstAddr: '10.0.0.2',
      protocol: 17,
      srcPort: 1000,
      dstPort: 2000,
    },
    {
      version: '2.1',
      mode: 'MD',
      instructionBitmap: 0xb000,
      hops: [
        { switchId: 1, hopLatency: 100, queueId: 0, queueOccupancy: 5 },
        { switchId: 2, hopLatency: 200, queueId: 1, queueOccupancy: 9 },
      ],
    },
    { kind: 'udp-dscp', dscpValue: 0x17 },
  );
  const payload = encodeReportPayload({
    version: '2.0',
    srcAddr: '192.0.2.1',
    dstAddr: '192.0.2.2',
    dstPort: 32766,
    hwId: 3,
    sequence: 4_194_303,
    nodeId: 2,
    reports: [
      { repType: 0, inType: 3, inner },
      { repType: 0, inType: 3, inner },
    ],
  });
  const d = new Decoder(makeConfig('spec'));
  const b = new RecordBatch(4, 4);
  const reporter = Uint32Array.of(0, 0, 0, 0xc0000201);
  expect(d.decodeDatagram(payload, reporter, false, 5, 6, 77, b)).toBe(2);
  const r = materialize(b, 1);
  expect(r.report).toMatchObject({
    version: '2.0',
    hwId: 3,
    sequence: 4_194_303,
    nodeId: 2,
    reporterAddr: '192.0.2.1',
    indexInDatagram: 1,
  });
  expect(r.hops.map((h) => [h.switchId, h.hopLatency, h.queueOccupancy])).toEqual([
    [1, 100, 5],
    [2, 200, 9],
  ]);
  expect(r.timeNs).toBe(5_000_000_006n);
  expect(r.frame).toBe(77);
  // garbage is a counted rejection, not an exception
  expect(
    d.decodeDatagram(Uint8Array.of(0x70, 1, 2, 3, 4), reporter, false, 0, 0, 78, b),
  ).toBeLessThan(0);
  expect(d.lastDetail).toMatch(/version 7/);
  expect(d.stats.rejects.reduce((a, x) => a + x, 0)).toBe(1);
});
