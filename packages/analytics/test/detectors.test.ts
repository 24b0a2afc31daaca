import { toJson } from '@hopwatch/codec';
import {
  Analyzer,
  formatConfusion,
  parseLabels,
  score,
  type Anomaly,
  type DropAnomaly,
  type MicroburstAnomaly,
  type MicroloopAnomaly,
  type PathChangeAnomaly,
  type ReportLossAnomaly,
} from '../src';
import { feed, flow, ms, rng, T0, tuple, us, type TRecord } from './helpers';

const byType = <T extends Anomaly>(a: Anomaly[], type: T['type']): T[] =>
  a.filter((x) => x.type === type) as T[];

describe('micro-loop', () => {
  function loopScenario(): {
    recs: TRecord[];
    fa: ReturnType<typeof flow>;
    fc: ReturnType<typeof flow>;
  } {
    const fa = flow(1);
    const fb = flow(2);
    const fc = flow(3);
    const recs: TRecord[] = [];
    const path = [1, 2, 3, 4].map((sw) => ({ sw, ing: 1, eg: 2, lat: 300 }));
    // steady traffic 0..300 ms: one packet per flow per ms
    for (let i = 0; i < 300; i++) {
      for (const f of [fa, fb, fc])
        recs.push({ t: T0 + ms(i) + us(f.sport % 7), flow: f, hops: path });
    }
    // loop episode at 100 ms: 50 looping packets of flows A and C over 5 ms, cycle 3 -> 5 -> 3
    const loop = [1, 3, 5, 3, 5, 3, 5, 3].map((sw) => ({
      sw,
      ing: sw === 3 ? 7 : 8,
      eg: sw === 3 ? 8 : 7,
      lat: 400,
    }));
    for (let k = 0; k < 50; k++) {
      recs.push({
        t: T0 + ms(100) + us(100 * k + 50),
        flow: k % 2 ? fa : fc,
        hops: loop,
        eBit: k % 3 === 0,
      });
    }
    // a second, distinct episode 150 ms later on the same cycle (entered at 5): separate episode
    const loop2 = [2, 5, 3, 5, 3].map((sw) => ({ sw, eg: 1, lat: 400 }));
    for (let k = 0; k < 10; k++)
      recs.push({ t: T0 + ms(250) + us(10 * k + 3), flow: fb, hops: loop2, eBit: true });
    recs.sort((x, y) => (x.t < y.t ? -1 : x.t > y.t ? 1 : 0));
    return { recs, fa, fc };
  }

  test('50 looping packets make one episode with the cycle, ports, flows and E-bit count', () => {
    const { recs, fa, fc } = loopScenario();
    const an = new Analyzer();
    feed(an, recs, 64);
    const out = an.finish();
    const loops = byType<MicroloopAnomaly>(out, 'microloop');
    expect(loops).toHaveLength(2);
    const [l1, l2] = loops;
    expect(l1.switches).toEqual([3, 5]);
    expect(l1.ports).toEqual([
      { switchId: 3, ingressPort: 7, egressPort: 8 },
      { switchId: 5, ingressPort: 8, egressPort: 7 },
    ]);
    expect(l1.packets).toBe(50);
    expect(l1.eBitPackets).toBe(17);
    expect(l1.flowCount).toBe(2);
    expect(l1.flows).toEqual(expect.arrayContaining([tuple(fa), tuple(fc)]));
    expect(l1.hopCountBefore).toBe(4);
    expect(l1.hopCountMax).toBe(8);
    expect(l1.start).toBe(T0 + ms(100) + us(50));
    expect(l1.end).toBe(T0 + ms(100) + us(4950));
    // second episode: the cycle seen from 5 (same switch set, reported in travel order)
    expect(l2.switches).toEqual([5, 3]);
    expect(l2.packets).toBe(10);
    expect(l2.eBitPackets).toBe(10);
    // loop packets are not path changes, and there are no other anomalies
    expect(out.filter((a) => a.type !== 'microloop')).toEqual([]);
    // JSON: times are exact integers
    expect(toJson(l1)).toContain(`"start":${T0 + ms(100) + us(50)}`);
    expect(l1.id).toBe(`microloop:3-5:${l1.start}`);
  });

  test('episodes are emitted once the gap has passed (streaming flush)', () => {
    const { recs } = loopScenario();
    const seen: Anomaly[] = [];
    const an = new Analyzer({ onAnomaly: (a) => seen.push(a) });
    feed(
      an,
      recs.filter((r) => r.t < T0 + ms(200)),
      64,
    );
    expect(an.flush().filter((a) => a.type === 'microloop')).toHaveLength(0); // gap not over (last data 199 ms)
    const f = an.flush(T0 + ms(300));
    expect(f.filter((a) => a.type === 'microloop')).toHaveLength(1);
    expect(seen.filter((a) => a.type === 'microloop')).toHaveLength(1);
    expect(an.finish().filter((a) => a.type === 'microloop')).toHaveLength(0);
  });
});

