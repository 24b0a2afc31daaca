/** The 'kafka' section (ingest, analyze): brokers, topic layout, consumer group, TLS, SASL. */
import { readFileSync } from 'fs';
import {
  DEFAULT_KAFKA_CLIENT,
  defaultKafkaClient,
  KAFKA_CLIENTS,
  DEFAULT_COMPRESSION,
  KAFKA_COMPRESSIONS,
  rdkafkaUnavailable,
  SASL_MECHANISMS,
  type KafkaClientName,
  type KafkaCompression,
  type KafkaSecurity,
  type SaslMechanism,
} from '@hopwatch/pipeline';
import { UsageError } from '../errors';
import { parseIntArg } from '../numbers';
import {
  checkKeys,
  optInt,
  optString,
  optStringList,
  sectionOf,
  wrongType,
  type Section,
} from './check';
import { readSecret } from './secret';

/** kafka.tls: file paths and the name check, as written (files are read when a command runs). */
export interface KafkaTlsSettings {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  verifyServerName?: boolean;
}

/** kafka.sasl: the password is a reference (file or environment variable), never the value. */
export interface KafkaSaslSettings {
  mechanism?: SaslMechanism;
  username?: string;
  passwordFile?: string;
  passwordEnv?: string;
}

export interface KafkaSettings {
  /** Bootstrap brokers, HOST:PORT each (empty: the command needs --brokers). */
  brokers: string[];
  /** Partitions of the data topics when creating them (ingest and analyze must agree). */
  partitions: number;
  /** Replication factor when creating topics. */
  replication: number;
  /** Consumer group of analyze's records topic. */
  group: string;
  /** TLS to the brokers (absent: plaintext). */
  tls?: KafkaTlsSettings;
  /** SASL authentication (absent: none). */
  sasl?: KafkaSaslSettings;
  /** Kafka client library (absent: DEFAULT_KAFKA_CLIENT). */
  client?: KafkaClientName;
  /** Record-batch compression of what ingest publishes (absent: gzip). */
  compression?: KafkaCompression;
}

export const KAFKA_DEFAULTS: Readonly<KafkaSettings> = Object.freeze({
  brokers: [],
  partitions: 12,
  replication: 1,
  group: 'hopwatch-analytics',
});

export const KAFKA_KEYS = [
  'brokers',
  'partitions',
  'replication',
  'group',
  'tls',
  'sasl',
  'client',
  'compression',
] as const;
export const KAFKA_TLS_KEYS = [
  'caFile',
  'certFile',
  'keyFile',
  'serverName',
  'verifyServerName',
] as const;
export const KAFKA_SASL_KEYS = ['mechanism', 'username', 'password_file', 'password_env'] as const;
export const MAX_PARTITIONS = 10000;
export const MAX_REPLICATION = 16;

/** Broker addresses HOST:PORT (or [V6]:PORT), port 1..65535. */
export function checkBrokers(name: string, brokers: string[]): string[] {
  for (const b of brokers) {
    const m = /^(?:\[[^\]]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(b);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535)
      throw new UsageError(`${name}: '${b}' is not HOST:PORT`);
  }
  return brokers;
}

/** A consumer group id: not empty, no spaces or control characters. */
export function checkGroup(name: string, group: string): string {
  if (group === '' || /[\s\p{Cc}]/u.test(group))
    throw new UsageError(`${name}: '${group}' is not a consumer group id (no spaces)`);
  return group;
}

/** A comma-separated --brokers value. */
export function parseBrokers(name: string, text: string): string[] {
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw new UsageError(`${name}: no broker given`);
  return checkBrokers(name, list);
}

