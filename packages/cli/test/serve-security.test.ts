/**
 * `hopwatch serve` under attack, as processes: its endpoint with users (hopwatch query needs
 * the credentials, from the environment), malformed HTTP that once killed it (the reports
 * around it must still be stored), and a link planted where serve records its endpoint.
 */
import * as dgram from 'dgram';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { twoHopReport } from '../../pipeline/test/report-fixture';
import { rawRequest } from '@hopwatch/testkit';
import { built, query, startServe } from './serve-process';

const testIf = built ? test : test.skip;
if (!built) console.warn('serve security test skipped: run npx tsc -b first');

async function send(port: number, from: number, n: number): Promise<void> {
  const sock = dgram.createSocket('udp4');
  for (let i = from; i < from + n; i++)
    await new Promise<void>((res, rej) =>
      sock.send(twoHopReport(i, 9), port, '127.0.0.1', (e) => (e ? rej(e) : res())),
    );
  sock.close();
}

const raw = (port: number, bytes: string): Promise<string> => rawRequest(port, bytes);

testIf(
  'users on the endpoint, malformed requests survived, no link followed for the state file',
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-serve-sec-'));
    const data = path.join(dir, 'data');
    fs.mkdirSync(data, { recursive: true });
    // a link planted where serve records its endpoint must not be written through
    const target = path.join(dir, 'precious.txt');
    fs.writeFileSync(target, 'keep me\n');
    fs.symlinkSync(target, path.join(data, 'hopwatch-serve.json'));
    const usersFile = path.join(dir, 'users.yaml');
    fs.writeFileSync(usersFile, 'reader:\n  password_env: HOPWATCH_TEST_READER_PW\n');
    const serve = await startServe(data, ['--http-users', usersFile], {
      ...process.env,
      HOPWATCH_TEST_READER_PW: 'let me read',
    });
    try {
      expect(serve.url).toBeDefined();
      expect(fs.readFileSync(target, 'utf8')).toBe('keep me\n');
      expect(fs.lstatSync(path.join(data, 'hopwatch-serve.json')).isSymbolicLink()).toBe(false);

      await send(serve.port, 0, 50);
      // requests that used to end the process, between two sends
      const port = Number(new URL(serve.url!).port);
      expect(await raw(port, 'GET //[ HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 4/);
      expect(await raw(port, '\x00\x01garbage\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
      expect(await raw(port, 'GET /?query=%zz%%% HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1\.1 4/);
      expect(serve.alive()).toBe(true);
      await send(serve.port, 50, 50);

      const sql = ['--data-dir', data, '--format', 'csv', 'SELECT count() AS n FROM paths'];
      const denied = query(sql);
      expect(denied.code).toBe(2);
      expect(denied.err).toMatch(/AUTHENTICATION_FAILED|Authentication failed/);
      const env = {
        ...process.env,
        HOPWATCH_STORE_USER: 'reader',
        HOPWATCH_STORE_PASSWORD: 'let me read',
      };
      let n = '';
      for (let i = 0; i < 50 && n !== '100'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const q = query(sql, env);
        expect(q.code).toBe(0);
        n = q.out.trim().split('\n')[1];
      }
      expect(n).toBe('100');
      // the password never shows in what serve prints
      expect(serve.err() + serve.out()).not.toMatch(/let me read/);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    expect(serve.out()).toMatch(
      /Query endpoint: \d+ queries, \d+ refused, \d+ failed, [1-9]\d* unauthorized/,
    );
    expect(serve.out()).toMatch(/100 received, 0 kernel drops/);
    expect(fs.readFileSync(target, 'utf8')).toBe('keep me\n');
    expect(fs.existsSync(path.join(data, 'hopwatch-serve.json'))).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  },
  120_000,
);

testIf(
  'endpoint configuration mistakes are one line and exit 2',
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-serve-cfg-'));
    const bad = path.join(dir, 'users.yaml');
    fs.writeFileSync(bad, 'reader:\n  password: plain\n');
    const cfg = path.join(dir, 'c.yaml');
    fs.writeFileSync(cfg, 'http:\n  limits:\n    max_execution_time: {default: 500, max: 10}\n');
    const cfg2 = path.join(dir, 'c2.yaml');
    fs.writeFileSync(cfg2, 'http:\n  lisen: 127.0.0.1:1\n');
    for (const extra of [
      ['--http-users', bad],
      ['--http-users', path.join(dir, 'missing.yaml')],
      ['--config', cfg],
      ['--config', cfg2],
      ['--http', 'nowhere'],
    ]) {
      const s = await startServe(path.join(dir, 'data'), extra);
      expect(await s.stop()).toBe(2);
      expect(s.err().trim().split('\n')).toHaveLength(1);
      expect(s.err()).not.toMatch(/\n\s+at /);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  },
  60_000,
);
