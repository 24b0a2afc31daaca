import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatProgress } from '../src/progress';

describe('progress line', () => {
  test('a known total: bar, share, count, rate and time left', () => {
    const line = formatProgress({
      label: 'replay',
      fraction: 0.25,
      count: 50_000,
      unit: 'records',
      elapsedMs: 2_000,
    });
    expect(line).toBe(
      'replay [########......................] 25% 50,000 records 25.0k records/s 2.0s ETA 6s',
    );
  });

  test('a stream (no total): count and rate, no bar and no ETA', () => {
    const line = formatProgress({
      label: 'replay',
      fraction: null,
      count: 1_500_000,
      unit: 'records',
      elapsedMs: 125_000,
    });
    expect(line).toBe('replay 1,500,000 records 12.0k records/s 125.0s');
  });

  test('long runs show minutes and hours left', () => {
    const at = (elapsedMs: number, fraction: number): string =>
      /ETA (\S+)/.exec(
        formatProgress({ label: 'x', fraction, count: 1, unit: 'r', elapsedMs }),
      )![1];
    expect(at(60_000, 0.5)).toBe('1m00s');
    expect(at(3_600_000, 0.25)).toBe('3h00m');
  });

  test('never a carriage return into a pipe', async () => {
    const bin = path.resolve(__dirname, '../bin/hopwatch.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-progress-'));
    try {
      const child = spawn(
        'node',
        [
          bin,
          'replay',
          '--no-store',
          path.resolve(__dirname, '../../../captures/demo-fabric.pcap'),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let all = '';
      child.stdout.on('data', (c) => (all += String(c)));
      child.stderr.on('data', (c) => (all += String(c)));
      const code = await new Promise((r) => child.on('close', r));
      expect(code).toBe(0);
      expect(all).toMatch(/Replayed 2081 packet/);
      expect(all).not.toContain('\r');
      expect(all).not.toContain('\x1b[');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
