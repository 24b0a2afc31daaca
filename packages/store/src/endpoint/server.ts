/**
 * A read-only, ClickHouse-compatible HTTP endpoint in front of a store (`serve --http`).
 *
 * Why: the embedded engine locks its data directory, so while `hopwatch serve` writes into it
 * no other process can open it; queries reach the running process instead, over the subset of
 * ClickHouse's HTTP interface clients use (`@clickhouse/client` and so `hopwatch query
 * --store-url`, curl, Grafana's ClickHouse source): `GET|POST /?query=…` with the SQL in the
 * parameter and/or the body, `default_format`, `database`, settings and `param_<name>` in the
 * URL, and `GET /ping`. Errors come back as ClickHouse sends them (`Code: N. DB::Exception: …
 * (TYPE)`), so clients report them as usual.
 *
 * What it promises, and where each promise is enforced (docs/security.md):
 * - read-only: each query runs in an engine session of its own with `readonly = 1` (the engine
 *   refuses writes, DDL, setting changes); the statement is judged on the engine's parse of it
 *   (guard.ts: statement kinds, INTO OUTFILE, functions reaching files/URLs/servers);
 * - authenticated when users are configured (auth.ts);
 * - bounded: time, memory and result size per query enforced by the engine (settings.ts),
 *   a cap on queries at once (503 beyond it), the request body size and the time to send it;
 *   a query whose client went away is killed; queries never wait for the store's writes;
 * - never fatal: every request ends in a response or a closed socket, never an exception.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { parseEngineError } from '../engine-error';
import type { ReadSession } from '../read-session';
import type { Store } from '../store';
import { isLoopback, requestCredentials, Users } from './auth';
import { judge, parseExplainAst, type AstNode } from './guard';
import {
  DEFAULT_LIMITS,
  RequestRefusal,
  requestSettings,
  type LimitPolicy,
  type RequestSettings,
} from './settings';

export interface QueryEndpointOptions {
  host?: string;
  /** 0 = a free port. */
  port?: number;
  /** Who may query; default: the anonymous `default` user only. */
  users?: Users;
  limits?: LimitPolicy;
  /** Queries running at once; more are answered 503 at once (default 4). */
  maxConcurrentQueries?: number;
  /** Largest request body (default 1 MiB). */
  maxBodyBytes?: number;
  /** Time for a client to send its whole request (default 30 s); slower ones are cut off. */
  requestTimeoutMs?: number;
  /**
   * Static pages besides the query path (the web console, console/assets.ts): GET/HEAD only,
   * after the same authentication as queries; their data comes through `/` like any client's.
   */
  pages?: (
    pathname: string,
  ) => { type: string; body: Buffer; headers?: Record<string, string> } | null;
}

export interface EndpointStats {
  /** Queries run to the end. */
  queries: number;
  /** Refused before running: statement kind, settings, size, database. */
  refused: number;
  /** Failed in the engine (syntax, unknown column, limits, cancelled). */
  failed: number;
  unauthorized: number;
  /** Answered 503: too many queries at once. */
  busy: number;
  /** Killed because the client went away or the time ran out. */
  cancelled: number;
  /** Malformed HTTP or URLs. */
  badRequests: number;
}

export interface QueryEndpoint {
  readonly host: string;
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  readonly stats: EndpointStats;
  /**
   * 'engine-parse': statements judged on the engine's parse (chDB, servers with formatQuery);
   * 'engine-readonly': older servers (18.16), where the server's readonly mode and HTTP
   * handler are the guard (they refuse table functions and INTO OUTFILE there).
   */
  readonly guard: 'engine-parse' | 'engine-readonly';
  /** Things the operator should hear at start-up (e.g. no users beyond loopback). */
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

const PLAIN = 'text/plain; charset=UTF-8';

/** The ClickHouse error text clients parse (`Code: N. DB::Exception: … (TYPE)`). */
function errorText(code: number, type: string, message: string): string {
  // an engine message may carry its own code prefix and type / version suffixes, even twice
  let m = message.replace(/\s+/g, ' ').trim();
  for (let prev = ''; prev !== m;) {
    prev = m;
    m = m
      .replace(/^Code: \d+\. DB::Exception: /, '')
      .replace(/\s*\(version [^)]*\)\.?$/, '')
      .replace(/\.?\s*\([A-Z_]+\)$/, '')
      .trim();
  }
  return `Code: ${code}. DB::Exception: ${m.replace(/\.$/, '')}. (${type})\n`;
}

/** HTTP status of an engine error, as ClickHouse's HTTP handler maps them. */
function statusOf(code: number | undefined): number {
  switch (code) {
    case 62: // SYNTAX_ERROR
    case 27: // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    case 456: // UNKNOWN_QUERY_PARAMETER
    case 457: // BAD_QUERY_PARAMETER
      return 400;
    case 164: // READONLY
    case 497: // ACCESS_DENIED
      return 403;
    case 60: // UNKNOWN_TABLE
    case 81: // UNKNOWN_DATABASE
      return 404;
    default:
      return 500;
  }
}

