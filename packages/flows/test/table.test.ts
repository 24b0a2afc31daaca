/**
 * FlowTable: intervals close by idle and active timeouts, at the end, and early under memory
 * pressure (counted); per-flow packets, path, path changes, end-to-end latency (timestamps or
 * the sum of hop latencies, said which), jitter, worst hop, drop reports and reporter gaps.
 * Then a real capture: the flows of demo-fabric.pcap agree with what the store's own path
 * rows say in SQL (another code path: the Native encoder and the engine).
 */
import * as path from 'path';
import { Decoder, HopField, IntVer, makeConfig, RecordBatch } from '@hopwatch/codec';
import { FlowEndReason, FlowTable, type FlowRecord } from '@hopwatch/flows';
import { openCapture } from '@hopwatch/pcap';

const T0 = 1_767_225_600;

interface Pkt {
  t: number; // ms from T0
  src?: number; // last octet of 10.0.0.x
  sport?: number;
  hops: {
    sw: number;
    lat?: number;
    inTs?: number;
    outTs?: number;
    inPort?: number;
    outPort?: number;
  }[];
  seq?: number;
  drop?: boolean;
  v6?: boolean;
  /** INT version code (default v2.1; v1.0's timestamps are 32-bit) */
  ver?: number;
}

function batchOf(pkts: Pkt[]): RecordBatch {
  const b = new RecordBatch(Math.max(16, pkts.length), 8);
  for (const p of pkts) {
    b.ensureRecord();
    const i = b.count++;
    b.frame[i] = i + 1;
    b.tsSec[i] = T0 + Math.floor(p.t / 1000);
    b.tsNsec[i] = (p.t % 1000) * 1e6;
    b.intVersion[i] = p.ver ?? IntVer.V21;
    b.hasFlow[i] = 1;
    b.flowV6[i] = p.v6 ? 1 : 0;
    for (let w = 0; w < 4; w++) {
      b.srcAddr[i * 4 + w] = 0;
      b.dstAddr[i * 4 + w] = 0;
    }
    if (p.v6) {
      b.srcAddr[i * 4] = 0x20010db8;
      b.srcAddr[i * 4 + 3] = p.src ?? 1;
      b.dstAddr[i * 4] = 0x20010db8;
      b.dstAddr[i * 4 + 3] = 0x99;
    } else {
      b.srcAddr[i * 4 + 3] = (10 << 24) | (p.src ?? 1);
      b.dstAddr[i * 4 + 3] = (10 << 24) | (1 << 16) | 1;
    }
    b.srcPort[i] = p.sport ?? 1000;
    b.dstPort[i] = 80;
    b.protocol[i] = 6;
    if (p.seq !== undefined) {
      b.reportVersion[i] = 3;
      b.sequence[i] = p.seq;
      b.hasNodeId[i] = 1;
      b.nodeId[i] = 7;
      b.repFlags[i] = p.drop ? 1 : 0;
    }
    b.ensureHops(p.hops.length);
    b.hopStart[i] = b.hopTotal;
    b.hopCount[i] = p.hops.length;
    for (const h of p.hops) {
      const k = b.hopTotal++;
      b.clearHop(k);
      let present = HopField.SWITCH_ID;
      b.switchId[k] = h.sw;
      if (h.lat !== undefined) {
        present |= HopField.HOP_LATENCY;
        b.hopLatency[k] = h.lat;
      }
      if (h.inTs !== undefined) {
        present |= HopField.INGRESS_TS;
        b.ingressTsLo[k] = h.inTs;
      }
      if (h.outTs !== undefined) {
        present |= HopField.EGRESS_TS;
        b.egressTsLo[k] = h.outTs;
      }
      if (h.inPort !== undefined) {
        present |= HopField.L1_PORTS;
        b.ingressPort[k] = h.inPort;
        b.egressPort[k] = h.outPort ?? 0;
      }
      b.present[k] = present;
    }
  }
  return b;
}

const run = (pkts: Pkt[], opts = {}): { flows: FlowRecord[]; table: FlowTable } => {
  const table = new FlowTable(opts);
  table.process(batchOf(pkts));
  return { flows: [...table.take(), ...table.finish()], table };
};

