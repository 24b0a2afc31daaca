/**
 * A Telemetry Report v2.0 datagram carrying one INT v2.1 MD packet of two hops (switches 1 and
 * 2, latencies 300 and 400 ns, queues 0 and 1), with sequence `seq` from node `node`. Shared by
 * the tests that feed UDP sources.
 */
import { buildIntPacket, encodeReportPayload } from '@hopwatch/codec';

export function twoHopReport(seq: number, node: number): Uint8Array {
  const inner = buildIntPacket(
    {
      ipVersion: 4,
      srcAddr: '10.0.0.1',
      dstAddr: '10.0.0.2',
      protocol: 17,
      srcPort: 1000 + (seq % 50),
      dstPort: 2000,
    },
    {
      version: '2.1',
      mode: 'MD',
      instructionBitmap: 0xb000,
      hops: [
        { switchId: 1, hopLatency: 300, queueId: 0, queueOccupancy: 4 },
        { switchId: 2, hopLatency: 400, queueId: 1, queueOccupancy: 8 },
      ],
    },
    { kind: 'udp-dscp', dscpValue: 0x17 },
  );
  return encodeReportPayload({
    version: '2.0',
    srcAddr: '127.0.0.1',
    dstAddr: '127.0.0.1',
    dstPort: 32766,
    hwId: 0,
    sequence: seq,
    nodeId: node,
    reports: [{ repType: 0, inType: 3, inner }],
  });
}
