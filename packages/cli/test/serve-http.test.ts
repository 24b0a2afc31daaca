/**
 * The single-machine deployment while it runs: `hopwatch serve` with the embedded store and
 * `--http`, Telemetry Reports over UDP, and `hopwatch query` from another process: through
 * the endpoint it sees the rows (written within about a second), while opening the data
 * directory directly is refused naming the serve process. Built CLI in child processes.
 */
import * as dgram from 'dgram';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { twoHopReport } from '../../pipeline/test/report-fixture';
import { built, query, startServe } from './serve-process';

const testIf = built ? test : test.skip;
if (!built) console.warn('serve --http test skipped: run npx tsc -b first');

testIf(
  'serve on the embedded store: hopwatch query reaches it while it runs (--data-dir or --store-url)',
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-serve-http-'));
    const data = path.join(dir, 'data');
    const serve = await startServe(data, []);
    try {
      expect(serve.port).toBeGreaterThan(0);
      // on by default with the embedded store, on 127.0.0.1 and a free port
      const url = serve.url;
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
