import * as path from 'node:path';
import { freePorts, makeRunDir, runServices, Serial } from './runner';

export interface RedisHandle {
  /** e.g. redis://127.0.0.1:41234 (no password, no persistence). */
  url: string;
  port: number;
  runDir: string;
  /** Stops the server and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: the test instance has no persistence). */
  start(): Promise<void>;
}

/** Starts a Redis server on a free loopback port, in its own run directory. */
export async function startRedis(): Promise<RedisHandle> {
  const [port] = await freePorts(1);
  const runDir = makeRunDir('redis');
  const env = { HOPWATCH_RUN_DIR: runDir, HOPWATCH_REDIS_PORT: String(port) };
  const serial = new Serial();
  const stop = (): Promise<void> =>
    serial.run(async () => {
      await runServices(['stop', 'redis'], env);
    });
  const start = (): Promise<void> =>
    serial.run(async () => {
      await runServices(['start', 'redis'], env);
    });
  try {
    await start();
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    runDir: path.join(runDir, 'redis'),
    stop,
    start,
  };
}