describe('hairpins vs micro-loops', () => {
  // leaf 2 sends the flows out of port 9 to a non-INT appliance and takes them back on port 9
  const pin = [
    { sw: 1, ing: 1, eg: 5 },
    { sw: 101, ing: 1, eg: 2 },
    { sw: 2, ing: 5, eg: 9 },
    { sw: 2, ing: 9, eg: 1 },
  ];
  const direct = [
    { sw: 1, ing: 1, eg: 5 },
    { sw: 101, ing: 1, eg: 3 },
    { sw: 3, ing: 5, eg: 1 },
  ];

  test('a repeat stable from the first packet is a hairpin, not a loop', () => {
    const recs: TRecord[] = [];
    // 20 flows starting and ending over 300 ms, every stack hairpinned
    for (let i = 0; i < 20; i++)
      for (let k = 0; k < 50; k++)
        recs.push({ t: T0 + ms(i * 10) + us(100 * k + i), flow: flow(i), hops: pin });
    recs.sort((x, y) => (x.t < y.t ? -1 : x.t > y.t ? 1 : 0));
    const an = new Analyzer();
    feed(an, recs, 64);
    expect(an.finish()).toEqual([]);
    const pins = an.hairpins();
    expect(pins).toEqual([
      {
        switchId: 2,
        egressPort: 9,
        ingressPort: 9,
        flowCount: 20,
        packets: 1000,
        first: T0 + us(0),
        last: T0 + ms(190) + us(4900 + 19),
      },
    ]);
    expect(an.stats().hairpins).toEqual({ size: 1, overflow: 0 });
  });

  test('a repeat that appears mid-flow (hop count grows), with the E bit, or going round again is a loop', () => {
    const recs: TRecord[] = [];
    const fa = flow(1);
    const fb = flow(2);
    const fc = flow(3);
    for (let k = 0; k < 100; k++) {
      const t = T0 + us(100 * k);
      // A: loop-free, then once round spine 101 ⇄ leaf 3 (no E bit) at 5 ms: hop count 3 → 5
      const once = [direct[0], direct[1], { sw: 3, ing: 5, eg: 6 }, direct[1], direct[2]];
      recs.push({ t, flow: fa, hops: k >= 50 && k < 60 ? once : direct });
      // B: hairpinned from its first packet, then E-bit packets with the same stack
      recs.push({ t: t + 10n, flow: fb, hops: pin, eBit: k >= 70 && k < 75 });
      // C: new at 8 ms, its first packets already going round twice (cycle repeats)
      if (k >= 80 && k < 85) {
        const twice = [
          direct[0],
          { sw: 102 },
          { sw: 4 },
          { sw: 102 },
          { sw: 4 },
          { sw: 102 },
          direct[2],
        ];
        recs.push({ t: t + 20n, flow: fc, hops: twice });
      }
    }
    const an = new Analyzer();
    feed(an, recs, 64);
    const out = an.finish();
    const loops = byType<MicroloopAnomaly>(out, 'microloop');
    expect(loops.map((l) => [l.switches, l.packets, l.eBitPackets, l.flows])).toEqual([
      [[101, 3], 10, 0, [tuple(fa)]],
      [[2], 5, 5, [tuple(fb)]],
      [[102, 4], 5, 0, [tuple(fc)]],
    ]);
    expect(loops[0].hopCountBefore).toBe(3);
    // B's hairpin is still listed (its other 95 packets)
    expect(an.hairpins().map((h) => [h.switchId, h.flowCount, h.packets])).toEqual([[2, 1, 95]]);
  });

  test('a flow whose first packet goes once round an open micro-loop joins it', () => {
    const once = [direct[0], direct[1], { sw: 3, ing: 5, eg: 6 }, direct[1], direct[2]];
    const recs: TRecord[] = [];
    for (let k = 0; k < 10; k++)
      recs.push({
        t: T0 + us(10 * k),
        flow: flow(1),
        hops: [...once, direct[1], { sw: 3 }],
        eBit: true,
      });
    // a new flow, once round, no E bit, while the loop is open
    for (let k = 0; k < 5; k++) recs.push({ t: T0 + us(200 + 10 * k), flow: flow(2), hops: once });
    const an = new Analyzer();
    feed(an, recs, 64);
    const loops = byType<MicroloopAnomaly>(an.finish(), 'microloop');
    expect(loops).toHaveLength(1);
    expect(loops[0].packets).toBe(15);
    expect(loops[0].flowCount).toBe(2);
    expect(an.hairpins()).toEqual([]);
  });
});

