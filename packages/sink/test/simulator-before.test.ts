/**
 * Requirement of `hopwatch strip`: for simulator traffic, strip(INT packet) equals the packet
 * before INT insertion, byte for byte, for every encapsulation and version the simulator
 * supports. The pre-INT packet comes from the simulator (`generate(..., { before })`), built
 * from scratch with the encoder's plain-packet / tunnel framing, independently of the sink.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Decoder, makeConfig } from '@hopwatch/codec';
import { openCapture } from '@hopwatch/pcap';
import { stripPacket } from '../src';

let sim: typeof import('@hopwatch/simulator') | null = null;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sim = require('@hopwatch/simulator');
} catch (e) {
  console.warn(`simulator not loadable, skipping: ${(e as Error).message}`);
}
const testIf = sim ? test : test.skip;

const SMALL_YAML = `
name: before
seed: 11
durationMs: 0.4
topology: { leaves: 3, spines: 2, hostsPerLeaf: 2 }
traffic:
  elephants: { count: 2, rateGbps: 2, payloadBytes: 600 }
  mice: { arrivalsPerMs: 30, minPackets: 2, maxPackets: 6, rateGbps: 1, payloadBytes: [64, 200, 1024] }
  protocol: mixed
output: { kind: packets }
`;

/** [encapsulation, version, mode, instructionBitmap] */
const COMBOS: [string, string, 'MD' | 'MX', number][] = [
  ['udp-dscp', '0.5', 'MD', 0xf000],
  ['udp-dscp', '1.0', 'MD', 0xf000],
  ['udp-dscp', '2.0', 'MD', 0xf000],
  ['udp-dscp', '2.1', 'MD', 0xf000],
  ['udp-dscp', '2.1', 'MD', 0xfd00],
  ['tcp-dscp', '0.5', 'MD', 0xf000],
  ['tcp-dscp', '1.0', 'MD', 0xfd00],
  ['tcp-dscp', '2.0', 'MD', 0xf000],
  ['tcp-dscp', '2.1', 'MD', 0xf000],
  ['udp-port', '0.5', 'MD', 0xf000],
  ['udp-port', '2.0', 'MD', 0xf000],
  ['udp-port', '2.1', 'MD', 0xf000],
  ['geneve', '1.0', 'MD', 0xf000],
  ['geneve', '2.0', 'MD', 0xf000],
  ['geneve', '2.1', 'MD', 0xf000],
  ['vxlan-gpe', '0.5', 'MD', 0xf000],
  ['vxlan-gpe', '1.0', 'MD', 0xf000],
  ['vxlan-gpe', '2.0', 'MD', 0xf000],
  ['vxlan-gpe', '2.1', 'MD', 0xf000],
  ['gre', '2.0', 'MD', 0xf000],
  ['gre', '2.1', 'MD', 0xf000],
  ['udp-dscp', '2.1', 'MX', 0xf000],
  ['geneve', '2.1', 'MX', 0xf000],
  ['vxlan-gpe', '2.1', 'MX', 0xf000],
  ['gre', '2.1', 'MX', 0xf000],
];

const hex = (b: Uint8Array, from: number, n = 16): string =>
  Buffer.from(b.subarray(from, from + n)).toString('hex');

/** undefined when equal, else where and how they differ. */
function diff(got: Uint8Array, want: Uint8Array): string | undefined {
  const n = Math.min(got.length, want.length);
  let i = 0;
  while (i < n && got[i] === want[i]) i++;
  if (i === n && got.length === want.length) return undefined;
  return (
    `first difference at offset ${i} (lengths: stripped ${got.length}, before ${want.length}); ` +
    `stripped[${i}..] ${hex(got, i)} before[${i}..] ${hex(want, i)}`
  );
}

function scenarioFor(encapsulation: string, version: string, mode: string, bitmap: number) {
  const s = sim!;
  const base = s.loadScenario(SMALL_YAML);
  return s.loadScenario({
    ...base,
    int: { ...base.int, encapsulation, version, mode, instructionBitmap: bitmap },
  });
}

