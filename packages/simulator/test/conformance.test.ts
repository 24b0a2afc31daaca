/**
 * Every generated packet/report decodes with zero findings, and the fast (template-patching)
 * path produces exactly the bytes the encoder builds from scratch for the same values.
 */
import { loadScenario, Simulation, type EncapsulationName } from '../src';
import { decodeAll, SMALL } from './helpers';

type Combo = [
  EncapsulationName,
  '0.5' | '1.0' | '2.0' | '2.1',
  'MD' | 'MX',
  'packets' | 'reports',
  ('0.5' | '1.0' | '2.0')?,
];

const COMBOS: Combo[] = [
  ['udp-dscp', '2.1', 'MD', 'packets'],
  ['tcp-dscp', '2.1', 'MD', 'packets'],
  ['udp-port', '2.1', 'MD', 'packets'],
  ['geneve', '2.1', 'MD', 'packets'],
  ['vxlan-gpe', '2.1', 'MD', 'packets'],
  ['gre', '2.1', 'MD', 'packets'],
  ['udp-dscp', '2.0', 'MD', 'packets'],
  ['udp-dscp', '1.0', 'MD', 'packets'],
  ['tcp-dscp', '1.0', 'MD', 'packets'],
  ['geneve', '1.0', 'MD', 'packets'],
  ['vxlan-gpe', '1.0', 'MD', 'packets'],
  ['udp-dscp', '0.5', 'MD', 'packets'],
  ['udp-port', '0.5', 'MD', 'packets'],
  ['vxlan-gpe', '0.5', 'MD', 'packets'],
  ['udp-dscp', '2.1', 'MX', 'packets'],
  ['geneve', '2.1', 'MX', 'packets'],
  ['gre', '2.1', 'MX', 'packets'],
  ['udp-dscp', '2.1', 'MD', 'reports', '2.0'],
  ['udp-dscp', '2.1', 'MD', 'reports', '1.0'],
  ['udp-dscp', '2.1', 'MD', 'reports', '0.5'],
  ['tcp-dscp', '2.1', 'MD', 'reports', '2.0'],
  ['geneve', '2.1', 'MD', 'reports', '2.0'],
  ['vxlan-gpe', '2.1', 'MD', 'reports', '1.0'],
  ['udp-dscp', '1.0', 'MD', 'reports', '1.0'],
  ['udp-dscp', '0.5', 'MD', 'reports', '0.5'],
  ['udp-dscp', '2.1', 'MX', 'reports', '2.0'],
];

function scenarioFor([enc, v, mode, kind, rv]: Combo, extra: object = {}): object {
  return {
    name: `conf-${enc}-${v}-${mode}-${kind}${rv ?? ''}`,
    seed: 3,
    ...SMALL,
    int: {
      encapsulation: enc,
      version: v,
      mode,
      instructionBitmap: enc === 'geneve' ? 0xf000 : v === '2.1' ? 0xff81 : 0xfd00,
    },
    output: { kind, reportVersion: rv ?? '2.0' },
    // a silent drop window: with reports on, the dropping switch sends drop reports
    events: [{ type: 'drop', atMs: 0.3, durationUs: 60, switchId: 101, probability: 0.5 }],
    ...extra,
  };
}

describe('conformance: every record decodes with zero findings', () => {
  const named = COMBOS.map(
    (c) => [`${c[0]} INT v${c[1]} ${c[2]} as ${c[3]}${c[4] ? ` (TR v${c[4]})` : ''}`, c] as const,
  );
  test.each(named)('%s', (_name, c) => {
    const s = loadScenario(scenarioFor(c));
    const sim = new Simulation(s);
    // compare the fast path with the encoder on every packet and report
    const f = sim.factory;
    const fastPacket = f.packet.bind(f);
    const fastReport = f.report.bind(f);
    let compared = 0;
    f.packet = (flow, path, nDone, hv, hb) => {
      const out = fastPacket(flow, path, nDone, hv, hb);
      const ref = f.referencePacket(flow, path, nDone, hv, hb);
      expect(Buffer.from(out).toString('hex')).toBe(Buffer.from(ref).toString('hex'));
      compared++;
      return out;
    };
    f.report = (kind, flow, path, visit, hv, hb, seq, reason) => {
      const out = fastReport(kind, flow, path, visit, hv, hb, seq, reason);
      const copy = out.slice();
      const ref = f.referenceReport(kind, flow, path, visit, hv, hb, seq, reason);
      expect(Buffer.from(copy).toString('hex')).toBe(Buffer.from(ref).toString('hex'));
      return out;
    };
    const recs: Uint8Array[] = [];
    sim.run({ write: (b) => recs.push(b.slice()) });
    expect(recs.length).toBeGreaterThan(50);
    expect(compared).toBeGreaterThan(50);
    const decoded = decodeAll(
      s,
      recs.map((bytes) => ({ bytes, timeNs: 0n })),
    );
    const [enc, v, mode, kind] = c;
    let dropReports = 0;
    for (const [i, rs] of decoded.entries()) {
      expect(rs.length).toBe(1);
      const r = rs[0];
      if (r.findings.length) throw new Error(`record ${i + 1}: ${JSON.stringify(r.findings)}`);
      expect(r.flow).not.toBeNull();
      if (kind === 'packets') {
        expect(r.encapsulation).toBe(enc);
        expect(r.mode).toBe(mode);
        expect(r.hops.length).toBe(mode === 'MD' ? 3 : 0);
        if (mode === 'MD') {
          const ids = r.hops.map((h) => h.switchId);
          expect(ids[0]).toBeLessThanOrEqual(4); // source leaf
          expect(ids[1]).toBeGreaterThanOrEqual(101); // spine
          expect(ids[2]).toBeLessThanOrEqual(4); // sink leaf
          for (const h of r.hops) {
            expect(h.hopLatency).toBeGreaterThanOrEqual(300 - 40);
            expect(h.queueOccupancy).not.toBeNull();
          }
        }
      } else {
        expect(r.report).not.toBeNull();
        if (r.report!.dropped) {
          dropReports++;
          expect(r.report!.nodeId).toBe(101);
        }
        if (mode === 'MD' && !r.report!.dropped) {
          // the sink's own metadata plus the source and transit hops from the inner stack
          expect(r.hops.length).toBe(3);
        }
      }
      void v;
    }
    if (kind === 'reports') {
      expect(dropReports).toBe(sim.stats.silentDrops);
      expect(dropReports).toBeGreaterThan(0);
    }
  });
});