/** A FIFO queue simulation: background flows + one aggressor burst. */
function burstScenario(
  seed: number,
  opts: {
    burstAt?: number;
    burstLen?: number;
    switchClock?: boolean;
    clock32?: boolean;
    pipe?: number;
    gap?: number;
    bg?: number;
    bgGap?: number;
    poisson?: boolean;
  } = {},
) {
  const rand = rng(seed);
  const serviceNs = 100; // 10 Mpps port
  const arrivals: { t: number; f: number }[] = [];
  const bg = opts.bg ?? 20;
  for (let f = 0; f < bg; f++) {
    let t = rand() * 50_000;
    while (t < 200e6) {
      arrivals.push({ t, f });
      t += (opts.bgGap ?? 50_000) * (opts.poisson ? -Math.log(1 - rand()) : 0.5 + rand()); // ~20 kpps each
    }
  }
  const burstAt = opts.burstAt ?? 50e6;
  const burstLen = opts.burstLen ?? 100e3;
  for (let t = burstAt; t < burstAt + burstLen; t += opts.gap ?? 50) arrivals.push({ t, f: bg }); // 20 Mpps aggressor
  arrivals.sort((a, b) => a.t - b.t);
  const recs: TRecord[] = [];
  let free = 0;
  let drainedAt = 0;
  const inBurst = new Set<number>();
  // a device clock with its own epoch; the 32-bit one (INT v1.0) wraps 50 µs into the burst
  const clockOffset = opts.clock32 ? 2n ** 32n - BigInt(burstAt) - 50_000n : 123_456_789_000n;
  for (const a of arrivals) {
    const startSvc = Math.max(a.t, free);
    const wait = startSvc - a.t;
    free = startSvc + serviceNs;
    const backlog = Math.round(wait / serviceNs);
    const lat = Math.round((opts.pipe ?? 200) * (0.5 + rand()) + wait);
    const egress = a.t + lat;
    const capture = egress + 2000 + rand() * 1000;
    if (a.t >= burstAt && wait > 2000) drainedAt = Math.max(drainedAt, egress);
    if (a.t >= burstAt && a.t <= burstAt + 2 * burstLen && wait > 2000) inBurst.add(a.f);
    const f = flow(a.f + 1);
    const egTs = clockOffset + BigInt(Math.round(egress));
    recs.push({
      t: T0 + BigInt(Math.round(capture)),
      intVersion: opts.clock32 ? 2 : undefined,
      flow: f,
      hops: [
        { sw: 1, eg: 2, q: 0, lat: Math.round(200 * (0.5 + rand())), occ: 0 },
        {
          sw: 2,
          eg: 3,
          q: 0,
          lat,
          occ: backlog,
          egTs: opts.switchClock === false ? undefined : opts.clock32 ? egTs & 0xffffffffn : egTs,
        },
        { sw: 4, eg: 1, q: 0, lat: Math.round(200 * (0.5 + rand())), occ: 0 },
      ],
    });
  }
  recs.sort((x, y) => (x.t < y.t ? -1 : x.t > y.t ? 1 : 0));
  const victims = [...inBurst].filter((f) => f !== bg).map((f) => tuple(flow(f + 1)));
  return {
    recs,
    aggressor: tuple(flow(bg + 1)),
    victims,
    start: T0 + BigInt(burstAt),
    end: T0 + BigInt(Math.round(drainedAt)),
  };
}

