/** The model behaves like a network, and the labels agree with the packets. */
import { createHash } from 'crypto';
import type { IntRecord } from '@hopwatch/codec';
import { labelsToJson, parseLabels, type Anomaly } from '../src';
import { decodeAll, run, SMALL } from './helpers';

const digest = (recs: { bytes: Uint8Array; timeNs: bigint }[]): string => {
  const h = createHash('sha256');
  for (const r of recs) {
    h.update(r.timeNs.toString());
    h.update(r.bytes);
  }
  return h.digest('hex');
};

function only<T extends Anomaly['type']>(
  anoms: Anomaly[],
  type: T,
): Extract<Anomaly, { type: T }>[] {
  return anoms.filter((a) => a.type === type) as Extract<Anomaly, { type: T }>[];
}

const flowKey = (f: {
  srcAddr: string;
  dstAddr: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
}): string => `${f.srcAddr}|${f.dstAddr}|${f.srcPort}|${f.dstPort}|${f.protocol}`;

describe('determinism', () => {
  const scen = {
    name: 'det',
    seed: 11,
    ...SMALL,
    events: [
      { type: 'microburst', atMs: 0.2, durationUs: 50 },
      { type: 'path_change', atMs: 0.4 },
    ],
  };
  test('same seed gives identical bytes and labels; another seed does not', () => {
    const a = run(scen);
    const b = run(scen);
    expect(a.recs.length).toBeGreaterThan(100);
    expect(digest(a.recs)).toBe(digest(b.recs));
    expect(labelsToJson(a.sim.labels(0n))).toBe(labelsToJson(b.sim.labels(0n)));
    const c = run({ ...scen, seed: 12 });
    expect(digest(c.recs)).not.toBe(digest(a.recs));
  });
  test('capture timestamps are monotonic and start at the epoch', () => {
    const a = run(scen);
    const epoch = BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1000000n;
    for (let i = 1; i < a.recs.length; i++)
      expect(a.recs[i].timeNs >= a.recs[i - 1].timeNs).toBe(true);
    expect(a.recs[0].timeNs >= epoch).toBe(true);
    expect(a.recs[a.recs.length - 1].timeNs < epoch + 2000000n).toBe(true);
  });
});

