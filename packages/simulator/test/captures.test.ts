/** The committed captures: small, decodable with the settings their scenario implies, and
 * their labels are what the simulator produces for their scenario. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openCapture } from '@hopwatch/pcap';
import { decodeOne } from '@hopwatch/codec';
import { BUNDLED_CAPTURES, loadScenario, simulate, simulateToBuffer, labelsToJson } from '../src';
import { decoderFor } from './helpers';

const DIR = path.join(__dirname, '../../../captures');

/** The findings each device quirk of a scenario must produce on every packet. */
function quirkFindings(s: ReturnType<typeof loadScenario>): string[] {
  const q = s.int.quirks;
  const out: string[] = [];
  if (q.advertisedBitmap !== 0) {
    out.push('hop-ml-below-bitmap');
    if (q.advertisedBitmap & 0x00fe) out.push('reserved-instruction-bits-set');
  }
  if (q.extraStackBytes !== 0) out.push('stack-not-multiple-of-hop-ml');
  if (q.staleUdpLength) out.push('udp-length-mismatch');
  return out;
}
const present = fs.existsSync(path.join(DIR, 'demo-fabric.pcap'));
const maybe = present ? describe : describe.skip;

maybe('bundled captures', () => {
  test('the README lists every capture and each is under 1 MB', () => {
    const readme = fs.readFileSync(path.join(DIR, 'README.md'), 'utf8');
    for (const c of BUNDLED_CAPTURES) {
      expect(readme).toContain(`\`${c.name}.pcap\``);
      expect(fs.statSync(path.join(DIR, `${c.name}.pcap`)).size).toBeLessThan(1_000_000);
    }
  });

  test('coverage: every encapsulation, INT version, mode, report version and anomaly type', () => {
    const scen = BUNDLED_CAPTURES.map((c) => loadScenario(c.yaml));
    const encs = new Set(scen.map((s) => s.int.encapsulation));
    for (const e of ['udp-dscp', 'udp-port', 'tcp-dscp', 'geneve', 'vxlan-gpe', 'gre'])
      expect(encs).toContain(e);
    const versions = new Set(scen.map((s) => s.int.version));
    for (const v of ['0.5', '1.0', '2.1']) expect(versions).toContain(v);
    expect(new Set(scen.map((s) => s.int.mode))).toEqual(new Set(['MD', 'MX']));
    const reports = new Set(
      scen.filter((s) => s.output.kind === 'reports').map((s) => s.output.reportVersion),
    );
    expect(reports).toEqual(new Set(['0.5', '1.0', '2.0']));
    const types = new Set<string>();
    for (const c of BUNDLED_CAPTURES) {
      for (const a of JSON.parse(fs.readFileSync(path.join(DIR, `${c.name}.labels.json`), 'utf8'))
        .anomalies)
        types.add(a.type);
    }
    expect(types).toEqual(
      new Set(['microburst', 'microloop', 'path_change', 'drop', 'report_loss']),
    );
    const demo = loadScenario(fs.readFileSync(path.join(DIR, 'demo-fabric.yaml'), 'utf8'));
    expect([demo.int.version, demo.int.mode, demo.int.encapsulation]).toEqual([
      '2.1',
      'MD',
      'udp-dscp',
    ]);
    const demoLabels = JSON.parse(
      fs.readFileSync(path.join(DIR, 'demo-fabric.labels.json'), 'utf8'),
    );
    expect(demoLabels.packets).toBeGreaterThan(1000);
    for (const t of ['microburst', 'microloop', 'path_change'])
      expect(demoLabels.anomalies.some((a: { type: string }) => a.type === t)).toBe(true);
  });

  test.each(BUNDLED_CAPTURES.map((c) => c.name))(
    '%s decodes cleanly and its labels are reproducible',
    (name) => {
      const yaml = fs.readFileSync(path.join(DIR, `${name}.yaml`), 'utf8');
      const s = loadScenario(yaml);
      const dec = decoderFor(s);
      const reader = openCapture(path.join(DIR, `${name}.pcap`));
      let n = 0;
      let e = 0;
      try {
        for (let rec = reader.next(); rec !== null; rec = reader.next()) {
          n++;
          const d = decodeOne(rec.data, rec.linkType, dec, n);
          expect(d.rejection).toBeNull();
          for (const r of d.records) {
            for (const f of r.findings) {
              // only micro-loop packets (hop limit exceeded) and the device quirks a scenario
              // asks for carry findings, on purpose
              if (f.kind === 'hop-limit-exceeded') e++;
              else expect(quirkFindings(s)).toContain(f.kind);
            }
            if (s.int.quirks.advertisedBitmap !== 0)
              expect(new Set(r.findings.map((f) => f.kind))).toEqual(new Set(quirkFindings(s)));
          }
        }
      } finally {
        reader.close();
      }
      const labels = JSON.parse(fs.readFileSync(path.join(DIR, `${name}.labels.json`), 'utf8'));
      expect(n).toBe(labels.packets * (s.output.kind === 'packets' ? 1 : 0) + labels.reports);
      if (e > 0)
        expect(labels.anomalies.some((a: { type: string }) => a.type === 'microloop')).toBe(true);
      const again = simulate(s);
      expect(labelsToJson(again.labels)).toBe(
        fs.readFileSync(path.join(DIR, `${name}.labels.json`), 'utf8'),
      );
    },
  );
});

maybe('device quirks', () => {
  test('the bmv2 quirks capture carries the same hops as the same traffic without quirks', () => {
    const yaml = fs.readFileSync(path.join(DIR, 'int-v1.0-bmv2-quirks.yaml'), 'utf8');
    const quirky = loadScenario(yaml);
    const clean = loadScenario(yaml);
    clean.int.quirks = { advertisedBitmap: 0, extraStackBytes: 0, staleUdpLength: false };
    const hopsOf = (capture: Buffer, s: typeof quirky): string[] => {
      const dec = decoderFor(s);
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hw-q-')), 'x.pcap');
      fs.writeFileSync(file, capture);
      const reader = openCapture(file);
      const out: string[] = [];
      try {
        for (let rec = reader.next(); rec !== null; rec = reader.next()) {
          const d = decodeOne(rec.data, rec.linkType, dec);
          expect(d.rejection).toBeNull();
          for (const r of d.records)
            out.push(
              JSON.stringify([
                r.flow.srcPort,
                r.flow.dstPort,
                r.hops.map((h) => [h.switchId, h.ingressPort, h.egressPort, h.hopLatency]),
                r.hops.map((h) => [h.queueId, h.queueOccupancy]),
              ]),
            );
        }
      } finally {
        reader.close();
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
      }
      return out;
    };
    const a = hopsOf(fs.readFileSync(path.join(DIR, 'int-v1.0-bmv2-quirks.pcap')), quirky);
    const b = hopsOf(simulateToBuffer(clean).capture, clean);
    expect(a.length).toBeGreaterThan(100);
    expect(a).toEqual(b);
  });
});
