import { RecordBatch, toJson } from '@hopwatch/codec';
import {
  Analyzer,
  BoundedTable,
  formatConfusion,
  parseLabels,
  score,
  SketchPool,
  type Anomaly,
} from '../src';
import { append, flow, rng, T0, tuple } from './helpers';

describe('bounded state', () => {
  test('1M distinct flows stay within the configured caps, with eviction counts', () => {
    const cap = 100_000;
    const an = new Analyzer({ maxFlows: cap, maxLatencyFlows: 4096, maxPaths: 1024 });
    const b = new RecordBatch(4096, 4);
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    let n = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const r = b.count++;
      b.tsSec[r] = 1_700_000_000 + Math.floor(i / 100_000);
      b.tsNsec[r] = (i % 100_000) * 10_000;
      b.hasFlow[r] = 1;
      b.srcAddr[r * 4 + 3] = 0x0a000000 + i;
      b.dstAddr[r * 4 + 3] = 0x0a640001;
      b.srcPort[r] = i & 0xffff;
      b.dstPort[r] = 443;
      b.protocol[r] = 6;
      b.dropReason[r] = -1;
      b.hopStart[r] = b.hopTotal;
      b.hopCount[r] = 2;
      for (let k = 0; k < 2; k++) {
        const h = b.hopTotal++;
        b.present[h] = 1 | 4 | 8 | 2; // switch id, ports, latency, queue
        b.switchId[h] = 1 + k + (i % 4) * 2;
        b.egressPort[h] = i % 8;
        b.hopLatency[h] = 200 + (i % 300);
        b.queueId[h] = 0;
        b.queueOccupancy[h] = 3;
      }
      if (b.count === 4096) {
        an.process(b);
        n += b.count;
        b.reset();
      }
    }
    an.process(b);
    n += b.count;
    const dt = performance.now() - t0;
    const s = an.stats();
    expect(n).toBe(1_000_000);
    expect(s.records).toBe(1_000_000);
    expect(s.flows.size).toBeLessThanOrEqual(cap);
    expect(s.flows.size).toBe(cap);
    expect(s.flows.inserted).toBe(1_000_000);
    expect(s.flows.evictedSize + s.flows.evictedIdle).toBe(1_000_000 - cap);
    expect(s.latencyFlows.size).toBeLessThanOrEqual(4096);
    expect(s.paths.size).toBeLessThanOrEqual(1024);
    // the JS heap does not grow with the flows (state is in preallocated typed arrays)
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(64 * 1024 * 1024);
    expect(an.finish()).toEqual([]);
    console.log(`1M flows: ${dt.toFixed(0)} ms, state ${(s.memoryBytes / 2 ** 20).toFixed(1)} MiB`);
  });

  test('idle eviction', () => {
    const an = new Analyzer({ flowIdleNs: 1e9 });
    const b = new RecordBatch(16, 4);
    for (const [i, sec] of [
      [1, 0],
      [2, 0],
      [3, 5],
    ]) {
      append(b, {
        t: T0 + BigInt(sec) * 1_000_000_000n,
        flow: flow(i),
        hops: [{ sw: 1, lat: 100 }],
      });
      an.process(b);
      b.reset();
    }
    expect(an.stats().flows).toMatchObject({ size: 1, evictedIdle: 2, evictedSize: 0 });
  });

  test('BoundedTable: delete keeps every other key findable (backward shift)', () => {
    const t = new BoundedTable(64, 1);
    const rand = rng(5);
    let bad = 0;
    for (let i = 0; i < 20_000; i++) {
      t.scratch[0] = Math.floor(rand() * 200);
      const s = t.findOrInsert(i);
      if (rand() < 0.3) t.remove(s);
      // every live slot is found under its own key
      for (let x = 0; x < t.highWater; x++) {
        if (!t.live[x]) continue;
        t.scratch[0] = t.keys[x];
        if (t.find() !== x) bad++;
      }
    }
    expect(bad).toBe(0);
    expect(t.size).toBeLessThanOrEqual(64);
    expect(t.evictedSize).toBeGreaterThan(0);
  });

  test('BoundedTable: the index grows with the entries, every key findable across growths', () => {
    const cap = 5000;
    const t = new BoundedTable(cap, 2);
    const small = t.bytes;
    const rand = rng(11);
    const keyOf = new Map<number, string>();
    let bad = 0;
    for (let i = 0; i < 30_000; i++) {
      t.scratch[0] = Math.floor(rand() * 8000);
      t.scratch[1] = 7;
      const s = t.findOrInsert(i);
      keyOf.set(s, `${t.scratch[0]}`);
      if (rand() < 0.1) t.remove(s);
      if (i % 997 === 0)
        for (let x = 0; x < t.highWater; x++) {
          if (!t.live[x]) continue;
          t.scratch[0] = t.keys[x * 2];
          t.scratch[1] = t.keys[x * 2 + 1];
          if (t.find() !== x || `${t.keys[x * 2]}` !== keyOf.get(x)) bad++;
        }
    }
    expect(bad).toBe(0);
    expect(t.size).toBeGreaterThan(cap / 2);
    // a full table's index: the smallest power of two ≥ 2 × cap entries of 4 bytes, grown into
    expect(t.bytes - small).toBe((16384 - 64) * 4);
    const fresh = new BoundedTable(cap, 2);
    fresh.scratch[0] = 1;
    expect(fresh.findOrInsert(0)).toBe(0);
    expect(fresh.bytes).toBe(small);
  });
});