describe('queue model', () => {
  const scen = {
    name: 'burst',
    seed: 5,
    durationMs: 2,
    topology: { leaves: 4, spines: 2, hostsPerLeaf: 4, processingNs: 300, processingJitterNs: 40 },
    traffic: {
      elephants: { count: 4, rateGbps: 1, payloadBytes: 1000 },
      mice: { arrivalsPerMs: 20, minPackets: 2, maxPackets: 10, rateGbps: 1, payloadBytes: [200] },
    },
    events: [
      {
        type: 'microburst',
        atMs: 0.5,
        durationUs: 200,
        leaf: 2,
        host: 1,
        senders: 4,
        rateGbps: 10,
        victims: 2,
      },
    ],
  };
  const { recs, sim, scenario } = run(scen);
  const decoded = decodeAll(scenario, recs);
  const labels = sim.labels(BigInt(Date.parse(scenario.epoch)) * 1000000n);
  const burst = only(labels.anomalies, 'microburst')[0];

  test('hop latency = processing + queueing delay (occupancy / link rate)', () => {
    let n = 0;
    for (const rs of decoded) {
      for (const h of rs[0].hops) {
        const sw = sim.topo.switchIndex(h.switchId!);
        const q = sim.topo.qBase[sw] + h.egressPort! - 1;
        const rate = sim.topo.qRate[q]; // bytes per ns
        const queueing = h.queueOccupancy! / rate;
        const processing = h.hopLatency! - queueing;
        expect(processing).toBeGreaterThanOrEqual(300 - 40 - 2);
        expect(processing).toBeLessThanOrEqual(300 + 40 + 2 + queueing * 1e-4);
        // timestamps from the switch clock: egress - ingress = hop latency
        expect(Number(h.egressTimestamp! - h.ingressTimestamp!)).toBe(h.hopLatency);
        n++;
      }
    }
    expect(n).toBeGreaterThan(1000);
  });

  test('baseline latencies are hundreds of ns; the burst pushes them to µs', () => {
    const lat = decoded.flatMap((rs) => rs[0].hops.map((h) => h.hopLatency!)).sort((a, b) => a - b);
    expect(lat[Math.floor(lat.length / 2)]).toBeLessThan(1000);
    expect(lat[Math.floor(lat.length / 2)]).toBeGreaterThan(200);
    expect(lat[lat.length - 1]).toBeGreaterThan(20000);
  });

  test('occupancy rises during the burst and drains after it', () => {
    expect(burst).toBeDefined();
    expect(burst.switchId).toBe(3);
    expect(burst.egressPort).toBe(2);
    const series: [bigint, number][] = [];
    decoded.forEach((rs, i) => {
      for (const h of rs[0].hops)
        if (h.switchId === 3 && h.egressPort === 2)
          series.push([recs[i].timeNs, h.queueOccupancy!]);
    });
    const before = series.filter(([t]) => t < burst.start).map(([, o]) => o);
    const during = series.filter(([t]) => t >= burst.start && t <= burst.end).map(([, o]) => o);
    const after = series.filter(([t]) => t > burst.end + 50000n).map(([, o]) => o);
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    expect(Math.max(...before)).toBeLessThan(scenario.burstThresholdBytes);
    expect(Math.max(...during)).toBeGreaterThan(burst.peakOccupancy * 0.8);
    expect(Math.max(...during)).toBeLessThanOrEqual(burst.peakOccupancy);
    expect(Math.max(...after)).toBeLessThan(scenario.burstThresholdBytes);
    // it rises, then falls: the peak is inside the window, after its start
    const peakAt = series.reduce((m, x) => (x[1] > m[1] ? x : m))[0];
    expect(peakAt > burst.start && peakAt <= burst.end).toBe(true);
    // burst length ≈ 200 µs of input plus the drain
    expect(Number(burst.end - burst.start)).toBeGreaterThan(150000);
    expect(Number(burst.end - burst.start)).toBeLessThan(1000000);
  });

  test('labelled aggressors and victims share the queue', () => {
    expect(burst.aggressors.length).toBe(4);
    expect(burst.victims.length).toBeGreaterThan(0);
    const target = '10.0.3.3';
    for (const f of [...burst.aggressors, ...burst.victims]) expect(f.dstAddr).toBe(target);
    const aggr = new Set(burst.aggressors.map(flowKey));
    const seen = new Set<string>();
    decoded.forEach((rs, i) => {
      const r = rs[0];
      if (recs[i].timeNs < burst.start || recs[i].timeNs > burst.end) return;
      if (r.hops.some((h) => h.switchId === 3 && h.egressPort === 2)) seen.add(flowKey(r.flow!));
    });
    for (const a of aggr) expect(seen.has(a)).toBe(true);
  });

  test('tx utilisation follows the link load', () => {
    const util = decoded.flatMap((rs, i) =>
      rs[0].hops
        .filter((h) => h.switchId === 3 && h.egressPort === 2)
        .map((h) => [recs[i].timeNs, h.txUtilization!] as const),
    );
    const during = util
      .filter(([t]) => t > burst.start + 100000n && t < burst.start + 200000n)
      .map(([, u]) => u);
    const eventAt = BigInt(Date.parse(scenario.epoch)) * 1000000n + 500000n;
    const before = util.filter(([t]) => t < eventAt).map(([, u]) => u);
    expect(before.length).toBeGreaterThan(0);
    expect(Math.min(...during)).toBeGreaterThan(8000); // > 80 % of the 25 Gb/s host link
    expect(Math.max(...before)).toBeLessThan(3000);
  });
});

