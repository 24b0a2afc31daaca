import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { RecordBatch } from '@hopwatch/codec';
import {
  decodeQueuesMessage,
  decodeRecordsMessage,
  decodeReportsMessage,
  encodeRecordsMessage,
  messageFields,
  murmur2,
  partitionOf,
  PbWriter,
  splitBatch,
  timeNs,
  MAX_MESSAGE_HOPS,
  MAX_MESSAGE_ROWS,
  WireError,
  WT_LEN,
  WT_VARINT,
  type MessageKind,
} from '../src';
import { randomBatch, rng32, signatures } from '@hopwatch/pipeline/testing';

const root = new protobuf.Root().loadSync(path.join(__dirname, '..', 'proto', 'hopwatch.proto'), {
  keepCase: true,
});
const TYPES: Record<MessageKind, protobuf.Type> = {
  records: root.lookupType('hopwatch.v1.RecordsMessage'),
  queues: root.lookupType('hopwatch.v1.QueueSamplesMessage'),
  reports: root.lookupType('hopwatch.v1.ReportsMessage'),
};
const DECODERS = {
  records: decodeRecordsMessage,
  queues: decodeQueuesMessage,
  reports: decodeReportsMessage,
};

function sorted(a: string[]): string[] {
  return [...a].sort();
}

