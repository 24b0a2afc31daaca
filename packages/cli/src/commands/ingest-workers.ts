/**
 * `hopwatch ingest --workers N`: N ingest processes sharing the UDP report sockets. Node 20's
 * dgram has no SO_REUSEPORT, but a socket bound in a `cluster` worker is created once by the
 * primary and handed to every worker, so each datagram is read by exactly one of them (the
 * kernel wakes one reader per datagram on a shared socket). Each worker decodes and publishes
 * on its own: records keep their partition keys, so analyze sees the same partitions whichever
 * worker read a report.
 */
import cluster from 'cluster';
import type { Logger } from '@hopwatch/pipeline';
import { EXIT } from '../errors';

/** The worker's index (0 in a process that is not a worker of `ingest --workers`). */
export function ingestWorkerIndex(): number {
  return cluster.isPrimary ? 0 : Number(process.env.HOPWATCH_INGEST_WORKER ?? 0);
}

/** Whether this process is the primary of `ingest --workers N` (N > 1). */
export function isIngestPrimary(workers: number): boolean {
  return workers > 1 && cluster.isPrimary;
}

/**
 * Runs `hopwatch ingest ARGV` in N workers until SIGINT/SIGTERM, which is passed on to them; a
 * worker that dies otherwise is restarted after a second (its share of the datagrams waits in
 * the shared socket's buffer meanwhile). Exit code: the highest of the workers'.
 */
export async function runIngestWorkers(
  argv: string[],
  workers: number,
  logger: Logger,
): Promise<number> {
  cluster.setupPrimary({ exec: process.argv[1], args: ['ingest', ...argv] });
  let stopping = false;
  let code = EXIT.OK as number;
  const alive = new Set<number>();
  let allExited: () => void = () => undefined;
  const done = new Promise<void>((r) => (allExited = r));
  const start = (i: number): void => {
    const w = cluster.fork({ HOPWATCH_INGEST_WORKER: String(i) });
    alive.add(i);
    w.on('exit', (c, signal) => {
      alive.delete(i);
      if (!stopping) {
        logger.error('ingest worker died; restarting it', { worker: i, code: c, signal });
        setTimeout(() => !stopping && start(i), 1000);
        return;
      }
      code = Math.max(code, c ?? EXIT.FAILURE);
      if (alive.size === 0) allExited();
    });
  };
  for (let i = 0; i < workers; i++) start(i);
  logger.info('ingest workers started', { workers });
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    if (alive.size === 0) allExited();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await done;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  return code;
}