describe('labels agree with the packets', () => {
  test('micro-loop: the labelled switches repeat in the decoded stacks during the window, E bit set', () => {
    const { recs, sim, scenario } = run({
      name: 'loop',
      seed: 2,
      ...SMALL,
      durationMs: 1,
      events: [
        {
          type: 'microloop',
          atMs: 0.4,
          durationUs: 200,
          dstLeaf: 1,
          spine: 0,
          viaLeaf: 2,
          flows: 2,
        },
      ],
    });
    const labels = sim.labels(BigInt(Date.parse(scenario.epoch)) * 1000000n);
    const [loop] = only(labels.anomalies, 'microloop');
    expect(loop.switches).toEqual([101, 3]);
    const decoded = decodeAll(scenario, recs);
    let looping = 0;
    const flows = new Set<string>();
    decoded.forEach((rs, i) => {
      const r: IntRecord = rs[0];
      const ids = r.hops.map((h) => h.switchId!);
      const repeated = new Set(ids).size < ids.length;
      if (!repeated) {
        expect(r.findings).toEqual([]);
        return;
      }
      looping++;
      flows.add(flowKey(r.flow!));
      expect(recs[i].timeNs >= loop.start && recs[i].timeNs <= loop.end).toBe(true);
      expect(ids.length).toBe(8); // the hop limit
      expect(r.remainingHopCount).toBe(0);
      expect(r.header!.hopLimitExceeded).toBe(true);
      expect(r.findings.map((f) => f.kind)).toEqual(['hop-limit-exceeded']);
      for (const id of ids.slice(1)) expect(loop.switches).toContain(id);
      expect(ids.filter((x) => x === 101).length).toBeGreaterThanOrEqual(3);
    });
    expect(looping).toBe(loop.packets);
    expect(looping).toBeGreaterThan(10);
    expect(new Set(loop.flows.map(flowKey))).toEqual(flows);
  });

  test('path change: the flow is on oldPath before the change and on newPath from its start', () => {
    const { recs, sim, scenario } = run({
      name: 'pc',
      seed: 4,
      ...SMALL,
      durationMs: 1,
      traffic: { ...SMALL.traffic, elephants: { count: 6, rateGbps: 2, payloadBytes: 600 } },
      events: [{ type: 'path_change', atMs: 0.5, cause: 'link-failure', leaf: 0, spine: 0 }],
    });
    const labels = sim.labels(BigInt(Date.parse(scenario.epoch)) * 1000000n);
    const changes = only(labels.anomalies, 'path_change');
    expect(changes.length).toBeGreaterThan(0);
    const decoded = decodeAll(scenario, recs);
    for (const c of changes) {
      expect(c.oldPath).toContain(101);
      expect(c.newPath).toContain(102);
      const key = flowKey(c.flow);
      let before = 0;
      let after = 0;
      decoded.forEach((rs, i) => {
        const r = rs[0];
        if (flowKey(r.flow!) !== key) return;
        const ids = r.hops.map((h) => h.switchId);
        if (recs[i].timeNs < c.start) {
          expect(ids).toEqual(c.oldPath);
          before++;
        } else {
          expect(ids).toEqual(c.newPath);
          after++;
        }
      });
      expect(before).toBeGreaterThan(0);
      expect(after).toBeGreaterThan(0);
    }
  });

  test('silent drops: no packet crosses the switch in the window; counts match; drop reports when on', () => {
    const scen = {
      name: 'drops',
      seed: 8,
      ...SMALL,
      durationMs: 1,
      events: [{ type: 'drop', atMs: 0.3, durationUs: 300, switchId: 102, probability: 1 }],
    };
    const { recs, sim, scenario } = run(scen);
    const labels = sim.labels(BigInt(Date.parse(scenario.epoch)) * 1000000n);
    const [drop] = only(labels.anomalies, 'drop');
    expect(drop.switchId).toBe(102);
    expect(drop.packets).toBe(sim.stats.generated - sim.stats.delivered);
    expect(drop.packets).toBeGreaterThan(10);
    const decoded = decodeAll(scenario, recs);
    decoded.forEach((rs, i) => {
      const t = recs[i].timeNs;
      // a packet delivered after the window opened + its transit time did not cross 102
      if (t > drop.start + 20000n && t < drop.end)
        expect(rs[0].hops.some((h) => h.switchId === 102)).toBe(false);
    });
    const withReports = run({ ...scen, output: { kind: 'reports', reportVersion: '2.0' } });
    const dec2 = decodeAll(withReports.scenario, withReports.recs).map((rs) => rs[0]);
    const dropReports = dec2.filter((r) => r.report!.dropped);
    expect(dropReports.length).toBe(drop.packets);
    const flows = new Set(drop.flows.map(flowKey));
    for (const r of dropReports) {
      expect(r.report!.nodeId).toBe(102);
      expect(r.report!.dropReason).toBe(80);
      expect(flows.has(flowKey(r.flow!))).toBe(true);
    }
  });

  test.each(['2.0', '1.0', '0.5'])(
    'report loss (TR v%s): sequence gaps per (node, hw_id) equal the labelled lost count',
    (rv) => {
      const { recs, sim, scenario } = run({
        name: 'loss',
        seed: 9,
        ...SMALL,
        durationMs: 1,
        output: { kind: 'reports', reportVersion: rv },
        events: [
          { type: 'report_loss', atMs: 0.3, durationUs: 100, probability: 0.5 },
          { type: 'report_loss', atMs: 0.7, durationUs: 50, probability: 1, nodeId: 2 },
        ],
      });
      const labels = sim.labels(0n);
      const losses = only(labels.anomalies, 'report_loss');
      expect(losses.length).toBeGreaterThan(1);
      const lostByKey = new Map<string, number>();
      for (const l of losses)
        lostByKey.set(
          `${l.nodeId}/${l.hwId}`,
          (lostByKey.get(`${l.nodeId}/${l.hwId}`) ?? 0) + l.lost,
        );
      const last = new Map<string, number>();
      const gaps = new Map<string, number>();
      for (const rs of decodeAll(scenario, recs)) {
        const rep = rs[0].report!;
        const key = `${rep.nodeId}/${rep.hwId}`;
        const prev = last.get(key);
        const expected = prev === undefined ? 0 : prev + 1;
        gaps.set(key, (gaps.get(key) ?? 0) + (rep.sequence - expected));
        last.set(key, rep.sequence);
      }
      for (const [k, v] of gaps) if (v > 0) expect(lostByKey.get(k)).toBe(v);
      for (const [k, v] of lostByKey) {
        // a loss at the very end of a sequence space leaves no gap to see
        if ((gaps.get(k) ?? 0) !== v) expect(last.has(k)).toBe(true);
        expect(gaps.get(k) ?? 0).toBeLessThanOrEqual(v);
      }
      const total = losses.reduce((n, l) => n + l.lost, 0);
      expect(total).toBe(sim.stats.reportsLost);
      expect(labels.reports + total).toBe(sim.stats.delivered);
    },
  );

  test('TR v2.0 sequence numbers are 22 bits and wrap', () => {
    const { recs, scenario } = run({
      name: 'wrap',
      seed: 1,
      ...SMALL,
      output: { kind: 'reports', reportVersion: '2.0', sequenceStart: 0x3ffff0 },
    });
    const seqs = new Map<string, number[]>();
    for (const rs of decodeAll(scenario, recs)) {
      const rep = rs[0].report!;
      const k = `${rep.nodeId}/${rep.hwId}`;
      seqs.set(k, [...(seqs.get(k) ?? []), rep.sequence]);
    }
    let wrapped = 0;
    for (const s of seqs.values()) {
      for (let i = 1; i < s.length; i++) {
        expect(s[i]).toBe((s[i - 1] + 1) % 0x400000);
        if (s[i] === 0) wrapped++;
      }
    }
    expect(wrapped).toBeGreaterThan(0);
  });

  test('label JSON has the agreed shape and exact integer times', () => {
    const { sim, scenario } = run({
      name: 'shape',
      seed: 1,
      ...SMALL,
      events: [{ type: 'microburst', atMs: 0.1, durationUs: 100 }],
    });
    const l = sim.labels(BigInt(Date.parse(scenario.epoch)) * 1000000n);
    const text = labelsToJson(l);
    const raw = JSON.parse(text);
    expect(Object.keys(raw)).toEqual([
      'scenario',
      'seed',
      'packets',
      'reports',
      'format',
      'tolerance',
      'anomalies',
    ]);
    expect(raw.format).toEqual({
      mode: 'MD',
      intVersion: '2.1',
      encapsulation: 'udp-dscp',
      reportVersion: null,
    });
    expect(raw.tolerance).toEqual({ startNs: 1000000, endNs: 1000000 });
    expect(text).toMatch(/"start": 17672256000\d{8}/);
    const back = parseLabels(text);
    expect(back.anomalies[0].start).toBe(l.anomalies[0].start);
    const mb = raw.anomalies[0];
    expect(Object.keys(mb)).toEqual(
      expect.arrayContaining([
        'type',
        'start',
        'end',
        'switchId',
        'egressPort',
        'queueId',
        'aggressors',
        'victims',
        'peakOccupancy',
      ]),
    );
    expect(Object.keys(mb.aggressors[0])).toEqual([
      'srcAddr',
      'dstAddr',
      'srcPort',
      'dstPort',
      'protocol',
    ]);
  });
});
