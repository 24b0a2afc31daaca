/** Replays a capture (as the simulator wrote it for `scenario`) through one Analyzer. */
import { Decoder, makeConfig, RecordBatch } from '@hopwatch/codec';
import type { openCapture } from '@hopwatch/pcap';
import { codecOverridesFor, type Scenario } from '@hopwatch/simulator';
import { Analyzer, type Anomaly } from '../src';

export type CaptureReader = ReturnType<typeof openCapture>;

export function replayCapture(
  reader: CaptureReader,
  scenario: Scenario,
): { found: Anomaly[]; an: Analyzer } {
  const { profile, overrides } = codecOverridesFor(scenario);
  const decoder = new Decoder(makeConfig(profile, overrides));
  const batch = new RecordBatch(512, 8);
  const an = new Analyzer();
  for (let p = reader.next(); p; p = reader.next()) {
    decoder.decode(p.data, p.linkType, p.tsSec, p.tsNsec, p.index, batch);
    if (batch.count >= 500) {
      an.process(batch);
      batch.reset();
    }
  }
  reader.close();
  if (batch.count > 0) an.process(batch);
  return { found: an.finish(), an };
}
