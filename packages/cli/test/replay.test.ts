/**
 * The embedded deployment end to end through the real command: `hopwatch replay` on the
 * bundled demo capture, then `hopwatch query` on what it stored. Runs the built CLI in a child
 * process (after `npx tsc -b`); skipped with a message when it is not built.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'packages/cli/bin/hopwatch.js');
const built = fs.existsSync(path.join(ROOT, 'packages/cli/dist/main.js'));
const testIf = built ? test : test.skip;
if (!built) console.warn('replay CLI test skipped: run npx tsc -b first');

function hopwatch(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

testIf(
  'replay the demo capture, then query what was stored',
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-cli-'));
    const data = path.join(dir, 'data');
    const anomalies = path.join(dir, 'anomalies.jsonl');
    const r = hopwatch([
      'replay',
      '--data-dir',
      data,
      '--anomalies',
      anomalies,
      'captures/demo-fabric.pcap',
    ]);
    expect(r.err).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const m = /Replayed (\d+) packet\(s\): (\d+) INT record\(s\), (\d+) hop\(s\)/.exec(r.out);
    expect(m).not.toBeNull();
    const [, packets, records, hops] = m!.map(Number);
    expect(records).toBe(packets);
    expect(r.out).toMatch(/Slowest hops/);
    expect(r.out).toMatch(/microloop .*cycle \[101 → 3 → 101\]/);
    expect(r.out).toMatch(/microburst .*switch 2 port 1 queue 0/);
    expect(r.out).toMatch(/path_change/);
    const lines = fs.readFileSync(anomalies, 'utf8').trim().split('\n');
    const types = lines.map((l) => JSON.parse(l).type).sort();
    expect(types).toEqual(['microburst', 'microloop', 'path_change', 'path_change', 'path_change']);
    expect(lines[0]).toMatch(/"start":"\d{19}","startTime":"2026-01-01T00:00:00\.\d{9}Z"/); // exact ns (strings)

    const count = hopwatch([
      'query',
      '--data-dir',
      data,
      '--format',
      'csv',
      'SELECT count() AS n FROM hops',
    ]);
    expect(count.code).toBe(0);
    expect(count.out.trim().split('\n')[1]).toBe(String(hops));
    const named = hopwatch([
      'query',
      '--data-dir',
      data,
      '--format',
      'json',
      '--named',
      'anomalies',
    ]);
    expect(named.code).toBe(0);
    expect(JSON.parse(named.out)).toHaveLength(5);
    const slow = hopwatch(['query', '--data-dir', data, '--named', 'slowest_hops']);
    expect(slow.out.split('\n')[2]).toMatch(/^2\s+1\s+0\s/); // the burst queue is the slowest
    const bad = hopwatch(['query', '--data-dir', data, 'SELEC 1']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/SYNTAX_ERROR/);
    fs.rmSync(dir, { recursive: true, force: true });
  },
  180_000,
);

testIf('bad input gives a clear error and exit code 2', () => {
  expect(hopwatch(['replay', 'no-such.pcap']).code).toBe(2);
  expect(hopwatch(['nonsense']).code).toBe(2);
  const cfg = path.join(os.tmpdir(), `hw-bad-${process.pid}.yaml`);
  fs.writeFileSync(cfg, 'codec:\n  dscp: { value: 99, mask: 63 }\n');
  const r = hopwatch(['replay', '--config', cfg, 'captures/demo-fabric.pcap']);
  fs.unlinkSync(cfg);
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/dscp.value must be an integer in 0..63/);
});
