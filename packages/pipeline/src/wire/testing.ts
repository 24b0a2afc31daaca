/**
 * Test support for the wire format: random RecordBatches that exercise every column, and
 * order-independent signatures / checksums of what each topic carries.
 */
import { HOP_COLUMN_NAMES, HopField, RecordBatch } from '@hopwatch/codec';
import type { MessageKind } from './messages';
const M_imul = Math.imul; // local: global lookups are slow in jest sandboxes

/** xorshift32 PRNG in [0, 2^32). */
export function rng32(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/**
 * A batch of `n` records with random values in every column: IPv4 and IPv6 flows, records
 * without flow, report fields (with and without node id), absent (-1) fields, 0-8 hops with
 * random presence bits and 64-bit timestamps, domain-specific words and a few findings.
 */
export function randomBatch(n: number, seed = 1, opts: { flows?: number } = {}): RecordBatch {
  const R = rng32(seed);
  const u = (bits: number): number => (bits >= 32 ? R() : R() & ((2 ** bits - 1) >>> 0)) >>> 0;
  const opt = (bits: number): number => (R() % 4 === 0 ? -1 : u(bits));
  const b = new RecordBatch(Math.max(16, n >> 2), 2);
  // a pool of flows so that keys repeat
  const flows = opts.flows ?? Math.max(1, n >> 3);
  for (let r = 0; r < n; r++) {
    b.ensureRecord();
    b.frame[r] = r + 1;
    b.tsSec[r] = 1_700_000_000 + u(20);
    b.tsNsec[r] = R() % 1_000_000_000;
    b.encap[r] = R() % 12;
    b.intVersion[r] = R() % 5;
    b.mode[r] = R() % 3;
    b.bitmap[r] = u(16);
    b.hopMl[r] = u(5);
    b.rhc[r] = opt(8);
    b.hasHeader[r] = R() & 1;
    b.intType[r] = u(4);
    b.npt[r] = R() % 3 === 0 ? -1 : u(2);
    b.shimLength[r] = u(8);
    b.origPort[r] = opt(16);
    b.origProto[r] = opt(8);
    b.origDscp[r] = opt(6);
    b.nextProto[r] = opt(16);
    b.hdrFlags[r] = u(4);
    b.replication[r] = u(2);
    b.maxHopCnt[r] = opt(8);
    b.totalHopCnt[r] = opt(8);
    b.dsId[r] = R() % 3 === 0 ? u(16) : 0;
    b.dsInstruction[r] = u(16);
    b.dsFlags[r] = u(16);
    b.sourceOnlyBytes[r] = R() % 5 === 0 ? u(10) : 0;
    const hasReport = R() % 3 !== 0;
    b.reportVersion[r] = hasReport ? 1 + (R() % 3) : 0;
    b.hwId[r] = hasReport ? u(6) % 4 : 0;
    b.sequence[r] = hasReport ? u(32) : 0;
    b.hasNodeId[r] = hasReport && R() % 5 !== 0 ? 1 : 0;
    b.nodeId[r] = b.hasNodeId[r] ? R() % 16 : 0;
    b.repFlags[r] = hasReport ? u(4) : 0;
    b.repType[r] = hasReport ? u(4) : 0;
    b.inType[r] = hasReport ? u(4) : 0;
    b.dropReason[r] = hasReport && R() % 4 === 0 ? u(8) : -1;
    b.repIndex[r] = hasReport ? u(2) : 0;
    b.reporterV6[r] = hasReport && R() % 4 === 0 ? 1 : 0;
    for (let i = 0; i < 4; i++) b.reporterAddr[4 * r + i] = 0;
    if (hasReport) {
      if (b.reporterV6[r])
        for (let i = 0; i < 4; i++) b.reporterAddr[4 * r + i] = 0xfd000000 + (R() % 4);
      else b.reporterAddr[4 * r + 3] = 0x0a000000 + (R() % 8);
    }
    const f = R() % flows;
    const F = rng32(f * 7919 + 13);
    b.hasFlow[r] = f % 11 === 10 ? 0 : 1;
    b.flowV6[r] = b.hasFlow[r] && f % 3 === 0 ? 1 : 0;
    for (let i = 0; i < 4; i++) {
      b.srcAddr[4 * r + i] = 0;
      b.dstAddr[4 * r + i] = 0;
    }
    b.srcPort[r] = 0;
    b.dstPort[r] = 0;
    b.protocol[r] = 0;
    if (b.hasFlow[r]) {
      if (b.flowV6[r]) {
        for (let i = 0; i < 4; i++) {
          b.srcAddr[4 * r + i] = F();
          b.dstAddr[4 * r + i] = F();
        }
      } else {
        b.srcAddr[4 * r + 3] = F();
        b.dstAddr[4 * r + 3] = F();
      }
      b.srcPort[r] = F() & 0xffff;
      b.dstPort[r] = F() & 0xffff;
      b.protocol[r] = F() % 2 ? 17 : 6;
    }
    // from the flow's own generator, after its other values: R()'s sequence stays as it was
    const X = F();
    b.ipLength[r] = b.hasFlow[r] ? 40 + (X % 1461) : 0;
    b.vlan[r] = b.hasFlow[r] && X % 3 === 0 ? (X >>> 4) % 4096 : -1;
    b.vni[r] = b.hasFlow[r] && X % 5 === 0 ? (X >>> 8) & 0xffffff : -1;
    const hc = R() % 9;
    b.hopStart[r] = b.hopTotal;
    b.hopCount[r] = hc;
    b.ensureHops(hc);
    for (let j = 0; j < hc; j++) {
      const h = b.hopTotal++;
      b.clearHop(h);
      b.present[h] = u(12) | (R() % 4 ? HopField.SWITCH_ID : 0);
      b.origin[h] = j === hc - 1 && hasReport ? 1 : 0;
      b.switchId[h] = R() % 64;
      b.ingressPort[h] = R() % 48;
      b.egressPort[h] = R() % 48;
      b.hopLatency[h] = u(32);
      b.queueId[h] = R() % 8;
      b.queueOccupancy[h] = u(24);
      b.ingressTsHi[h] = u(32);
      b.ingressTsLo[h] = u(32);
      b.egressTsHi[h] = R() % 2 ? u(32) : 0;
      b.egressTsLo[h] = u(32);
      b.l2IngressPort[h] = u(32);
      b.l2EgressPort[h] = u(32);
      b.txUtil[h] = u(32);
      b.bufferId[h] = u(8);
      b.bufferOccupancy[h] = u(24);
      b.checksum[h] = u(16);
      b.queueCongestion[h] = u(32);
      b.hopDropReason[h] = u(8);
      const dc = R() % 5 === 0 ? 1 + (R() % 3) : 0;
      b.ensureDs(dc);
      b.dsStart[h] = b.dsTotal;
      b.dsCount[h] = dc;
      for (let k = 0; k < dc; k++) b.dsWords[b.dsTotal++] = u(32);
    }
    if (R() % 50 === 0) b.addFinding(r, 'test-kind', `finding ✓ ${r}`);
    b.count++;
  }
  return b;
}

const REC_COLS = [
  'frame',
  'tsSec',
  'tsNsec',
  'encap',
  'intVersion',
  'mode',
  'bitmap',
  'hopMl',
  'rhc',
  'hasHeader',
  'intType',
  'npt',
  'shimLength',
  'origPort',
  'origProto',
  'origDscp',
  'nextProto',
  'hdrFlags',
  'replication',
  'maxHopCnt',
  'totalHopCnt',
  'dsId',
  'dsInstruction',
  'dsFlags',
  'sourceOnlyBytes',
] as const;
const REPORT_COLS = [
  'reportVersion',
  'hwId',
  'sequence',
  'nodeId',
  'hasNodeId',
  'repFlags',
  'repType',
  'inType',
  'dropReason',
  'repIndex',
  'reporterV6',
] as const;
const FLOW_COLS = ['hasFlow', 'flowV6', 'srcPort', 'dstPort', 'protocol'] as const;
/** Per-hop columns but the DS bookkeeping (DS words are compared by value). */
const HOP_COLS = HOP_COLUMN_NAMES.filter((n) => n !== 'dsStart' && n !== 'dsCount');

type Cols = Float64Array[];
/** Float64 copies of the columns, so that reading them stays monomorphic (fast). */
function pick(b: RecordBatch, names: readonly string[]): Cols {
  const rec = b as unknown as Record<string, Uint32Array>;
  return names.map((c) => Float64Array.from(rec[c]));
}
function cols(a: Cols, i: number): string {
  let s = '';
  for (let k = 0; k < a.length; k++) s += a[k][i] + ',';
  return s;
}
function words(a: Uint32Array, r: number): string {
  return `${a[4 * r]}:${a[4 * r + 1]}:${a[4 * r + 2]}:${a[4 * r + 3]}`;
}

/**
 * Canonical strings of what a topic carries for a batch, one per row (records: a whole
 * record; queues: one per switch-id hop sample; reports: one per report record). Compare
 * two batches' sorted signatures to check a round trip.
 */
export function signatures(b: RecordBatch, kind: MessageKind): string[] {
  const out: string[] = [];
  const recA = pick(b, REC_COLS);
  const repA = pick(b, REPORT_COLS);
  const flowA = pick(b, FLOW_COLS);
  const hopA = pick(b, HOP_COLS);
  const findings = new Map<number, string>();
  for (const f of b.findings)
    findings.set(f.record, (findings.get(f.record) ?? '|findings') + `|${f.kind}:${f.detail}`);
  const hopSig = (h: number, ds: boolean): string => {
    let s = cols(hopA, h);
    if (ds) {
      s += '|ds';
      for (let k = 0; k < b.dsCount[h]; k++) s += `,${b.dsWords[b.dsStart[h] + k]}`;
    }
    return s;
  };
  for (let r = 0; r < b.count; r++) {
    const base = `${b.frame[r]},${b.tsSec[r]},${b.tsNsec[r]}`;
    const flow = `${cols(flowA, r)}|${words(b.srcAddr, r)}|${words(b.dstAddr, r)}`;
    const report = () => `${cols(repA, r)}|${words(b.reporterAddr, r)}`;
    if (kind === 'records') {
      let s = `${cols(recA, r)}|${report()}|${flow}|${b.ipLength[r]},${b.vlan[r]},${b.vni[r]}|hops`;
      for (let h = b.hopStart[r]; h < b.hopStart[r] + b.hopCount[r]; h++)
        s += `|${hopSig(h, true)}`;
      out.push(s + (findings.get(r) ?? ''));
    } else if (kind === 'queues') {
      for (let h = b.hopStart[r]; h < b.hopStart[r] + b.hopCount[r]; h++) {
        if (!(b.present[h] & HopField.SWITCH_ID)) continue;
        out.push(`${base}|${flow}|${hopSig(h, false)}`);
      }
    } else if (b.reportVersion[r] !== 0) {
      out.push(`${base}|${report()}`);
    }
  }
  return out;
}

function mix(h: number, v: number): number {
  h = M_imul(h ^ (v & 0xffff), 0x01000193);
  return M_imul(h ^ ((v >>> 16) & 0xffff), 0x01000193);
}
function mixCols(h: number, a: Cols, i: number): number {
  for (let k = 0; k < a.length; k++) h = mix(h, a[k][i]);
  return h;
}
function mixWords(h: number, a: Uint32Array, r: number): number {
  for (let k = 0; k < 4; k++) h = mix(h, a[4 * r + k]);
  return h;
}
function mixString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return h;
}

