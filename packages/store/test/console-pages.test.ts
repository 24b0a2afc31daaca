/**
 * The console's pages on the query endpoint (QueryEndpointOptions.pages, console/index.ts):
 * GET/HEAD only, behind the same authentication as queries, with a strict content security
 * policy; anything else under /console is a 404, and the query path is unchanged.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  CONSOLE_QUERIES,
  openStore,
  startConsole,
  startQueryEndpoint,
  Users,
  type ConsoleHook,
  type QueryEndpoint,
  type Store,
} from '@hopwatch/store';

let dir: string;
let store: Store;
let endpoint: QueryEndpoint;
let hook: ConsoleHook;
const auth = { Authorization: `Basic ${Buffer.from('ops:secret').toString('base64')}` };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-console-pages-'));
  store = await openStore({ dataDir: dir });
  hook = startConsole(store);
  const users = Users.fromConfig({
    ops: { password_sha256_hex: createHash('sha256').update('secret').digest('hex') },
  });
  endpoint = await startQueryEndpoint(store, { port: 0, users, pages: hook.pages });
}, 60_000);

afterAll(async () => {
  hook?.stop();
  await endpoint?.close();
  await store?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('pages need the same credentials as queries', async () => {
  const anon = await fetch(`${endpoint.url}/console/`);
  expect(anon.status).toBe(401);
  expect(anon.headers.get('www-authenticate')).toMatch(/^Basic/);
  const wrong = await fetch(`${endpoint.url}/console/`, {
    headers: { Authorization: `Basic ${Buffer.from('ops:nope').toString('base64')}` },
  });
  expect(wrong.status).toBe(401);
  const ok = await fetch(`${endpoint.url}/console/`, { headers: auth });
  expect(ok.status).toBe(200);
  expect(ok.headers.get('content-type')).toMatch(/^text\/html/);
  expect(ok.headers.get('content-security-policy')).toMatch(
    /default-src 'none'; script-src 'self'/,
  );
  expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
  expect(await ok.text()).toContain('<script src="/console/console.js"></script>');
});

test('the files, the queries, HEAD; other methods and paths refused', async () => {
  for (const [p, type] of [
    ['/console', 'text/html'],
    ['/console/console.js', 'text/javascript'],
    ['/console/console.css', 'text/css'],
    ['/console/queries.json', 'application/json'],
  ]) {
    const r = await fetch(`${endpoint.url}${p}`, { headers: auth });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain(type);
    if (p.endsWith('.json'))
      expect(await r.json()).toEqual(JSON.parse(JSON.stringify(CONSOLE_QUERIES)));
  }
  const head = await fetch(`${endpoint.url}/console/console.js`, { method: 'HEAD', headers: auth });
  expect(head.status).toBe(200);
  expect(Number(head.headers.get('content-length'))).toBeGreaterThan(1000);
  const post = await fetch(`${endpoint.url}/console/`, {
    method: 'POST',
    headers: auth,
    body: 'x',
  });
  expect(post.status).toBe(405);
  for (const p of [
    '/console/../package.json',
    '/console/x.js',
    '/console/%2e%2e/package.json',
    '/consolex',
  ]) {
    const r = await fetch(`${endpoint.url}${p}`, { headers: auth });
    expect(r.status).toBe(404);
  }
  // the query path is what it was: read-only
  const q = await fetch(
    `${endpoint.url}/?query=${encodeURIComponent('SELECT 1 AS x FORMAT JSONEachRow')}`,
    {
      headers: auth,
    },
  );
  expect(await q.text()).toBe('{"x":1}\n');
  const w = await fetch(`${endpoint.url}/`, {
    method: 'POST',
    headers: auth,
    body: 'DROP TABLE hops',
  });
  expect(w.status).toBe(403);
});
