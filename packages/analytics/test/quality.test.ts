/**
 * Detection quality against the simulator's ground truth: every bundled capture with labels,
 * plus larger scenarios generated here (4×2 and 8×4 leaf-spine, several rates, burst lengths
 * from 10 µs to 10 ms, several seeds). One set of defaults for all of them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { openCapture, readCaptureBuffer } from '@hopwatch/pcap';
import {
  SCORING_SCENARIOS,
  labelsToJson,
  loadScenario,
  simulateToBuffer,
  type Scenario,
} from '@hopwatch/simulator';
import {
  ANOMALY_TYPES,
  Analyzer,
  formatConfusion,
  parseLabels,
  score,
  type Anomaly,
  type AnomalyType,
  type LabelFile,
  type ScoreReport,
} from '../src';
import { replayCapture } from './replay';

const DIR = path.resolve(__dirname, '../../../captures');

interface Result {
  name: string;
  labels: LabelFile;
  report: ScoreReport;
}

const results: Result[] = [];

function check(
  name: string,
  labels: LabelFile,
  run: { found: Anomaly[]; an: Analyzer },
): ScoreReport {
  const { found, an } = run;
  const report = score(found, labels);
  // hairpins are a path attribute: every labelled one listed, with its flows, and no other
  const pins = an.hairpins().map((h) => ({
    switchId: h.switchId,
    egressPort: h.egressPort,
    ingressPort: h.ingressPort,
    flows: h.flowCount,
    packets: h.packets,
  }));
  expect(pins).toEqual(labels.hairpins ?? []);
  console.log(`scenario ${name}\n${formatConfusion(report)}`);
  results.push({ name, labels, report });
  for (const t of report.types) {
    if (t.labels === 0 && t.found === 0) continue;
    // per scenario: every type it labels, and no spurious detections of any type
    if (t.labels > 0) expect(t.recall).toBeGreaterThanOrEqual(0.95);
    expect(t.precision).toBeGreaterThanOrEqual(0.95);
    // matching already requires the windows to agree within the tolerance; check it explicitly
    if (t.startErrorNs)
      expect(t.startErrorNs.max).toBeLessThanOrEqual(Number(labels.tolerance.startNs));
    if (t.endErrorNs) expect(t.endErrorNs.max).toBeLessThanOrEqual(Number(labels.tolerance.endNs));
  }
  // bursts: the true aggressor among the reported aggressors (score() requires it to match)
  for (const m of report.matches) {
    const l = labels.anomalies[m.label];
    if (l.type !== 'microburst' || !l.aggressors?.length) continue;
    const f = found[m.found];
    expect(f.type).toBe('microburst');
    if (f.type === 'microburst') {
      const key = (x: {
        srcAddr: string;
        dstAddr: string;
        srcPort: number;
        dstPort: number;
        protocol: number;
      }): string => `${x.srcAddr}:${x.srcPort}>${x.dstAddr}:${x.dstPort}/${x.protocol}`;
      const truth = new Set(l.aggressors.map(key));
      expect(f.aggressors.some((a) => truth.has(key(a)))).toBe(true);
    }
  }
  return report;
}

const bundled = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.labels.json'))
  .map((f) => f.replace(/\.labels\.json$/, ''))
  .filter(
    (b) => fs.existsSync(path.join(DIR, `${b}.pcap`)) && fs.existsSync(path.join(DIR, `${b}.yaml`)),
  )
  .sort();

describe('bundled captures', () => {
  test.each(bundled)('%s', (base) => {
    const scenario = loadScenario(path.join(DIR, `${base}.yaml`));
    const labels = parseLabels(fs.readFileSync(path.join(DIR, `${base}.labels.json`), 'utf8'));
    check(base, labels, replayCapture(openCapture(path.join(DIR, `${base}.pcap`)), scenario));
  });
});

// ---------------------------------------------------------------- generated scenarios

interface Gen {
  name: string;
  leaves: number;
  spines: number;
  hostGbps: number;
  fabricGbps: number;
  seed: number;
  durationMs: number;
  reports?: boolean;
  elephants: { count: number; rateGbps: number; payloadBytes: number };
  mice: number;
  events: Record<string, unknown>[];
}

function scenarioOf(g: Gen): Scenario {
  return loadScenario({
    name: g.name,
    seed: g.seed,
    durationMs: g.durationMs,
    topology: {
      leaves: g.leaves,
      spines: g.spines,
      hostsPerLeaf: 4,
      hostLinkGbps: g.hostGbps,
      fabricLinkGbps: g.fabricGbps,
    },
    traffic: {
      elephants: g.elephants,
      mice: {
        arrivalsPerMs: g.mice,
        minPackets: 2,
        maxPackets: 8,
        rateGbps: 0.5,
        payloadBytes: [64, 200],
      },
    },
    int: { version: '2.1', mode: 'MD', encapsulation: 'udp-dscp' },
    output: g.reports ? { kind: 'reports', reportVersion: '2.0' } : { kind: 'packets' },
    events: g.events,
  } as never);
}

const hairpin = (leaf: number, host: number): Record<string, unknown> => ({
  type: 'hairpin',
  atMs: 0,
  leaf,
  host,
  applianceNs: 3000,
  flows: 2,
  rateGbps: 0.3,
});

const burst = (
  atMs: number,
  durationUs: number,
  leaf: number,
  senders: number,
  rateGbps: number,
): Record<string, unknown> => ({
  type: 'microburst',
  atMs,
  durationUs,
  leaf,
  host: 0,
  senders,
  rateGbps,
  payloadBytes: 1000,
  victims: 2,
  victimRateGbps: 0.5,
});

const GENERATED: Gen[] = [];
for (const seed of [3, 7]) {
  // 4×2, 10G hosts: a 10 µs incast burst, silent drops, a rehash
  GENERATED.push({
    name: `gen-4x2-10us-s${seed}`,
    leaves: 4,
    spines: 2,
    hostGbps: 10,
    fabricGbps: 100,
    seed,
    durationMs: 3,
    elephants: { count: 12, rateGbps: 0.4, payloadBytes: 400 },
    mice: 20,
    events: [
      burst(0.8, 10, 1, 8, 10),
      { type: 'drop', atMs: 1.6, durationUs: 400, switchId: 101, probability: 1 },
      { type: 'path_change', atMs: 2.4, cause: 'rehash', leaf: -1 },
    ],
  });
  // 8×4, 25G hosts, reports: a 1 ms burst, drop reports, report loss, a micro-loop
  GENERATED.push({
    name: `gen-8x4-1ms-reports-s${seed}`,
    leaves: 8,
    spines: 4,
    hostGbps: 25,
    fabricGbps: 100,
    seed,
    durationMs: 4,
    reports: true,
    elephants: { count: 12, rateGbps: 0.5, payloadBytes: 600 },
    mice: 30,
    events: [
      burst(0.7, 1000, 5, 3, 10), // no buffer overflow: tail drops are not labelled as drops
      { type: 'drop', atMs: 2.2, durationUs: 300, switchId: 103, probability: 0.5, dropReason: 71 },
      { type: 'report_loss', atMs: 2.8, durationUs: 300, probability: 0.3 },
      {
        type: 'microloop',
        atMs: 3.3,
        durationUs: 200,
        dstLeaf: 2,
        spine: 1,
        viaLeaf: 4,
        flows: 2,
        rateGbps: 0.5,
      },
    ],
  });
  // 8×4, 10G hosts, packets: a long 10 ms burst, then a link failure
  GENERATED.push({
    name: `gen-8x4-10ms-s${seed}`,
    leaves: 8,
    spines: 4,
    hostGbps: 10,
    fabricGbps: 40,
    seed,
    durationMs: 14,
    elephants: { count: 4, rateGbps: 0.2, payloadBytes: 300 },
    mice: 3,
    events: [
      burst(1, 10000, 3, 2, 6),
      { type: 'path_change', atMs: 12.5, cause: 'link-failure', leaf: 0, spine: 0, durationUs: 0 },
    ],
  });
}

for (const seed of [5, 11]) {
  // 8×4: service chains on three hosts (one of them behind the looping spine) and a micro-loop
  GENERATED.push({
    name: `gen-8x4-hairpin-loop-s${seed}`,
    leaves: 8,
    spines: 4,
    hostGbps: 25,
    fabricGbps: 100,
    seed,
    durationMs: 4,
    elephants: { count: 12, rateGbps: 0.5, payloadBytes: 600 },
    mice: 40,
    events: [
      hairpin(1, 0),
      hairpin(2, 3),
      hairpin(5, 1),
      {
        type: 'microloop',
        atMs: 2,
        durationUs: 300,
        dstLeaf: 5,
        spine: 2,
        viaLeaf: 6,
        flows: 3,
        rateGbps: 0.5,
      },
    ],
  });
}

describe('generated scenarios (same defaults)', () => {
  test.each(GENERATED.map((g) => [g.name, g] as const))('%s', (_name, g) => {
    const sc = scenarioOf(g);
    const { capture, labels } = simulateToBuffer(sc);
    const lf = parseLabels(labelsToJson(labels));
    expect(lf.anomalies.length).toBeGreaterThan(0);
    check(g.name, lf, replayCapture(readCaptureBuffer(capture), sc));
  });
});

describe('scoring scenarios simulated in memory (same defaults)', () => {
  test.each(SCORING_SCENARIOS.map((c) => [c.name, c.yaml] as const))('%s', (name, yaml) => {
    const sc = loadScenario(yaml);
    const { capture, labels } = simulateToBuffer(sc);
    check(name, parseLabels(labelsToJson(labels)), replayCapture(readCaptureBuffer(capture), sc));
  });

  test('a clean baseline of 4000 flows starting and ending: zero anomalies', () => {
    const sc = loadScenario({
      name: 'clean-baseline-long',
      seed: 11,
      durationMs: 100,
      topology: { leaves: 4, spines: 2, hostsPerLeaf: 4, hostLinkGbps: 10, fabricLinkGbps: 40 },
      traffic: {
        elephants: { count: 4, rateGbps: 0.02, payloadBytes: 0 },
        mice: { arrivalsPerMs: 4, minPackets: 2, maxPackets: 6, rateGbps: 0.5, payloadBytes: [0] },
        streams: {
          arrivalsPerMs: 40,
          minPackets: 16,
          maxPackets: 24,
          rateGbps: 0.05,
          payloadBytes: [0],
        },
      },
      int: { version: '2.1', mode: 'MD', encapsulation: 'udp-dscp', instructionBitmap: 0xf000 },
    });
    const { capture, labels } = simulateToBuffer(sc);
    const run = replayCapture(readCaptureBuffer(capture), sc);
    check(sc.name, parseLabels(labelsToJson(labels)), run);
    expect(run.found).toEqual([]);
  });
});

afterAll(() => {
  // aggregated per type over every scenario
  const agg = new Map<
    AnomalyType,
    { labels: number; found: number; tp: number; fp: number; fn: number }
  >();
  for (const t of ANOMALY_TYPES) agg.set(t, { labels: 0, found: 0, tp: 0, fp: 0, fn: 0 });
  for (const r of results)
    for (const t of r.report.types) {
      const a = agg.get(t.type)!;
      a.labels += t.labels;
      a.found += t.found;
      a.tp += t.tp;
      a.fp += t.fp;
      a.fn += t.fn;
    }
  const lines = ['type         labels  found    TP   FP   FN  precision  recall'];
  for (const [t, a] of agg) {
    const p = a.found ? a.tp / a.found : 1;
    const rc = a.labels ? a.tp / a.labels : 1;
    lines.push(
      `${t.padEnd(11)}  ${String(a.labels).padStart(6)}  ${String(a.found).padStart(5)}  ${String(a.tp).padStart(4)} ${String(a.fp).padStart(4)} ${String(a.fn).padStart(4)}  ${p.toFixed(3).padStart(9)}  ${rc.toFixed(3).padStart(6)}`,
    );
    expect(p).toBeGreaterThanOrEqual(0.95);
    expect(rc).toBeGreaterThanOrEqual(0.95);
  }
  console.log(`aggregated over ${results.length} scenarios\n${lines.join('\n')}`);
});
