/**
 * splitBatch: a RecordBatch → the messages of the three data topics, grouped by partition
 * key so that every detector finds all it needs for a key in one partition.
 */
import { HopField, RecordBatch } from '@hopwatch/codec';
import { encodeQueuesMessage, encodeRecordsMessage, encodeReportsMessage } from './messages';
import { TOPIC_QUEUES, TOPIC_RECORDS, TOPIC_REPORTS } from './topics';
const M_imul = Math.imul; // local: global lookups are slow in jest sandboxes

export interface WireMessage {
  /** Partition key (binary, see keyBytes docs): the key of the message's rows, or with the
   * `partitions` option the key of the group's first row (all its rows map to the same
   * partition as their own keys would). */
  key: Buffer;
  /** Target partition (set when `partitions` was given: Kafka's murmur2 of the key). */
  partition?: number;
  value: Uint8Array;
  /** Rows (records or samples) in the message. */
  count: number;
}

export interface SplitResult {
  records: WireMessage[];
  queues: WireMessage[];
  reports: WireMessage[];
}

export interface SplitOptions {
  /** Partitions of the topics: group all keys of one partition into the same messages
   * (fewer, bigger messages) and set `partition`. Default: one group per key. */
  partitions?: number;
  /** Rows per message at most (default 1000). */
  maxRows?: number;
  /** Approximate encoded bytes per message at most (default 256 KiB). */
  maxBytes?: number;
}

// ---- keys ----

function fnv(h: number, v: number): number {
  for (let i = 0; i < 4; i++) {
    h ^= (v >>> (8 * i)) & 0xff;
    h = M_imul(h, 0x01000193);
  }
  return h;
}

/** 32-bit FNV-1a of the flow's 5-tuple (addresses as 4 words each, ports, protocol). */
export function flowHash(b: RecordBatch, r: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 4; i++) h = fnv(h, b.srcAddr[4 * r + i]);
  for (let i = 0; i < 4; i++) h = fnv(h, b.dstAddr[4 * r + i]);
  h = fnv(h, (b.srcPort[r] << 16) | b.dstPort[r]);
  h = fnv(h, b.protocol[r]);
  return h >>> 0;
}

/*
 * Partition keys are short byte strings (Kafka keys are bytes), written into a scratch
 * buffer without allocating:
 *   records  'f' + flow hash (u32 BE)                     when the record has an inner flow
 *            else the reporter key below
 *   reports  'n' + node_id (u32 BE) + hw_id (u8)          when the report carries a node id
 *            'a' + reporter address (4 × u32 BE) + hw_id  otherwise
 *   queues   'q' + switch_id (u32 BE) + egress_port (u32 BE) + queue_id (u16 BE)
 */
const KEY = new Uint8Array(32);
let keyLen = 0;

function put32(o: number, v: number): void {
  KEY[o] = v >>> 24;
  KEY[o + 1] = (v >>> 16) & 0xff;
  KEY[o + 2] = (v >>> 8) & 0xff;
  KEY[o + 3] = v & 0xff;
}

function reportKeyBytes(b: RecordBatch, r: number): void {
  if (b.hasNodeId[r]) {
    KEY[0] = 0x6e; // 'n'
    put32(1, b.nodeId[r]);
    KEY[5] = b.hwId[r];
    keyLen = 6;
  } else {
    KEY[0] = 0x61; // 'a'
    for (let i = 0; i < 4; i++) put32(1 + 4 * i, b.reporterAddr[4 * r + i]);
    KEY[17] = b.hwId[r];
    keyLen = 18;
  }
}

function recordKeyBytes(b: RecordBatch, r: number): void {
  if (!b.hasFlow[r]) return reportKeyBytes(b, r);
  KEY[0] = 0x66; // 'f'
  put32(1, flowHash(b, r));
  keyLen = 5;
}

function queueKeyBytes(b: RecordBatch, h: number): void {
  KEY[0] = 0x71; // 'q'
  put32(1, b.switchId[h]);
  put32(5, b.egressPort[h]);
  KEY[9] = b.queueId[h] >>> 8;
  KEY[10] = b.queueId[h] & 0xff;
  keyLen = 11;
}

function keyCopy(): Buffer {
  return Buffer.from(KEY.subarray(0, keyLen));
}

/** Partition key of record r on hopwatch.records.v1. */
export function recordKey(b: RecordBatch, r: number): Buffer {
  recordKeyBytes(b, r);
  return keyCopy();
}

/** Partition key of record r on hopwatch.reports.v1. */
export function reportKey(b: RecordBatch, r: number): Buffer {
  reportKeyBytes(b, r);
  return keyCopy();
}

/** Partition key of hop row h on hopwatch.queues.v1. */
export function queueKey(b: RecordBatch, h: number): Buffer {
  queueKeyBytes(b, h);
  return keyCopy();
}

// ---- Kafka's default partitioner (Java client, kafkajs DefaultPartitioner) ----