interface Probe {
  guard: QueryEndpoint['guard'];
  tableFunctions: Set<string>;
}

/** What the engine behind `store` offers the guard: formatQuery, its table functions. */
async function probe(store: Store, limits: LimitPolicy): Promise<Probe> {
  const s = await store.openReadSession(requestSettings(new URLSearchParams(), limits).settings);
  try {
    const fq = await s.run("SELECT count() AS n FROM system.functions WHERE name = 'formatQuery'", {
      format: 'TabSeparated',
    });
    const tf = await s.run('SELECT name FROM system.table_functions', { format: 'TabSeparated' });
    return {
      guard: Number(fq.toString().trim()) > 0 ? 'engine-parse' : 'engine-readonly',
      tableFunctions: new Set(
        tf
          .toString()
          .split('\n')
          .filter(Boolean)
          .map((x) => x.toLowerCase()),
      ),
    };
  } finally {
    await s.close();
  }
}

/** The canonical text of `sql` if the guard accepts it; throws RequestRefusal otherwise. */
async function guarded(
  session: ReadSession,
  sql: string,
  params: Record<string, string>,
  p: Probe,
): Promise<{ sql: string; format: string | null }> {
  if (p.guard === 'engine-readonly') return { sql, format: null };
  // the engine parses the text as a bound parameter: one statement, or a syntax error
  const f = await session.run('SELECT formatQuery({q:String}) AS q', {
    format: 'JSONEachRow',
    params: { q: sql },
  });
  const canonical = (JSON.parse(f.toString()) as { q: string }).q;
  const e = await session.run(`EXPLAIN AST ${canonical}`, { format: 'JSONEachRow', params });
  const lines = e
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { explain: string }).explain);
  const root = parseExplainAst(lines);
  const why = judge(root, p.tableFunctions);
  if (why !== null) throw new RequestRefusal(`read-only endpoint: ${why}`, 403, 164, 'READONLY');
  return { sql: canonical, format: formatClause(root) };
}

/** The FORMAT of a statement's tree (an Identifier child of the root), if it has one. */
function formatClause(root: AstNode): string | null {
  const q = root.type === 'Explain' ? null : root;
  const id = q?.children.slice(1).find((c) => c.type === 'Identifier');
  return id ? id.text : null;
}

/** Reads the body; null when it is larger than `max` (the rest is not read). */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        done = true;
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!done) reject(e);
    });
  });
}

/** What to tell the operator about an HTTP endpoint on `host` with these users. */
export function endpointWarnings(what: string, host: string, users: Users): string[] {
  return !isLoopback(host) && !users.required
    ? [
        `${what} on ${host} answers anyone who can reach it, without credentials: configure users (docs/security.md) or bind it to 127.0.0.1`,
      ]
    : [];
}

