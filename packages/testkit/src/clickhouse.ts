import * as http from 'node:http';
import * as path from 'node:path';
import { freePorts, makeRunDir, runServices, Serial } from './runner';

export interface ClickHouseHandle {
  /** HTTP interface, e.g. http://127.0.0.1:41234 (user `default`, no password). */
  url: string;
  httpPort: number;
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
export async function startClickHouse(): Promise<ClickHouseHandle> {
  const [httpPort, tcpPort, interserverPort] = await freePorts(3);
  const runDir = makeRunDir('clickhouse');
  const env = {
    HOPWATCH_RUN_DIR: runDir,
    HOPWATCH_CLICKHOUSE_HTTP_PORT: String(httpPort),
    HOPWATCH_CLICKHOUSE_TCP_PORT: String(tcpPort),
    HOPWATCH_CLICKHOUSE_INTERSERVER_PORT: String(interserverPort),
  };
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
    tcpPort,
    version,
    runDir: path.join(runDir, 'clickhouse'),
    stop,
    start,
  };
}