export function kafkaConfig(s: Section): KafkaSettings {
  checkKeys('kafka', s, KAFKA_KEYS);
  return {
    brokers: checkBrokers(
      'config: kafka.brokers',
      optStringList('kafka', s, 'brokers') ?? [...KAFKA_DEFAULTS.brokers],
    ),
    partitions: optInt('kafka', s, 'partitions', 1, MAX_PARTITIONS) ?? KAFKA_DEFAULTS.partitions,
    replication:
      optInt('kafka', s, 'replication', 1, MAX_REPLICATION) ?? KAFKA_DEFAULTS.replication,
    group: checkGroup(
      'config: kafka.group',
      optString('kafka', s, 'group') ?? KAFKA_DEFAULTS.group,
    ),
    ...(s.tls !== undefined && s.tls !== null && s.tls !== false ? { tls: tlsConfig(s.tls) } : {}),
    ...(s.client !== undefined
      ? { client: checkClient('config: kafka.client', optString('kafka', s, 'client')!) }
      : {}),
    ...(s.compression !== undefined
      ? {
          compression: checkCompression(
            'config: kafka.compression',
            optString('kafka', s, 'compression')!,
          ),
        }
      : {}),
    ...(s.sasl !== undefined && s.sasl !== null ? { sasl: saslConfig(s.sasl) } : {}),
  };
}

/** kafka.tls: true (the system CAs) or a mapping. */
function tlsConfig(v: unknown): KafkaTlsSettings {
  if (v === true) return {};
  const t = sectionOf('kafka.tls', v);
  checkKeys('kafka.tls', t, KAFKA_TLS_KEYS);
  const out: KafkaTlsSettings = {};
  for (const k of ['caFile', 'certFile', 'keyFile', 'serverName'] as const) {
    const x = optString('kafka.tls', t, k);
    if (x !== undefined) out[k] = x;
  }
  if (t.verifyServerName !== undefined) {
    if (typeof t.verifyServerName !== 'boolean')
      throw wrongType('kafka.tls.verifyServerName', 'true or false', t.verifyServerName);
    out.verifyServerName = t.verifyServerName;
  }
  return out;
}

function saslConfig(v: unknown): KafkaSaslSettings {
  const t = sectionOf('kafka.sasl', v);
  if ('password' in t)
    throw new UsageError(
      'config: kafka.sasl.password is not taken (use password_file or password_env)',
    );
  checkKeys('kafka.sasl', t, KAFKA_SASL_KEYS);
  const out: KafkaSaslSettings = {};
  const m = optString('kafka.sasl', t, 'mechanism');
  if (m !== undefined) out.mechanism = checkMechanism('config: kafka.sasl.mechanism', m);
  const u = optString('kafka.sasl', t, 'username');
  if (u !== undefined) out.username = u;
  const f = optString('kafka.sasl', t, 'password_file');
  if (f !== undefined) out.passwordFile = f;
  const e = optString('kafka.sasl', t, 'password_env');
  if (e !== undefined) out.passwordEnv = e;
  return out;
}

export function checkMechanism(name: string, m: string): SaslMechanism {
  const up = m.toUpperCase() as SaslMechanism;
  if (!SASL_MECHANISMS.includes(up))
    throw new UsageError(`${name}: '${m}' is not one of ${SASL_MECHANISMS.join(', ')}`);
  return up;
}

export function checkClient(name: string, v: string): KafkaClientName {
  if (!(KAFKA_CLIENTS as readonly string[]).includes(v))
    throw new UsageError(`${name}: '${v}' is not one of ${KAFKA_CLIENTS.join(', ')}`);
  return v as KafkaClientName;
}

export function checkCompression(name: string, v: string): KafkaCompression {
  if (!(KAFKA_COMPRESSIONS as readonly string[]).includes(v))
    throw new UsageError(`${name}: '${v}' is not one of ${KAFKA_COMPRESSIONS.join(', ')}`);
  return v as KafkaCompression;
}

/** --kafka-client over kafka.client; --compression (or --no-compression) over
 * kafka.compression (default lz4). kafkajs has none, gzip and lz4: zstd with it is a usage error.
 * Without a choice: rdkafka, or kafkajs (and a `warn`ing) where librdkafka does not load. */
