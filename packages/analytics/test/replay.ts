/** Replays a capture (as the simulator wrote it for `scenario`) through one Analyzer; `stamp`
 * gives packet `index` another capture time (seconds, nanoseconds) than the file's. */
import { Decoder, makeConfig, RecordBatch } from '@hopwatch/codec';
import type { openCapture } from '@hopwatch/pcap';
import { codecOverridesFor, type Scenario } from '@hopwatch/simulator';
import { Analyzer, type Anomaly } from '../src';

export type CaptureReader = ReturnType<typeof openCapture>;

export function replayCapture(
  reader: CaptureReader,
  scenario: Scenario,
  stamp?: (index: number, sec: number, nsec: number) => [number, number],
): { found: Anomaly[]; an: Analyzer } {
  const { profile, overrides } = codecOverridesFor(scenario);
  const decoder = new Decoder(makeConfig(profile, overrides));
  const batch = new RecordBatch(512, 8);
  const an = new Analyzer();
  for (let p = reader.next(); p; p = reader.next()) {
    const [sec, nsec] = stamp ? stamp(p.index, p.tsSec, p.tsNsec) : [p.tsSec, p.tsNsec];
    decoder.decode(p.data, p.linkType, sec, nsec, p.index, batch);
    if (batch.count >= 500) {
      an.process(batch);
      batch.reset();
    }
  }
  reader.close();
  if (batch.count > 0) an.process(batch);
  return { found: an.finish(), an };
}
