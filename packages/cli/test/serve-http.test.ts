/**
 * The single-machine deployment while it runs: `hopwatch serve` with the embedded store and
 * `--http`, Telemetry Reports over UDP, and `hopwatch query` from another process: through
 * the endpoint it sees the rows (written within about a second), while opening the data
 * directory directly is refused naming the serve process. Built CLI in child processes.
 */
import { spawn, spawnSync } from 'child_process';
import * as dgram from 'dgram';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { twoHopReport } from '../../pipeline/test/report-fixture';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'packages/cli/bin/hopwatch.js');
const built = fs.existsSync(path.join(ROOT, 'packages/cli/dist/main.js'));
const testIf = built ? test : test.skip;
if (!built) console.warn('serve --http test skipped: run npx tsc -b first');

const query = (args: string[]): { code: number | null; out: string; err: string } => {
  const r = spawnSync(process.execPath, [CLI, 'query', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

/** Starts `hopwatch serve` on the embedded store in `data`; resolves once it listens. */
async function startServe(
  data: string,
  extra: string[],
): Promise<{
  pid: number;
  port: number;
  err: () => string;
  out: () => string;
  stop: () => Promise<number | null>;
}> {
  const serve = spawn(
    process.execPath,
    [CLI, 'serve', '--listen', '127.0.0.1:0', '--data-dir', data, '--status-every', '0', ...extra],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  let out = '';
  serve.stderr.on('data', (d) => (err += d));
  serve.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => serve.on('exit', r));
  for (let i = 0; i < 300 && !/listening on/.test(err); i++)
    await new Promise((r) => setTimeout(r, 100));
  const port = Number(/listening on 127\.0\.0\.1:(\d+)\/udp/.exec(err)?.[1]);
  return {
    pid: serve.pid!,
    port,
    err: () => err,
    out: () => out,
    stop: async () => {
      serve.kill('SIGINT');
      return exited;
    },
  };
}

testIf(
  'serve on the embedded store: hopwatch query reaches it while it runs (--data-dir or --store-url)',
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-serve-http-'));
    const data = path.join(dir, 'data');
    const serve = await startServe(data, []);
    try {
      expect(serve.port).toBeGreaterThan(0);
      // on by default with the embedded store, on 127.0.0.1 and a free port
      const url = /read-only queries on (http:\/\/127\.0\.0\.1:\d+)/.exec(serve.err())?.[1];
      expect(url).toBeDefined();
      const sock = dgram.createSocket('udp4');
      for (let i = 0; i < 200; i++)
        await new Promise<void>((res, rej) =>
          sock.send(twoHopReport(i, 5), serve.port, '127.0.0.1', (e) => (e ? rej(e) : res())),
        );
      sock.close();
      // rows are written at least every second while serve runs
      let n = '';
      for (let i = 0; i < 50 && n !== '200'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const q = query(['--store-url', url!, '--format', 'csv', 'SELECT count() AS n FROM paths']);
        expect(q.err).toBe('');
        n = q.out.trim().split('\n')[1];
      }
      expect(n).toBe('200');
      // the data directory is locked by serve: query finds serve's endpoint recorded there
      const direct = query([
        '--data-dir',
        data,
        '--format',
        'csv',
        'SELECT count() AS n, sum(hop_latency) AS lat FROM hops',
      ]);
      expect(direct.code).toBe(0);
      expect(direct.err).toMatch(
        new RegExp(`held by hopwatch serve \\(pid ${serve.pid}\\); querying it through ${url}`),
      );
      expect(direct.out.trim().split('\n')[1]).toBe(`400,${200 * 700}`);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    expect(serve.out()).toMatch(/200 received, 0 kernel drops/);
    expect(fs.existsSync(path.join(data, 'hopwatch-serve.json'))).toBe(false);

    // without an endpoint, a second process is told who holds the directory
    const quiet = await startServe(data, ['--no-http']);
    try {
      expect(quiet.err()).not.toMatch(/read-only queries/);
      const refused = query(['--data-dir', data, 'SELECT 1']);
      expect(refused.code).not.toBe(0);
      expect(refused.err).toMatch(new RegExp(`in use by process ${quiet.pid} .*--http`));
    } finally {
      expect(await quiet.stop()).toBe(0);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  120_000,
);
