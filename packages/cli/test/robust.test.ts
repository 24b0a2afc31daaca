/**
 * Hostile use of the built CLI (child processes, after `npx tsc -b`): outputs that alias
 * inputs, corrupt captures, bad flags and config, garbage datagrams and an anomalies file
 * that cannot be written. Every case ends in one line and the documented exit code
 * (docs/cli.md): 0 ok, 1 runtime failure, 2 usage or config error, 3 input had errors.
 */
import { spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as dgram from 'dgram';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { twoHopReport } from '../../pipeline/test/report-fixture';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'packages/cli/bin/hopwatch.js');
const built = fs.existsSync(path.join(ROOT, 'packages/cli/dist/main.js'));
const testIf = built ? test : test.skip;
if (!built) console.warn('CLI robustness tests skipped: run npx tsc -b first');

const DEMO = path.join(ROOT, 'captures/demo-fabric.pcap');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-robust-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const p = (n: string): string => path.join(dir, n);

function hopwatch(args: string[], cwd = dir): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const sha = (f: string): string =>
  crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** One line on stderr, no stack trace. */
function oneLine(err: string): string {
  const lines = err.trimEnd().split('\n');
  expect(err).not.toMatch(/^\s+at /m);
  expect(lines).toHaveLength(1);
  return lines[0];
}

/** The demo capture cut inside a record (truncated) and with a record length of 4 GiB (corrupt). */
function brokenCaptures(): { truncated: string; corrupt: string; text: string } {
  const demo = fs.readFileSync(DEMO);
  fs.writeFileSync(p('truncated.pcap'), demo.subarray(0, 3000));
  const corrupt = Buffer.from(demo.subarray(0, 20000));
  // second record header: the first is at 24, its captured length at 24 + 8
  const second = 24 + 16 + corrupt.readUInt32LE(24 + 8);
  corrupt.writeUInt32LE(0xffffffff, second + 8);
  fs.writeFileSync(p('corrupt.pcap'), corrupt);
  fs.writeFileSync(p('text.pcap'), 'not a capture at all\n');
  return { truncated: p('truncated.pcap'), corrupt: p('corrupt.pcap'), text: p('text.pcap') };
}

testIf('strip never overwrites its input: same path, hard link, symlink; exit 2', () => {
  fs.copyFileSync(DEMO, p('x.pcap'));
  fs.linkSync(p('x.pcap'), p('hard.pcap'));
  fs.symlinkSync(p('x.pcap'), p('sym.pcap'));
  const before = sha(p('x.pcap'));
  for (const out of ['./x.pcap', 'hard.pcap', 'sym.pcap', `${dir}/x.pcap`]) {
    const r = hopwatch(['strip', 'x.pcap', out]);
    expect(r.code).toBe(2);
    expect(oneLine(r.err)).toMatch(/is the same file as IN x\.pcap: refusing to overwrite it/);
    expect(sha(p('x.pcap'))).toBe(before);
  }
  const nodir = hopwatch(['strip', 'x.pcap', 'no/such/dir/out.pcap']);
  expect(nodir.code).toBe(2);
  expect(oneLine(nodir.err)).toMatch(/does not exist/);
  // a normal run: OUT appears whole, no temporary file is left beside it
  const ok = hopwatch(['strip', 'x.pcap', 'out.pcap']);
  expect(ok.code).toBe(0);
  expect(ok.out).toMatch(/2081 stripped/);
  expect(fs.statSync(p('out.pcap')).size).toBeGreaterThan(100_000);
  expect(fs.readdirSync(dir).filter((f) => f.startsWith('.hopwatch-'))).toEqual([]);
  expect(sha(p('x.pcap'))).toBe(before);
  // OUT a device: written in place, the device node left alone
  const devnull = hopwatch(['strip', 'x.pcap', '/dev/null']);
  expect(devnull.code).toBe(0);
  expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
});

testIf('corrupt or truncated captures: exit 3 for strip, dissect, replay (not 0)', () => {
  const bad = brokenCaptures();
  for (const [name, f] of Object.entries(bad)) {
    const s = hopwatch(['strip', f, `stripped-${name}.pcap`]);
    expect(s.code).toBe(3);
    expect(oneLine(s.err)).toMatch(/not written/);
    expect(fs.existsSync(p(`stripped-${name}.pcap`))).toBe(false);

    const d = hopwatch(['dissect', '--summary', f]);
    expect(d.code).toBe(3);
    expect(d.err).toContain(f);

    const r = hopwatch(['replay', '--no-store', f]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/capture problem|nothing replayed/);
  }
  expect(fs.readdirSync(dir).filter((f) => f.startsWith('.hopwatch-'))).toEqual([]);
  // what could be read was still replayed and is reported
  const r = hopwatch(['replay', '--no-store', bad.truncated]);
  expect(r.out).toMatch(/Replayed [1-9]\d* packet/);
  expect(r.out).toMatch(/Capture problem: .*truncated\.pcap/);
  // verify: a corrupt capture or a non-capture (one that ends mid-record is read up to it)
  for (const f of [bad.corrupt, bad.text]) {
    const v = hopwatch(['verify', '--role', 'sink', '--before', f, '--after', DEMO]);
    expect([f, v.code]).toEqual([f, 3]);
    expect(oneLine(v.err)).toMatch(/at byte offset/);
  }
  // ingest checks capture headers before it connects to Kafka
  const ing = hopwatch(['ingest', '--brokers', '127.0.0.1:1', bad.text]);
  expect(ing.code).toBe(3);
  expect(oneLine(ing.err)).toMatch(/text\.pcap: .*nothing published/);
  // a good capture is still 0
  expect(hopwatch(['dissect', '--summary', DEMO]).code).toBe(0);
});