test('one flow: counts, path, hop-latency-sum latency, jitter, worst hop, interfaces', () => {
  const lat = [
    [100, 300],
    [200, 100],
    [150, 250],
    [120, 180],
  ];
  const { flows } = run(
    lat.map(([a, b], i) => ({
      t: i * 10,
      hops: [
        { sw: 1, lat: a, inPort: 3, outPort: 4 },
        { sw: 2, lat: b, inPort: 5, outPort: 9 },
      ],
    })),
  );
  expect(flows).toHaveLength(1);
  const f = flows[0];
  expect(f).toMatchObject({
    ipVersion: 4,
    src: '10.0.0.1',
    dst: '10.1.0.1',
    srcPort: 1000,
    dstPort: 80,
    protocol: 6,
    packets: 4,
    path: [1, 2],
    pathChanges: 0,
    ingressInterface: 3,
    egressInterface: 9,
    e2eSource: 'hop-latency-sum',
    endReason: FlowEndReason.FORCED,
    startNs: BigInt(T0) * 1_000_000_000n,
    endNs: BigInt(T0) * 1_000_000_000n + 30_000_000n,
  });
  // e2e per packet: 400, 300, 400, 300
  expect(f.e2e).toMatchObject({ min: 300, max: 400, mean: 350, samples: 4 });
  expect(f.e2e!.p50).toBeGreaterThanOrEqual(300);
  expect(f.e2e!.p99).toBeLessThanOrEqual(400);
  expect(f.jitter).toBe(100); // |300-400|, |400-300|, |300-400|
  expect(f.worstHop).toBe(2); // mean 207.5 vs 142.5
  expect(f.worstHopLatency).toBe(207.5);
});

test('timestamps give the end-to-end latency when the stack has them, 32-bit wrap included', () => {
  const { flows } = run([
    {
      t: 0,
      ver: IntVer.V10,
      hops: [
        { sw: 1, lat: 5, inTs: 1000 },
        { sw: 2, lat: 5, outTs: 3500 },
      ],
    },
    {
      t: 1,
      ver: IntVer.V10,
      hops: [
        { sw: 1, lat: 5, inTs: 0xffffff00 },
        { sw: 2, lat: 5, outTs: 0x100 },
      ],
    },
  ]);
  expect(flows[0].e2eSource).toBe('timestamps');
  expect(flows[0].e2e).toMatchObject({ min: 512, max: 2500 });
});

test('timestamps from clocks that disagree fall back to the hop latencies, counted', () => {
  const { flows, table } = run([
    {
      t: 0,
      hops: [
        { sw: 1, lat: 300, inTs: 1000 },
        { sw: 2, lat: 400, outTs: 2_800_000_000 }, // 2.8 s "end to end": another clock
      ],
    },
  ]);
  expect(flows[0].e2eSource).toBe('hop-latency-sum');
  expect(flows[0].e2e).toMatchObject({ min: 700, max: 700 });
  expect(table.stats.clockSkew).toBe(1);
});

test('idle and active timeouts close intervals; path changes are counted', () => {
  const pkts: Pkt[] = [];
  // flow A: a packet every 100 ms for 25 s (active timeout 10 s: intervals of 10, 10, 5 s)
  for (let t = 0; t < 25_000; t += 100)
    pkts.push({ t, src: 1, hops: [{ sw: t < 5000 ? 1 : 3, lat: 10 }] });
  // flow B: two packets, then silence longer than the idle timeout
  pkts.push(
    { t: 50, src: 2, hops: [{ sw: 1, lat: 10 }] },
    { t: 60, src: 2, hops: [{ sw: 1, lat: 10 }] },
  );
  pkts.sort((a, b) => a.t - b.t);
  const { flows, table } = run(pkts, { idleTimeoutMs: 2000, activeTimeoutMs: 10_000 });
  const a = flows.filter((f) => f.src === '10.0.0.1');
  const b = flows.filter((f) => f.src === '10.0.0.2');
  expect(a.map((f) => f.endReason)).toEqual([
    FlowEndReason.ACTIVE,
    FlowEndReason.ACTIVE,
    FlowEndReason.FORCED,
  ]);
  expect(a.map((f) => f.packets)).toEqual([100, 100, 50]);
  expect(a[0].pathChanges).toBe(1); // switch 1 → 3 at 5 s
  expect(a[1].pathChanges).toBe(0);
  expect(a.reduce((n, f) => n + f.packets, 0)).toBe(250);
  expect(b).toHaveLength(1);
  expect(b[0]).toMatchObject({ endReason: FlowEndReason.IDLE, packets: 2 });
  expect(table.stats).toMatchObject({ records: 252, idle: 1, active: 2, forced: 1, evicted: 0 });
});

