/** Shared test fixtures: flows, stacks, carriers and an independent checksum checker. */
import {
  GPE_INT_NEXT_PROTOCOL,
  makeConfig,
  type CarrierSpec,
  type FlowSpec,
  type IntStackSpec,
  type IntVersion,
} from '@hopwatch/codec';

export const INT_UDP_PORT = 5555;
export const INT_TCP_PORT = 5556;
export const PROBE = 'a1b2c3d4e5f60718';
export const GRE_PROTO = 0x88b5;

export const CONFIG = makeConfig('spec', {
  intUdpPorts: [INT_UDP_PORT],
  intTcpPorts: [INT_TCP_PORT],
  probeMarker: PROBE,
  greProtocols: [GRE_PROTO],
});

export function flow(ipVersion: 4 | 6, protocol: 6 | 17, n = 0, payload?: Uint8Array): FlowSpec {
  return {
    ipVersion,
    protocol,
    srcAddr: ipVersion === 4 ? '10.0.0.1' : '2001:db8::1',
    dstAddr: ipVersion === 4 ? '10.0.1.2' : '2001:db8::2',
    srcPort: 40000 + n,
    dstPort: protocol === 17 ? 53 : 443,
    dscp: 0x0a,
    ttl: 61,
    ipId: 0x1234 + n,
    tcpSeq: 1000 + n,
    payload: payload ?? Uint8Array.from({ length: 37 + (n % 5) }, (_, i) => (i * 7 + n) & 0xff),
  };
}

export function hop(i: number): {
  switchId: number;
  ingressPort: number;
  egressPort: number;
  hopLatency: number;
  queueId: number;
  queueOccupancy: number;
  ingressTimestamp: bigint;
  egressTimestamp: bigint;
} {
  return {
    switchId: 100 + i,
    ingressPort: i + 1,
    egressPort: i + 2,
    hopLatency: 1000 + i,
    queueId: i,
    queueOccupancy: 50 + i,
    ingressTimestamp: BigInt(10000 + i),
    egressTimestamp: BigInt(20000 + i),
  };
}

export function stack(
  version: IntVersion,
  hops: number,
  extra: Partial<IntStackSpec> = {},
): IntStackSpec {
  return {
    version,
    mode: 'MD',
    instructionBitmap: 0xfc00,
    hops: Array.from({ length: hops }, (_, i) => hop(i)),
    remainingHopCount: 8 - hops,
    ...extra,
  };
}

export const OUTER4 = { ipVersion: 4 as const, srcAddr: '192.168.0.1', dstAddr: '192.168.0.2' };
export const OUTER6 = { ipVersion: 6 as const, srcAddr: 'fd00::1', dstAddr: 'fd00::2' };

export interface Case {
  name: string;
  version: IntVersion;
  protocol: 6 | 17;
  carrier: (ipv: 4 | 6) => CarrierSpec;
}

