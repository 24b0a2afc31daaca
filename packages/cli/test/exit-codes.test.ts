/**
 * The exit-code contract (docs/cli.md), command by command: 0 done, 1 a failure while
 * running or a failed check, 2 usage or configuration error, 3 the input had errors. The
 * commands come from `hopwatch --help`, so a new command is held to the generic part at once.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'packages/cli/bin/hopwatch.js');
const DEMO = path.join(ROOT, 'captures/demo-fabric.pcap');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-exit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function hw(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const COMMANDS = /Commands:\n((?: {2}\S+ .*\n)+)/
  .exec(hw(['--help']).out)![1]
  .trim()
  .split('\n')
  .map((l) => l.trim().split(/\s+/)[0]);

/** A command's run with an input that does not exist: a usage error naming it. */
const MISSING: Record<string, string[]> = {
  dissect: ['dissect', 'missing.pcap'],
  replay: ['replay', '--no-store', 'missing.pcap'],
  strip: ['strip', 'missing.pcap', 'out.pcap'],
  verify: ['verify', '--role', 'sink', '--before', 'missing.pcap', '--after', DEMO],
  simulate: ['simulate', 'missing.yaml', '--out', 'x.pcap'],
  ingest: ['ingest', '--brokers', '127.0.0.1:1', 'missing.pcap'],
  query: ['query', '--data-dir', 'missing', 'SELECT 1'],
  serve: ['serve', '--config', 'missing.yaml'],
  analyze: ['analyze', '--config', 'missing.yaml'],
  report: ['report', 'missing.pcap', '--html', 'out.html'],
};

test('the command list is read from --help', () => {
  expect(COMMANDS).toEqual(expect.arrayContaining(['dissect', 'replay', 'serve', 'simulate']));
});

describe.each(COMMANDS)('%s', (name) => {
  test('--help and --version: 0, on stdout only', () => {
    for (const flag of ['--help', '--version']) {
      const r = hw([name, flag]);
      expect([flag, r.code, r.err]).toEqual([flag, 0, '']);
      expect(r.out.length).toBeGreaterThan(0);
    }
  });

  test('an unknown option: 2, one line naming it', () => {
    const r = hw([name, '--no-such-option']);
    expect(r.code).toBe(2);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toContain('--no-such-option');
  });

  test('an input that does not exist: 2, naming it', () => {
    const args = MISSING[name];
    if (!args) throw new Error(`no missing-input case for '${name}': add one to MISSING`);
    const r = hw(args);
    expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
    expect(r.err).toMatch(/missing/);
    expect(r.err).not.toMatch(/^\s+at /m);
  });
});

test('an unknown command: 2', () => {
  expect(hw(['no-such-command']).code).toBe(2);
});

test('failed checks and failures while running: 1', () => {
  // verify: a device that did nothing, judged as a transit, fails its check
  const v = hw(['verify', '--role', 'transit', '--before', DEMO, '--after', DEMO]);
  expect(v.code).toBe(1);
  expect(v.out).toMatch(/FAIL/);
  // replay --anomalies into a file that cannot be written while running (a full device)
  const full = hw(['replay', '--no-store', '--anomalies', '/dev/full', DEMO]);
  expect(full.code).toBe(1);
});

test('input with errors: 3, what could be read still processed', () => {
  fs.writeFileSync(path.join(dir, 'cut.pcap'), fs.readFileSync(DEMO).subarray(0, 5000));
  for (const args of [
    ['dissect', '--summary', 'cut.pcap'],
    ['replay', '--no-store', 'cut.pcap'],
  ]) {
    const r = hw(args);
    expect([args[0], r.code]).toEqual([args[0], 3]);
    expect(r.out).toMatch(/[1-9]\d* packet/);
  }
});

test('ingest --publish-every-ms out of range: 2, naming the flag (before Kafka is reached)', () => {
  for (const v of ['0', '10001', 'soon']) {
    const r = hw(['ingest', '--brokers', '127.0.0.1:1', '--publish-every-ms', v, DEMO]);
    expect([v, r.code]).toEqual([v, 2]);
    expect(r.err).toContain('--publish-every-ms');
  }
});

/** ingest on a UDP socket with `flag v` for each bad value: exit 2 and `expected` on stderr. */
function udpFlagRefused(flag: string, values: string[], expected: string): void {
  for (const v of values) {
    const r = hw(['ingest', '--brokers', '127.0.0.1:1', '--listen', '127.0.0.1:0', flag, v]);
    expect([v, r.code]).toEqual([v, 2]);
    expect(r.err).toContain(expected);
  }
}

test('ingest --receive-hold-ms out of range: 2, naming the flag', () => {
  udpFlagRefused('--receive-hold-ms', ['-1', '1001', '1.5', 'soon'], '--receive-hold-ms');
});

test('ingest --udp-receive not a receive path: 2, naming the flag and the choices', () => {
  udpFlagRefused(
    '--udp-receive',
    ['bogus', '', 'RECVMMSG'],
    '--udp-receive must be one of auto, recvmmsg, dgram',
  );
});