test('memory is bounded: a full table evicts the least recent flow early, counted, nothing lost', () => {
  const pkts: Pkt[] = [];
  for (let i = 0; i < 1000; i++)
    pkts.push({ t: i, src: i % 250, sport: 1000 + (i % 7), hops: [{ sw: 1, lat: 1 }] });
  const { flows, table } = run(pkts, { maxFlows: 64 });
  expect(table.stats.evicted).toBeGreaterThan(0);
  expect(flows.filter((f) => f.endReason === FlowEndReason.EVICTED)).toHaveLength(
    table.stats.evicted,
  );
  expect(flows.reduce((n, f) => n + f.packets, 0)).toBe(1000);
});

test('drop reports and sequence gaps at the flow reporter are its loss indicators', () => {
  const { flows } = run([
    { t: 0, seq: 10, hops: [{ sw: 1, lat: 1 }] },
    { t: 1, seq: 11, hops: [{ sw: 1, lat: 1 }] },
    { t: 2, seq: 15, hops: [{ sw: 1, lat: 1 }] }, // 3 reports missing
    { t: 3, seq: 16, drop: true, hops: [{ sw: 1 }] },
  ]);
  expect(flows[0]).toMatchObject({ dropReports: 1, reportGaps: 3 });
});

test('IPv6 flows are written as RFC 5952 text', () => {
  const { flows } = run([{ t: 0, v6: true, src: 5, hops: [{ sw: 1, lat: 1 }] }]);
  expect(flows[0]).toMatchObject({ ipVersion: 6, src: '2001:db8::5', dst: '2001:db8::99' });
});

test('a real capture: every flow of demo-fabric.pcap agrees with its decoded records', () => {
  const file = path.join(__dirname, '../../../captures/demo-fabric.pcap');
  const dec = new Decoder(makeConfig('spec'));
  const b = new RecordBatch(1 << 16, 8);
  const table = new FlowTable({ idleTimeoutMs: 3_600_000, activeTimeoutMs: 3_600_000 });
  // an independent tally, per record, of what each flow must show
  const want = new Map<
    string,
    { packets: number; min: number; max: number; sum: number; n: number }
  >();
  const reader = openCapture(file);
  const flush = (): void => {
    for (let r = 0; r < b.count; r++) {
      if (!b.hasFlow[r]) continue;
      const a = r * 4;
      const k = `${b.srcAddr[a + 3] >>> 0}:${b.srcPort[r]}>${b.dstAddr[a + 3] >>> 0}:${b.dstPort[r]}/${b.protocol[r]}`;
      const w = want.get(k) ?? { packets: 0, min: Infinity, max: 0, sum: 0, n: 0 };
      w.packets++;
      let sum = 0;
      let ok = true;
      let any = false;
      for (let h = b.hopStart[r]; h < b.hopStart[r] + b.hopCount[r]; h++) {
        if (b.origin[h] !== 0) continue;
        any = true;
        if (b.present[h] & HopField.HOP_LATENCY) sum += b.hopLatency[h];
        else ok = false;
      }
      if (any && ok) {
        w.min = Math.min(w.min, sum);
        w.max = Math.max(w.max, sum);
        w.sum += sum;
        w.n++;
      }
      want.set(k, w);
    }
    table.process(b);
    b.reset();
  };
  for (let p = reader.next(); p; p = reader.next()) {
    dec.decode(p.data, p.linkType, p.tsSec, p.tsNsec, p.index, b);
    if (b.count > 60_000) flush();
  }
  reader.close();
  flush();
  const flows = [...table.take(), ...table.finish()];
  expect(flows.length).toBe(want.size);
  expect(flows.length).toBeGreaterThan(5);
  for (const f of flows) {
    const ip = (s: string): number => s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
    const w = want.get(`${ip(f.src)}:${f.srcPort}>${ip(f.dst)}:${f.dstPort}/${f.protocol}`)!;
    expect(w).toBeDefined();
    expect(f.packets).toBe(w.packets);
    if (f.e2eSource === 'hop-latency-sum') {
      expect(f.e2e!.min).toBe(w.min);
      expect(f.e2e!.max).toBe(w.max);
      expect(f.e2e!.mean).toBeCloseTo(w.sum / w.n, 6);
    }
    expect(f.path.length).toBeGreaterThan(0);
  }
});

