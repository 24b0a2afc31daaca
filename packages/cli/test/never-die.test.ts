/** The guards that keep live commands running: GuardedHandler and AnomalyLog. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { PacketHandler } from '@hopwatch/pipeline';
import { AnomalyLog } from '../src/anomaly-log';
import { UsageError } from '../src/errors';
import { GuardedHandler } from '../src/guarded-handler';

test('GuardedHandler: a throwing input is counted and warned about once, the next ones pass', () => {
  const seen: number[] = [];
  const inner: PacketHandler = {
    onPacket: (d) => {
      if (d[0] === 0xff) throw new RangeError('offset out of bounds');
      seen.push(d[0]);
    },
    onDatagram: (d) => {
      if (d.length === 0) throw new Error('empty');
      seen.push(d[0]);
    },
  };
  const warnings: string[] = [];
  const g = new GuardedHandler(inner, (l) => warnings.push(l));
  const from = new Uint32Array(4);
  g.onPacket(Uint8Array.of(1), 1, 0, 0);
  for (let i = 0; i < 5; i++) g.onPacket(Uint8Array.of(0xff, 0, 1), 1, 0, 0);
  g.onDatagram(new Uint8Array(0), from, false, 0, 0);
  g.onDatagram(Uint8Array.of(2), from, false, 0, 0);
  expect(seen).toEqual([1, 2]);
  expect(g.failed).toBe(6);
  expect(g.lastError).toBe('empty');
  expect(warnings).toHaveLength(1); // rate-limited: not one per input
  expect(warnings[0]).toMatch(/3 bytes \(starting ff0001\).*offset out of bounds.*1 so far/);
  expect(g.backpressure()).toBeNull();
  g.guard('the periodic flush', () => {
    throw new Error('flush failed');
  });
  expect(g.failed).toBe(7);
  expect(g.lastError).toBe('flush failed');
});

test('AnomalyLog: writes JSON lines; failed writes are counted, not thrown; bad paths are usage errors', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-alog-'));
  const f = path.join(dir, 'a.jsonl');
  const ok = new AnomalyLog(f, 'w', () => undefined);
  ok.write({ type: 'drop', start: 12345678901234567890n });
  ok.close();
  // the v2 anomaly JSON: ns times as strings beside RFC 3339 (exact in any JSON library)
  expect(fs.readFileSync(f, 'utf8')).toBe(
    '{"type":"drop","start":"12345678901234567890","startTime":"2361-03-21T19:15:01.234567890Z"}\n',
  );
  expect(ok.summary()).toBeNull();

  const warnings: string[] = [];
  const full = new AnomalyLog('/dev/full', 'a', (l) => warnings.push(l));
  for (let i = 0; i < 100; i++) full.write({ type: 'drop', n: i });
  full.close();
  expect(full.failed).toBe(100);
  expect(full.written).toBe(0);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/cannot write anomalies to \/dev\/full \(ENOSPC/);
  expect(full.summary()).toBe('Anomalies file /dev/full: 100 anomaly(ies) not written (ENOSPC)');

  expect(() => new AnomalyLog(path.join(dir, 'no/x.jsonl'), 'a', () => undefined)).toThrow(
    UsageError,
  );
  expect(() => new AnomalyLog(dir, 'a', () => undefined)).toThrow(/EISDIR/);
  fs.rmSync(dir, { recursive: true, force: true });
});