describe('latency statistics', () => {
  test('percentiles within the sketch relative error of exact sorted percentiles', () => {
    const rand = rng(9);
    const an = new Analyzer();
    const b = new RecordBatch(4096, 4);
    const vals: number[] = [];
    const e2e: number[] = [];
    const f = flow(1);
    for (let i = 0; i < 100_000; i++) {
      const lat = Math.round(Math.exp(5 + 2.5 * rand() * rand() + rand())); // skewed, 150 ns .. ~100 µs
      const lat2 = Math.round(100 + 50 * rand());
      vals.push(lat);
      e2e.push(lat + lat2);
      append(b, {
        t: T0 + BigInt(i * 1000),
        flow: f,
        hops: [
          { sw: 1, eg: 2, q: 3, lat, occ: i % 1000 },
          { sw: 2, eg: 1, q: 0, lat: lat2 },
        ],
      });
      if (b.count === 4096) {
        an.process(b);
        b.reset();
      }
    }
    an.process(b);
    const st = an.latencyStats();
    const q = st.queues.find((x) => x.switchId === 1)!;
    expect(q).toMatchObject({ egressPort: 2, queueId: 3, count: 100_000, maxOccupancy: 999 });
    const exact = (a: number[], p: number): number =>
      [...a].sort((x, y) => x - y)[Math.ceil(p * a.length) - 1];
    const close = (got: number | null, want: number, rel: number): void => {
      expect(got).not.toBeNull();
      expect(Math.abs((got as number) - want)).toBeLessThanOrEqual(want * rel + 0.5);
    };
    for (const [k, p] of [
      ['p50', 0.5],
      ['p90', 0.9],
      ['p99', 0.99],
    ] as const) {
      close(q[k], exact(vals, p), st.relativeError.queue);
      close(st.flows[0].endToEnd[k], exact(e2e, p), st.relativeError.flow);
    }
    expect(q.max).toBe(Math.max(...vals));
    expect(st.flows).toHaveLength(1);
    expect(st.flows[0].flow).toEqual(tuple(f));
    expect(st.flows[0].count).toBe(200_000);
    expect(st.relativeError.queue).toBeLessThanOrEqual(1 / 64);
  });

  test('SketchPool exact below 2^bits and bounded error above', () => {
    const p = new SketchPool(2, 5);
    for (let v = 0; v < 32; v++) p.add(0, v);
    expect(p.quantile(0, 0.5)).toBe(15);
    for (const v of [1000, 123456, 4294967295]) {
      p.clear(1);
      p.add(1, v);
      p.add(1, v);
      expect(Math.abs((p.quantile(1, 0.5) as number) - v) / v).toBeLessThanOrEqual(p.relativeError);
    }
  });
});