export async function startQueryEndpoint(
  store: Store,
  opts: QueryEndpointOptions = {},
): Promise<QueryEndpoint> {
  const users = opts.users ?? Users.anonymous();
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const maxConcurrent = opts.maxConcurrentQueries ?? 4;
  const maxBody = opts.maxBodyBytes ?? 1 << 20;
  const host = opts.host ?? '127.0.0.1';
  const p = await probe(store, limits);
  const stats: EndpointStats = {
    queries: 0,
    refused: 0,
    failed: 0,
    unauthorized: 0,
    busy: 0,
    cancelled: 0,
    badRequests: 0,
  };
  let active = 0;

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const fail = (status: number, code: number, type: string, message: string): void => {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(status, {
        'Content-Type': PLAIN,
        'X-ClickHouse-Exception-Code': String(code),
        ...(status === 401
          ? { 'WWW-Authenticate': 'Basic realm="hopwatch", charset="UTF-8"' }
          : {}),
      });
      res.end(errorText(code, type, message));
    };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://endpoint');
    } catch {
      stats.badRequests++;
      return fail(400, 0, 'BAD_REQUEST_PARAMETER', 'malformed request URL');
    }
    if (url.pathname === '/ping' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'Content-Type': PLAIN }).end('Ok.\n');
      return;
    }
    const page = url.pathname !== '/' && opts.pages ? opts.pages(url.pathname) : null;
    if (url.pathname !== '/' && !page) {
      stats.badRequests++;
      return fail(404, 0, 'UNKNOWN', `no handler for ${url.pathname.slice(0, 100)}`);
    }
    if (!page && req.method !== 'GET' && req.method !== 'POST') {
      stats.badRequests++;
      res.setHeader('Allow', 'GET, POST');
      return fail(405, 0, 'UNKNOWN', `method ${String(req.method).slice(0, 20)} not allowed`);
    }
    const cred = requestCredentials(req, url.searchParams);
    if (typeof cred === 'string') {
      stats.unauthorized++;
      return fail(401, 516, 'AUTHENTICATION_FAILED', cred);
    }
    const user = users.verify(cred?.user ?? '', cred?.password ?? '');
    if (user === null) {
      stats.unauthorized++;
      return fail(
        401,
        516,
        'AUTHENTICATION_FAILED',
        `${cred?.user || 'default'}: Authentication failed: password is incorrect, or there is no user with such name`,
      );
    }
    if (page) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        return fail(405, 0, 'UNKNOWN', `method ${String(req.method).slice(0, 20)} not allowed`);
      }
      res.writeHead(200, {
        'Content-Type': page.type,
        'Content-Length': page.body.length,
        ...page.headers,
      });
      res.end(req.method === 'HEAD' ? undefined : page.body);
      return;
    }
    if (active >= maxConcurrent) {
      stats.busy++;
      return fail(
        503,
        202,
        'TOO_MANY_SIMULTANEOUS_QUERIES',
        `Too many simultaneous queries. Maximum: ${maxConcurrent}`,
      );
    }
    active++;
    let session: ReadSession | null = null;
    let cancelled = false;
    let timer: NodeJS.Timeout | null = null;
    const cancel = (): void => {
      if (cancelled || !session) return;
      cancelled = true;
      stats.cancelled++;
      session.cancel().catch(() => undefined);
    };
    // the client went away before its answer: stop the query
    res.on('close', () => {
      if (!res.writableFinished) cancel();
    });
    try {
      const body = req.method === 'POST' ? await readBody(req, maxBody) : Buffer.alloc(0);
      if (body === null) {
        stats.refused++;
        res.setHeader('Connection', 'close');
        fail(413, 0, 'TOO_LARGE', `request body longer than ${maxBody} bytes`);
        res.on('finish', () => req.destroy());
        return;
      }
      let rs: RequestSettings;
      try {
        rs = requestSettings(url.searchParams, limits);
      } catch (e) {
        if (e instanceof RequestRefusal) {
          stats.refused++;
          return fail(e.status, e.code, e.type, e.message);
        }
        throw e;
      }
      const db = url.searchParams.get('database');
      if (db !== null && db !== '' && db !== store.database) {
        stats.refused++;
        return fail(
          404,
          81,
          'UNKNOWN_DATABASE',
          `Database ${db.slice(0, 100)} does not exist here (${store.database})`,
        );
      }
      const format = url.searchParams.get('default_format') ?? 'TabSeparated';
      if (!/^[A-Za-z0-9_]{1,64}$/.test(format)) {
        stats.refused++;
        return fail(400, 73, 'UNKNOWN_FORMAT', `Unknown format ${format.slice(0, 64)}`);
      }
      const sql = [url.searchParams.get('query') ?? '', body.toString('utf8')]
        .filter((x) => x.trim())
        .join('\n');
      if (!sql.trim()) {
        stats.refused++;
        return fail(400, 62, 'SYNTAX_ERROR', 'Empty query');
      }
      if (res.destroyed) return;
      session = await store.openReadSession(rs.settings);
      const seconds = Number(rs.settings.max_execution_time) || 0;
      if (seconds > 0) timer = setTimeout(cancel, seconds * 1000 + 5000);
      const checked = await guarded(session, sql, rs.params, p);
      const out = await session.run(checked.sql, { format, params: rs.params });
      if (cancelled)
        throw new Error('Code: 394. DB::Exception: Query was cancelled. (QUERY_WAS_CANCELLED)');
      stats.queries++;
      const fmt = checked.format ?? format;
      res.writeHead(200, {
        'Content-Type': /^JSON/.test(fmt) ? 'application/json; charset=UTF-8' : PLAIN,
        'X-ClickHouse-Format': fmt,
      });
      res.end(out);
    } catch (e) {
      if (e instanceof RequestRefusal) {
        stats.refused++;
        return fail(e.status, e.code, e.type, e.message);
      }
      stats.failed++;
      const { code, type, message } = parseEngineError(e);
      fail(statusOf(code), code ?? 1001, type ?? 'STD_EXCEPTION', message.split('\n  in: ')[0]);
    } finally {
      if (timer) clearTimeout(timer);
      active--;
      if (session) await session.close().catch(() => undefined);
    }
  };

  const server = http.createServer(
    {
      requestTimeout: opts.requestTimeoutMs ?? 30_000,
      headersTimeout: Math.min(opts.requestTimeoutMs ?? 30_000, 10_000),
      maxHeaderSize: 16 * 1024,
      // how often the two timeouts above are checked (Node's default, 30 s, lets a slow
      // client hold a connection that long whatever the timeouts say)
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      handle(req, res).catch(() => {
        // handle() answers every failure itself; this is the last line of defence
        if (!res.headersSent && !res.destroyed) res.writeHead(500).end();
        else res.destroy();
      });
    },
  );
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 256;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    stats.badRequests++;
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const status =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
    // close at once: a half-closed socket would let a slow client keep it
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () =>
      socket.destroy(),
    );
  });
  const warnings = endpointWarnings('the query endpoint', host, users);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8124, host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      resolve({
        host: a.address,
        port: a.port,
        url: `http://${h}:${a.port}`,
        stats,
        guard: p.guard,
        warnings,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
