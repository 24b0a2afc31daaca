/**
 * Turns batch rows into plain objects (IntRecord) for display, JSON and tests. Not used on
 * the hot path.
 */
import {
  ENCAPSULATIONS,
  HdrFlag,
  HopField,
  INT_VERSION_NAMES,
  MODE_NAMES,
  RecordBatch,
  REPORT_VERSION_NAMES,
  RepFlag,
} from './batch';
import { formatAddr } from './layers/ip';
import type { Finding, Hop, IntRecord, IntVersion, TelemetryReportVersion } from './model';

function ts64(hi: number, lo: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

export function materializeHop(b: RecordBatch, h: number, index: number): Hop {
  const p = b.present[h];
  const has = (f: number): boolean => (p & f) !== 0;
  const ds: number[] = [];
  for (let k = 0; k < b.dsCount[h]; k++) ds.push(b.dsWords[b.dsStart[h] + k]);
  return {
    index,
    switchId: has(HopField.SWITCH_ID) ? b.switchId[h] : null,
    ingressPort: has(HopField.L1_PORTS) ? b.ingressPort[h] : null,
    egressPort: has(HopField.L1_PORTS) ? b.egressPort[h] : null,
    hopLatency: has(HopField.HOP_LATENCY) ? b.hopLatency[h] : null,
    queueId: has(HopField.QUEUE) ? b.queueId[h] : null,
    queueOccupancy: has(HopField.QUEUE) && !has(HopField.DROP_REASON) ? b.queueOccupancy[h] : null,
    ingressTimestamp: has(HopField.INGRESS_TS) ? ts64(b.ingressTsHi[h], b.ingressTsLo[h]) : null,
    egressTimestamp: has(HopField.EGRESS_TS) ? ts64(b.egressTsHi[h], b.egressTsLo[h]) : null,
    l2IngressPort: has(HopField.L2_PORTS) ? b.l2IngressPort[h] : null,
    l2EgressPort: has(HopField.L2_PORTS) ? b.l2EgressPort[h] : null,
    txUtilization: has(HopField.TX_UTIL) ? b.txUtil[h] : null,
    bufferId: has(HopField.BUFFER) ? b.bufferId[h] : null,
    bufferOccupancy: has(HopField.BUFFER) ? b.bufferOccupancy[h] : null,
    checksumComplement: has(HopField.CHECKSUM) ? b.checksum[h] : null,
    queueCongestion: has(HopField.QUEUE_CONGESTION) ? b.queueCongestion[h] : null,
    dsMetadata: ds,
    origin: b.origin[h] === 1 ? 'report' : 'stack',
  };
}

export function findingsOf(b: RecordBatch, r: number): Finding[] {
  const out: Finding[] = [];
  for (const f of b.findings) if (f.record === r) out.push({ kind: f.kind, detail: f.detail });
  return out;
}

export function materialize(b: RecordBatch, r: number): IntRecord {
  const hops: Hop[] = [];
  const start = b.hopStart[r];
  for (let i = 0; i < b.hopCount[r]; i++) hops.push(materializeHop(b, start + i, i));
  const flags = b.hdrFlags[r];
  const rf = b.repFlags[r];
  return {
    frame: b.frame[r],
    timeNs: BigInt(b.tsSec[r]) * 1_000_000_000n + BigInt(b.tsNsec[r]),
    encapsulation: ENCAPSULATIONS[b.encap[r]],
    intVersion: INT_VERSION_NAMES[b.intVersion[r]] as IntVersion | null,
    mode: MODE_NAMES[b.mode[r]],
    instructionBitmap: b.bitmap[r],
    hopMl: b.hopMl[r],
    remainingHopCount: b.rhc[r] < 0 ? null : b.rhc[r],
    header: b.hasHeader[r]
      ? {
          type: b.intType[r],
          npt: b.npt[r] < 0 ? null : b.npt[r],
          shimLength: b.shimLength[r],
          originalDstPort: b.origPort[r] < 0 ? null : b.origPort[r],
          originalProtocol: b.origProto[r] < 0 ? null : b.origProto[r],
          originalDscp: b.origDscp[r] < 0 ? null : b.origDscp[r],
          nextProtocol: b.nextProto[r] < 0 ? null : b.nextProto[r],
          discard: (flags & HdrFlag.D) !== 0,
          hopLimitExceeded: (flags & HdrFlag.E) !== 0,
          mtuExceeded: (flags & HdrFlag.M) !== 0,
          copy: (flags & HdrFlag.C) !== 0,
          replication: b.replication[r],
          maxHopCount: b.maxHopCnt[r] < 0 ? null : b.maxHopCnt[r],
          totalHopCount: b.totalHopCnt[r] < 0 ? null : b.totalHopCnt[r],
          domainSpecificId: b.dsId[r],
          dsInstruction: b.dsInstruction[r],
          dsFlags: b.dsFlags[r],
          sourceOnlyBytes: b.sourceOnlyBytes[r],
        }
      : null,
    hops,
    report: b.reportVersion[r]
      ? {
          version: REPORT_VERSION_NAMES[b.reportVersion[r]] as TelemetryReportVersion,
          hwId: b.hwId[r],
          sequence: b.sequence[r],
          nodeId: b.hasNodeId[r] ? b.nodeId[r] : null,
          reporterAddr: formatAddr(b.reporterAddr, r * 4, b.reporterV6[r] === 1),
          dropped: (rf & RepFlag.D) !== 0,
          congestedQueue: (rf & RepFlag.Q) !== 0,
          trackedFlow: (rf & RepFlag.F) !== 0,
          intermediate: (rf & RepFlag.I) !== 0,
          reportType: b.repType[r],
          innerType: b.inType[r],
          dropReason: b.dropReason[r] < 0 ? null : b.dropReason[r],
          indexInDatagram: b.repIndex[r],
        }
      : null,
    flow: b.hasFlow[r]
      ? {
          srcAddr: formatAddr(b.srcAddr, r * 4, b.flowV6[r] === 1),
          dstAddr: formatAddr(b.dstAddr, r * 4, b.flowV6[r] === 1),
          srcPort: b.srcPort[r],
          dstPort: b.dstPort[r],
          protocol: b.protocol[r],
        }
      : null,
    findings: findingsOf(b, r),
  };
}

/** JSON.stringify replacer-free serialisation: bigints become exact JSON numbers. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    typeof v === 'bigint' ? `\u0000${v.toString()}\u0000` : v,
  ).replace(/"\\u0000(\d+)\\u0000"/g, '$1');
}