test('report gaps can be turned off (a Kafka partition sees only its flows’ share of a reporter’s reports)', () => {
  const pkts: Pkt[] = [
    { t: 0, seq: 10, hops: [{ sw: 1, lat: 1 }] },
    { t: 1, seq: 15, drop: true, hops: [{ sw: 1 }] },
  ];
  expect(run(pkts)[`flows`][0]).toMatchObject({ dropReports: 1, reportGaps: 4 });
  expect(run(pkts, { reportGaps: false })[`flows`][0]).toMatchObject({
    dropReports: 1,
    reportGaps: 0,
  });
});

test('a packet after the idle timeout starts a new interval even when no sweep ran in between', () => {
  // one flow alone: nothing else advances time, so only its own next packet can close it
  const { flows } = run(
    [
      { t: 0, hops: [{ sw: 1, lat: 1 }] },
      { t: 100, hops: [{ sw: 1, lat: 1 }] },
      { t: 3000, hops: [{ sw: 1, lat: 1 }] },
    ],
    { idleTimeoutMs: 2000, activeTimeoutMs: 60_000 },
  );
  expect(flows.map((f) => [f.endReason, f.packets])).toEqual([
    [FlowEndReason.IDLE, 2],
    [FlowEndReason.FORCED, 1],
  ]);
});

/** Records of demo-fabric.pcap in batches of ~`per` (the batches a Kafka consumer might see). */
function demoBatches(per: number): RecordBatch[] {
  const file = path.join(__dirname, '../../../captures/demo-fabric.pcap');
  const dec = new Decoder(makeConfig('spec'));
  const out: RecordBatch[] = [];
  let b = new RecordBatch(per + 64, 8);
  const reader = openCapture(file);
  for (let p = reader.next(); p; p = reader.next()) {
    dec.decode(p.data, p.linkType, p.tsSec, p.tsNsec, p.index, b);
    if (b.count >= per) {
      out.push(b);
      b = new RecordBatch(per + 64, 8);
    }
  }
  reader.close();
  if (b.count) out.push(b);
  return out;
}

test('checkpoint → JSON → restore into a new table, at any batch: the same intervals as without', () => {
  const batches = demoBatches(97);
  expect(batches.length).toBeGreaterThan(10);
  // short timeouts and a small table: every kind of interval end happens
  const opts = { idleTimeoutMs: 0.02, activeTimeoutMs: 0.1, maxFlows: 24 }; // the capture lasts 3 ms
  const all = (cut: number | null): FlowRecord[] => {
    let t = new FlowTable(opts);
    const out: FlowRecord[] = [];
    batches.forEach((b, i) => {
      if (i === cut) {
        const json = JSON.parse(JSON.stringify(t.checkpoint()));
        t = new FlowTable(opts);
        t.restore(json);
      }
      t.process(b);
      out.push(...t.take());
    });
    // finish() goes by slot number, which a restore renumbers: compare in a fixed order
    return [...out, ...t.finish()].sort((a, b) =>
      `${a.startNs}|${a.src}|${a.srcPort}`.localeCompare(`${b.startNs}|${b.src}|${b.srcPort}`),
    );
  };
  const whole = all(null);
  const reasons = new Set(whole.map((f) => f.endReason));
  expect([...reasons].sort()).toEqual([
    FlowEndReason.IDLE,
    FlowEndReason.ACTIVE,
    FlowEndReason.FORCED,
    FlowEndReason.EVICTED,
  ]);
  for (const cut of [1, 3, Math.floor(batches.length / 2), batches.length - 1])
    expect(all(cut)).toEqual(whole);
});

test('restore refuses a used table and a malformed checkpoint', () => {
  const t = new FlowTable();
  t.process(batchOf([{ t: 0, hops: [{ sw: 1, lat: 1 }] }]));
  const ck = t.checkpoint();
  expect(() => t.restore(ck)).toThrow(/used table/);
  expect(() => new FlowTable().restore({ ...ck, v: 2 as 1 })).toThrow(/version/);
  expect(() =>
    new FlowTable({ maxFlows: 1 }).restore({ ...ck, flows: [ck.flows[0], ck.flows[0]] }),
  ).toThrow(/maxFlows/);
  expect(() => new FlowTable().restore({ ...ck, flows: [{ ...ck.flows[0], k: [1, 2] }] })).toThrow(
    /wrong shape/,
  );
});
