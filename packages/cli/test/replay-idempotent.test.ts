/**
 * Idempotent replays through the real command and real chDB: `hopwatch replay` killed with
 * SIGKILL mid-way and run again stores exactly the rows of one full run; a second replay
 * stores nothing new; --force appends; two captures in one command are both stored. Runs the
 * built CLI (after `npx tsc -b`); skipped with a message when it is not built.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadScenario, simulate } from '@hopwatch/simulator';
import { servicesAvailable, startClickHouse, unavailableMessage } from '@hopwatch/testkit';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'packages/cli/bin/hopwatch.js');
const built = fs.existsSync(path.join(ROOT, 'packages/cli/dist/main.js'));
const testIf = built ? test : test.skip;
if (!built) console.warn('replay idempotence CLI test skipped: run npx tsc -b first');

function hopwatch(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Row counts and checksums of hops and paths (capture_write left out: it differs per run). */
function contents(data: string): string {
  const r = hopwatch([
    'query',
    '--data-dir',
    data,
    '--format',
    'csv',
    'SELECT (SELECT count() FROM hops) AS hops, (SELECT sum(cityHash64(capture_id, frame, hop_index, switch_id, time_ns, flow_hash)) FROM hops) AS hops_sum, (SELECT count() FROM paths) AS paths, (SELECT sum(cityHash64(capture_id, frame, time_ns, flow_hash, hop_count)) FROM paths) AS paths_sum',
  ]);
  expect(r.code).toBe(0);
  return r.out.trim().split('\n')[1];
}

/** Committed MergeTree parts of the day-partitioned tables under `dir` (YYYYMMDD_a_b_c). */
function parts(dir: string): number {
  let n = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    let list: fs.Dirent[];
    try {
      list = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of list) {
      if (!e.isDirectory()) continue;
      if (/^\d{8}_\d+_\d+_\d+$/.test(e.name)) n++;
      else stack.push(path.join(d, e.name));
    }
  }
  return n;
}

let dir: string;
let capture: string;

beforeAll(() => {
  if (!built) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-idem-'));
  capture = path.join(dir, 'big.pcap');
  // big enough for several writes of 500,000 hop rows (about 1.8M hop rows)
  simulate(
    loadScenario(`
name: idempotence
seed: 11
durationMs: 100000
topology: { leaves: 8, spines: 4, hostsPerLeaf: 8 }
traffic:
  elephants: { count: 32, rateGbps: 1, payloadBytes: 1000 }
  mice: { arrivalsPerMs: 200, minPackets: 2, maxPackets: 20, rateGbps: 1, payloadBytes: [64, 512, 1400] }
int: { version: '2.1', mode: 'MD', encapsulation: 'udp-dscp', instructionBitmap: 0xFF00, hopLimit: 8 }
output: { kind: 'packets', snaplen: 256 }
`),
    { out: capture, limit: 600_000 },
  );
}, 120_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

testIf(
  'killed with SIGKILL mid-way, then replayed again: exactly the rows of one full run',
  async () => {
    const full = path.join(dir, 'full');
    const r = hopwatch(['replay', '--data-dir', full, capture]);
    expect(r.code).toBe(0);
    const reference = contents(full);
    const [hops, , paths] = reference.split(',').map(Number);
    expect(hops).toBeGreaterThan(1_000_000);
    expect(paths).toBe(600_000);

    // the same capture again: nothing new, and the command says so
    const again = hopwatch(['replay', '--data-dir', full, capture]);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(
      /600000 record\(s\) were stored by an earlier replay of the same capture and were not stored again/,
    );
    expect(contents(full)).toBe(reference);

    // killed once the first write has landed (hops, paths and the rollup: 3 parts), while the
    // next ones are in flight
    const cut = path.join(dir, 'cut');
    const child = spawn(process.execPath, [CLI, 'replay', '--data-dir', cut, capture], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((res) =>
      child.on('exit', (_code, sig) => res(sig)),
    );
    let done = false;
    void exited.then(() => (done = true));
    while (!done && parts(cut) < 3) await new Promise((res) => setTimeout(res, 10));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const stored = contents(cut);
    console.log(`killed with ${stored} stored (hops, sum, paths, sum) of ${reference}`);
    const partial = stored.split(',').map(Number);
    expect(partial[0] + partial[2]).toBeGreaterThan(0);
    expect(partial[0] + partial[2]).toBeLessThan(hops + paths);

    const resumed = hopwatch(['replay', '--data-dir', cut, capture]);
    expect(resumed.code).toBe(0);
    expect(contents(cut)).toBe(reference);
    // the killed process's insert files (tens of MB each) were removed by the next store
    expect(
      fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`hopwatch-store-${child.pid}-`)),
    ).toEqual([]);

    // --force appends: every row twice
    const forced = hopwatch(['replay', '--force', '--data-dir', full, capture]);
    expect(forced.code).toBe(0);
    expect(forced.out).not.toMatch(/not stored again/);
    const doubled = contents(full).split(',').map(Number);
    expect([doubled[0], doubled[2]]).toEqual([2 * hops, 2 * paths]);
  },
  300_000,
);

testIf('two different captures in one command are both stored', () => {
  const data = path.join(dir, 'two');
  const one = (f: string): number => {
    const r = hopwatch(['replay', '--no-store', '--json', f]);
    expect(r.code).toBe(0);
    return JSON.parse(r.out).stats.hops;
  };
  const a = 'captures/demo-fabric.pcap';
  const b = 'captures/microburst.pcap';
  const r = hopwatch(['replay', '--data-dir', data, a, b]);
  expect(r.code).toBe(0);
  const q = hopwatch([
    'query',
    '--data-dir',
    data,
    '--format',
    'csv',
    'SELECT count() AS n, uniqExact(capture_id) AS captures FROM hops',
  ]);
  expect(q.out.trim().split('\n')[1]).toBe(`${one(a) + one(b)},2`);
});

testIf(
  '--store-url: the same against a ClickHouse server (18.16 from the testkit)',
  async () => {
    const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
    if (!servicesAvailable().clickhouse && !required) {
      console.warn(`no ClickHouse server (${unavailableMessage('clickhouse')}): skipped`);
      return;
    }
    const server = await startClickHouse();
    try {
      const url = server.url;
      const a = 'captures/demo-fabric.pcap';
      const count = (): string => {
        const q = hopwatch([
          'query',
          '--store-url',
          url,
          '--format',
          'csv',
          'SELECT (SELECT count() FROM hops) AS h, (SELECT count() FROM paths) AS p, (SELECT sum(cityHash64(capture_id, frame, hop_index, time_ns)) FROM hops) AS s',
        ]);
        expect(q.code).toBe(0);
        return q.out.trim().split('\n')[1];
      };
      expect(hopwatch(['replay', '--store-url', url, a]).code).toBe(0);
      const once = count();
      expect(Number(once.split(',')[0])).toBeGreaterThan(0);
      const again = hopwatch(['replay', '--store-url', url, a]);
      expect(again.code).toBe(0);
      expect(again.out).toMatch(/were not stored again/);
      expect(count()).toBe(once);
      expect(hopwatch(['replay', '--force', '--store-url', url, a]).code).toBe(0);
      const [h, p] = count().split(',').map(Number);
      const [h1, p1] = once.split(',').map(Number);
      expect([h, p]).toEqual([2 * h1, 2 * p1]);
    } finally {
      await server.stop();
    }
  },
  180_000,
);
