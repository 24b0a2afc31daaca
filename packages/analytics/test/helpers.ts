/** Builds RecordBatches directly (columns), for detector tests. */
import { HdrFlag, HopField, IntVer, prng, RecordBatch, RepFlag } from '@hopwatch/codec';

export interface TFlow {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto?: number;
}

export interface THop {
  sw: number;
  ing?: number;
  eg?: number;
  lat?: number;
  q?: number;
  occ?: number;
  egTs?: bigint;
  ingTs?: bigint;
  origin?: 0 | 1;
}

export interface TRecord {
  t: bigint;
  flow?: TFlow;
  /** The packet's IP length (0 or absent: unknown). */
  len?: number;
  hops?: THop[];
  eBit?: boolean;
  intVersion?: number;
  report?: {
    version: 1 | 2 | 3;
    hwId?: number;
    seq: number;
    nodeId?: number;
    dropped?: boolean;
    reason?: number;
    index?: number;
  };
}

export function ip4(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export const flow = (i: number, dport = 5000): TFlow => ({
  src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  dst: '10.200.0.1',
  sport: 1000 + (i % 60000),
  dport,
  proto: 17,
});

export function tuple(f: TFlow): {
  srcAddr: string;
  dstAddr: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
} {
  return {
    srcAddr: f.src,
    dstAddr: f.dst,
    srcPort: f.sport,
    dstPort: f.dport,
    protocol: f.proto ?? 17,
  };
}

export function append(b: RecordBatch, rec: TRecord): void {
  b.ensureRecord();
  const r = b.count++;
  b.frame[r] = r + 1;
  b.tsSec[r] = Number(rec.t / 1_000_000_000n);
  b.tsNsec[r] = Number(rec.t % 1_000_000_000n);
  b.intVersion[r] = rec.intVersion ?? IntVer.V21;
  b.mode[r] = 0;
  b.hdrFlags[r] = rec.eBit ? HdrFlag.E : 0;
  b.rhc[r] = -1;
  b.dropReason[r] = -1;
  b.reportVersion[r] = 0;
  b.repFlags[r] = 0;
  b.repIndex[r] = 0;
  b.ipLength[r] = rec.len ?? 0;
  b.hasNodeId[r] = 0;
  for (let k = 0; k < 4; k++) b.reporterAddr[r * 4 + k] = 0;
  if (rec.report) {
    const p = rec.report;
    b.reportVersion[r] = p.version;
    b.hwId[r] = p.hwId ?? 0;
    b.sequence[r] = p.seq >>> 0;
    b.nodeId[r] = p.nodeId ?? 0;
    b.hasNodeId[r] = p.nodeId === undefined ? 0 : 1;
    b.repFlags[r] = p.dropped ? RepFlag.D : 0;
    b.dropReason[r] = p.reason ?? -1;
    b.repIndex[r] = p.index ?? 0;
    b.reporterAddr[r * 4 + 3] = ip4('192.168.0.1');
  }
  if (rec.flow) {
    b.hasFlow[r] = 1;
    b.flowV6[r] = 0;
    for (let k = 0; k < 3; k++) {
      b.srcAddr[r * 4 + k] = 0;
      b.dstAddr[r * 4 + k] = 0;
    }
    b.srcAddr[r * 4 + 3] = ip4(rec.flow.src);
    b.dstAddr[r * 4 + 3] = ip4(rec.flow.dst);
    b.srcPort[r] = rec.flow.sport;
    b.dstPort[r] = rec.flow.dport;
    b.protocol[r] = rec.flow.proto ?? 17;
  } else b.hasFlow[r] = 0;
  const hops = rec.hops ?? [];
  b.ensureHops(hops.length);
  b.hopStart[r] = b.hopTotal;
  b.hopCount[r] = hops.length;
  for (const h of hops) {
    const i = b.hopTotal++;
    b.clearHop(i);
    let p = HopField.SWITCH_ID;
    b.switchId[i] = h.sw;
    b.origin[i] = h.origin ?? 0;
    if (h.eg !== undefined || h.ing !== undefined) {
      p |= HopField.L1_PORTS;
      b.ingressPort[i] = h.ing ?? 0;
      b.egressPort[i] = h.eg ?? 0;
    }
    if (h.lat !== undefined) {
      p |= HopField.HOP_LATENCY;
      b.hopLatency[i] = h.lat;
    }
    if (h.q !== undefined || h.occ !== undefined) {
      p |= HopField.QUEUE;
      b.queueId[i] = h.q ?? 0;
      b.queueOccupancy[i] = h.occ ?? 0;
    }
    if (h.egTs !== undefined) {
      p |= HopField.EGRESS_TS;
      b.egressTsHi[i] = Number(h.egTs >> 32n);
      b.egressTsLo[i] = Number(h.egTs & 0xffffffffn);
    }
    if (h.ingTs !== undefined) {
      p |= HopField.INGRESS_TS;
      b.ingressTsHi[i] = Number(h.ingTs >> 32n);
      b.ingressTsLo[i] = Number(h.ingTs & 0xffffffffn);
    }
    b.present[i] = p;
  }
}

/** Feeds records (sorted by time) to an analyzer in batches of `size`. */
export function feed(an: { process(b: RecordBatch): void }, recs: TRecord[], size = 512): void {
  const b = new RecordBatch(size, 8);
  for (const rec of recs) {
    append(b, rec);
    if (b.count >= size) {
      an.process(b);
      b.reset();
    }
  }
  if (b.count) an.process(b);
}

/** Deterministic PRNG (the codec's mulberry32). */
export const rng = prng;

export const T0 = 1_700_000_000_000_000_000n;
export const us = (x: number): bigint => BigInt(Math.round(x * 1000));
export const ms = (x: number): bigint => BigInt(Math.round(x * 1e6));