export const CASES: Case[] = [];
for (const v of ['0.5', '1.0', '2.1'] as IntVersion[]) {
  CASES.push({
    name: `udp-dscp v${v}`,
    version: v,
    protocol: 17,
    carrier: () => ({ kind: 'udp-dscp', dscpValue: 0x17 }),
  });
  CASES.push({
    name: `tcp-dscp v${v}`,
    version: v,
    protocol: 6,
    carrier: () => ({ kind: 'tcp-dscp', dscpValue: 0x17 }),
  });
  CASES.push({
    name: `vxlan-gpe v${v}`,
    version: v,
    protocol: 17,
    carrier: (ipv) => ({
      kind: 'vxlan-gpe',
      nextProtocol: GPE_INT_NEXT_PROTOCOL[v],
      vni: 77,
      outer: ipv === 4 ? OUTER4 : OUTER6,
    }),
  });
}
CASES.push(
  {
    name: 'udp-port NPT=1 v2.1',
    version: '2.1',
    protocol: 17,
    carrier: () => ({ kind: 'udp-port', port: INT_UDP_PORT, npt: 1 }),
  },
  {
    name: 'udp-port NPT=2 v2.1 (UDP inside)',
    version: '2.1',
    protocol: 17,
    carrier: () => ({ kind: 'udp-port', port: INT_UDP_PORT, npt: 2 }),
  },
  {
    name: 'udp-port NPT=2 v2.1 (TCP inside)',
    version: '2.1',
    protocol: 6,
    carrier: () => ({ kind: 'udp-port', port: INT_UDP_PORT, npt: 2 }),
  },
  {
    name: 'udp-port v0.5 tail',
    version: '0.5',
    protocol: 17,
    carrier: () => ({ kind: 'udp-port', port: INT_UDP_PORT }),
  },
  {
    name: 'tcp-port v0.5 tail',
    version: '0.5',
    protocol: 6,
    carrier: () => ({ kind: 'tcp-port', port: INT_TCP_PORT }),
  },
  {
    name: 'tcp-port v2.1',
    version: '2.1',
    protocol: 6,
    carrier: () => ({ kind: 'tcp-port', port: INT_TCP_PORT }),
  },
  {
    name: 'udp-probe v1.0',
    version: '1.0',
    protocol: 17,
    carrier: () => ({ kind: 'udp-probe', marker: PROBE }),
  },
  {
    name: 'udp-probe v2.1 + DSCP',
    version: '2.1',
    protocol: 17,
    carrier: () => ({ kind: 'udp-probe', marker: PROBE, dscpValue: 0x17 }),
  },
  {
    name: 'tcp-probe v2.1',
    version: '2.1',
    protocol: 6,
    carrier: () => ({ kind: 'tcp-probe', marker: PROBE }),
  },
  {
    name: 'geneve v1.0',
    version: '1.0',
    protocol: 17,
    carrier: (ipv) => ({ kind: 'geneve', vni: 5, outer: ipv === 4 ? OUTER4 : OUTER6 }),
  },
  {
    name: 'geneve v2.1',
    version: '2.1',
    protocol: 6,
    carrier: (ipv) => ({ kind: 'geneve', vni: 5, outer: ipv === 4 ? OUTER4 : OUTER6 }),
  },
  {
    name: 'geneve v2.1 outer UDP checksum over IPv4',
    version: '2.1',
    protocol: 17,
    carrier: (ipv) => ({
      kind: 'geneve',
      outer: { ...(ipv === 4 ? OUTER4 : OUTER6), udpChecksum: true },
    }),
  },
  {
    name: 'gre v2.1',
    version: '2.1',
    protocol: 17,
    carrier: (ipv) => ({ kind: 'gre', protocol: GRE_PROTO, outer: ipv === 4 ? OUTER4 : OUTER6 }),
  },
);

// ------------------------------------------------------------ independent checksum checker

function sum16(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2)
    s += (bytes[i] << 8) + (i + 1 < bytes.length ? bytes[i + 1] : 0);
  while (s > 0xffff) s = (s >>> 16) + (s & 0xffff);
  return s;
}

/** Verifies every IPv4 header and TCP/UDP checksum it can find (Ethernet/IP, tunnels by UDP port 6081/4790 and GRE). */
export function checkAllChecksums(pkt: Uint8Array, errors: string[] = [], off = 14): string[] {
  const d = Array.from(pkt);
  const ver = d[off] >> 4;
  let l4: number;
  let proto: number;
  let end: number;
  let pseudo: number[];
  if (ver === 4) {
    const ihl = (d[off] & 15) * 4;
    if (sum16(d.slice(off, off + ihl)) !== 0xffff) errors.push(`IPv4 header checksum at ${off}`);
    l4 = off + ihl;
    proto = d[off + 9];
    end = off + ((d[off + 2] << 8) | d[off + 3]);
    pseudo = [...d.slice(off + 12, off + 20), 0, proto, ((end - l4) >> 8) & 255, (end - l4) & 255];
  } else if (ver === 6) {
    l4 = off + 40;
    proto = d[off + 6];
    end = l4 + ((d[off + 4] << 8) | d[off + 5]);
    const len = end - l4;
    pseudo = [...d.slice(off + 8, off + 40), 0, 0, (len >> 8) & 255, len & 255, 0, 0, 0, proto];
  } else {
    errors.push(`not IP at ${off}`);
    return errors;
  }
  if (end !== d.length) errors.push(`IP length says ${end}, packet has ${d.length}`);
  if (proto === 17 || proto === 6) {
    const ck = proto === 17 ? (d[l4 + 6] << 8) | d[l4 + 7] : (d[l4 + 16] << 8) | d[l4 + 17];
    if (!(proto === 17 && ck === 0 && ver === 4)) {
      if (sum16([...pseudo, ...d.slice(l4, end)]) !== 0xffff)
        errors.push(`L4 ${proto} checksum at ${l4}`);
    }
    if (proto === 17 && ((d[l4 + 4] << 8) | d[l4 + 5]) !== end - l4)
      errors.push(`UDP length at ${l4}`);
    const dport = (d[l4 + 2] << 8) | d[l4 + 3];
    if (proto === 17 && dport === 6081)
      checkAllChecksums(pkt.subarray(0, end), errors, l4 + 8 + 8 + (d[l4 + 8] & 0x3f) * 4 + 14);
    if (proto === 17 && dport === 4790)
      checkAllChecksums(pkt.subarray(0, end), errors, l4 + 16 + 14);
  } else if (proto === 47) {
    checkAllChecksums(pkt.subarray(0, end), errors, l4 + 4 + 14);
  }
  return errors;
}
