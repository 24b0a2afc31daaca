import { Admin, Kafka, logLevel as KjsLogLevel } from 'kafkajs';
import { ALL_TOPICS } from '../wire/topics';
import { Logger, log as defaultLog } from '../metrics/log';
import { describeKafkaError } from './kafka';
import { kafkajsSecurity } from './kafkajs-security';
import './kafkajs-idle';
import type { KafkaSecurity, OffsetAdmin } from './types';

export interface EnsureTopicsOptions {
  /** Partitions per topic (default 12); existing topics with fewer are extended. */
  partitions?: number;
  /** Default 1 (3 for a 3-broker cluster). */
  replicationFactor?: number;
  /** Default: the four hopwatch topics. */
  topics?: readonly string[];
  /** Extra topic configs, e.g. { 'retention.ms': '86400000' }. */
  configs?: Record<string, string>;
  connectTimeoutMs?: number;
  /** TLS / SASL (absent: plaintext, no authentication). */
  security?: KafkaSecurity;
  logger?: Logger;
}

export interface EnsureTopicsResult {
  created: string[];
  existing: string[];
  /** Existing topics whose partition count was raised. */
  extended: string[];
}

/** Creates the hopwatch topics if missing (and waits for their leaders). */
export async function ensureTopics(
  brokers: string[],
  opts: EnsureTopicsOptions = {},
): Promise<EnsureTopicsResult> {
  const logger = (opts.logger ?? defaultLog).child({ component: 'kafka-admin' });
  const partitions = opts.partitions ?? 12;
  const topics = [...(opts.topics ?? ALL_TOPICS)];
  const kafka = new Kafka({
    clientId: 'hopwatch-admin',
    brokers,
    connectionTimeout: opts.connectTimeoutMs ?? 3000,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
    logLevel: KjsLogLevel.NOTHING,
    ...kafkajsSecurity(opts.security),
  });
  const admin = kafka.admin();
  let lastErr: unknown;
  const created = new Set<string>();
  try {
    await admin.connect();
  } catch (err) {
    await admin.disconnect().catch(() => undefined);
    throw new Error(`ensureTopics: ${describeKafkaError(err, brokers, opts.security)}`);
  }
  // Topic creation races with metadata propagation ("does not host this topic-partition"):
  // retry the whole (idempotent) procedure a few times.
  try {
    for (let attempt = 1; attempt <= 8; attempt++) {
      try {
        return await ensureOnce(admin, topics, partitions, opts, logger, created);
      } catch (err) {
        lastErr = err;
        const retriable = (err as { retriable?: boolean }).retriable !== false;
        if (!retriable) break;
        logger.debug('ensureTopics: retrying', {
          attempt,
          error: describeKafkaError(err, brokers, opts.security),
        });
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
    throw new Error(`ensureTopics: ${describeKafkaError(lastErr, brokers, opts.security)}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function ensureOnce(
  admin: Admin,
  topics: string[],
  partitions: number,
  opts: EnsureTopicsOptions,
  logger: Logger,
  created: Set<string>,
): Promise<EnsureTopicsResult> {
  {
    const have = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !have.has(t));
    const existing = topics.filter((t) => have.has(t) && !created.has(t));
    if (missing.length) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: partitions,
          replicationFactor: opts.replicationFactor ?? 1,
          configEntries: Object.entries(opts.configs ?? {}).map(([name, value]) => ({
            name,
            value,
          })),
        })),
      });
      for (const t of missing) created.add(t);
    }
    const extended: string[] = [];
    if (existing.length) {
      const meta = await admin.fetchTopicMetadata({ topics: existing });
      const grow = meta.topics.filter((t) => t.partitions.length < partitions);
      if (grow.length) {
        await admin.createPartitions({
          topicPartitions: grow.map((t) => ({ topic: t.name, count: partitions })),
        });
        for (const t of grow) {
          extended.push(t.name);
          logger.warn('raised partition count: keys now map to other partitions', {
            topic: t.name,
            from: t.partitions.length,
            to: partitions,
          });
        }
      }
    }
    // every partition has a leader
    const meta = await admin.fetchTopicMetadata({ topics });
    for (const t of meta.topics) {
      if (t.partitions.length < partitions || t.partitions.some((p) => p.leader < 0)) {
        const e = new Error(`topic ${t.name} has no leader for some partitions yet`) as Error & {
          retriable: boolean;
        };
        e.retriable = true;
        throw e;
      }
    }
    logger.info('topics ready', { created: [...created], existing, partitions });
    return { created: [...created], existing, extended };
  }
}

export interface KafkaOffsetAdminOptions {
  brokers: string[];
  clientId?: string;
  /** Connect timeout (default 2000 ms); there are no retries: callers poll again later. */
  connectTimeoutMs?: number;
  security?: KafkaSecurity;
}

/**
 * Offsets through one kafkajs admin client, connected on first use. Any failure drops the
 * client (the next call connects afresh): a broker restart must not leave a dead connection.
 */
export class KafkaOffsetAdmin implements OffsetAdmin {
  private client?: Promise<Admin>;
  private closed = false;

  constructor(private readonly o: KafkaOffsetAdminOptions) {}

  endOffsets(topic: string): Promise<Map<number, number>> {
    return this.call(async (a) => {
      const offs = await a.fetchTopicOffsets(topic);
      return new Map(offs.map((x) => [x.partition, Number(x.high)]));
    });
  }

  committedOffsets(groupId: string, topics: string[]): Promise<Map<string, Map<number, number>>> {
    return this.call(async (a) => {
      const committed = await a.fetchOffsets({ groupId, topics });
      return new Map(
        committed.map((t) => [
          t.topic,
          new Map(t.partitions.map((p) => [p.partition, Number(p.offset)])),
        ]),
      );
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    await c?.then((a) => a.disconnect()).catch(() => undefined);
  }

  private async call<T>(fn: (a: Admin) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('Kafka offset admin: closed');
    const c = (this.client ??= this.connect());
    try {
      return await fn(await c);
    } catch (e) {
      if (this.client === c) this.client = undefined;
      void c.then((a) => a.disconnect()).catch(() => undefined);
      throw e;
    }
  }

  private async connect(): Promise<Admin> {
    const a = new Kafka({
      clientId: this.o.clientId ?? 'hopwatch-offsets',
      brokers: this.o.brokers,
      logLevel: KjsLogLevel.NOTHING,
      connectionTimeout: this.o.connectTimeoutMs ?? 2000,
      retry: { retries: 0 },
      ...kafkajsSecurity(this.o.security),
    }).admin();
    try {
      await a.connect();
      // a fresh client knows no brokers until it has metadata: without this, fetchOffsets (group
      // coordinator lookup) fails with "No brokers in the broker pool"
      await a.listTopics();
    } catch (e) {
      await a.disconnect().catch(() => undefined);
      throw e;
    }
    return a;
  }
}
