/**
 * `hopwatch serve` and `hopwatch query` as child processes of the built CLI, for the tests of
 * the running single-machine deployment (serve-http, serve-security).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '../../..');
export const CLI = path.join(ROOT, 'packages/cli/bin/hopwatch.js');
export const built = fs.existsSync(path.join(ROOT, 'packages/cli/dist/main.js'));

export const query = (
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { code: number | null; out: string; err: string } => {
  const r = spawnSync(process.execPath, [CLI, 'query', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

export interface ServeProcess {
  pid: number;
  /** The UDP port of the report socket. */
  port: number;
  /** The query endpoint's URL, when serve announced one. */
  url: string | undefined;
  err: () => string;
  out: () => string;
  alive: () => boolean;
  stop: () => Promise<number | null>;
}

/** Starts `hopwatch serve` on the embedded store in `data`; resolves once it listens. */
export async function startServe(
  data: string,
  extra: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServeProcess> {
  const serve = spawn(
    process.execPath,
    [CLI, 'serve', '--listen', '127.0.0.1:0', '--data-dir', data, '--status-every', '0', ...extra],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  let err = '';
  let out = '';
  let exited = false;
  serve.stderr.on('data', (d) => (err += d));
  serve.stdout.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((r) =>
    serve.on('exit', (code) => {
      exited = true;
      r(code);
    }),
  );
  for (let i = 0; i < 300 && !/listening on/.test(err) && !exited; i++)
    await new Promise((r) => setTimeout(r, 100));
  return {
    pid: serve.pid!,
    port: Number(/listening on 127\.0\.0\.1:(\d+)\/udp/.exec(err)?.[1]),
    url: /read-only queries on (http:\/\/127\.0\.0\.1:\d+)/.exec(err)?.[1],
    err: () => err,
    out: () => out,
    alive: () => !exited,
    stop: async () => {
      if (!exited) serve.kill('SIGINT');
      return exit;
    },
  };
}
