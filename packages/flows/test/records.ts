/** Flow records with varied values (IPv4 and IPv6, large counters, odd times) for the tests. */
import { FlowEndReason, type FlowRecord } from '@hopwatch/flows';

export function sampleRecords(n: number): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const v6 = i % 4 === 3;
    const start = 1_764_900_000_000_000_000n + BigInt(i) * 1_000_000_007n + 123_456_789n;
    out.push({
      ipVersion: v6 ? 6 : 4,
      src: v6 ? `2001:db8::${(i + 1).toString(16)}` : `10.0.${i >> 8}.${i & 255}`,
      dst: v6 ? '2001:db8:0:1::ffff' : '10.1.0.1',
      srcPort: 1024 + i,
      dstPort: i % 2 ? 443 : 80,
      protocol: i % 3 ? 6 : 17,
      vlan: i % 5 ? 100 + i : null,
      vni: i % 7 ? 5000 + i : null,
      startNs: start,
      endNs: start + BigInt(i + 1) * 987_654_321n,
      packets: 10 + i * 1000,
      bytes: (10 + i * 1000) * 1400 + 2 ** 33, // above 32 bits
      bytesPackets: 10 + i * 1000,
      path: [1, 2 + (i % 3), 9],
      pathChanges: i % 2,
      ingressInterface: 5 + i,
      egressInterface: 70000 + i,
      e2e: {
        min: 1000 + i,
        mean: 2000.4 + i,
        max: 50_000 + i,
        p50: 1900 + i,
        p99: 40_000 + i,
        samples: 10,
      },
      e2eSource: i % 2 ? 'timestamps' : 'hop-latency-sum',
      jitter: 300 + i,
      worstHop: 2 + (i % 3),
      worstHopLatency: 1500 + i,
      dropReports: i % 3,
      reportGaps: i % 4,
      endReason: i % 2 ? FlowEndReason.IDLE : FlowEndReason.ACTIVE,
    });
  }
  return out;
}

/** The 16-byte IPFIX message headers and set IDs / lengths of a stream of messages. */
export function messageHeaders(
  buf: Buffer,
): { length: number; sequence: number; domain: number; sets: { id: number; length: number }[] }[] {
  const out = [];
  let o = 0;
  while (o + 16 <= buf.length) {
    if (buf.readUInt16BE(o) !== 10) throw new Error(`not IPFIX at ${o}`);
    const length = buf.readUInt16BE(o + 2);
    const sets = [];
    for (let s = o + 16; s < o + length;) {
      const id = buf.readUInt16BE(s);
      const l = buf.readUInt16BE(s + 2);
      sets.push({ id, length: l });
      s += l;
    }
    out.push({ length, sequence: buf.readUInt32BE(o + 8), domain: buf.readUInt32BE(o + 12), sets });
    o += length;
  }
  return out;
}