/** murmur2 as in org.apache.kafka.common.utils.Utils.murmur2. */
export function murmur2(data: Uint8Array, length = data.length): number {
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = seed ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4] & 0xff) +
      ((data[i4 + 1] & 0xff) << 8) +
      ((data[i4 + 2] & 0xff) << 16) +
      ((data[i4 + 3] & 0xff) << 24);
    k = M_imul(k, m);
    k ^= k >>> r;
    k = M_imul(k, m);
    h = M_imul(h, m);
    h ^= k;
  }
  const idx = length4 * 4;
  const rest = length & 3;
  if (rest === 3) h ^= (data[idx + 2] & 0xff) << 16;
  if (rest >= 2) h ^= (data[idx + 1] & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[idx] & 0xff;
    h = M_imul(h, m);
  }
  h ^= h >>> 13;
  h = M_imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a key. */
export function partitionOf(key: string | Uint8Array, partitions: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return (murmur2(bytes) & 0x7fffffff) % partitions;
}

// ---- grouping ----

interface Group {
  key: Buffer;
  partition?: number;
  recs: number[];
  hops: number[];
}

/** Groups rows by partition (numbers, no allocation per row) or by exact key. */
class Grouper {
  private byPartition: Group[] = [];
  private byKey = new Map<string, Group>();
  constructor(private partitions?: number) {}

  /** Adds row r (hop h) under the key currently in KEY. */
  add(r: number, h = -1): void {
    let g: Group | undefined;
    if (this.partitions) {
      const p = (murmur2(KEY, keyLen) & 0x7fffffff) % this.partitions;
      g = this.byPartition[p];
      if (!g) g = this.byPartition[p] = { key: keyCopy(), partition: p, recs: [], hops: [] };
    } else {
      const k = KEY.subarray(0, keyLen).toString();
      g = this.byKey.get(k);
      if (!g) {
        g = { key: keyCopy(), recs: [], hops: [] };
        this.byKey.set(k, g);
      }
    }
    g.recs.push(r);
    if (h >= 0) g.hops.push(h);
  }

  groups(): Group[] {
    return this.partitions ? this.byPartition.filter((g) => g) : [...this.byKey.values()];
  }
}

function chunks(
  g: Group,
  maxRows: number,
  maxBytes: number,
  cost: (i: number) => number,
  encode: (recs: number[], hops: number[]) => Uint8Array,
  out: WireMessage[],
): void {
  let from = 0;
  while (from < g.recs.length) {
    let to = from;
    let bytes = 0;
    while (to < g.recs.length && to - from < maxRows) {
      const c = cost(to);
      if (to > from && bytes + c > maxBytes) break;
      bytes += c;
      to++;
    }
    const recs = g.recs.slice(from, to);
    const hops = g.hops.length ? g.hops.slice(from, to) : [];
    out.push({ key: g.key, partition: g.partition, value: encode(recs, hops), count: to - from });
    from = to;
  }
}

/** Splits a batch into the messages of hopwatch.records.v1, .queues.v1 and .reports.v1. */
export function splitBatch(b: RecordBatch, opts: SplitOptions = {}): SplitResult {
  const maxRows = opts.maxRows ?? 1000;
  const maxBytes = opts.maxBytes ?? 256 * 1024;
  const rec = new Grouper(opts.partitions);
  const que = new Grouper(opts.partitions);
  const rep = new Grouper(opts.partitions);
  for (let r = 0; r < b.count; r++) {
    recordKeyBytes(b, r);
    rec.add(r);
    if (b.reportVersion[r] !== 0) {
      reportKeyBytes(b, r);
      rep.add(r);
    }
    const hs = b.hopStart[r];
    for (let h = hs, e = hs + b.hopCount[r]; h < e; h++) {
      if (b.present[h] & HopField.SWITCH_ID) {
        queueKeyBytes(b, h);
        que.add(r, h);
      }
    }
  }
  const out: SplitResult = { records: [], queues: [], reports: [] };
  // Upper-bound byte estimates per row (before compression).
  for (const g of rec.groups()) {
    chunks(
      g,
      maxRows,
      maxBytes,
      (i) => {
        const r = g.recs[i];
        let c = 160 + 70 * b.hopCount[r];
        for (let h = b.hopStart[r], e = h + b.hopCount[r]; h < e; h++) c += 5 * b.dsCount[h];
        return c;
      },
      (recs) => encodeRecordsMessage(b, recs),
      out.records,
    );
  }
  for (const g of que.groups())
    chunks(
      g,
      maxRows,
      maxBytes,
      () => 140,
      (recs, hops) => encodeQueuesMessage(b, recs, hops),
      out.queues,
    );
  for (const g of rep.groups())
    chunks(
      g,
      maxRows,
      maxBytes,
      () => 60,
      (recs) => encodeReportsMessage(b, recs),
      out.reports,
    );
  return out;
}

/** Topic of each part of a SplitResult. */
export const SPLIT_TOPICS = {
  records: TOPIC_RECORDS,
  queues: TOPIC_QUEUES,
  reports: TOPIC_REPORTS,
} as const;