describe('microburst', () => {
  test.each([true, false])(
    'one burst, aggressor first, victims listed (switch clock: %s)',
    (switchClock) => {
      const s = burstScenario(7, { switchClock });
      const an = new Analyzer();
      feed(an, s.recs, 1024);
      const out = an.finish();
      const bursts = byType<MicroburstAnomaly>(out, 'microburst');
      expect(bursts).toHaveLength(1);
      const b = bursts[0];
      expect([b.switchId, b.egressPort, b.queueId]).toEqual([2, 3, 0]);
      expect(b.clock).toBe(switchClock ? 'switch' : 'capture');
      expect(b.aggressors[0]).toMatchObject(s.aggressor);
      expect(b.aggressors).toHaveLength(1);
      expect(b.victims.length).toBeGreaterThan(0);
      for (const v of b.victims)
        expect(s.victims).toContainEqual({
          srcAddr: v.srcAddr,
          dstAddr: v.dstAddr,
          srcPort: v.srcPort,
          dstPort: v.dstPort,
          protocol: v.protocol,
        });
      expect(b.peakLatency).toBeGreaterThan(50_000);
      expect(b.peakOccupancy).toBeGreaterThan(500);
      expect(b.baselineLatency).toBeGreaterThan(100);
      expect(b.baselineLatency).toBeLessThan(400);
      const tol = switchClock ? 10_000n : 20_000n;
      const abs = (x: bigint): bigint => (x < 0n ? -x : x);
      expect(abs(b.start - s.start)).toBeLessThan(tol);
      expect(abs(b.end - s.end)).toBeLessThan(tol);
      expect(out.filter((a) => a.type !== 'microburst')).toEqual([]);
      // and through the scorer, with the simulator's label format
      const labels = parseLabels(
        JSON.stringify({
          scenario: 'burst',
          seed: 7,
          packets: s.recs.length,
          reports: 0,
          format: { mode: 'MD', intVersion: '2.1', encapsulation: 'udp-dscp', reportVersion: null },
          tolerance: { startNs: 1000000, endNs: 1000000 },
          anomalies: [
            {
              type: 'microburst',
              start: 0,
              end: 0,
              switchId: 2,
              egressPort: 3,
              queueId: 0,
              aggressors: [s.aggressor],
              victims: s.victims,
              peakOccupancy: 1000,
            },
          ],
        })
          .replace('"start":0', `"start":${s.start}`)
          .replace('"end":0', `"end":${s.end}`),
      );
      const rep = score(out, labels);
      const t = rep.types.find((x) => x.type === 'microburst')!;
      expect([t.tp, t.fp, t.fn]).toEqual([1, 0, 0]);
      expect(formatConfusion(rep)).toMatch(/microburst\s+1\s+1\s+1\s+0\s+0/);
    },
  );

  test('no false positives on steady traffic with ±50% jitter', () => {
    const rand = rng(3);
    const recs: TRecord[] = [];
    for (let i = 0; i < 200_000; i++) {
      const f = i % 50;
      const base = [150, 300, 800, 2000][f % 4];
      recs.push({
        t: T0 + BigInt(i * 10_000 + Math.floor(rand() * 5000)),
        flow: flow(f + 1),
        hops: [1, 2, 3].map((sw) => ({
          sw,
          eg: f % 4,
          q: f % 2,
          lat: Math.round(base * (0.5 + rand())),
          occ: Math.round(10 * (0.5 + rand())),
        })),
      });
    }
    const an = new Analyzer();
    feed(an, recs, 4096);
    expect(an.finish()).toEqual([]);
  });

  test('32-bit switch clock (INT v1.0) wrapping during the burst', () => {
    const s = burstScenario(5, { clock32: true });
    const an = new Analyzer();
    feed(an, s.recs, 1024);
    const bursts = byType<MicroburstAnomaly>(an.finish(), 'microburst');
    expect(bursts).toHaveLength(1);
    expect(bursts[0].clock).toBe('switch');
    expect(Number(bursts[0].start - s.start)).toBeLessThan(10_000);
    expect(Number(bursts[0].start - s.start)).toBeGreaterThan(-10_000);
    expect(Number(bursts[0].end - s.end)).toBeLessThan(10_000);
    expect(Number(bursts[0].end - s.end)).toBeGreaterThan(-10_000);
  });

  test.each([
    // burst length, aggressor gap (ns), pipeline latency (ns), background flows, background gap (ns)
    [10e3, 20, 0, 20, 50_000],
    [1e6, 50, 1000, 20, 50_000],
    [100e3, 80, 200, 3, 500_000],
    [100e3, 50, 200, 100, 20_000],
  ])(
    'across burst sizes and rates: %d ns burst, %d ns gap, %d ns pipeline, %d background flows',
    (len, gap, pipe, bg, bgGap) => {
      const s = burstScenario(1, { burstLen: len, gap, pipe, bg, bgGap });
      const an = new Analyzer();
      feed(an, s.recs, 1024);
      const out = an.finish();
      const rep = score(out, {
        scenario: 'x',
        seed: 1,
        packets: s.recs.length,
        reports: 0,
        format: { mode: 'MD', intVersion: '2.1', encapsulation: 'udp-dscp', reportVersion: null },
        tolerance: { startNs: 1_000_000n, endNs: 1_000_000n },
        anomalies: [
          {
            type: 'microburst',
            start: s.start,
            end: s.end,
            switchId: 2,
            egressPort: 3,
            queueId: 0,
            aggressors: [s.aggressor],
          },
        ],
      });
      expect([rep.overall.tp, rep.overall.fp, rep.overall.fn]).toEqual([1, 0, 0]);
    },
  );

  test('a loaded queue (70% Poisson) does not raise bursts', () => {
    const s = burstScenario(2, { burstLen: 0, bgGap: 2857, bg: 20, poisson: true });
    const an = new Analyzer();
    feed(
      an,
      s.recs.filter((r) => r.t < T0 + ms(100)),
      1024,
    );
    expect(an.finish()).toEqual([]);
  });

  test('two bursts on one queue far apart make two anomalies; close bursts merge', () => {
    const a = burstScenario(11, { burstAt: 50e6 });
    const b = burstScenario(11, { burstAt: 120e6 });
    const both = [
      ...a.recs.filter((r) => r.t < T0 + ms(100)),
      ...b.recs.filter((r) => r.t >= T0 + ms(100)),
    ];
    const an = new Analyzer();
    feed(an, both, 1024);
    expect(byType(an.finish(), 'microburst')).toHaveLength(2);
  });

  /** An idle queue, then a burst of 30 small packets of one flow and 5 jumbo ones of another;
   * `len(f, size)` is the IP length each record carries. */
  function jumboBurst(len: (f: number, size: number) => number): TRecord[] {
    const recs: TRecord[] = [];
    const hop = (lat: number) => [{ sw: 2, eg: 3, q: 0, lat }];
    let t = 0;
    // 100 µs idle first: a queue is judged in its warm-up once it has shown 50 µs of calm
    for (let i = 0; i < 100; i++, t += 1000)
      recs.push({ t: T0 + BigInt(t), flow: flow(1), len: len(1, 100), hops: hop(300) });
    for (let i = 0; i < 35; i++, t += 200) {
      const jumbo = i % 7 === 3; // 5 of the 35
      const f = jumbo ? 2 : 3;
      const size = jumbo ? 9000 : 64;
      recs.push({ t: T0 + BigInt(t), flow: flow(f), len: len(f, size), hops: hop(20_000) });
    }
    for (let i = 0; i < 40; i++, t += 1000)
      recs.push({ t: T0 + BigInt(t), flow: flow(1), len: len(1, 100), hops: hop(300) });
    return recs;
  }

  test.each([
    ['bytes', (_f: number, size: number) => size, 2, 3],
    ['packets', () => 0, 3, 2],
    // one packet without its length: the whole burst counts packets
    ['packets', (f: number, size: number) => (f === 2 ? 0 : size), 3, 2],
  ] as const)('aggressor shares by %s', (shareBy, len, top, other) => {
    const an = new Analyzer();
    feed(an, jumboBurst(len));
    const bursts = byType<MicroburstAnomaly>(an.finish(), 'microburst');
    expect(bursts).toHaveLength(1);
    const b = bursts[0];
    expect(b.shareBy).toBe(shareBy);
    expect(b.aggressors).toHaveLength(1);
    expect(b.aggressors[0]).toMatchObject(tuple(flow(top)));
    expect(b.victims[0]).toMatchObject(tuple(flow(other)));
    if (shareBy === 'bytes') {
      expect(b.aggressors[0]).toMatchObject({ packets: 5, bytes: 45_000 });
      expect(b.aggressors[0].share).toBeCloseTo(45_000 / (45_000 + 30 * 64), 6);
    } else {
      expect(b.aggressors[0]).toMatchObject({ packets: 30, bytes: null });
      expect(b.aggressors[0].share).toBeCloseTo(30 / 35, 6);
    }
  });
});

