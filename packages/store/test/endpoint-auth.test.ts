/**
 * Who may query the endpoint: configured users with passwords, by every way ClickHouse's HTTP
 * interface takes credentials (and only one at a time); the anonymous default otherwise; a
 * warning for an endpoint beyond loopback without users. Plus a fuzz of the request parsing
 * that is not HTTP itself (credentials, URL settings): it returns or refuses, never throws
 * anything else. Real chDB behind a real endpoint.
 */
import { createHash } from 'crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import type { IncomingMessage } from 'http';
import { tmpdir } from 'os';
import * as path from 'path';
import {
  DEFAULT_LIMITS,
  endpointWarnings,
  isLoopback,
  openStore,
  RequestRefusal,
  requestCredentials,
  requestSettings,
  startQueryEndpoint,
  Users,
  type QueryEndpoint,
  type Store,
} from '@hopwatch/store';

let dir: string;
let store: Store;
let ep: QueryEndpoint;
const hex = (s: string): string => createHash('sha256').update(s).digest('hex');

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hopwatch-auth-'));
  writeFileSync(path.join(dir, 'ops.pw'), 'file secret\n');
  process.env.HOPWATCH_TEST_PW = 'env secret';
  store = await openStore({ dataDir: path.join(dir, 'data') });
  const users = Users.fromConfig({
    grafana: { password_sha256_hex: hex('s3cret:with colon') },
    ops: { password_file: path.join(dir, 'ops.pw') },
    ci: { password_env: 'HOPWATCH_TEST_PW' },
  });
  ep = await startQueryEndpoint(store, { host: '127.0.0.1', port: 0, users });
});