describe('scoring', () => {
  const F1 = { srcAddr: '10.0.0.1', dstAddr: '10.0.0.2', srcPort: 1, dstPort: 2, protocol: 17 };
  const F2 = { ...F1, srcPort: 9 };
  const text = `{ "scenario": "mix", "seed": 1, "packets": 10, "reports": 0,
    "format": { "mode": "MD", "intVersion": "2.1", "encapsulation": "udp-dscp", "reportVersion": null },
    "tolerance": { "startNs": 1000000, "endNs": 1000000 },
    "anomalies": [
      { "type": "microburst", "start": 1700000000123456789, "end": 1700000000124456789, "switchId": 2, "egressPort": 3, "queueId": 0, "aggressors": [${JSON.stringify(F1)}], "victims": [${JSON.stringify(F2)}], "peakOccupancy": 900 },
      { "type": "microloop", "start": 1700000000200000000, "end": 1700000000210000000, "switches": [5, 3], "flows": [${JSON.stringify(F1)}], "packets": 50 },
      { "type": "path_change", "start": 1700000000300000000, "flow": ${JSON.stringify(F1)}, "oldPath": [1,2], "newPath": [1,3] },
      { "type": "drop", "start": 1700000000400000000, "end": 1700000000500000000, "switchId": 7, "flows": [${JSON.stringify(F2)}], "packets": 10 },
      { "type": "report_loss", "start": 1700000000600000000, "end": 1700000000600100000, "nodeId": 4, "hwId": 1, "lost": 3 } ] }`;

  test('labels parse times exactly as bigint', () => {
    const l = parseLabels(text);
    expect(l.anomalies[0].start).toBe(1700000000123456789n);
    expect(l.tolerance).toEqual({ startNs: 1000000n, endNs: 1000000n });
    expect(l.anomalies[0].aggressors).toEqual([F1]);
  });

  test('precision / recall / F1 and timing errors per type', () => {
    const labels = parseLabels(text);
    const base = { id: 'x', packets: 1 };
    const found: Anomaly[] = [
      // burst: right queue, right aggressor, 500 µs late
      {
        ...base,
        type: 'microburst',
        start: 1700000000123956789n,
        end: 1700000000124456789n,
        switchId: 2,
        egressPort: 3,
        queueId: 0,
        peakOccupancy: 800,
        peakLatency: 9000,
        baselineLatency: 300,
        baselineOccupancy: 1,
        threshold: 2000,
        clock: 'switch',
        shareBy: 'packets',
        aggressors: [{ ...F1, packets: 10, bytes: null, share: 0.9, maxLatency: 9000 }],
        victims: [],
        flowCount: 2,
      },
      // burst with the wrong aggressor: a false positive
      {
        ...base,
        type: 'microburst',
        start: 1700000000123456789n,
        end: 1700000000124456789n,
        switchId: 2,
        egressPort: 3,
        queueId: 0,
        peakOccupancy: 800,
        peakLatency: 9000,
        baselineLatency: 300,
        baselineOccupancy: 1,
        threshold: 2000,
        clock: 'switch',
        shareBy: 'packets',
        aggressors: [{ ...F2, packets: 10, bytes: null, share: 0.9, maxLatency: 9000 }],
        victims: [],
        flowCount: 2,
      },
      {
        ...base,
        type: 'microloop',
        start: 1700000000200000100n,
        end: 1700000000209000000n,
        switches: [3, 5],
        ports: [],
        flows: [F1],
        flowCount: 1,
        eBitPackets: 0,
        hopCountBefore: 3,
        hopCountMax: 8,
      },
      {
        ...base,
        type: 'path_change',
        start: 1700000000300000500n,
        end: 1700000000300000500n,
        flow: F1,
        oldPath: [1, 2],
        newPath: [1, 3],
        summary: false,
        changes: 1,
        paths: [],
      },
      // silent drop: matched through the flow although the suspected switch differs
      {
        ...base,
        type: 'drop',
        start: 1700000000400500000n,
        end: 1700000000500000000n,
        switchId: 9,
        dropReason: null,
        flows: [F2],
        flowCount: 1,
        silent: true,
        lastSwitch: 9,
        path: [1, 9],
      },
      // report loss on another node: FP, and the label is missed
      {
        ...base,
        type: 'report_loss',
        start: 1700000000600000000n,
        end: 1700000000600100000n,
        nodeId: 5,
        reporterAddr: '1.2.3.4',
        hwId: 1,
        lost: 3,
        reordered: 0,
        reportVersion: '2.0',
        modulus: 4194304,
      },
    ];
    const rep = score(found, labels);
    const t = Object.fromEntries(rep.types.map((x) => [x.type, x]));
    expect([t.microburst.tp, t.microburst.fp, t.microburst.fn]).toEqual([1, 1, 0]);
    expect(t.microburst.precision).toBe(0.5);
    expect(t.microburst.startErrorNs).toEqual({ mean: 500000, max: 500000 });
    expect([t.microloop.tp, t.path_change.tp, t.drop.tp]).toEqual([1, 1, 1]);
    expect([t.report_loss.tp, t.report_loss.fp, t.report_loss.fn]).toEqual([0, 1, 1]);
    expect(rep.overall).toMatchObject({ tp: 4, fp: 2, fn: 1 });
    expect(rep.missed).toEqual([4]);
    expect(rep.spurious).toEqual([1, 5]);
    const table = formatConfusion(rep);
    expect(table).toContain('scenario: mix');
    expect(table).toMatch(/report_loss\s+1\s+1\s+0\s+1\s+1\s+0\.000/);
    // a tighter tolerance loses the late burst
    const strict = score(found, labels, { tolerance: { startNs: 100_000n, endNs: 100_000n } });
    expect(strict.types.find((x) => x.type === 'microburst')!.tp).toBe(1); // overlap still holds
    // anomalies serialise with exact integer times
    expect(toJson(found[0])).toContain('"start":1700000000123956789');
  });
});
