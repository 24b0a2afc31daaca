/**
 * `-` as an output and an input beside the embedded store: `--anomalies -` writes the anomalies
 * as JSON lines on standard output (the summary then on standard error), the same lines as
 * `--anomalies FILE`; `report - --html -` reads a pipe and writes the page to standard output; a
 * reader that stops early (`head`) ends the command quietly.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const BIN = path.join(ROOT, 'packages/cli/bin/hopwatch.js');
const CAPTURE = path.join(ROOT, 'captures/demo-fabric.pcap');
const built = fs.existsSync(path.join(ROOT, 'packages/cli/dist/main.js'));
const testIf = built ? test : test.skip;

let dir = '';
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-anomalies-stdout-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const replay = (args: string[]) =>
  spawnSync('node', [BIN, 'replay', CAPTURE, ...args], { cwd: dir, encoding: 'utf8' });

testIf(
  'replay --anomalies -: JSON lines on stdout equal to the file, summary on stderr',
  () => {
    const file = path.join(dir, 'a.jsonl');
    const toFile = replay(['--data-dir', path.join(dir, 'd1'), '--anomalies', file]);
    expect(toFile.status).toBe(0);
    const want = fs.readFileSync(file, 'utf8');
    expect(want.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(3);

    const r = replay(['--data-dir', path.join(dir, 'd2'), '--anomalies', '-']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(want);
    for (const line of r.stdout.split('\n').filter(Boolean))
      expect(typeof JSON.parse(line).type).toBe('string');
    expect(r.stderr).toMatch(/Anomalies/);
    expect(fs.existsSync(path.join(dir, '-'))).toBe(false);
  },
  120_000,
);

testIf(
  'replay --anomalies - | head -1 exits 0; with --json it is a usage error',
  () => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        `set -o pipefail; node ${JSON.stringify(BIN)} replay ${JSON.stringify(CAPTURE)} --data-dir d3 --anomalies - | head -1`,
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim()).type).toBeDefined();
    const bad = replay(['--data-dir', path.join(dir, 'd4'), '--anomalies', '-', '--json']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--json and --anomalies -/);
  },
  120_000,
);

testIf(
  'cat c.pcap | report - --html -: the page on stdout, the summary on stderr',
  () => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        `set -o pipefail; cat ${JSON.stringify(CAPTURE)} | node ${JSON.stringify(BIN)} report - --html -`,
      ],
      { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith('<!doctype html>')).toBe(true);
    expect(r.stdout.trimEnd().endsWith('</html>')).toBe(true);
    expect(r.stderr).toMatch(/Report of 2081 records, \d+ anomalies written to standard output/);
    expect(fs.existsSync(path.join(dir, '-'))).toBe(false);
  },
  120_000,
);