afterAll(async () => {
  await ep?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ask = async (
  headers: Record<string, string> = {},
  params = '',
): Promise<{ status: number; text: string }> => {
  const r = await fetch(`${ep.url}/?${params}`, { method: 'POST', body: 'SELECT 7', headers });
  return { status: r.status, text: await r.text() };
};
const basic = (u: string, p: string): Record<string, string> => ({
  Authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64'),
});

test('configured users get in by basic auth, ClickHouse headers or URL parameters', async () => {
  expect(await ask(basic('grafana', 's3cret:with colon'))).toEqual({ status: 200, text: '7\n' });
  expect(await ask({ 'X-ClickHouse-User': 'ops', 'X-ClickHouse-Key': 'file secret' })).toEqual({
    status: 200,
    text: '7\n',
  });
  expect(await ask({}, 'user=ci&password=env%20secret')).toEqual({ status: 200, text: '7\n' });
  // @clickhouse/client (and so hopwatch query --store-url) with a user and password
  const remote = await openStore({
    url: ep.url,
    readOnly: true,
    username: 'grafana',
    password: 's3cret:with colon',
  });
  try {
    expect(await remote.query('SELECT 7 AS x')).toEqual([{ x: 7 }]);
  } finally {
    await remote.close();
  }
});

test('everything else is 401 with the ClickHouse error, and the query does not run', async () => {
  const refusals: [Record<string, string>, string][] = [
    [{}, ''], // anonymous, while users are configured
    [basic('default', ''), ''],
    [basic('grafana', 'wrong'), ''],
    [basic('nobody', 's3cret:with colon'), ''],
    [{ 'X-ClickHouse-User': 'ops', 'X-ClickHouse-Key': 'FILE SECRET' }, ''],
    [{}, 'user=ci&password=env'],
    [{ Authorization: 'Bearer abc' }, ''],
    [{ Authorization: 'Basic !!!' }, ''],
    // two ways at once, even if both are right
    [
      {
        ...basic('grafana', 's3cret:with colon'),
        'X-ClickHouse-User': 'ops',
        'X-ClickHouse-Key': 'file secret',
      },
      '',
    ],
    [basic('grafana', 's3cret:with colon'), 'user=ci&password=env%20secret'],
  ];
  const before = ep.stats.unauthorized;
  for (const [h, p] of refusals) {
    const r = await ask(h, p);
    expect(r.status).toBe(401);
    expect(r.text).toMatch(/^Code: 516\. DB::Exception: .*\(AUTHENTICATION_FAILED\)\n$/);
  }
  expect(ep.stats.unauthorized).toBe(before + refusals.length);
  const r = await fetch(`${ep.url}/?query=SELECT+1`);
  expect(r.headers.get('www-authenticate')).toMatch(/^Basic realm="hopwatch"/);
});

test('users config: every mistake is named, passwords never appear in errors', () => {
  expect(() => Users.fromConfig({ a: { password: 'plain' } })).toThrow(
    /unknown setting 'password'/,
  );
  expect(() => Users.fromConfig({ a: { password_sha256_hex: 'xyz' } })).toThrow(/64 hex digits/);
  expect(() => Users.fromConfig({ a: {} })).toThrow(/exactly one of/);
  expect(() =>
    Users.fromConfig({ a: { password_sha256_hex: hex('x'), password_env: 'X' } }),
  ).toThrow(/exactly one of/);
  expect(() => Users.fromConfig({ a: { password_env: 'HOPWATCH_NOT_SET_ANYWHERE' } })).toThrow(
    /not set/,
  );
  expect(() => Users.fromConfig({ a: { password_file: '/nonexistent/pw' } })).toThrow(
    /cannot read/,
  );
  expect(() => Users.fromConfig({ 'bad name': { password_env: 'HOPWATCH_TEST_PW' } })).toThrow(
    /user name/,
  );
  expect(() => Users.fromConfig([])).toThrow(/mapping/);
  expect(() => Users.fromConfig({})).toThrow(/no users/);
  try {
    Users.fromConfig({ a: { password_file: path.join(dir, 'ops.pw'), extra: 1 } });
  } catch (e) {
    expect((e as Error).message).not.toMatch(/file secret/);
  }
  const anon = Users.anonymous();
  expect(anon.verify('default', '')).toBe('default');
  expect(anon.verify('', '')).toBe('default');
  expect(anon.verify('default', 'x')).toBeNull();
  expect(anon.verify('admin', '')).toBeNull();
});

test('an endpoint beyond loopback without users is warned about; with users or on loopback not', () => {
  const users = Users.fromConfig({ a: { password_env: 'HOPWATCH_TEST_PW' } });
  expect(endpointWarnings('the query endpoint', '0.0.0.0', Users.anonymous())).toEqual([
    expect.stringMatching(/answers anyone who can reach it, without credentials/),
  ]);
  expect(endpointWarnings('x', '10.1.2.3', Users.anonymous())).toHaveLength(1);
  expect(endpointWarnings('x', '::', Users.anonymous())).toHaveLength(1);
  expect(endpointWarnings('x', '0.0.0.0', users)).toEqual([]);
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'])
    expect(isLoopback(h)).toBe(true);
  expect(ep.warnings).toEqual([]);
});

test('fuzz: credentials and URL settings are read or refused, never anything else', () => {
  let seed = 99;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = 'ab=&%:_ 0123456789\u0000\u00ff\u2028[]{}\'"\\/-+.';
  const word = (): string =>
    Array.from({ length: rnd(12) }, () => alphabet[rnd(alphabet.length)]).join('');
  const names = [
    'max_execution_time',
    'max_memory_usage',
    'max_threads',
    'readonly',
    'param_x',
    'param_',
    'result_overflow_mode',
    'output_format_pretty_color',
    'date_time_output_format',
    'extremes',
    'user',
    'password',
    'allow_ddl',
  ];
  for (let i = 0; i < 5000; i++) {
    const q = new URLSearchParams();
    for (let k = rnd(4); k > 0; k--) q.append(rnd(2) ? names[rnd(names.length)] : word(), word());
    try {
      const r = requestSettings(q, DEFAULT_LIMITS);
      for (const v of Object.values(r.settings))
        expect(typeof v === 'number' ? Number.isSafeInteger(v) : typeof v === 'string').toBe(true);
    } catch (e) {
      expect(e).toBeInstanceOf(RequestRefusal);
    }
    const headers: Record<string, string> = {};
    if (rnd(2)) headers.authorization = rnd(2) ? 'Basic ' + word() : word();
    if (rnd(3) === 0) headers['x-clickhouse-user'] = word();
    if (rnd(3) === 0) headers['x-clickhouse-key'] = word();
    const c = requestCredentials({ headers } as unknown as IncomingMessage, q);
    expect(c === null || typeof c === 'string' || typeof c.user === 'string').toBe(true);
  }
});
