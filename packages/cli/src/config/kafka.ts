/** The 'kafka' section (ingest, analyze): brokers, topic layout, consumer group. */
import { UsageError } from '../errors';
import { parseIntArg } from '../numbers';
import { checkKeys, optInt, optString, optStringList, type Section } from './check';

export interface KafkaSettings {
  /** Bootstrap brokers, HOST:PORT each (empty: the command needs --brokers). */
  brokers: string[];
  /** Partitions of the data topics when creating them (ingest and analyze must agree). */
  partitions: number;
  /** Replication factor when creating topics. */
  replication: number;
  /** Consumer group of analyze's records topic. */
  group: string;
}

export const KAFKA_DEFAULTS: Readonly<KafkaSettings> = Object.freeze({
  brokers: [],
  partitions: 12,
  replication: 1,
  group: 'hopwatch-analytics',
});

export const KAFKA_KEYS = ['brokers', 'partitions', 'replication', 'group'] as const;
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
  };
}

/** The command-line options that override the 'kafka' section (ingest and analyze). */
export interface KafkaArgs {
  brokers?: string;
  partitions?: string;
  replication?: string;
}

/** Brokers and topic layout from the options, else the config section; brokers required. */
export function kafkaFromArgs(
  values: KafkaArgs,
  cfg: KafkaSettings,
): Pick<KafkaSettings, 'brokers' | 'partitions' | 'replication'> {
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
  };
}
