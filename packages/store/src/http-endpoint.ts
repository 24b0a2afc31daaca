/**
 * A read-only, ClickHouse-compatible HTTP endpoint in front of a store.
 *
 * Why: the embedded engine locks its data directory, so while `hopwatch serve` writes into it
 * no other process can open it. `serve --http HOST:PORT` answers queries from the running
 * process instead, over the subset of ClickHouse's HTTP interface that clients use
 * (`@clickhouse/client`, and so `hopwatch query --store-url`; curl; Grafana's ClickHouse
 * source): `GET|POST /?query=…` with the SQL in the parameter and/or the body,
 * `default_format`, `database`, and `GET /ping`.
 *
 * Read-only: SELECT / WITH / SHOW / DESCRIBE / EXISTS / EXPLAIN, one statement, no
 * `INTO OUTFILE`, no table functions that reach files, URLs or other servers. Errors come
 * back as ClickHouse does (`Code: N. DB::Exception: … (TYPE)`, HTTP 500; 403 for a refused
 * statement), so clients report them as usual. Bind it to 127.0.0.1 unless the network is
 * trusted: there is no authentication.
 */
import { readFileSync, rmSync, writeFileSync } from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { StoreError, type Store } from './store';

export interface QueryEndpoint {
  readonly host: string;
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  readonly stats: { queries: number; refused: number; failed: number };
  close(): Promise<void>;
}

const READ_STATEMENTS = /^(SELECT|WITH|SHOW|DESCRIBE|DESC|EXISTS|EXPLAIN)\b/i;
const FORBIDDEN = [
  { re: /\bINTO\s+OUTFILE\b/i, what: 'INTO OUTFILE' },
  {
    re: /\b(file|url|s3|s3Cluster|gcs|azureBlobStorage|hdfs|remote|remoteSecure|cluster|clusterAllReplicas|mysql|postgresql|mongodb|redis|sqlite|jdbc|odbc|executable|input|iceberg|deltaLake|hudi|urlCluster|fileCluster)\s*\(/i,
    what: 'table functions that reach files, URLs or other servers',
  },
];
const MAX_BODY = 1 << 20;

/** Why `sql` may not run on the read-only endpoint, or null when it may. */
export function refusal(sql: string): string | null {
  const body = sql
    .replace(/^(\s|--[^\n]*\n|\/\*[^]*?\*\/|\()+/, '')
    .replace(/;\s*$/, '')
    .trim();
  if (!body) return 'empty query';
  if (!READ_STATEMENTS.test(body))
    return 'read-only endpoint: only SELECT, WITH, SHOW, DESCRIBE, EXISTS and EXPLAIN';
  if (body.includes(';')) return 'read-only endpoint: one statement per request';
  for (const f of FORBIDDEN) if (f.re.test(body)) return `read-only endpoint: no ${f.what}`;
  return null;
}

/** The ClickHouse error text clients parse (`Code: N. DB::Exception: … (TYPE)`). */
function errorText(code: number, type: string, message: string): string {
  return `Code: ${code}. DB::Exception: ${message.replace(/\s+/g, ' ').trim()}. (${type})\n`;
}

export function startQueryEndpoint(
  store: Store,
  opts: { host?: string; port?: number } = {},
): Promise<QueryEndpoint> {
  const stats = { queries: 0, refused: 0, failed: 0 };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/ping') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
      return;
    }
    if (url.pathname !== '/' || (req.method !== 'GET' && req.method !== 'POST')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8' });
      res.end(errorText(0, 'UNKNOWN', `no handler for ${req.method} ${url.pathname}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const fail = (status: number, code: number, type: string, message: string): void => {
        res.writeHead(status, { 'Content-Type': 'text/plain; charset=UTF-8' });
        res.end(errorText(code, type, message));
      };
      if (size > MAX_BODY) {
        stats.refused++;
        return fail(413, 0, 'TOO_LARGE', `query longer than ${MAX_BODY} bytes`);
      }
      const param = url.searchParams.get('query') ?? '';
      const body = Buffer.concat(chunks).toString('utf8');
      const sql = [param, body].filter((x) => x.trim()).join('\n');
      const db = url.searchParams.get('database');
      if (db !== null && db !== '' && db !== store.database) {
        stats.refused++;
        return fail(
          404,
          81,
          'UNKNOWN_DATABASE',
          `Database ${db} does not exist here (${store.database})`,
        );
      }
      const why = refusal(sql);
      if (why !== null) {
        stats.refused++;
        return fail(403, 164, 'READONLY', why);
      }
      const format = url.searchParams.get('default_format') ?? 'TabSeparated';
      if (!/^[A-Za-z0-9_]+$/.test(format)) {
        stats.refused++;
        return fail(400, 73, 'UNKNOWN_FORMAT', `Unknown format ${format}`);
      }
      stats.queries++;
      store.queryRaw(sql, format).then(
        (out) => {
          res.writeHead(200, {
            'Content-Type': 'text/plain; charset=UTF-8',
            'X-ClickHouse-Format': format,
          });
          res.end(out);
        },
        (e: unknown) => {
          stats.failed++;
          const se = e instanceof StoreError ? e : null;
          const msg = (e instanceof Error ? e.message : String(e)).split('\n  in: ')[0];
          fail(
            500,
            se?.code ?? 1001,
            se?.type ?? 'STD_EXCEPTION',
            msg.replace(/^ClickHouse error[^:]*: /, ''),
          );
        },
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8124, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      resolve({
        host: a.address,
        port: a.port,
        url: `http://${host}:${a.port}`,
        stats,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Where a running `serve` records its endpoint, inside the embedded data directory. */
export const ENDPOINT_FILE = 'hopwatch-serve.json';

/** Records `url` as the endpoint of this process's store in `dataDir`; returns the remover. */
export function recordEndpoint(dataDir: string, url: string): () => void {
  const file = path.join(dataDir, ENDPOINT_FILE);
  writeFileSync(file, JSON.stringify({ pid: process.pid, url }) + '\n');
  return () => rmSync(file, { force: true });
}

/** The endpoint a live process recorded in `dataDir`, or null (none, unreadable, or gone). */
export function recordedEndpoint(dataDir: string): { pid: number; url: string } | null {
  try {
    const j = JSON.parse(readFileSync(path.join(dataDir, ENDPOINT_FILE), 'utf8')) as {
      pid?: unknown;
      url?: unknown;
    };
    if (typeof j.pid !== 'number' || typeof j.url !== 'string') return null;
    process.kill(j.pid, 0); // throws when the process is gone
    return { pid: j.pid, url: j.url };
  } catch {
    return null;
  }
}
