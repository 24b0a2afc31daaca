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

testIf(
  'serve --http: the running embedded store answers hopwatch query --store-url',
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-serve-http-'));
    const data = path.join(dir, 'data');
    const serve = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--listen',
        '127.0.0.1:0',
        '--http',
        '127.0.0.1:0',
        '--data-dir',
        data,
        '--status-every',
        '0',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    let out = '';
    serve.stderr.on('data', (d) => (err += d));
    serve.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => serve.on('exit', r));
    try {
      for (
        let i = 0;
        i < 300 && !(/read-only queries on/.test(err) && /listening on/.test(err));
        i++
      )
        await new Promise((r) => setTimeout(r, 100));
      const port = Number(/listening on 127\.0\.0\.1:(\d+)\/udp/.exec(err)?.[1]);
      const url = /read-only queries on (http:\/\/[^ ]+)/.exec(err)?.[1];
      expect(port).toBeGreaterThan(0);
      expect(url).toBeDefined();
      const sock = dgram.createSocket('udp4');
      for (let i = 0; i < 200; i++)
        await new Promise<void>((res, rej) =>
          sock.send(twoHopReport(i, 5), port, '127.0.0.1', (e) => (e ? rej(e) : res())),
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
      const hops = query([
        '--store-url',
        url!,
        '--format',
        'csv',
        'SELECT count() AS n, sum(hop_latency) AS lat FROM hops',
      ]);
      expect(hops.out.trim().split('\n')[1]).toBe(`400,${200 * 700}`);
      // the directory itself is locked by serve: a clear refusal naming it
      const direct = query(['--data-dir', data, 'SELECT 1']);
      expect(direct.code).not.toBe(0);
      expect(direct.err).toMatch(new RegExp(`in use by process ${serve.pid} .*--http`));
    } finally {
      serve.kill('SIGINT');
      expect(await exited).toBe(0);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(out).toMatch(/200 received, 0 kernel drops/);
  },
  120_000,
);