describe('wire format', () => {
  const batch = randomBatch(3000, 42);

  test('the .proto and the encoder agree on field numbers and names', () => {
    for (const kind of ['records', 'queues', 'reports'] as const) {
      const t = TYPES[kind];
      const ours = messageFields(kind)
        .map((f) => `${f.field}:${f.name}`)
        .sort();
      const theirs = t.fieldsArray.map((f) => `${f.id}:${f.name}`).sort();
      expect(ours).toEqual(theirs);
    }
  });

  test('random batch covers the interesting cases', () => {
    let v6 = 0;
    let noFlow = 0;
    let absent = 0;
    let reports = 0;
    for (let r = 0; r < batch.count; r++) {
      v6 += batch.flowV6[r];
      noFlow += batch.hasFlow[r] ? 0 : 1;
      absent += batch.rhc[r] === -1 ? 1 : 0;
      reports += batch.reportVersion[r] ? 1 : 0;
    }
    expect(v6).toBeGreaterThan(100);
    expect(noFlow).toBeGreaterThan(50);
    expect(absent).toBeGreaterThan(100);
    expect(reports).toBeGreaterThan(1000);
    expect(batch.findings.length).toBeGreaterThan(10);
    expect(batch.dsTotal).toBeGreaterThan(100);
  });

  for (const kind of ['records', 'queues', 'reports'] as const) {
    test(`${kind}: splitBatch → decode reproduces every carried column`, () => {
      const split = splitBatch(batch, { maxRows: 97 });
      const into = new RecordBatch(8, 1);
      into.count = 0;
      const hopIndex: number[] = [];
      for (const m of split[kind]) {
        const n =
          kind === 'queues'
            ? decodeQueuesMessage(m.value, into, hopIndex)
            : DECODERS[kind](m.value, into);
        expect(n).toBe(m.count);
        expect(m.count).toBeLessThanOrEqual(97);
      }
      const want = signatures(batch, kind);
      expect(want.length).toBeGreaterThan(500);
      expect(sorted(signatures(into, kind))).toEqual(sorted(want));
      if (kind === 'queues') {
        expect(hopIndex.length).toBe(into.count);
        expect(Math.max(...hopIndex)).toBeGreaterThan(0);
      }
    });

    test(`${kind}: ours → protobufjs → same values; protobufjs → ours → same columns`, () => {
      const split = splitBatch(batch, { partitions: 4 });
      expect(new Set(split[kind].map((m) => m.partition)).size).toBeLessThanOrEqual(4);
      for (const m of split[kind]) expect(m.partition).toBe(partitionOf(m.key, 4));
      const mine = new RecordBatch();
      const viaPbjs = new RecordBatch();
      for (const m of split[kind]) {
        const obj = TYPES[kind].toObject(TYPES[kind].decode(m.value), {
          longs: String,
          arrays: true,
        });
        expect(obj.count).toBe(m.count);
        const base = mine.count;
        DECODERS[kind](m.value, mine);
        // protobufjs' view of the message must equal the decoded columns
        const got: unknown[] = [];
        const want: unknown[] = [];
        for (let i = 0; i < m.count; i++) {
          const r = base + i;
          got.push(obj.frame[i], obj.time_ns[i]);
          want.push(mine.frame[r], timeNs(mine.tsSec[r], mine.tsNsec[r]).toString());
          if (kind !== 'queues') {
            got.push(obj.sequence.length ? obj.sequence[i] : 0, obj.drop_reason[i]);
            want.push(mine.sequence[r], mine.dropReason[r]);
          }
          if (kind === 'records') {
            got.push(obj.rhc[i], obj.orig_port[i], obj.hop_count[i] ?? 0);
            want.push(mine.rhc[r], mine.origPort[r], mine.hopCount[r]);
          }
        }
        if (kind !== 'reports') {
          const h0 = mine.hopStart[base];
          expect(obj.ingress_ts.length).toBe(mine.hopTotal - h0);
          for (let j = 0; j < obj.ingress_ts.length; j++) {
            const h = h0 + j;
            got.push(obj.ingress_ts[j], obj.hop_latency[j], obj.switch_id[j]);
            want.push(
              ((BigInt(mine.ingressTsHi[h]) << 32n) | BigInt(mine.ingressTsLo[h])).toString(),
              mine.hopLatency[h],
              mine.switchId[h],
            );
          }
        }
        expect(got).toEqual(want);
        // protobufjs re-encodes from its object → our decoder
        const bytes = TYPES[kind].encode(TYPES[kind].fromObject(obj)).finish();
        DECODERS[kind](bytes, viaPbjs);
      }
      expect(viaPbjs.count).toBe(mine.count);
      expect(signatures(viaPbjs, kind)).toEqual(signatures(mine, kind));
      expect(sorted(signatures(mine, kind))).toEqual(sorted(signatures(batch, kind)));
    });
  }

  test('messages built with protobufjs from scratch decode (incl. IPv6, absent, all-zero columns)', () => {
    const T = TYPES.records;
    const msg = T.fromObject({
      count: 2,
      frame: [7, 8],
      time_ns: ['1700000000123456789', '18446744073709551615'.length ? '4000000000999999999' : '0'],
      rhc: [-1, 3],
      drop_reason: [5, -1],
      hop_count: [0, 2],
      has_flow: [1, 1],
      flow_v6: [1, 0],
      src_addr: [0x20010db8, 0, 0, 1, 0x0a000001],
      dst_addr: [0x20010db8, 0, 0, 2, 0x0a000002],
      src_port: [1, 2],
      present: [1, 3],
      switch_id: [10, 20],
      ingress_ts: ['18446744073709551615', '4294967296'],
      ds_count: [1, 0],
      ds_words: [99],
      findings: [{ record: 1, kind: 'k', detail: 'd' }],
    });
    const b = new RecordBatch(1, 1);
    // garbage from a previous use must be overwritten
    b.protocol.fill(77);
    b.dstPort.fill(77);
    decodeRecordsMessage(T.encode(msg).finish(), b);
    expect(b.count).toBe(2);
    expect([b.tsSec[0], b.tsNsec[0]]).toEqual([1700000000, 123456789]);
    expect([b.tsSec[1], b.tsNsec[1]]).toEqual([4000000000, 999999999]);
    expect(Array.from(b.rhc.subarray(0, 2))).toEqual([-1, 3]);
    expect(Array.from(b.dropReason.subarray(0, 2))).toEqual([5, -1]);
    expect(Array.from(b.srcAddr.subarray(0, 8))).toEqual([
      0x20010db8, 0, 0, 1, 0, 0, 0, 0x0a000001,
    ]);
    expect(Array.from(b.dstPort.subarray(0, 2))).toEqual([0, 0]);
    expect(Array.from(b.protocol.subarray(0, 2))).toEqual([0, 0]);
    expect([b.hopStart[1], b.hopCount[1], b.hopTotal]).toEqual([0, 2, 2]);
    expect([b.ingressTsHi[0], b.ingressTsLo[0], b.ingressTsHi[1], b.ingressTsLo[1]]).toEqual([
      0xffffffff, 0xffffffff, 1, 0,
    ]);
    expect([b.dsCount[0], b.dsWords[b.dsStart[0]]]).toEqual([1, 99]);
    expect(b.findings).toEqual([{ record: 1, kind: 'k', detail: 'd' }]);
  });

  test('time_ns: exact against BigInt both ways, random 32-bit seconds, the edges, and beyond 32 bits rejected', () => {
    const T = TYPES.records;
    const edges = [0, 1, 0xffff, 0x10000, 999_999_999, 1_000_000_000, 0x7fffffff, 0xffffffff];
    const pairs: [number, number][] = [];
    for (const s of edges) for (const n of [0, 1, 499_999_999, 999_999_999]) pairs.push([s, n]);
    const rnd = rng32(0x2545f491);
    for (let i = 0; i < 20_000; i++) pairs.push([rnd(), rnd() % 1_000_000_000]);
    const b = new RecordBatch(pairs.length, 1);
    const want: string[] = [];
    for (const [s, n] of pairs) {
      const r = b.count;
      b.count++;
      b.tsSec[r] = s;
      b.tsNsec[r] = n;
      const ns = BigInt(s) * 1_000_000_000n + BigInt(n);
      expect(timeNs(s, n)).toBe(ns);
      want.push(ns.toString());
    }
    // encoded by hopwatch, decoded by protobufjs: the fixed64 values are BigInt's
    const recs = Array.from({ length: b.count }, (_, i) => i);
    const bytes = encodeRecordsMessage(b, recs);
    const obj = T.toObject(T.decode(bytes), { longs: String }) as { time_ns: string[] };
    expect(obj.time_ns).toEqual(want);
    // and back: every second and nanosecond as it was
    const back = new RecordBatch(1, 1);
    decodeRecordsMessage(bytes, back);
    for (let i = 0; i < pairs.length; i++)
      if (back.tsSec[i] !== pairs[i][0] || back.tsNsec[i] !== pairs[i][1])
        throw new Error(`row ${i}: ${back.tsSec[i]}.${back.tsNsec[i]} for ${pairs[i].join('.')}`);
    // 2^32 s and the largest fixed64 do not fit a 32-bit second: a WireError, not a wrapped time
    for (const t of ['4294967296000000000', '18446744073709551615']) {
      const m = T.encode(T.fromObject({ count: 1, time_ns: [t] })).finish();
      expect(() => decodeRecordsMessage(m, new RecordBatch(1, 1))).toThrow(WireError);
    }
    const last = T.encode(T.fromObject({ count: 1, time_ns: ['4294967295999999999'] })).finish();
    const one = new RecordBatch(1, 1);
    decodeRecordsMessage(last, one);
    expect([one.tsSec[0], one.tsNsec[0]]).toEqual([0xffffffff, 999_999_999]);
  });

  test('hostile messages: rows and hops beyond the bounds are refused before anything is allocated', () => {
    // a few bytes claiming 2^31 rows (every column absent: "all zero")
    const rows = new PbWriter(16);
    rows.uint32Field(1, 2 ** 31);
    const b = new RecordBatch(4, 1);
    const cap = b.capacity;
    expect(() => decodeRecordsMessage(rows.finish(), b)).toThrow(/rows, more than/);
    expect([b.count, b.capacity]).toEqual([0, cap]);
    // the largest allowed count decodes (absent columns are zero)
    const most = new PbWriter(16);
    most.uint32Field(1, MAX_MESSAGE_ROWS);
    expect(decodeReportsMessage(most.finish(), new RecordBatch(4, 1))).toBe(MAX_MESSAGE_ROWS);
    // 1,000 records of 60,000 hops each: 60 million hops, from a message of a few KB
    const hops = new PbWriter(8192);
    hops.uint32Field(1, 1000);
    hops.tag(26, WT_LEN);
    hops.varint(3000);
    for (let i = 0; i < 1000; i++) hops.varint(60_000);
    const hb = new RecordBatch(4, 1);
    expect(() => decodeRecordsMessage(hops.finish(), hb)).toThrow(/hops, more than/);
    expect(hb.hopTotal).toBe(0);
    expect(MAX_MESSAGE_HOPS).toBeLessThan(60_000_000);
  });

  test('hostile messages: truncated and bit-flipped ones throw WireError or decode; the next good one is unaffected', () => {
    const batch = randomBatch(300, 11);
    const good = splitBatch(batch, { partitions: 1 });
    const kinds: MessageKind[] = ['records', 'queues', 'reports'];
    const want = kinds.map((k) => {
      const into = new RecordBatch(4, 1);
      DECODERS[k](good[k][0].value, into);
      return signatures(into, k).join('\n');
    });
    const r32 = rng32(12345);
    const rnd = (n: number): number => r32() % n;
    let refused = 0;
    for (let i = 0; i < 600; i++) {
      const k = i % 3;
      const src = good[kinds[k]][0].value;
      const bad = Buffer.from(src.subarray(0, i % 2 ? src.length : rnd(src.length)));
      for (let j = 0; j < 1 + rnd(4); j++) if (bad.length) bad[rnd(bad.length)] ^= 1 << rnd(8);
      try {
        DECODERS[kinds[k]](bad, new RecordBatch(4, 1));
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
        refused++;
      }
      // the decoder reuses its field index between messages: the good message is decoded as ever
      const into = new RecordBatch(4, 1);
      DECODERS[kinds[k]](src, into);
      expect(signatures(into, kinds[k]).join('\n')).toBe(want[k]);
    }
    expect(refused).toBeGreaterThan(60);
  });

  test('ip_length, vlan, vni: carried as value + 1; messages without them decode as not carried; out of range is rejected', () => {
    const T = TYPES.records;
    const b = new RecordBatch(4, 1);
    for (let r = 0; r < 3; r++) {
      b.hasFlow[r] = 1;
      b.count++;
    }
    b.ipLength.set([1500, 0, 40]);
    b.vlan.set([-1, 0, 4095]);
    b.vni.set([0xffffff, -1, 0]);
    const wire = encodeRecordsMessage(b, [0, 1, 2]);
    const obj = T.toObject(T.decode(wire)) as Record<string, number[]>;
    expect([obj.ip_length, obj.vlan, obj.vni]).toEqual([
      [1500, 0, 40],
      [0, 1, 4096],
      [0x1000000, 0, 1],
    ]);
    const back = new RecordBatch(1, 1);
    decodeRecordsMessage(wire, back);
    expect(Array.from(back.ipLength.subarray(0, 3))).toEqual([1500, 0, 40]);
    expect(Array.from(back.vlan.subarray(0, 3))).toEqual([-1, 0, 4095]);
    expect(Array.from(back.vni.subarray(0, 3))).toEqual([0xffffff, -1, 0]);
    // none carried: the columns are left out altogether
    const none = new RecordBatch(1, 1);
    none.hasFlow[0] = 1;
    none.count = 1;
    expect(T.toObject(T.decode(encodeRecordsMessage(none, [0])))).not.toHaveProperty('vlan');
    // a producer from before these fields: garbage in the batch is overwritten with "none"
    const old = new RecordBatch(2, 1);
    old.vlan.fill(7);
    old.vni.fill(7);
    old.ipLength.fill(7);
    decodeRecordsMessage(T.encode(T.fromObject({ count: 2, has_flow: [1, 1] })).finish(), old);
    expect([
      ...old.vlan.subarray(0, 2),
      ...old.vni.subarray(0, 2),
      ...old.ipLength.subarray(0, 2),
    ]).toEqual([-1, -1, -1, -1, 0, 0]);
    // a VLAN beyond 12 bits would wrap in the batch: the message is rejected instead
    const bad = T.encode(T.fromObject({ count: 1, has_flow: [1], vlan: [4097] })).finish();
    expect(() => decodeRecordsMessage(bad, new RecordBatch(1, 1))).toThrow(
      /vlan value 4096 > 4095/,
    );
  });

  test('unpacked repeated fields are accepted; wrong column lengths are rejected', () => {
    const w = new PbWriter(16);
    w.uint32Field(1, 2);
    w.tag(2, WT_VARINT);
    w.varint(5);
    w.tag(2, WT_VARINT);
    w.varint(6);
    const b = new RecordBatch(4, 1);
    decodeReportsMessage(w.finish(), b);
    expect(Array.from(b.frame.subarray(0, 2))).toEqual([5, 6]);
    const bad = new PbWriter(16);
    bad.uint32Field(1, 3);
    bad.tag(2, WT_LEN);
    bad.varint(2);
    bad.varint(1);
    bad.varint(2);
    expect(() => decodeReportsMessage(bad.finish(), new RecordBatch(4, 1))).toThrow(WireError);
    expect(() =>
      decodeRecordsMessage(new Uint8Array([0x0a, 0x05, 1]), new RecordBatch(4, 1)),
    ).toThrow(WireError);
  });

  test('encoding is compact and fast', () => {
    const big = randomBatch(20000, 7);
    const all = Array.from({ length: big.count }, (_, i) => i);
    const t0 = process.hrtime.bigint();
    let bytes = 0;
    for (let i = 0; i < 5; i++) bytes = encodeRecordsMessage(big, all).length;
    const ms = Number(process.hrtime.bigint() - t0) / 1e6 / 5;
    const into = new RecordBatch(big.count, 8);
    const buf = encodeRecordsMessage(big, all);
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < 5; i++) {
      into.reset();
      decodeRecordsMessage(buf, into);
    }
    const dms = Number(process.hrtime.bigint() - t1) / 1e6 / 5;
    console.log(
      `records message: ${big.count} records, ${big.hopTotal} hops → ${bytes} bytes ` +
        `(${(bytes / big.count).toFixed(1)} B/record), encode ${ms.toFixed(1)} ms, decode ${dms.toFixed(1)} ms`,
    );
    expect(ms).toBeLessThan(500);
    expect(dms).toBeLessThan(500);
  });

  test('murmur2 partitioner matches Kafka', () => {
    // Reference values from the Java client's Utils.murmur2 (also in kafkajs' tests).
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from(''))).toBe(275646681);
    expect(partitionOf('21', 4)).toBe((-973932308 & 0x7fffffff) % 4);
  });
});
