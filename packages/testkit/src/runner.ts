/** Runs deploy/services.sh and keeps track of the run directories this process created, so
 * whatever is still running in them can be killed when the process exits. */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** Repository root (this file is packages/testkit/{src,dist}/runner.*). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** The script that does the real work; HOPWATCH_SERVICES_SH overrides it. */
export function servicesScript(): string {
  return process.env.HOPWATCH_SERVICES_SH ?? path.join(REPO_ROOT, 'deploy', 'services.sh');
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** `bash deploy/services.sh ...args` with HOPWATCH_* env; rejects with the script's output
 * (which includes the service's log tail when it failed to start). */
export function runServices(args: string[], env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [servicesScript(), ...args],
      { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(
              `deploy/services.sh ${args.join(' ')} failed (${err.message.split('\n')[0]}):\n${stdout}${stderr}`,
            ),
          );
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}

/** Lowest port freePorts() draws from. */
const MIN_SERVER_PORT = 10000;

/**
 * The first port of the kernel's ephemeral range (Linux `ip_local_port_range`), or null when it
 * cannot be read. Outgoing connections take their local port from that range, so a free port
 * picked inside it can be taken by any client (a Kafka client, a test) between the check and
 * the server's bind; ports below it cannot.
 */
export function ephemeralPortStart(): number | null {
  try {
    const lo = Number(
      fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    return Number.isInteger(lo) && lo > 0 ? lo : null;
  } catch {
    return null;
  }
}

function listenOn(srv: net.Server, port: number): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    srv.once('error', (e: NodeJS.ErrnoException) =>
      e.code === 'EADDRINUSE' || e.code === 'EACCES' ? resolve(false) : reject(e),
    );
    srv.listen(port, '127.0.0.1', () => resolve(true));
  });
}

/**
 * Free TCP ports on 127.0.0.1 for servers, all distinct (held open together, then released):
 * drawn at random below the ephemeral range (see ephemeralPortStart), else from the kernel.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  const top = ephemeralPortStart();
  const span = top !== null ? top - MIN_SERVER_PORT : 0;
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      let bound = false;
      for (let attempt = 0; !bound && span >= 1000 && attempt < 100; attempt++) {
        const srv = net.createServer();
        bound = await listenOn(srv, MIN_SERVER_PORT + Math.floor(Math.random() * span));
        if (bound) servers.push(srv);
      }
      if (!bound) {
        const srv = net.createServer();
        servers.push(srv);
        await listenOn(srv, 0);
      }
      ports.push((servers[servers.length - 1].address() as net.AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(
      servers.map(
        (s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve())),
      ),
    );
  }
}

/* Cleanup is done by a small detached watchdog per run directory, not by a process 'exit'
 * handler: inside jest, `process` is a sandbox copy whose 'exit' event never fires, and a
 * crashed or killed test process would not run it anyway. The watchdog waits for this
 * process to end, then stops whatever still runs in the directory and removes it. */
const WATCHDOG = `
while kill -0 "$1" 2>/dev/null; do sleep 1; done
HOPWATCH_RUN_DIR="$2" HOPWATCH_STOP_TIMEOUT=5 bash "$3" stop all >/dev/null 2>&1
[ "$4" = 1 ] || rm -rf "$2"
`;

/** A fresh run directory under os.tmpdir() (or HOPWATCH_TESTKIT_DIR). When this process
 * exits, anything still running in it is stopped and the directory removed (kept, with its
 * logs, when HOPWATCH_TESTKIT_KEEP=1). */
export function makeRunDir(service: string): string {
  const base = process.env.HOPWATCH_TESTKIT_DIR ?? os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  const dir = fs.mkdtempSync(path.join(base, `hopwatch-${service}-`));
  const keep = process.env.HOPWATCH_TESTKIT_KEEP === '1' ? '1' : '0';
  spawn(
    'bash',
    ['-c', WATCHDOG, 'hopwatch-testkit-watchdog', String(process.pid), dir, servicesScript(), keep],
    {
      detached: true,
      stdio: 'ignore',
    },
  ).unref();
  return dir;
}

/** Serializes the start/stop calls of one service instance. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
