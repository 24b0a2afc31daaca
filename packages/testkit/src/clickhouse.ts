import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { freePorts, makeRunDir, runServices, Serial } from './runner';

export interface StartClickHouseOptions {
  /** Users with a password (stored as password_sha256_hex); `default` stays, passwordless. */
  users?: { username: string; password: string }[];
  /** An HTTPS port too, with this PEM certificate (chain) and key. */
  https?: { certFile: string; keyFile: string };
}

export interface ClickHouseHandle {
  /** HTTP interface, e.g. http://127.0.0.1:41234 (user `default`, no password). */
  url: string;
  httpPort: number;
  /** With `https`: the HTTPS interface, e.g. https://127.0.0.1:41236. */
  httpsUrl?: string;
  /** Native protocol port. */
  tcpPort: number;
  /** `SELECT version()`, e.g. "18.16.1" for Debian 12's package. */
  version: string;
  /** The run directory (log/ holds the server logs, data/ the tables). */
  runDir: string;
  /** Stops the server and waits for it to exit; data is kept for start(). Idempotent. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(body)
            : reject(new Error(`${url}: HTTP ${res.statusCode}: ${body}`)),
        );
      })
      .on('error', reject);
  });
}

/** Starts a ClickHouse server on free loopback ports, in its own run directory. */
export async function startClickHouse(
  opts: StartClickHouseOptions = {},
): Promise<ClickHouseHandle> {
  const [httpPort, tcpPort, interserverPort, httpsPort] = await freePorts(opts.https ? 4 : 3);
  const runDir = makeRunDir('clickhouse');
  const env: Record<string, string> = {
    HOPWATCH_RUN_DIR: runDir,
    HOPWATCH_CLICKHOUSE_HTTP_PORT: String(httpPort),
    HOPWATCH_CLICKHOUSE_TCP_PORT: String(tcpPort),
    HOPWATCH_CLICKHOUSE_INTERSERVER_PORT: String(interserverPort),
  };
  if (opts.https)
    Object.assign(env, {
      HOPWATCH_CLICKHOUSE_HTTPS_PORT: String(httpsPort),
      HOPWATCH_CLICKHOUSE_CERT: opts.https.certFile,
      HOPWATCH_CLICKHOUSE_KEY: opts.https.keyFile,
    });
  if (opts.users?.length) {
    const file = path.join(runDir, 'clickhouse-users');
    const lines = opts.users.map((u) => `${u.username} ${u.password}\n`).join('');
    fs.writeFileSync(file, lines, { mode: 0o600 });
    env.HOPWATCH_CLICKHOUSE_USERS_FILE = file;
  }
  const url = `http://127.0.0.1:${httpPort}`;
  const serial = new Serial();
  const stop = (): Promise<void> =>
    serial.run(async () => {
      await runServices(['stop', 'clickhouse'], env);
    });
  const start = (): Promise<void> =>
    serial.run(async () => {
      await runServices(['start', 'clickhouse'], env);
    });
  try {
    await start();
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  const version = (await httpGet(`${url}/?query=${encodeURIComponent('SELECT version()')}`)).trim();
  return {
    url,
    httpPort,
    ...(opts.https ? { httpsUrl: `https://127.0.0.1:${httpsPort}` } : {}),
    tcpPort,
    version,
    runDir: path.join(runDir, 'clickhouse'),
    stop,
    start,
  };
}
