/** A RecordBatch filled programmatically with known values, plus the expected aggregates. */
import { HopField, IntVer, Encap, RecordBatch } from '@hopwatch/codec';

export const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z

export interface Expected {
  records: number;
  hops: number;
  latencySum: bigint;
  latencyNulls: number;
  occupancyNulls: number;
  occupancySum: bigint;
  ingressTsSum: bigint;
  switchSum: bigint;
  e2eSum: bigint;
  e2eNulls: number;
  timeNsSum: bigint;
  v6Records: number;
}

const ALL =
  HopField.SWITCH_ID |
  HopField.L1_PORTS |
  HopField.HOP_LATENCY |
  HopField.QUEUE |
  HopField.INGRESS_TS |
  HopField.EGRESS_TS;

/** Fills records [first, first+n) (global record numbers) into `b` (reset first). */
export function fillSynthetic(b: RecordBatch, first: number, n: number, exp?: Expected): void {
  b.reset();
  for (let k = 0; k < n; k++) {
    const r = first + k;
    b.ensureRecord();
    const i = b.count++;
    b.frame[i] = r + 1;
    b.tsSec[i] = T0 + Math.floor(r / 1000); // 1000 records per second
    b.tsNsec[i] = (r * 7919) % 1_000_000_000;
    b.encap[i] = Encap.UDP_DSCP;
    b.intVersion[i] = IntVer.V21;
    b.reportVersion[i] = r % 2 ? 3 : 0;
    b.sequence[i] = r;
    b.hasNodeId[i] = r % 4 === 1 ? 1 : 0;
    b.nodeId[i] = 77;
    b.hwId[i] = 3;
    b.hasFlow[i] = 1;
    const v6 = r % 2 === 1;
    b.flowV6[i] = v6 ? 1 : 0;
    for (let w = 0; w < 4; w++) {
      b.srcAddr[i * 4 + w] = v6 ? 0x20010db8 * (w === 0 ? 1 : 0) + (w === 3 ? r % 5 : 0) : 0;
      b.dstAddr[i * 4 + w] = v6 ? (w === 0 ? 0x20010db8 : w === 3 ? 0x99 : 0) : 0;
    }
    if (!v6) {
      b.srcAddr[i * 4 + 3] = (10 << 24) | (r % 5); // 10.0.0.(r%5)
      b.dstAddr[i * 4 + 3] = (10 << 24) | (1 << 16) | 1; // 10.1.0.1
    }
    b.srcPort[i] = 1000 + (r % 5);
    b.dstPort[i] = 80;
    b.protocol[i] = 17;
    const cnt = 1 + (r % 5);
    b.ensureHops(cnt);
    b.hopStart[i] = b.hopTotal;
    b.hopCount[i] = cnt;
    let e2e = 0n;
    let e2eOk = true;
    for (let j = 0; j < cnt; j++) {
      const h = b.hopTotal++;
      b.clearHop(h);
      let p = ALL;
      const noLat = (r + j) % 11 === 0;
      const noQueue = (r + j) % 7 === 0;
      if (noLat) p &= ~HopField.HOP_LATENCY;
      if (noQueue) p &= ~HopField.QUEUE;
      b.present[h] = p;
      b.switchId[h] = 100 + j + (r % 3) * 10;
      b.ingressPort[h] = j;
      b.egressPort[h] = (r + j) % 8;
      b.queueId[h] = j % 2;
      b.hopLatency[h] = noLat ? 0xffffffff : 1000 + ((r * 31 + j * 17) % 5000);
      b.queueOccupancy[h] = noQueue ? 0xffffff : (r * 13 + j) % 1000;
      b.ingressTsHi[h] = r % 4;
      b.ingressTsLo[h] = (r * 1000 + j) >>> 0;
      b.egressTsHi[h] = 0;
      b.egressTsLo[h] = 5;
      b.origin[h] = 0;
      if (exp) {
        exp.hops++;
        if (noLat) {
          exp.latencyNulls++;
          e2eOk = false;
        } else {
          exp.latencySum += BigInt(b.hopLatency[h]);
          e2e += BigInt(b.hopLatency[h]);
        }
        if (noQueue) exp.occupancyNulls++;
        else exp.occupancySum += BigInt(b.queueOccupancy[h]);
        exp.ingressTsSum += (BigInt(b.ingressTsHi[h]) << 32n) | BigInt(b.ingressTsLo[h]);
        exp.switchSum += BigInt(b.switchId[h]);
        exp.timeNsSum += BigInt(b.tsSec[i]) * 1_000_000_000n + BigInt(b.tsNsec[i]);
      }
    }
    if (exp) {
      exp.records++;
      if (v6) exp.v6Records++;
      if (e2eOk) exp.e2eSum += e2e;
      else exp.e2eNulls++;
    }
  }
}

export function emptyExpected(): Expected {
  return {
    records: 0,
    hops: 0,
    latencySum: 0n,
    latencyNulls: 0,
    occupancyNulls: 0,
    occupancySum: 0n,
    ingressTsSum: 0n,
    switchSum: 0n,
    e2eSum: 0n,
    e2eNulls: 0,
    timeNsSum: 0n,
    v6Records: 0,
  };
}
