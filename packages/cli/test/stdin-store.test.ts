/**
 * Standard input and the embedded store. chDB reads the host process's descriptor 0 as data
 * for INSERTs, so a command that opens the embedded store moves standard input off it first:
 * `cat x.pcap | hopwatch replay -` streams the capture, and whatever a caller's stdin holds
 * never becomes (or breaks) a row.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const BIN = path.resolve(__dirname, '../bin/hopwatch.js');
const CAPTURE = path.resolve(__dirname, '../../../captures/microburst.pcap');

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function run(cmd: string, args: string[], stdin: Buffer | null): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    if (stdin) child.stdin!.end(stdin);
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += String(c)));
    child.stderr.on('data', (c) => (err += String(c)));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const hw = (args: string[], stdin: Buffer | null = null): Promise<Run> =>
  run('node', [BIN, ...args], stdin);

async function hopCount(dir: string): Promise<number> {
  const r = await hw(['query', '--data-dir', dir, '--format', 'csv', 'SELECT count() FROM hops']);
  expect(r.err).toBe('');
  return Number(r.out.trim().split('\n').pop());
}

describe('standard input with the embedded store', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-stdin-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('`cat x.pcap | hopwatch replay -` (a pipe) stores what the file path stores', async () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    const piped = await run(
      'bash',
      [
        '-o',
        'pipefail',
        '-c',
        `cat ${JSON.stringify(CAPTURE)} | node ${JSON.stringify(BIN)} replay --data-dir ${JSON.stringify(a)} -`,
      ],
      null,
    );
    expect(piped.err).toBe('');
    expect(piped.code).toBe(0);
    expect(piped.out).toMatch(/^Replayed 763 packet\(s\): 763 INT record\(s\), 2289 hop\(s\)/);
    const file = await hw(['replay', '--data-dir', b, CAPTURE]);
    expect(file.code).toBe(0);
    expect(await hopCount(a)).toBe(2289);
    expect(await hopCount(b)).toBe(2289);
  }, 60_000);

  test('a socket on stdin (a parent process pipe) works too', async () => {
    const r = await hw(['replay', '--data-dir', dir, '-'], fs.readFileSync(CAPTURE));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/763 INT record\(s\), 2289 hop\(s\)/);
    expect(await hopCount(dir)).toBe(2289);
  }, 60_000);

  test('whatever stdin holds never reaches the store', async () => {
    // rows-shaped junk: with the engine reading stdin it would fail or become rows
    const junk = Buffer.from('(1),(2),(3)\n'.repeat(1000));
    const r = await hw(['replay', '--data-dir', dir, CAPTURE], junk);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const q = await hw(
      ['query', '--data-dir', dir, '--format', 'csv', 'SELECT count() FROM hops'],
      junk,
    );
    expect(q.err).toBe('');
    expect(Number(q.out.trim().split('\n').pop())).toBe(2289);
  }, 60_000);

  test('`simulate --out - | replay -`: the bundled capture, streamed', async () => {
    const yaml = path.resolve(__dirname, '../../../captures/microburst.yaml');
    const r = await run(
      'bash',
      [
        '-o',
        'pipefail',
        '-c',
        `node ${JSON.stringify(BIN)} simulate --quiet ${JSON.stringify(yaml)} --out - | node ${JSON.stringify(BIN)} replay --data-dir ${JSON.stringify(dir)} -`,
      ],
      null,
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Replayed 763 packet\(s\): 763 INT record\(s\), 2289 hop\(s\)/);
    // the same bytes as the committed capture
    const bytes = await new Promise<Buffer>((resolve) => {
      const c = spawn('node', [BIN, 'simulate', '--quiet', yaml, '--out', '-'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const parts: Buffer[] = [];
      c.stdout.on('data', (b: Buffer) => parts.push(b));
      c.on('close', () => resolve(Buffer.concat(parts)));
    });
    expect(bytes.equals(fs.readFileSync(CAPTURE))).toBe(true);
  }, 60_000);

  test('`simulate --out - | head -c 100`: exit 0, quietly', async () => {
    const yaml = path.resolve(__dirname, '../../../captures/demo-fabric.yaml');
    const r = await run(
      'bash',
      [
        '-o',
        'pipefail',
        '-c',
        `node ${JSON.stringify(BIN)} simulate ${JSON.stringify(yaml)} --out - | head -c 100 | wc -c`,
      ],
      null,
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe('100');
  }, 60_000);
});