describe('simulator: strip(INT packet) equals the pre-INT packet', () => {
  for (const [encapsulation, version, mode, bitmap] of COMBOS) {
    const name = `${encapsulation} v${version} ${mode} 0x${bitmap.toString(16)}`;
    testIf(name, () => {
      const s = sim!;
      const scenario = scenarioFor(encapsulation, version, mode, bitmap);
      const { profile, overrides } = s.codecOverridesFor(scenario);
      const cfg = makeConfig(profile, overrides);
      const dec = new Decoder(cfg);
      let records = 0;
      let pairs = 0;
      const failures: string[] = [];
      s.generate(
        scenario,
        () => {
          records++;
        },
        400,
        {
          before: (original, intPacket) => {
            pairs++;
            expect(diff(intPacket, original)).toBeDefined(); // INT was there
            const r = stripPacket(intPacket, 1, dec);
            if (r.result !== 'stripped') {
              failures.push(`packet ${pairs}: ${r.result} (${r.reason})`);
              return;
            }
            const d = diff(r.packet, original);
            if (d) failures.push(`packet ${pairs}: ${d}`);
          },
        },
      );
      expect(records).toBeGreaterThanOrEqual(200);
      expect(pairs).toBe(records);
      expect(failures.slice(0, 5)).toEqual([]);
    });
  }

  // micro-loop packets: longer paths, the hop limit hit, the E bit set, TTL further down
  const LOOP: [string, string][] = [
    ['udp-dscp', '2.1'],
    ['udp-dscp', '0.5'],
    ['tcp-dscp', '1.0'],
    ['udp-port', '0.5'],
    ['geneve', '2.1'],
    ['vxlan-gpe', '1.0'],
    ['gre', '2.1'],
  ];
  for (const [encapsulation, version] of LOOP) {
    testIf(`${encapsulation} v${version} MD with a micro-loop (E bit)`, () => {
      const s = sim!;
      const base = scenarioFor(encapsulation, version, 'MD', 0xf000);
      const scenario = s.loadScenario({
        ...base,
        int: { ...base.int, hopLimit: 4 },
        events: [
          {
            type: 'microloop',
            atMs: 0.05,
            durationUs: 300,
            dstLeaf: 1,
            spine: 0,
            viaLeaf: -1,
            flows: 3,
            rateGbps: 2,
          },
        ],
      });
      const { profile, overrides } = s.codecOverridesFor(scenario);
      const dec = new Decoder(makeConfig(profile, overrides));
      let withE = 0;
      let pairs = 0;
      const failures: string[] = [];
      s.generate(scenario, () => undefined, 600, {
        before: (original, intPacket) => {
          pairs++;
          const r = stripPacket(intPacket, 1, dec);
          if (r.result !== 'stripped') {
            failures.push(`packet ${pairs}: ${r.result} (${r.reason})`);
            return;
          }
          if (r.record?.header?.hopLimitExceeded) withE++;
          const d = diff(r.packet, original);
          if (d) failures.push(`packet ${pairs}: ${d}`);
        },
      });
      expect(pairs).toBe(600);
      expect(withE).toBeGreaterThan(0);
      expect(failures.slice(0, 5)).toEqual([]);
    });
  }

  // bmv2-style sources: full bitmap with short Hop ML, stale UDP length, stray stack bytes
  for (const encapsulation of ['udp-dscp', 'tcp-dscp']) {
    testIf(`${encapsulation} v1.0 with bmv2 device quirks`, () => {
      const s = sim!;
      const base = scenarioFor(encapsulation, '1.0', 'MD', 0xf000);
      const scenario = s.loadScenario({
        ...base,
        int: {
          ...base.int,
          quirks: {
            advertisedBitmap: 0xffff,
            extraStackBytes: 4,
            staleUdpLength: encapsulation === 'udp-dscp',
          },
        },
      });
      const { profile, overrides } = s.codecOverridesFor(scenario);
      const dec = new Decoder(makeConfig(profile, overrides));
      let pairs = 0;
      let stale = 0;
      const failures: string[] = [];
      s.generate(scenario, () => undefined, 300, {
        before: (original, intPacket) => {
          pairs++;
          const r = stripPacket(intPacket, 1, dec);
          if (r.result !== 'stripped') {
            failures.push(`packet ${pairs}: ${r.result} (${r.reason})`);
            return;
          }
          const kinds = r.record!.findings.map((f) => f.kind);
          expect(kinds).toContain('hop-ml-below-bitmap');
          if (kinds.includes('udp-length-mismatch')) stale++;
          const d = diff(r.packet, original);
          if (d) failures.push(`packet ${pairs}: ${d}`);
        },
      });
      expect(pairs).toBe(300);
      expect(stale).toBe(encapsulation === 'udp-dscp' ? 300 : 0);
      expect(failures.slice(0, 5)).toEqual([]);
    });
  }

  testIf('stripPacket with makeConfig(...codecOverridesFor) (no Decoder reuse)', () => {
    const s = sim!;
    const scenario = scenarioFor('gre', '2.1', 'MD', 0xf000);
    const { profile, overrides } = s.codecOverridesFor(scenario);
    let n = 0;
    s.generate(scenario, () => undefined, 50, {
      before: (original, intPacket) => {
        const r = stripPacket(intPacket, 1, makeConfig(profile, overrides));
        expect(r.result).toBe('stripped');
        expect(diff(r.packet, original)).toBeUndefined();
        n++;
      },
    });
    expect(n).toBe(50);
  });

  testIf('simulate({ before }) writes the pre-INT capture record for record', () => {
    const s = sim!;
    const scenario = scenarioFor('geneve', '2.1', 'MD', 0xf000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-before-'));
    try {
      const out = path.join(dir, 'int.pcap');
      const before = path.join(dir, 'before.pcap');
      s.simulate(scenario, { out, before, limit: 120 });
      const { profile, overrides } = s.codecOverridesFor(scenario);
      const dec = new Decoder(makeConfig(profile, overrides));
      const a = openCapture(out);
      const b = openCapture(before);
      let n = 0;
      try {
        for (let p = a.next(); p; p = a.next()) {
          const q = b.next();
          expect(q).toBeTruthy();
          expect([q!.tsSec, q!.tsNsec]).toEqual([p.tsSec, p.tsNsec]);
          const r = stripPacket(Uint8Array.prototype.slice.call(p.data), 1, dec);
          expect(diff(r.packet, q!.data)).toBeUndefined();
          n++;
        }
        expect(b.next()).toBeFalsy();
      } finally {
        a.close();
        b.close();
      }
      expect(n).toBe(120);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  testIf('hopwatch simulate --before', async () => {
    const s = sim!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-before-'));
    try {
      const scen = path.join(dir, 's.yaml');
      fs.writeFileSync(scen, SMALL_YAML);
      const out = path.join(dir, 'int.pcapng');
      const before = path.join(dir, 'before.pcapng');
      const io = { out: () => undefined, err: () => undefined };
      expect(
        await s.runSimulateCommand([scen, '--out', out, '--before', before, '--limit', '30'], io),
      ).toBe(0);
      const b = openCapture(before);
      let n = 0;
      try {
        while (b.next()) n++;
      } finally {
        b.close();
      }
      expect(n).toBe(30);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  testIf('before is refused for report output', () => {
    const s = sim!;
    const base = s.loadScenario(SMALL_YAML);
    const scenario = s.loadScenario({ ...base, output: { ...base.output, kind: 'reports' } });
    expect(() => s.generate(scenario, () => undefined, 10, { before: () => undefined })).toThrow(
      /packets/,
    );
  });
});
