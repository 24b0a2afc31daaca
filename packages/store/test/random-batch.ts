/** Random RecordBatches covering every column and edge value, and the rows they must produce. */
import {
  ENCAPSULATIONS,
  HopField,
  INT_VERSION_NAMES,
  prng,
  type RecordBatch,
} from '@hopwatch/codec';
import { flowHashWords } from '@hopwatch/store';
import { T0 } from './synthetic';

const rng = prng;

/** Random u32 biased to edge values. */
function u32(rand: () => number): number {
  const x = rand();
  if (x < 0.1) return 0xffffffff;
  if (x < 0.2) return 0;
  if (x < 0.3) return 0x80000000 + Math.floor(rand() * 1000);
  return Math.floor(rand() * 4294967296);
}

/** Fills `n` random records; `gaps` leaves unused hop slots between records. */
export function fillRandom(
  b: RecordBatch,
  seed: number,
  firstFrame: number,
  n: number,
  gaps: boolean,
): void {
  const rand = rng(seed);
  b.reset();
  for (let k = 0; k < n; k++) {
    b.ensureRecord();
    const i = b.count++;
    b.frame[i] = firstFrame + k;
    b.tsSec[i] = T0 + Math.floor(rand() * 86_400 * 3);
    b.tsNsec[i] = rand() < 0.1 ? 999_999_999 : Math.floor(rand() * 1e9);
    b.encap[i] = rand() < 0.05 ? 200 : Math.floor(rand() * ENCAPSULATIONS.length);
    b.intVersion[i] = rand() < 0.05 ? 9 : Math.floor(rand() * INT_VERSION_NAMES.length);
    b.reportVersion[i] = rand() < 0.5 ? 0 : 3;
    b.sequence[i] = u32(rand);
    b.hasNodeId[i] = rand() < 0.5 ? 1 : 0;
    b.nodeId[i] = u32(rand);
    b.hwId[i] = Math.floor(rand() * 64);
    const flow = rand();
    b.hasFlow[i] = flow < 0.15 ? 0 : 1;
    b.flowV6[i] = flow > 0.6 ? 1 : 0;
    for (let w = 0; w < 4; w++) {
      b.srcAddr[i * 4 + w] = u32(rand);
      b.dstAddr[i * 4 + w] = u32(rand);
    }
    b.srcPort[i] = Math.floor(rand() * 65536);
    b.dstPort[i] = rand() < 0.1 ? 65535 : Math.floor(rand() * 65536);
    b.protocol[i] = Math.floor(rand() * 256);
    const cnt = rand() < 0.05 ? 0 : 1 + Math.floor(rand() * 8);
    if (gaps && rand() < 0.3) {
      b.ensureHops(3);
      b.hopTotal += 1 + Math.floor(rand() * 3); // unused slots
    }
    b.ensureHops(cnt);
    b.hopStart[i] = b.hopTotal;
    b.hopCount[i] = cnt;
    for (let j = 0; j < cnt; j++) {
      const h = b.hopTotal++;
      b.present[h] = Math.floor(rand() * 4096);
      b.origin[h] = rand() < 0.2 ? 1 : 0;
      b.switchId[h] = u32(rand);
      b.ingressPort[h] = u32(rand);
      b.egressPort[h] = u32(rand);
      b.hopLatency[h] = u32(rand);
      b.queueId[h] = Math.floor(rand() * 65536);
      b.queueOccupancy[h] = u32(rand);
      b.ingressTsHi[h] = u32(rand);
      b.ingressTsLo[h] = u32(rand);
      b.egressTsHi[h] = u32(rand);
      b.egressTsLo[h] = u32(rand);
      b.l2IngressPort[h] = u32(rand);
      b.l2EgressPort[h] = u32(rand);
      b.txUtil[h] = u32(rand);
      b.bufferId[h] = Math.floor(rand() * 256);
      b.bufferOccupancy[h] = u32(rand);
      b.hopDropReason[h] = Math.floor(rand() * 256);
    }
  }
  if (n > 3) {
    b.addFinding(1, 'x', 'y');
    b.addFinding(1, 'x', 'z');
    b.addFinding(3, 'x', 'y');
  }
}

const hex8 = (w: number): string => (w >>> 0).toString(16).toUpperCase().padStart(8, '0');
const u64 = (hi: number, lo: number): string =>
  ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString();

export interface Rows {
  hops: Record<string, unknown>[];
  paths: Record<string, unknown>[];
}