describe('microburst: the rise rule on a busy queue', () => {
  /**
   * A busy queue for 16 ms: a packet every µs at 4–6 µs of hop latency, from short flows (5
   * packets each, a new one every 5 µs) and two flows present from the start (1 packet in 10).
   * From 14 to 15 ms the latency is twice that, with a third of the packets from `rise`'s flows:
   * 'new' (two flows first seen at 14 ms), 'old' (the two flows present from the start) or
   * 'short' (more short flows).
   */
  function risingQueue(rise: 'new' | 'old' | 'short'): TRecord[] {
    const r = rng(7);
    const recs: TRecord[] = [];
    for (let i = 0; i < 16_000; i++) {
      const t = i * 1000;
      const up = t >= 14e6 && t < 15e6;
      let f: number;
      if (up && i % 3 === 0)
        f = rise === 'new' ? 10 + (i % 2) : rise === 'old' ? 1 + (i % 2) : 2e6 + Math.floor(i / 15);
      else if (i % 10 === 0) f = 1 + ((i / 10) % 2);
      else f = 1000 + Math.floor(i / 5);
      const lat = Math.round((4000 + r() * 2000) * (up ? 2 : 1));
      recs.push({
        t: T0 + BigInt(t),
        flow: flow(f),
        len: 1000,
        hops: [{ sw: 2, eg: 3, q: 0, lat }],
      });
    }
    return recs;
  }

  test('a rise sustained by new flows is a burst, with them as aggressors', () => {
    const an = new Analyzer();
    feed(an, risingQueue('new'), 1024);
    const bursts = byType<MicroburstAnomaly>(an.finish(), 'microburst');
    expect(bursts).toHaveLength(1);
    const b = bursts[0];
    // from the rise (the smoothed latency lags the first packets by a fraction of its 50 µs)
    expect(Number(b.start - (T0 + 14_000_000n))).toBeGreaterThanOrEqual(0);
    expect(Number(b.start - (T0 + 14_000_000n))).toBeLessThan(100_000);
    expect(Number(b.end - (T0 + 15_000_000n))).toBeLessThan(100_000);
    expect(Number(b.end - (T0 + 14_900_000n))).toBeGreaterThan(0);
    // judged on the rise threshold (1.5 × a baseline near 5 µs), far below the absolute one
    expect(b.threshold).toBeGreaterThan(6500);
    expect(b.threshold).toBeLessThan(9000);
    expect(b.aggressors.map((a) => a.srcAddr).sort()).toEqual(
      [tuple(flow(10)).srcAddr, tuple(flow(11)).srcAddr].sort(),
    );
  });

  test.each(['old', 'short'] as const)('the same rise carried by %s flows is not', (rise) => {
    const an = new Analyzer();
    feed(an, risingQueue(rise), 1024);
    expect(byType(an.finish(), 'microburst')).toEqual([]);
  });

  /** A queue idle (pipeline latency) for 100 µs, then for 5 ms either busy (filling to 20 µs
   * and draining to its pipeline latency every 100 µs, trains of new flows) or overloaded
   * (latency climbing without a pause), all before it is warm. */
  function turning(kind: 'busy' | 'overload'): TRecord[] {
    const recs: TRecord[] = [];
    const hop = (lat: number) => [{ sw: 2, eg: 3, q: 0, lat }];
    let t = 0;
    for (; t < 100_000; t += 1000)
      recs.push({ t: T0 + BigInt(t), flow: flow(1), len: 100, hops: hop(300) });
    for (let i = 0; t < 5_100_000; t += 500, i++) {
      const phase = (t - 100_000) % 100_000; // µs into its 100 µs cycle
      const lat =
        kind === 'busy'
          ? phase < 60_000
            ? 300 + Math.round((phase / 60_000) * 20_000)
            : 300
          : 300 + Math.round((t - 100_000) / 5);
      recs.push({
        t: T0 + BigInt(t),
        flow: flow(100 + Math.floor(i / 20)),
        len: 1000,
        hops: hop(lat),
      });
    }
    return recs;
  }

  test('a queue that turns busy while it learns is no burst; one overloaded then is', () => {
    const busy = new Analyzer();
    feed(busy, turning('busy'), 1024);
    expect(byType(busy.finish(), 'microburst')).toEqual([]);
    // without the limit on bursts opened before warm-up, the turn to busy was a 5 ms burst
    const old = new Analyzer({ burstWarmupMaxNs: 1e9 });
    feed(old, turning('busy'), 1024);
    expect(byType(old.finish(), 'microburst')).toHaveLength(1);
    const over = new Analyzer();
    feed(over, turning('overload'), 1024);
    const b = byType<MicroburstAnomaly>(over.finish(), 'microburst');
    expect(b).toHaveLength(1);
    expect(Number(b[0].end - b[0].start)).toBeGreaterThan(4_500_000);
  });

  test('burstRiseFactor 0 turns the rule off', () => {
    const an = new Analyzer({ burstRiseFactor: 0 });
    feed(an, risingQueue('new'), 1024);
    expect(byType(an.finish(), 'microburst')).toEqual([]);
  });
});

