import * as path from 'node:path';
import { freePorts, makeRunDir, runServices, Serial } from './runner';

export interface StartKafkaOptions {
  /** 1 (default) or 3 combined broker+controller KRaft nodes; 3 gives replication factor 3. */
  brokers?: 1 | 3;
}

export interface KafkaHandle {
  /** Bootstrap addresses, `127.0.0.1:<port>`, one per node (index = node index). */
  brokers: string[];
  /** The run directory (node-<i>/server.log holds each node's log). */
  runDir: string;
  /** Stops every node and waits for them to exit. Idempotent. (The run directory is removed
   * when the process exits.) */
  stop(): Promise<void>;
  /** Stops node i (0-based), keeping its data. */
  stopBroker(i: number): Promise<void>;
  /** (Re)starts node i and waits until it is back in the cluster (after stop(), i.e. all
   * nodes down, start the nodes in parallel: a 3-node quorum needs 2 of them). */
  startBroker(i: number): Promise<void>;
}

/** Starts a fresh KRaft cluster on free loopback ports, in its own run directory. */
export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaHandle> {
  const n = opts.brokers ?? 1;
  if (n !== 1 && n !== 3) throw new Error(`startKafka: brokers must be 1 or 3, not ${n}`);
  const ports = await freePorts(2 * n);
  const brokerPorts = ports.slice(0, n);
  const controllerPorts = ports.slice(n);
  const runDir = makeRunDir('kafka');
  const env = {
    HOPWATCH_RUN_DIR: runDir,
    HOPWATCH_KAFKA_PORTS: brokerPorts.join(','),
    HOPWATCH_KAFKA_CONTROLLER_PORTS: controllerPorts.join(','),
  };
  const serial = new Serial();
  const checkIndex = (i: number): void => {
    if (!Number.isInteger(i) || i < 0 || i >= n)
      throw new Error(`kafka: broker index must be 0..${n - 1}, not ${i}`);
  };
  const stop = (): Promise<void> =>
    serial.run(async () => {
      await runServices(['stop', 'kafka'], env);
    });
  try {
    await runServices(['start', 'kafka', '--brokers', String(n)], env);
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return {
    brokers: brokerPorts.map((p) => `127.0.0.1:${p}`),
    runDir: path.join(runDir, 'kafka'),
    stop,
    stopBroker: (i) =>
      serial.run(async () => {
        checkIndex(i);
        await runServices(['stop', 'kafka', '--node', String(i)], env);
      }),
    startBroker: (i) =>
      serial.run(async () => {
        checkIndex(i);
        await runServices(['start', 'kafka', '--node', String(i)], env);
      }),
  };
}