/** The rows the batch should produce, in the form the SELECTs below return. */
export function expected(b: RecordBatch, out: Rows): void {
  const hw = new Uint32Array(2);
  const findings = new Map<number, number>();
  for (const f of b.findings) findings.set(f.record, (findings.get(f.record) ?? 0) + 1);
  for (let r = 0; r < b.count; r++) {
    const timeNs = (BigInt(b.tsSec[r]) * 1_000_000_000n + BigInt(b.tsNsec[r])).toString();
    const hasFlow = b.hasFlow[r] === 1;
    const addr = (a: Uint32Array): string =>
      !hasFlow
        ? '0'.repeat(32)
        : b.flowV6[r]
          ? [0, 1, 2, 3].map((w) => hex8(a[r * 4 + w])).join('')
          : '00000000000000000000FFFF' + hex8(a[r * 4 + 3]);
    flowHashWords(b, r, hw);
    const hasReport = b.reportVersion[r] !== 0;
    const node = hasReport && b.hasNodeId[r] === 1 ? b.nodeId[r] : null;
    const ver = INT_VERSION_NAMES[b.intVersion[r]] ?? '';
    const enc = ENCAPSULATIONS[b.encap[r]] ?? '';
    const flow = {
      src: addr(b.srcAddr),
      dst: addr(b.dstAddr),
      src_port: hasFlow ? b.srcPort[r] : 0,
      dst_port: hasFlow ? b.dstPort[r] : 0,
      protocol: hasFlow ? b.protocol[r] : 0,
      flow_hash: u64(hw[0], hw[1]),
    };
    const cnt = b.hopCount[r];
    const pathIds: number[] = [];
    let e2e = 0n;
    let e2eOk = cnt > 0;
    for (let i = 0; i < cnt; i++) {
      const h = b.hopStart[r] + i;
      const p = b.present[h];
      const has = (f: number): boolean => (p & f) !== 0;
      const sw = has(HopField.SWITCH_ID) ? b.switchId[h] : 0xffffffff;
      pathIds.push(sw);
      if (has(HopField.HOP_LATENCY)) e2e += BigInt(b.hopLatency[h]);
      else e2eOk = false;
      out.hops.push({
        time_ns: timeNs,
        switch_id: sw,
        hop_index: i,
        hop_count: cnt,
        ingress_port: has(HopField.L1_PORTS) ? b.ingressPort[h] : 0xffffffff,
        egress_port: has(HopField.L1_PORTS) ? b.egressPort[h] : 0xffffffff,
        queue_id: has(HopField.QUEUE) ? b.queueId[h] : 0xffff,
        hop_latency: has(HopField.HOP_LATENCY) ? b.hopLatency[h] : null,
        queue_occupancy:
          has(HopField.QUEUE) && !has(HopField.DROP_REASON) ? b.queueOccupancy[h] : null,
        ingress_ts: has(HopField.INGRESS_TS) ? u64(b.ingressTsHi[h], b.ingressTsLo[h]) : null,
        egress_ts: has(HopField.EGRESS_TS) ? u64(b.egressTsHi[h], b.egressTsLo[h]) : null,
        l2_ingress_port: has(HopField.L2_PORTS) ? b.l2IngressPort[h] : null,
        l2_egress_port: has(HopField.L2_PORTS) ? b.l2EgressPort[h] : null,
        tx_util: has(HopField.TX_UTIL) ? b.txUtil[h] : null,
        buffer_id: has(HopField.BUFFER) ? b.bufferId[h] : null,
        buffer_occupancy: has(HopField.BUFFER) ? b.bufferOccupancy[h] : null,
        drop_reason: has(HopField.DROP_REASON) ? b.hopDropReason[h] : null,
        present: p,
        ...flow,
        frame: String(b.frame[r]),
        report_node: node,
        int_version: ver,
        encapsulation: enc,
        origin: b.origin[h] === 1 ? 'report' : 'stack',
      });
    }
    out.paths.push({
      time_ns: timeNs,
      ...flow,
      frame: String(b.frame[r]),
      path: pathIds,
      hop_count: cnt,
      e2e_latency: e2eOk ? e2e.toString() : null,
      report_seq: hasReport ? b.sequence[r] : null,
      report_node: node,
      report_hw_id: hasReport ? b.hwId[r] : null,
      int_version: ver,
      encapsulation: enc,
      findings: findings.get(r) ?? 0,
    });
  }
}

export const HOPS_SQL =
  'SELECT time_ns, switch_id, hop_index, hop_count, ingress_port, egress_port, queue_id, hop_latency, queue_occupancy, ' +
  'ingress_ts, egress_ts, l2_ingress_port, l2_egress_port, tx_util, buffer_id, buffer_occupancy, drop_reason, present, ' +
  'hex(src_addr) AS src, hex(dst_addr) AS dst, src_port, dst_port, protocol, flow_hash, frame, report_node, ' +
  'int_version, encapsulation, origin FROM hops ORDER BY frame, hop_index';
export const PATHS_SQL =
  'SELECT time_ns, hex(src_addr) AS src, hex(dst_addr) AS dst, src_port, dst_port, protocol, flow_hash, frame, path, ' +
  'hop_count, e2e_latency, report_seq, report_node, report_hw_id, int_version, encapsulation, findings FROM paths ORDER BY frame';