describe('path change', () => {
  test('change reported once, flapping summarised, loops ignored', () => {
    const f = flow(9);
    const g = flow(10);
    const A = [1, 2, 4];
    const B = [1, 3, 4];
    const recs: TRecord[] = [];
    const pathAt = (t: number): number[] => {
      if (t < 1000) return A;
      if (t < 3000) return B;
      if (t < 3200) return Math.floor((t - 3000) / 10) % 2 === 0 ? A : B; // flap every 10 ms
      return B;
    };
    for (let t = 0; t < 6000; t++) {
      const p = t >= 2000 && t < 2005 ? [1, 3, 5, 3, 5] : pathAt(t); // a loop is not a path change
      recs.push({ t: T0 + ms(t), flow: f, hops: p.map((sw) => ({ sw })) });
      recs.push({ t: T0 + ms(t) + 5n, flow: g, hops: A.map((sw) => ({ sw })) });
    }
    const an = new Analyzer();
    feed(an, recs, 256);
    const out = an.finish();
    const pcs = byType<PathChangeAnomaly>(out, 'path_change');
    const plain = pcs.filter((p) => !p.summary);
    const sums = pcs.filter((p) => p.summary);
    expect(plain.map((p) => [p.start - T0, p.oldPath, p.newPath])).toEqual([
      [ms(1000), A, B],
      [ms(3000), B, A],
    ]);
    expect(plain[0].flow).toEqual(tuple(f));
    expect(sums).toHaveLength(1);
    expect(sums[0].changes).toBe(19);
    expect(sums[0].oldPath).toEqual(A);
    expect(sums[0].newPath).toEqual(B);
    expect(sums[0].paths).toEqual(expect.arrayContaining([A, B]));
    expect(byType(out, 'microloop')).toHaveLength(1);
    expect(out.filter((a) => a.type !== 'microloop' && a.type !== 'path_change')).toEqual([]);
  });
});