/**
 * Order-independent checksum of what a topic carries (same rows and fields as
 * signatures(), hashed numerically): row count and 32-bit sum of per-row FNV hashes.
 */
export function topicChecksum(b: RecordBatch, kind: MessageKind): { rows: number; sum: number } {
  const recA = pick(b, REC_COLS);
  const repA = pick(b, REPORT_COLS);
  const flowA = pick(b, FLOW_COLS);
  const hopA = pick(b, HOP_COLS);
  const findings = new Map<number, string>();
  for (const f of b.findings)
    findings.set(f.record, (findings.get(f.record) ?? '') + `|${f.kind}:${f.detail}`);
  let rows = 0;
  let sum = 0;
  const add = (h: number): void => {
    rows++;
    sum = (sum + (h >>> 0)) >>> 0;
  };
  const flow = (h: number, r: number): number =>
    mixWords(mixWords(mixCols(h, flowA, r), b.srcAddr, r), b.dstAddr, r);
  const report = (h: number, r: number): number => mixWords(mixCols(h, repA, r), b.reporterAddr, r);
  for (let r = 0; r < b.count; r++) {
    const h0 = mix(mix(mix(0x811c9dc5, b.frame[r]), b.tsSec[r]), b.tsNsec[r]);
    if (kind === 'records') {
      let h = flow(report(mixCols(0x811c9dc5, recA, r), r), r);
      h = mix(mix(mix(h, b.ipLength[r]), b.vlan[r]), b.vni[r]);
      h = mix(h, b.hopCount[r]);
      for (let j = b.hopStart[r]; j < b.hopStart[r] + b.hopCount[r]; j++) {
        h = mix(mixCols(h, hopA, j), b.dsCount[j]);
        for (let k = 0; k < b.dsCount[j]; k++) h = mix(h, b.dsWords[b.dsStart[j] + k]);
      }
      const f = findings.get(r);
      add(f ? mixString(h, f) : h);
    } else if (kind === 'queues') {
      for (let j = b.hopStart[r]; j < b.hopStart[r] + b.hopCount[r]; j++) {
        if (!(b.present[j] & HopField.SWITCH_ID)) continue;
        add(mixCols(flow(h0, r), hopA, j));
      }
    } else if (b.reportVersion[r] !== 0) {
      add(report(h0, r));
    }
  }
  return { rows, sum };
}
