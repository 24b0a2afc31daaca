/**
 * Detection does not depend on when the collector read the reports.
 *
 * Microbursts on the switch clock do not depend on when the collector read the reports. A live
 * collector stamps reports when it reads them: in batches that share one time (recvmmsg, a
 * receiver that was busy for a while, several reports in one datagram), and at any pace (a
 * replay sent slower than the fabric sent it). The bundled bursts whose hops carry egress
 * timestamps are replayed with their capture times re-stamped that way: every burst is still
 * found, on the same queue, with the same aggressors, as from the capture's own times.
 */
import * as path from 'path';
import { openCapture } from '@hopwatch/pcap';
import { loadScenario } from '@hopwatch/simulator';
import type { Anomaly, MicroburstAnomaly } from '../src';
import { replayCapture } from './replay';

const DIR = path.resolve(__dirname, '../../../captures');
const CAPTURES = ['demo-fabric', 'microburst', 'several-at-once'];

/** Read in batches of `batch` packets sharing one time, `spacingNs` apart on average per packet. */
const batches =
  (batch: number, spacingNs: number) =>
  (index: number): [number, number] => {
    const ns = Math.floor(index / batch) * batch * spacingNs;
    return [1_800_000_000 + Math.floor(ns / 1e9), ns % 1e9];
  };

function bursts(base: string, stamp?: ReturnType<typeof batches>) {
  const scenario = loadScenario(path.join(DIR, `${base}.yaml`));
  const { found } = replayCapture(openCapture(path.join(DIR, `${base}.pcap`)), scenario, stamp);
  return found
    .filter((a): a is MicroburstAnomaly => a.type === 'microburst')
    .map((b) => ({
      clock: b.clock,
      queue: [b.switchId, b.egressPort, b.queueId],
      aggressors: b.aggressors
        .map((f) => `${f.srcAddr}:${f.srcPort} → ${f.dstAddr}:${f.dstPort}/${f.protocol}`)
        .sort(),
    }));
}

describe.each(CAPTURES)('%s: bursts whatever the collector read times', (base) => {
  const truth = bursts(base);

  test('the capture has a burst timed by the switches', () => {
    expect(truth.length).toBeGreaterThan(0);
    expect(truth.every((b) => b.clock === 'switch')).toBe(true);
  });

  test.each([
    ['one packet a millisecond (a replay paced far slower than the fabric)', 1, 1_000_000],
    ['batches of 64 at the fabric rate (recvmmsg)', 64, 1_500],
    ['batches of 200 at the fabric rate (a receiver that fell behind)', 200, 1_500],
    ['batches of 50, 2 ms apart (a sender pacing its bursts)', 50, 40_000],
    ['batches of 1000, 20 ms apart', 1000, 20_000],
  ])('%s', (_what, batch, spacing) => {
    expect(bursts(base, batches(batch, spacing))).toEqual(truth);
  });
});

/** The bundled capture `base` replayed with every packet after the first half `pauseS` seconds
 * later: all traffic stops and comes back, with no sequence gap (a mirror session turned off
 * and on, the sources paused). */
function paused(base: string, pauseS: number): Anomaly[] {
  const scenario = loadScenario(path.join(DIR, `${base}.yaml`));
  const file = path.join(DIR, `${base}.pcap`);
  let n = 0;
  const r = openCapture(file);
  while (r.next()) n++;
  r.close();
  const stamp = (i: number, sec: number, nsec: number): [number, number] =>
    i >= n / 2 ? [sec + pauseS, nsec] : [sec, nsec];
  return replayCapture(openCapture(file), scenario, pauseS > 0 ? stamp : undefined).found;
}

describe('a pause of all traffic is no drop', () => {
  const drops = (list: Anomaly[]) => list.filter((a) => a.type === 'drop').map((a) => a.switchId);

  test.each(['clean-baseline', 'flows-end', 'demo-fabric', 'hairpin'])(
    '%s: every sink quiet for 2 s, then everything resumes: no drop',
    (base) => {
      expect(drops(paused(base, 0))).toEqual([]);
      expect(drops(paused(base, 2))).toEqual([]);
    },
  );

  test('blackhole-transient: its labelled drop is found with and without a pause after it', () => {
    const plain = drops(paused('blackhole-transient', 0));
    expect(plain).toHaveLength(1);
    expect(drops(paused('blackhole-transient', 2))).toEqual(plain);
  });
});