testIf('replay --anomalies that is one of the captures is refused, the capture intact', () => {
  fs.copyFileSync(DEMO, p('y.pcap'));
  fs.symlinkSync(p('y.pcap'), p('y-link.jsonl'));
  const before = sha(p('y.pcap'));
  for (const a of ['y.pcap', './y.pcap', 'y-link.jsonl']) {
    const r = hopwatch(['replay', '--no-store', '--anomalies', a, 'y.pcap']);
    expect(r.code).toBe(2);
    expect(oneLine(r.err)).toMatch(/same file as capture y\.pcap/);
    expect(sha(p('y.pcap'))).toBe(before);
  }
});

testIf('an output is never the --config file either', () => {
  fs.writeFileSync(p('c.yaml'), 'codec:\n  maxHops: 32\n');
  fs.copyFileSync(DEMO, p('z.pcap'));
  for (const args of [
    ['strip', '--config', 'c.yaml', 'z.pcap', './c.yaml'],
    ['replay', '--no-store', '--config', 'c.yaml', '--anomalies', 'c.yaml', 'z.pcap'],
    ['serve', '--no-store', '--config', 'c.yaml', '--anomalies', 'c.yaml'],
  ]) {
    const r = hopwatch(args);
    expect([args[0], r.code]).toEqual([args[0], 2]);
    expect(oneLine(r.err)).toMatch(/same file as --config c\.yaml/);
    expect(fs.readFileSync(p('c.yaml'), 'utf8')).toBe('codec:\n  maxHops: 32\n');
  }
});

testIf('bad flags of every command: one line, exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['serve', '--allow', 'banana'], /--allow: 'banana' is not an IPv4 or IPv6/],
    [['serve', '--allow', '10.0.0.0/33'], /'10\.0\.0\.0\/33' is not/],
    [['serve', '--allow', 'fd00::/129'], /'fd00::\/129' is not/],
    [['serve', '--status-every', 'abc'], /--status-every: 'abc' is not a number/],
    [['serve', '--receive-buffer=-1'], /--receive-buffer: '-1' is not an integer/],
    [['serve', '--listen', '127.0.0.1:99999'], /--listen: .*bad port/],
    [['serve', '--anomalies', '/missing/dir/x.jsonl'], /directory \/missing\/dir does not exist/],
    [['serve', '--no-store', '--store-url', 'ftp://x'], /--store-url: 'ftp:\/\/x' is not an http/],
    [['serve', '--bogus'], /Unknown option '--bogus'/],
    [['ingest', '--brokers', 'localhost', 'x.pcap'], /--brokers: 'localhost' is not HOST:PORT/],
    [['ingest', '--brokers', 'a:1', '--partitions', '0'], /--partitions: '0' is not an integer/],
    [['ingest', '--brokers', 'a:1', '--allow', 'x/8', '--listen', '1'], /--allow: 'x\/8'/],
    [['ingest', '--brokers', 'a:1', '--metrics-port', '70000'], /--metrics-port/],
    [['ingest', '--brokers', 'a:1', '--speed', 'fast', 'x'], /--speed: 'fast'/],
    [
      ['analyze', '--brokers', 'a:1', '--redis', 'localhost'],
      /--redis: 'localhost' is not a redis/,
    ],
    [
      ['analyze', '--brokers', 'a:1', '--store-url', 'http://a:1', '--checkpoint-every', 'x'],
      /--checkpoint-every: 'x'/,
    ],
    [
      ['analyze', '--brokers', 'a:1', '--store-url', 'http://a:1', '--concurrency', '0'],
      /--concurrency/,
    ],
    [
      ['analyze', '--brokers', 'a:1', '--store-url', 'http://a:1', '--insert-every-ms=-1'],
      /--insert-every-ms: '-1'/,
    ],
    [
      ['analyze', '--brokers', 'a:1', '--store-url', 'http://a:1', '--insert-every-ms', '1e9'],
      /--insert-every-ms: '1e9'/,
    ],
    [['analyze', '--brokers', 'a:1', '--store-url', 'http://a:1', '--group', ''], /--group: ''/],
    [['replay', '--speed=-1', DEMO], /--speed: '-1'/],
    [['replay', 'missing.pcap'], /missing\.pcap: no such file/],
    [['dissect', '--count', '0', DEMO], /--count: '0'/],
    [['query', '--format', 'xml', 'SELECT 1'], /--format must be table, json, jsonl, csv or tsv/],
    [['strip', '--max-hops', '300', 'a', 'b'], /--max-hops: '300'/],
  ];
  for (const [args, re] of cases) {
    const r = hopwatch(args);
    expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
    expect(oneLine(r.err)).toMatch(re);
  }
});

