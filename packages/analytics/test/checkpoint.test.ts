/** Analyzer checkpoints: each part survives export → JSON → import, the restored state is used
 * by its detector, and a checkpoint of another version (or a damaged one) is a clear error that
 * leaves the analyzer as it was. (The distributed worker's round trip through Redis is in
 * packages/pipeline/test/distributed-unit.test.ts.) */
import {
  Analyzer,
  CHECKPOINT_VERSION,
  type AnalyzerCheckpoint,
  type PathChangeAnomaly,
  type ReportLossAnomaly,
} from '../src';
import { feed, flow, T0, us, type TRecord } from './helpers';

const report = (t: number, seq: number): TRecord => ({
  t: T0 + us(t),
  report: { version: 3, seq, nodeId: 7, hwId: 1 },
});

/** A steady flow through leaf 1 → spine `spine` → leaf 2 (latency, occupancy, egress
 * timestamps: every per-queue column gets a value). */
const packet = (t: number, spine: number): TRecord => ({
  t: T0 + us(t),
  flow: flow(1),
  hops: [1, spine, 2].map((sw, i) => ({
    sw,
    ing: 1,
    eg: 2,
    q: 0,
    lat: 300 + i,
    occ: 100,
    egTs: 5_000_000n + BigInt(t * 1000 + i * 400),
  })),
});

function warmed(): Analyzer {
  const a = new Analyzer();
  const recs: TRecord[] = [];
  for (let i = 0; i < 100; i++) recs.push(packet(i * 10, 101), report(i * 10 + 5, i));
  feed(a, recs, 64);
  a.flush();
  return a;
}

const roundTrip = (a: Analyzer): AnalyzerCheckpoint =>
  JSON.parse(JSON.stringify(a.exportCheckpoint())) as AnalyzerCheckpoint;

describe('analyzer checkpoints', () => {
  test('every part survives export → JSON → import (re-export identical)', () => {
    const a = warmed();
    const ck = roundTrip(a);
    expect(ck.v).toBe(CHECKPOINT_VERSION);
    expect(ck.flows.n).toBe(1);
    expect(ck.queues.n).toBe(3);
    expect(ck.reporters.n).toBe(1);
    const b = new Analyzer();
    b.importCheckpoint(ck);
    expect(b.exportCheckpoint()).toEqual(a.exportCheckpoint());
    expect(b.stats().records).toBe(a.stats().records);
  });

  test('restored detectors use their state: a sequence gap and a path change right after the restart', () => {
    const ck = roundTrip(warmed());
    const tail: TRecord[] = [];
    for (let i = 0; i < 50; i++)
      tail.push(packet(1000 + i * 10, 102), report(1005 + i * 10, 105 + i));
    const restored = new Analyzer();
    restored.importCheckpoint(ck);
    feed(restored, tail, 64);
    const out = restored.finish();
    const loss = out.filter((x): x is ReportLossAnomaly => x.type === 'report_loss');
    expect(loss).toHaveLength(1);
    expect(loss[0].lost).toBe(5); // 100..104
    const change = out.filter((x): x is PathChangeAnomaly => x.type === 'path_change');
    expect(change).toHaveLength(1);
    expect(change[0].oldPath).toEqual([1, 101, 2]);
    expect(change[0].newPath).toEqual([1, 102, 2]);
    // without the checkpoint the same input is first sight: nothing to report
    const fresh = new Analyzer();
    feed(fresh, tail, 64);
    expect(fresh.finish()).toEqual([]);
  });

  test('another version, or a damaged checkpoint, is a clear error and changes nothing', () => {
    const ck = roundTrip(warmed());
    const empty = new Analyzer().exportCheckpoint();
    const bad: [unknown, RegExp][] = [
      [{ ...ck, v: 1 }, /unsupported analyzer checkpoint version 1 .*reads version 2/],
      [{ ...ck, v: 99 }, /unsupported analyzer checkpoint version 99/],
      [{ v: 1, baseSec: 0, now: null, records: 0, queues: { n: 0, f64: {} } }, /version 1/],
      [null, /not an object/],
      [{ ...ck, detectors: { ...ck.detectors, microburst: undefined } }, /detectors.microburst/],
      [{ ...ck, latency: undefined }, /'latency' missing/],
    ];
    for (const [c, msg] of bad) {
      const b = new Analyzer();
      expect(() => b.importCheckpoint(c as AnalyzerCheckpoint)).toThrow(msg);
      expect(b.exportCheckpoint()).toEqual(empty);
    }
    // a column of the wrong length names itself
    const cut = roundTrip(warmed());
    cut.detectors.reportLoss.high = '';
    expect(() => new Analyzer().importCheckpoint(cut)).toThrow(/reportLoss.high holds 0 bytes/);
  });
});
