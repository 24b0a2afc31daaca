/**
 * Quick fuzz run (the full run is `node benchmarks/fuzz-decoder.js`): every mutated packet
 * must end as records or one counted rejection; nothing may reach the exception guard.
 */
import * as fs from 'fs';
import * as path from 'path';
import { makeConfig, PROFILES, runFuzz } from '@hopwatch/codec';
import { openCapture } from '@hopwatch/pcap';

/** The third-party captures beside the repository when present (a development checkout), and
 * always the repository's own (a clone anywhere else has only those). */
const DIRS = [
  path.resolve(__dirname, '../../../../shared/captures'),
  path.resolve(__dirname, '../../../captures'),
];

function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const dir of DIRS) {
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) {
      if (!/\.pcap(ng)?$/.test(f)) continue;
      const r = openCapture(path.join(dir, f));
      for (let p = r.next(); p; p = r.next()) out.push(Uint8Array.from(p.data));
      r.close();
    }
  }
  return out;
}

test('decoder survives 300k mutated packets under every profile', () => {
  const s = seeds();
  // a few hand-made seeds so the run means something without the shared captures
  s.push(
    Uint8Array.from(
      Buffer.from(
        'ffffffffffff00000000000108004500002c0001000040117bcc0a0000010a0000021388138800180000140212342000020690000000',
        'hex',
      ),
    ),
  );
  const configs = Object.keys(PROFILES).map((p) => makeConfig(p));
  const rep = runFuzz({ seeds: s, configs, iterations: 300_000, seed: 42 });
  expect(rep.internalExamples).toEqual([]);
  expect(rep.internalErrors).toBe(0);
  expect(rep.unaccounted).toBe(0);
  expect(rep.packets).toBe(300_000);
  expect(rep.decoded + rep.rejected).toBe(rep.packets);
  expect(Object.values(rep.byReason).reduce((a, b) => a + b, 0)).toBe(rep.rejected);
  expect(rep.maxHopsPerRecord).toBeLessThanOrEqual(64);
  // the mutations must exercise both outcomes and several reasons
  expect(rep.records).toBeGreaterThan(10_000);
  expect(Object.keys(rep.byReason).length).toBeGreaterThanOrEqual(5);
});