describe('report loss', () => {
  const rec = (
    t: number,
    seq: number,
    version: 1 | 2 | 3,
    nodeId: number,
    hwId = 1,
    index = 0,
  ): TRecord => ({
    t: T0 + us(t),
    report: { version, seq, nodeId, hwId, index },
  });

  test('22-bit wrap, reordering, duplicates, one anomaly per gap episode', () => {
    const recs: TRecord[] = [];
    let seq = 4194304 - 100;
    for (let i = 0; i < 2000; i++) {
      if (i === 300) seq = (seq + 5) & 0x3fffff; // 5 lost after the wrap
      recs.push(rec(i * 10, seq, 3, 7));
      recs.push(rec(i * 10 + 1, seq, 3, 7, 1, 1)); // second individual report of the same group
      seq = (seq + 1) & 0x3fffff;
    }
    // reorder some pairs (no loss) and duplicate one report
    for (const i of [20, 150, 600, 1500]) {
      const a = recs[2 * i];
      recs[2 * i] = recs[2 * i + 2];
      recs[2 * i + 2] = a;
    }
    recs.splice(1000, 0, { ...recs[1000] });
    const an = new Analyzer();
    feed(an, recs, 128);
    const out = an.finish();
    const loss = byType<ReportLossAnomaly>(out, 'report_loss');
    expect(loss).toHaveLength(1);
    expect(loss[0]).toMatchObject({
      nodeId: 7,
      hwId: 1,
      lost: 5,
      reportVersion: '2.0',
      modulus: 4194304,
    });
    expect(loss[0].start).toBeGreaterThan(T0 + us(2990));
    expect(loss[0].end).toBeLessThan(T0 + us(3000));
    expect(an.stats().reports.duplicates).toBe(1);
    expect(out).toHaveLength(1);
  });

  test('32-bit wrap (v1.0), separate hw_ids, two episodes', () => {
    const recs: TRecord[] = [];
    let s1 = 0xffffff00;
    let s2 = 5;
    for (let i = 0; i < 3000; i++) {
      // hw 1: gap of 3 across the wrap; another gap of 2 much later
      if (s1 === 0xfffffffe) {
        recs.push(rec(i * 100, s1, 2, 9, 1));
        s1 = 2; // missing 0xffffffff, 0, 1
        continue;
      }
      if (i === 2500) s1 += 2;
      recs.push(rec(i * 100, s1, 2, 9, 1));
      s1 = (s1 + 1) >>> 0;
      recs.push(rec(i * 100 + 3, s2++, 2, 9, 2)); // hw 2: no loss
    }
    const an = new Analyzer();
    feed(an, recs, 100);
    const loss = byType<ReportLossAnomaly>(an.finish(), 'report_loss');
    expect(loss.map((l) => [l.hwId, l.lost, l.modulus])).toEqual([
      [1, 3, 2 ** 32],
      [1, 2, 2 ** 32],
    ]);
    expect(an.stats().reports.restarts).toBe(0);
  });
});

