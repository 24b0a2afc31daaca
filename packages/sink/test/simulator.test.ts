/**
 * Simulator traffic (packages/simulator, when it loads): every INT packet it writes must strip
 * cleanly to a non-INT packet whose lengths and checksums verify independently, with the
 * inner flow the decoder read from the INT packet.
 */
import { decodeOne, Decoder, makeConfig } from '@hopwatch/codec';
import { stripPacket } from '../src';
import { checkAllChecksums } from './helpers';

let sim: typeof import('@hopwatch/simulator') | null = null;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sim = require('@hopwatch/simulator');
} catch (e) {
  console.warn(`simulator not loadable, skipping: ${(e as Error).message}`);
}
const testIf = sim ? test : test.skip;

const SMALL = {
  durationMs: 0.3,
  topology: { leaves: 3, spines: 2, hostsPerLeaf: 2 },
  traffic: {
    elephants: { count: 2, rateGbps: 2, payloadBytes: 600 },
    mice: { arrivalsPerMs: 20, minPackets: 2, maxPackets: 4, rateGbps: 1, payloadBytes: [64, 300] },
  },
};

const COMBOS: [string, string][] = [
  ['udp-dscp', '0.5'],
  ['udp-dscp', '1.0'],
  ['udp-dscp', '2.1'],
  ['tcp-dscp', '1.0'],
  ['tcp-dscp', '2.1'],
  ['udp-port', '2.1'],
  ['geneve', '2.1'],
  ['vxlan-gpe', '1.0'],
  ['vxlan-gpe', '2.1'],
  ['gre', '2.1'],
];

describe('simulator traffic', () => {
  for (const [encapsulation, version] of COMBOS) {
    testIf(`${encapsulation} v${version}: every INT packet strips to a clean packet`, () => {
      const s = sim!;
      let scenario;
      try {
        scenario = s.loadScenario({
          name: 'sink',
          seed: 7,
          ...SMALL,
          int: { encapsulation, version, instructionBitmap: 0xf000 },
          output: { kind: 'packets' },
        });
      } catch (e) {
        console.warn(
          `scenario ${encapsulation} v${version} not accepted by the simulator: ${(e as Error).message}`,
        );
        return;
      }
      const { profile, overrides } = s.codecOverridesFor(scenario);
      const dec = new Decoder(makeConfig(profile, overrides));
      const pkts: Uint8Array[] = [];
      new s.Simulation(scenario).run(
        { write: (b: Uint8Array) => void pkts.push(Uint8Array.prototype.slice.call(b)) },
        Infinity,
        300,
      );
      expect(pkts.length).toBeGreaterThan(0);
      let stripped = 0;
      for (const p of pkts) {
        const before = decodeOne(p, 1, dec);
        const r = stripPacket(p, 1, dec);
        if (before.records.length === 0) {
          expect(r.result).toBe('untouched');
          continue;
        }
        expect(r.reason).toBeUndefined();
        expect(r.result).toBe('stripped');
        stripped++;
        const after = decodeOne(r.packet, 1, dec);
        expect(after.records).toHaveLength(0);
        expect(checkAllChecksums(r.packet)).toEqual([]);
        // the inner flow survives
        const f = before.records[0].flow!;
        const ip = after.layers.filter((x) => x.layer === 'ipv4' || x.layer === 'ipv6').pop()!;
        const l4 = after.layers.find(
          (x) => (x.layer === 'udp' || x.layer === 'tcp') && x.start > ip.start,
        )!;
        const q = r.packet;
        expect([
          (q[l4.start] << 8) | q[l4.start + 1],
          (q[l4.start + 2] << 8) | q[l4.start + 3],
        ]).toEqual([f.srcPort, f.dstPort]);
      }
      expect(stripped).toBeGreaterThan(0);
    });
  }
});
