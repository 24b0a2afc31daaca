import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePorts, makeRunDir, runServices, Serial } from './runner';

export interface KafkaSaslUser {
  mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  username: string;
  /** Letters, digits and ._@+- only (the broker's JAAS and SCRAM syntaxes have no escapes). */
  password: string;
}

/** A SASL_SSL listener beside the plaintext one (which stays, for inter-broker traffic). */
export interface KafkaSaslSslOptions {
  /** PKCS12 key store of the broker certificate (e.g. makeTestPki().keystore). */
  keystore: string;
  /** Password file of the stores. */
  storePasswordFile: string;
  /** PKCS12 trust store: client certificates are then requested and checked. */
  truststore?: string;
  users: KafkaSaslUser[];
}

export interface StartKafkaOptions {
  /** 1 (default) or 3 combined broker+controller KRaft nodes; 3 gives replication factor 3. */
  brokers?: 1 | 3;
  saslSsl?: KafkaSaslSslOptions;
}

export interface KafkaHandle {
  /** Bootstrap addresses, `127.0.0.1:<port>`, one per node (index = node index). */
  brokers: string[];
  /** With `saslSsl`: the SASL_SSL listeners, `127.0.0.1:<port>` (index = node index). */
  saslSslBrokers: string[];
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
  const sasl = opts.saslSsl;
  const ports = await freePorts((sasl ? 3 : 2) * n);
  const brokerPorts = ports.slice(0, n);
  const controllerPorts = ports.slice(n, 2 * n);
  const saslPorts = sasl ? ports.slice(2 * n) : [];
  const runDir = makeRunDir('kafka');
  const env: Record<string, string> = {
    HOPWATCH_RUN_DIR: runDir,
    HOPWATCH_KAFKA_PORTS: brokerPorts.join(','),
    HOPWATCH_KAFKA_CONTROLLER_PORTS: controllerPorts.join(','),
  };
  if (sasl) {
    const usersFile = path.join(runDir, 'sasl-users');
    const lines = sasl.users.map((u) => `${u.mechanism} ${u.username} ${u.password}\n`);
    fs.writeFileSync(usersFile, lines.join(''), { mode: 0o600 });
    Object.assign(env, {
      HOPWATCH_KAFKA_SASL_SSL_PORTS: saslPorts.join(','),
      HOPWATCH_KAFKA_KEYSTORE: sasl.keystore,
      HOPWATCH_KAFKA_STORE_PASSWORD_FILE: sasl.storePasswordFile,
      HOPWATCH_KAFKA_SASL_USERS_FILE: usersFile,
      ...(sasl.truststore ? { HOPWATCH_KAFKA_TRUSTSTORE: sasl.truststore } : {}),
    });
  }
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
    saslSslBrokers: saslPorts.map((p) => `127.0.0.1:${p}`),
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