describe('drops', () => {
  test('drop reports aggregate per (switch, reason) episode', () => {
    const recs: TRecord[] = [];
    for (let i = 0; i < 30; i++)
      recs.push({
        t: T0 + us(i * 300),
        flow: flow(i % 3),
        report: { version: 3, seq: i, nodeId: 9, dropped: true, reason: 42 },
        hops: [{ sw: 9, origin: 1 }],
      });
    for (let i = 0; i < 5; i++)
      recs.push({
        t: T0 + us(i * 300 + 7),
        flow: flow(50),
        report: { version: 3, seq: i, nodeId: 4, hwId: 2, dropped: true, reason: 3 },
      });
    // same switch and reason again 1 s later: a second episode
    for (let i = 0; i < 4; i++)
      recs.push({
        t: T0 + ms(1000) + us(i),
        flow: flow(0),
        report: { version: 3, seq: 30 + i, nodeId: 9, dropped: true, reason: 42 },
      });
    recs.sort((x, y) => (x.t < y.t ? -1 : 1));
    const an = new Analyzer();
    feed(an, recs, 16);
    const drops = byType<DropAnomaly>(an.finish(), 'drop');
    expect(drops.map((d) => [d.switchId, d.dropReason, d.packets, d.flowCount, d.silent])).toEqual([
      [9, 42, 30, 3, false],
      [4, 3, 5, 1, false],
      [9, 42, 4, 1, false],
    ]);
    expect(drops[0].start).toBe(T0);
    expect(drops[0].end).toBe(T0 + us(29 * 300));
  });

  test('a flow that stops for good while others on its path continue: ended, not dropped', () => {
    const recs: TRecord[] = [];
    const path = [1, 2, 3].map((sw) => ({ sw }));
    for (let t = 0; t < 1000; t++)
      for (let f = 0; f < 10; f++) {
        if (f === 3 && t >= 500) continue;
        recs.push({ t: T0 + ms(t) + us(f * 50), flow: flow(f), hops: path });
      }
    // a different path whose flows all stop together (their sink 6 goes quiet with them: its
    // sources stopped, nothing shows its packets were lost)
    for (let t = 0; t < 300; t++)
      for (let f = 20; f < 23; f++)
        recs.push({
          t: T0 + ms(t) + us(f * 10 + 3),
          flow: flow(f),
          hops: [1, 5, 6].map((sw) => ({ sw })),
        });
    recs.sort((x, y) => (x.t < y.t ? -1 : x.t > y.t ? 1 : 0));
    const an = new Analyzer();
    feed(an, recs, 256);
    expect(an.finish()).toEqual([]);
  });

  /** Flows 0..7 on paths 1-5-3 (0..3) and 2-5-4 (4..7), flows 8..15 on 1-6-3 and 2-6-4: one
   * packet per flow every 100 µs from 0 to `endMs`; `keep(f, tMs)` says whether flow f sends. */
  function fabric(endMs: number, keep: (f: number, tMs: number) => boolean): TRecord[] {
    const paths = [
      [1, 5, 3],
      [2, 5, 4],
      [1, 6, 3],
      [2, 6, 4],
    ];
    const recs: TRecord[] = [];
    for (let k = 0; k < endMs * 10; k++)
      for (let f = 0; f < 16; f++) {
        if (!keep(f, k / 10)) continue;
        recs.push({
          t: T0 + us(k * 100 + f * 3),
          flow: flow(f),
          hops: paths[f >> 2].map((sw) => ({ sw })),
        });
      }
    return recs;
  }

  test('a persistent blackhole: the flows through switch 5 never come back, the others continue', () => {
    // switch 5 drops everything from 50 ms; the input goes on to 400 ms
    const recs = fabric(400, (f, t) => f >= 8 || t < 50);
    const an = new Analyzer();
    feed(an, recs, 256);
    const out = an.finish();
    const drops = byType<DropAnomaly>(out, 'drop');
    expect(out).toHaveLength(1);
    expect(drops[0]).toMatchObject({ silent: true, switchId: 5, flowCount: 8 });
    expect(drops[0].path).toContain(5);
    const start = Number(drops[0].start - T0);
    expect(Math.abs(start - 50e6)).toBeLessThan(0.2e6);
    // closed a bounded time (dropGapNs) after the flows went silent, not at the end of the
    // input; the lost packets bounded accordingly (8 flows × 100 ms ÷ 100 µs)
    const end = Number(drops[0].end - T0);
    expect(end).toBeLessThanOrEqual(50e6 + 100e6 + 2e6);
    expect(end).toBeGreaterThan(100e6);
    expect(drops[0].packets).toBeLessThanOrEqual(8 * 1000 + 8);
    expect(drops[0].packets).toBeGreaterThan(8 * 500);
  });

  test('a blackhole while an unrelated flow ends: one drop at the blackholed switch', () => {
    // switch 5 drops from 50 ms to 60 ms; flow 12 (path 2-6-4) ends at 50 ms
    const recs = fabric(200, (f, t) => (f < 8 ? t < 50 || t >= 60 : f !== 12 || t < 50));
    const an = new Analyzer();
    feed(an, recs, 256);
    const out = an.finish();
    expect(out).toHaveLength(1);
    const d = out[0] as DropAnomaly;
    expect(d).toMatchObject({ type: 'drop', switchId: 5, flowCount: 8 });
    expect(d.flows.map((x) => x.srcAddr)).not.toContain(flow(12).src);
    expect(Number(d.end - T0)).toBeLessThan(61e6);
    expect(d.packets).toBeGreaterThan(8 * 90);
    expect(d.packets).toBeLessThan(8 * 110);
  });

  test('a telemetry outage at one sink is report loss, not a drop upstream', () => {
    // TR v2.0 reports from sinks 3 and 4 (hw_id 0), one per flow every 100 µs; every report of
    // sink 3 is lost from 50 to 65 ms, then its flows are reported again
    const seq = new Map<number, number>();
    const recs: TRecord[] = [];
    for (const r of fabric(200, () => true)) {
      const hops = r.hops ?? [];
      const node = hops[hops.length - 1].sw;
      const s = seq.get(node) ?? 0;
      seq.set(node, s + 1);
      const t = Number(r.t - T0) / 1e6;
      if (node === 3 && t >= 50 && t < 65) continue;
      recs.push({ ...r, hops: hops.slice(0, -1), report: { version: 3, seq: s, nodeId: node } });
    }
    const an = new Analyzer();
    feed(an, recs, 256);
    const out = an.finish();
    expect(out.map((a) => a.type)).toEqual(['report_loss']);
    expect(out[0]).toMatchObject({ nodeId: 3, lost: 8 * 150 });
  });

  test('a silent flow that resumes: end at the resume', () => {
    const recs: TRecord[] = [];
    const path = [1, 2].map((sw) => ({ sw }));
    for (let t = 0; t < 600; t++)
      for (let f = 0; f < 4; f++) {
        if (f === 1 && t >= 200 && t < 400) continue;
        recs.push({ t: T0 + ms(t) + us(f * 100), flow: flow(f), hops: path });
      }
    const an = new Analyzer();
    feed(an, recs, 64);
    const drops = byType<DropAnomaly>(an.finish(), 'drop');
    expect(drops).toHaveLength(1);
    expect(drops[0].end).toBe(T0 + ms(400) + us(100));
    expect(drops[0].packets).toBeGreaterThan(190);
    expect(drops[0].packets).toBeLessThan(210);
  });
});
