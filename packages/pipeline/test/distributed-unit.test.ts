/** Unit tests of the distributed mode's pieces that need no service: analyzer checkpoints
 * (export → JSON → import) and the micro-loop merge. */
import * as path from 'path';
import { Analyzer, type MicroloopAnomaly } from '@hopwatch/analytics';
import { Decoder, makeConfig, RecordBatch } from '@hopwatch/codec';
import { openCapture } from '@hopwatch/pcap';
import { codecOverridesFor, loadScenario } from '@hopwatch/simulator';
import { REPO_ROOT } from '@hopwatch/pipeline/testing';
import { mergeLoopPartials } from '../src/distributed/loop-merge';

function demoBatches(): RecordBatch[] {
  const o = codecOverridesFor(loadScenario(path.join(REPO_ROOT, 'captures/demo-fabric.yaml')));
  const dec = new Decoder(makeConfig(o.profile, o.overrides));
  const out: RecordBatch[] = [];
  let b = new RecordBatch(300, 8);
  let frame = 0;
  const r = openCapture(path.join(REPO_ROOT, 'captures/demo-fabric.pcap'));
  for (let p = r.next(); p; p = r.next()) {
    dec.decode(p.data, p.linkType, p.tsSec, p.tsNsec, ++frame, b);
    if (b.count >= 256) {
      out.push(b);
      b = new RecordBatch(300, 8);
    }
  }
  r.close();
  if (b.count) out.push(b);
  return out;
}

describe('analyzer checkpoints', () => {
  test('export → JSON → import restores the state (re-export is identical) and later detection matches', () => {
    const batches = demoBatches();
    const a = new Analyzer({});
    const half = 1; // the burst comes after the first batch
    for (let i = 0; i < half; i++) a.process(batches[i]);
    a.flush();
    const ck = JSON.parse(JSON.stringify(a.exportCheckpoint()));
    const b = new Analyzer({});
    b.importCheckpoint(ck);
    expect(b.exportCheckpoint()).toEqual(a.exportCheckpoint());
    expect(ck.queues.n).toBeGreaterThan(0);
    expect(ck.flows.n).toBeGreaterThan(0);
    const seen = (x: Analyzer): string[] => {
      const out: string[] = [];
      for (let i = half; i < batches.length; i++) {
        x.process(batches[i], { flows: false, queues: true, reports: true });
        out.push(...x.flush().map((y) => y.id));
      }
      out.push(...x.finish().map((y) => y.id));
      return out.filter((id) => id.startsWith('microburst')).sort();
    };
    const want = seen(a);
    expect(want.length).toBeGreaterThan(0);
    expect(seen(b)).toEqual(want);
  });
});

describe('micro-loop merge', () => {
  const part = (
    start: bigint,
    end: bigint,
    flows: number,
    extra: Partial<MicroloopAnomaly> = {},
  ): MicroloopAnomaly => ({
    type: 'microloop',
    id: `microloop:3-101:${start}`,
    start,
    end,
    packets: flows * 2,
    switches: [3, 101],
    ports: [],
    flows: [],
    flowCount: flows,
    eBitPackets: 1,
    hopCountBefore: 4,
    hopCountMax: 9,
    ...extra,
  });
  test('partials closer than the gap chain into one episode with the earliest start as id', () => {
    const m = mergeLoopPartials(
      [
        part(1_000_000n, 5_000_000n, 1),
        part(50_000_000n, 160_000_000n, 2, { hopCountBefore: 3 }),
        part(10_000_000n, 20_000_000n, 1),
      ],
      100e6,
      32,
    );
    expect(m).toHaveLength(1);
    expect(m[0]).toMatchObject({
      id: 'microloop:3-101:1000000',
      start: 1_000_000n,
      end: 160_000_000n,
      packets: 8,
      flowCount: 4,
      eBitPackets: 3,
      hopCountBefore: 3,
    });
  });
  test('partials further apart than the gap stay separate episodes', () => {
    const m = mergeLoopPartials([part(1n, 10n, 1), part(200_000_000n, 200_000_010n, 1)], 100e6, 32);
    expect(m.map((x) => x.id)).toEqual(['microloop:3-101:1', 'microloop:3-101:200000000']);
  });
});
