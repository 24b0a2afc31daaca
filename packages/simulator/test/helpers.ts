import { decodeOne, makeConfig, Decoder, type IntRecord } from '@hopwatch/codec';
import { codecOverridesFor, loadScenario, Simulation, epochNs, type Scenario } from '../src';

export interface Rec {
  bytes: Uint8Array;
  timeNs: bigint;
}

/** Runs a scenario into memory; returns the records (copied) and the simulation. */
export function run(
  src: string | object,
  limit = Infinity,
): { recs: Rec[]; sim: Simulation; scenario: Scenario } {
  const scenario = loadScenario(src);
  const sim = new Simulation(scenario);
  const epoch = epochNs(scenario);
  const recs: Rec[] = [];
  sim.run(
    { write: (b, t) => recs.push({ bytes: b.slice(), timeNs: epoch + BigInt(Math.round(t)) }) },
    Infinity,
    limit,
  );
  return { recs, sim, scenario };
}

export function decoderFor(s: Scenario): Decoder {
  const { profile, overrides } = codecOverridesFor(s);
  return new Decoder(makeConfig(profile, overrides));
}

export function decodeAll(s: Scenario, recs: Rec[]): IntRecord[][] {
  const d = decoderFor(s);
  return recs.map((r, i) => {
    const out = decodeOne(r.bytes, 1, d, i + 1);
    if (out.rejection)
      throw new Error(
        `record ${i + 1} rejected: ${out.rejection.rejected} ${out.rejection.detail}`,
      );
    return out.records;
  });
}

export const SMALL = {
  durationMs: 0.6,
  topology: { leaves: 4, spines: 2, hostsPerLeaf: 3 },
  traffic: {
    elephants: { count: 3, rateGbps: 2, payloadBytes: 600 },
    mice: { arrivalsPerMs: 30, minPackets: 2, maxPackets: 6, rateGbps: 1, payloadBytes: [64, 300] },
  },
};