testIf('config files: unknown or wrong settings in any section are exit 2 naming the key', () => {
  const cases: [string, RegExp][] = [
    [
      'sources:\n  lisen: ["0.0.0.0:1"]\n',
      /unknown setting 'sources\.lisen' \(known in sources: listen/,
    ],
    ['kafka:\n  brokers: [a:1]\n  partition: 3\n', /unknown setting 'kafka\.partition'/],
    ['redis:\n  host: x\n', /unknown setting 'redis\.host'/],
    ['codec:\n  maxHop: 3\n', /unknown setting 'codec\.maxHop'/],
    ['store:\n  retentionDays: -1\n', /store\.retentionDays must be an integer in 1\.\.36500/],
    ['analytics:\n  burstLatencyFactor: high\n', /analytics\.burstLatencyFactor must be a number/],
    ['sources:\n  allow: [10.0.0.0/33]\n', /sources\.allow: '10\.0\.0\.0\/33'/],
    ['codec: [1, 2\n', /not valid YAML/],
  ];
  const commands = ['serve', 'ingest', 'analyze', 'replay', 'dissect', 'query', 'strip'];
  for (const [i, [text, re]] of cases.entries()) {
    fs.writeFileSync(p('bad.yaml'), text);
    // the first case through every command, the others through one each (in turn)
    for (const cmd of i === 0 ? commands : [commands[i % commands.length]]) {
      const takesFiles = !['serve', 'analyze'].includes(cmd);
      const r = hopwatch([cmd, '--config', 'bad.yaml', ...(takesFiles ? ['x', 'y'] : [])]);
      expect([cmd, text, r.code]).toEqual([cmd, text, 2]);
      expect(oneLine(r.err)).toMatch(re);
      expect(r.err).toContain('config file bad.yaml');
    }
  }
});

testIf(
  'serve keeps running on garbage datagrams and an unwritable anomalies file, and stores the reports',
  async () => {
    const data = p('serve-data');
    const serve = spawn(
      process.execPath,
      [CLI, 'serve', '--listen', '127.0.0.1:0', '--data-dir', data, '--no-http'].concat([
        '--status-every',
        '1',
        '--anomalies',
        '/dev/full',
      ]),
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    let out = '';
    serve.stderr.on('data', (d) => (err += d));
    serve.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => serve.on('exit', r));
    for (let i = 0; i < 300 && !/listening on/.test(err); i++)
      await new Promise((r) => setTimeout(r, 100));
    const port = Number(/listening on 127\.0\.0\.1:(\d+)\/udp/.exec(err)?.[1]);
    expect(port).toBeGreaterThan(0);
    const sock = dgram.createSocket('udp4');
    const send = (b: Uint8Array): Promise<void> =>
      new Promise((res, rej) => sock.send(b, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
    // reports with a sequence gap (report_loss anomalies to write), then garbage of random
    // lengths (0 to 2000 bytes: well within the socket buffer), some of it starting like a Telemetry Report
    let seq = 0;
    for (let burst = 0; burst < 3; burst++) {
      for (let i = 0; i < 50; i++) await send(twoHopReport(seq++, 7));
      seq += 1000;
      await new Promise((r) => setTimeout(r, 400));
    }
    const report = twoHopReport(0, 7);
    for (let i = 0; i < 300; i++) {
      const g = crypto.randomBytes(Math.floor(Math.random() * 2000));
      if (i % 3 === 0) Buffer.from(report).copy(g, 0, 0, Math.min(g.length, 12 + (i % 40)));
      await send(g);
    }
    sock.close();
    await new Promise((r) => setTimeout(r, 1500));
    expect(serve.exitCode).toBeNull(); // still running
    serve.kill('SIGINT');
    const code = await exited;
    // anomalies could not be written: one warning line (not one per anomaly), a counter in
    // the status line and the summary, exit 1 (a runtime failure) after a clean stop
    expect(err.match(/cannot write anomalies to \/dev\/full/g)).toHaveLength(1);
    expect(err).toMatch(/anomalies not written [1-9]/);
    expect(out).toMatch(
      /Anomalies file \/dev\/full: [1-9]\d* anomaly\(ies\) not written \(ENOSPC\)/,
    );
    expect(out).toMatch(/report_loss .* node 7/);
    expect(err).not.toMatch(/^\s+at /m);
    expect(code).toBe(1);
    expect(out).toMatch(/Received 450 packet\(s\)/);
    expect(out).toMatch(/450 received/);
    expect(out).toMatch(/Rejected: /); // the garbage, counted by reason
    // the reports were stored
    const q = hopwatch([
      'query',
      '--data-dir',
      data,
      '--format',
      'csv',
      'SELECT count() FROM hops WHERE switch_id IN (1, 2)',
    ]);
    expect(q.code).toBe(0);
    expect(q.out.trim().split('\n')[1]).toBe('300');
  },
  120_000,
);