export function kafkaClientFromArgs(
  v: { 'kafka-client'?: string; compression?: string; 'no-compression'?: boolean },
  cfg: KafkaSettings,
  warn: (line: string) => void = () => undefined,
): { client: KafkaClientName; compression: KafkaCompression } {
  const chosen =
    v['kafka-client'] !== undefined ? checkClient('--kafka-client', v['kafka-client']) : cfg.client;
  const client = chosen ?? defaultKafkaClient();
  if (chosen === 'rdkafka' && rdkafkaUnavailable()) throw new UsageError(rdkafkaUnavailable()!);
  if (!chosen && client !== DEFAULT_KAFKA_CLIENT)
    warn(
      `${rdkafkaUnavailable()}; using kafkajs (every analyze of a group must use the same client)`,
    );
  if (v['no-compression'] && v.compression !== undefined && v.compression !== 'none')
    throw new UsageError('--no-compression contradicts --compression ' + v.compression);
  const compression = v['no-compression']
    ? 'none'
    : v.compression !== undefined
      ? checkCompression('--compression', v.compression)
      : (cfg.compression ?? DEFAULT_COMPRESSION);
  if (client === 'kafkajs' && compression === 'zstd')
    throw new UsageError(
      `compression zstd needs --kafka-client rdkafka (kafkajs has gzip, lz4 and none)`,
    );
  return { client, compression };
}

/** The option choosing the client (ingest and analyze). */
export const KAFKA_CLIENT_OPTIONS = { 'kafka-client': { type: 'string' } } as const;
export const KAFKA_CLIENT_HELP = `  --kafka-client NAME       Kafka client library: rdkafka (librdkafka) or kafkajs (default
                            ${DEFAULT_KAFKA_CLIENT} where its native module loads, else kafkajs;
                            config 'kafka.client'; docs/kafka.md)`;

/** The command-line options of TLS and SASL (ingest and analyze). No option takes a password:
 * other users see command lines in the process list. */
export const KAFKA_SECURITY_OPTIONS = {
  'kafka-tls': { type: 'boolean' },
  'kafka-ca': { type: 'string' },
  'kafka-cert': { type: 'string' },
  'kafka-key': { type: 'string' },
  'kafka-server-name': { type: 'string' },
  'kafka-no-verify-server-name': { type: 'boolean' },
  'kafka-sasl': { type: 'string' },
  'kafka-user': { type: 'string' },
  'kafka-password-file': { type: 'string' },
  'kafka-password-env': { type: 'string' },
} as const;

export const KAFKA_SECURITY_HELP = `Kafka TLS and SASL (config 'kafka.tls', 'kafka.sasl'; docs/security.md):
  --kafka-tls               TLS to the brokers, checked against the system CAs
  --kafka-ca FILE           PEM CA file for the broker certificates (implies --kafka-tls)
  --kafka-cert FILE         PEM client certificate (mutual TLS), with --kafka-key FILE
  --kafka-server-name NAME  name the broker certificate must carry (default: the broker host)
  --kafka-no-verify-server-name  do not compare names (the chain is still checked)
  --kafka-sasl MECHANISM    PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, with --kafka-user NAME
  --kafka-password-file FILE  the SASL password: first line of FILE
  --kafka-password-env VAR    the SASL password: environment variable VAR`;

/** The command-line options that override the 'kafka' section (ingest and analyze). */
export interface KafkaArgs {
  brokers?: string;
  partitions?: string;
  replication?: string;
  'kafka-tls'?: boolean;
  'kafka-ca'?: string;
  'kafka-cert'?: string;
  'kafka-key'?: string;
  'kafka-server-name'?: string;
  'kafka-no-verify-server-name'?: boolean;
  'kafka-sasl'?: string;
  'kafka-user'?: string;
  'kafka-password-file'?: string;
  'kafka-password-env'?: string;
}

function checkPem(what: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${what}: cannot read ${file}: ${(e as Error).message}`);
  }
  if (!text.includes('-----BEGIN ')) throw new UsageError(`${what}: ${file} is not a PEM file`);
  return file;
}

/**
 * TLS and SASL from the options over the config section, files checked and the password
 * read now (a mistake is a usage error at start-up, not a connection failure later).
 * `warn` hears about a password file others can read, and SASL without TLS.
 */
export function kafkaSecurityFromArgs(
  v: KafkaArgs,
  cfg: KafkaSettings,
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = () => undefined,
): KafkaSecurity | undefined {
  const out: KafkaSecurity = {};
  const t = cfg.tls;
  const flagTls =
    v['kafka-tls'] ||
    [v['kafka-ca'], v['kafka-cert'], v['kafka-key'], v['kafka-server-name']].some(
      (x) => x !== undefined,
    ) ||
    v['kafka-no-verify-server-name'];
  if (t || flagTls) {
    const caFile = v['kafka-ca'] ?? t?.caFile;
    const certFile = v['kafka-cert'] ?? t?.certFile;
    const keyFile = v['kafka-key'] ?? t?.keyFile;
    if ((certFile === undefined) !== (keyFile === undefined))
      throw new UsageError(
        'Kafka TLS: a client certificate needs its key (--kafka-cert with --kafka-key)',
      );
    const serverName = v['kafka-server-name'] ?? t?.serverName;
    out.tls = {
      ...(caFile ? { caFile: checkPem('Kafka TLS CA file', caFile) } : {}),
      ...(certFile ? { certFile: checkPem('Kafka TLS client certificate', certFile) } : {}),
      ...(keyFile ? { keyFile: checkPem('Kafka TLS client key', keyFile) } : {}),
      ...(serverName ? { serverName } : {}),
      verifyServerName: v['kafka-no-verify-server-name'] ? false : (t?.verifyServerName ?? true),
    };
  }
  const s = cfg.sasl;
  const flagSasl = [
    v['kafka-sasl'],
    v['kafka-user'],
    v['kafka-password-file'],
    v['kafka-password-env'],
  ].some((x) => x !== undefined);
  if (s || flagSasl) {
    const mechanism =
      v['kafka-sasl'] !== undefined
        ? checkMechanism('--kafka-sasl', v['kafka-sasl'])
        : s?.mechanism;
    if (!mechanism)
      throw new UsageError('Kafka SASL: give the mechanism (--kafka-sasl or kafka.sasl.mechanism)');
    const username = v['kafka-user'] ?? s?.username;
    if (!username)
      throw new UsageError('Kafka SASL: give the user (--kafka-user or kafka.sasl.username)');
    // a password option replaces both sources of the config file
    const flagPw = v['kafka-password-file'] !== undefined || v['kafka-password-env'] !== undefined;
    const ref = flagPw
      ? { file: v['kafka-password-file'], env: v['kafka-password-env'] }
      : { file: s?.passwordFile, env: s?.passwordEnv };
    const password = readSecret('Kafka SASL password', ref, env, warn);
    out.sasl = { mechanism, username, password };
    if (!out.tls)
      warn(
        `Kafka SASL ${mechanism} without TLS: ${mechanism === 'PLAIN' ? 'the password crosses the network in clear' : 'the traffic is not encrypted'} (add kafka.tls)`,
      );
  }
  return out.tls || out.sasl ? out : undefined;
}

/** Brokers and topic layout from the options, else the config section; brokers required. */
export function kafkaFromArgs(
  values: KafkaArgs,
  cfg: KafkaSettings,
  env: NodeJS.ProcessEnv = process.env,
  warn?: (line: string) => void,
): Pick<KafkaSettings, 'brokers' | 'partitions' | 'replication'> & { security?: KafkaSecurity } {
  const brokers =
    values.brokers !== undefined ? parseBrokers('--brokers', values.brokers) : cfg.brokers;
  if (brokers.length === 0) throw new UsageError('--brokers is required');
  return {
    brokers,
    partitions:
      values.partitions !== undefined
        ? parseIntArg('--partitions', values.partitions, 1, MAX_PARTITIONS)
        : cfg.partitions,
    replication:
      values.replication !== undefined
        ? parseIntArg('--replication', values.replication, 1, MAX_REPLICATION)
        : cfg.replication,
    security: kafkaSecurityFromArgs(values, cfg, env, warn),
  };
}
