/**
 * Kafka transport over librdkafka (@confluentinc/kafka-javascript), behind the same Producer /
 * Consumer interfaces as the kafkajs one (transport/kafka.ts) and with the same semantics.
 *
 * RdkafkaProducer: send() hands each message to librdkafka's own queue (produce()), which
 * batches, compresses (gzip level 1, lz4, zstd) and retries on its threads: idempotent,
 * acks=all, ordered per partition. Our counters mirror that queue: a message is finished when
 * its delivery report arrives (sent) or it is shed ('queue_full' at produce time, 'expired'
 * after message.timeout.ms = maxQueueAgeMs, 'send_failed' for any other permanent error,
 * 'closed' at close()).
 *
 * RdkafkaConsumer: the promise API of the same package (its KafkaJS-shaped layer over a
 * librdkafka consumer): eachBatch per partition, autoCommit off, the offsets of batches whose
 * handler resolved committed together on a cycle (consumer-batch.ts); a handler failure pauses the partition, seeks back to the batch's first offset
 * and resumes after a backoff. A revoked partition is released only after the batches in the
 * handler are done (the layer defers the unassign until its workers return), so two members
 * never handle one partition at once.
 */
import {
  CODES,
  KafkaJS,
  Producer as RdProducer,
  type DeliveryReport,
  type LibrdKafkaError,
} from '@confluentinc/kafka-javascript';
import { Logger, log as defaultLog } from '../metrics/log';
import {
  CLOSE_COMMIT_MS,
  CommitCycle,
  disconnectWithin,
  Redelivery,
  settleWithin,
} from './consumer-batch';
import { ProducerAccount } from './producer-account';
import {
  DEFAULT_COMMIT_INTERVAL_MS,
  DEFAULT_COMPRESSION,
  describeKafkaError,
  type KafkaConsumerOptions,
  type KafkaProducerOptions,
} from './kafka';
import {
  RDKAFKA_RECONNECT,
  rdkafkaLogLevel,
  rdkafkaSecurity,
  type RdkafkaProps,
} from './rdkafka-config';
import {
  BatchHandler,
  Consumer,
  ConsumerStats,
  emptyConsumerStats,
  OutMessage,
  Producer,
  ProducerStats,
  RunOptions,
} from './types';

const E = CODES.ERRORS;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Pending {
  topic: string;
  m: OutMessage;
  bytes: number;
  at: number;
}

function keyBytes(k: Buffer | string | null | undefined): number {
  return k == null ? 0 : Buffer.byteLength(k);
}

export class RdkafkaProducer implements Producer {
  private readonly log: Logger;
  private readonly p: RdProducer;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly closeTimeoutMs: number;
  private readonly acct: ProducerAccount;
  private ready = false;
  private closed = false;
  /** Messages sent before the client connected (handed over once it is ready). */
  private early: Pending[] = [];
  /** Messages inside librdkafka, by topic (for 'closed' at close()). */
  private inside = new Map<string, number>();
  private connecting?: Promise<void>;

  constructor(private readonly o: KafkaProducerOptions) {
    this.log = (o.logger ?? defaultLog).child({ component: 'kafka-producer', client: 'rdkafka' });
    this.maxMessages = o.maxQueuedMessages ?? 100_000;
    this.maxBytes = o.maxQueuedBytes ?? 64 * 1024 * 1024;
    this.maxAgeMs = o.maxQueueAgeMs ?? 30_000;
    this.closeTimeoutMs = o.closeTimeoutMs ?? 5000;
    this.acct = new ProducerAccount({
      log: this.log,
      brokers: o.brokers,
      maxMessages: this.maxMessages,
      maxBytes: this.maxBytes,
      onShed: o.onShed,
      describe: (err) => describeKafkaError(err, o.brokers, o.security),
    });
    const compression = o.compression ?? DEFAULT_COMPRESSION;
    const conf: RdkafkaProps = {
      'bootstrap.servers': o.brokers.join(','),
      'client.id': o.clientId ?? 'hopwatch',
      'socket.connection.setup.timeout.ms': Math.max(1000, o.connectTimeoutMs ?? 3000),
      'request.timeout.ms': o.requestTimeoutMs ?? 10_000,
      dr_cb: true,
      acks: -1,
      // librdkafka's idempotent producer keeps order and writes no duplicates across retries
      // and leader changes (unlike kafkajs's, see KafkaProducerOptions.idempotent)
      'enable.idempotence': o.idempotent ?? true,
      'compression.codec': compression,
      // our bounds decide (send() sheds first); librdkafka's only need to be no smaller
      'queue.buffering.max.messages': this.maxMessages + 1000,
      'queue.buffering.max.kbytes': Math.ceil(this.maxBytes / 1024) + 1024,
      'message.timeout.ms': this.maxAgeMs,
      'linger.ms': 5,
      'retry.backoff.ms': o.retryBackoffMs ?? 200,
      'retry.backoff.max.ms': o.maxRetryBackoffMs ?? 5000,
      // the Java client's (and kafkajs') partitioner for keyed messages without a partition
      partitioner: 'murmur2_random',
      log_level: rdkafkaLogLevel(this.log.enabled('debug')),
      ...RDKAFKA_RECONNECT,
      ...rdkafkaSecurity(o.security),
    };
    if (compression === 'gzip') conf['compression.level'] = 1;
    this.p = new RdProducer(conf);
    this.p.on('delivery-report', (err, r) => this.delivered(err, r));
    this.p.on('event.error', (err) => this.acct.failed(err, 'send'));
    this.p.on('event.log', (e: { message?: string; fac?: string }) =>
      this.log.debug(`librdkafka: ${e.message}`, { fac: e.fac }),
    );
    this.connecting = this.connect();
  }

  /** Connects, retrying with backoff until it works or the producer is closed. */
  private async connect(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await new Promise<void>((resolve, reject) =>
          this.p.connect({ timeout: this.o.requestTimeoutMs ?? 10_000 }, (err) =>
            err ? reject(err) : resolve(),
          ),
        );
        this.p.setPollInBackground(true);
        this.ready = true;
        this.acct.st.connected = true;
        const early = this.early;
        this.early = [];
        for (const e of early) this.produce(e);
        return;
      } catch (err) {
        this.acct.failed(err, 'connect');
        this.expireEarly();
        await sleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  send(topic: string, messages: OutMessage[]): void {
    if (this.closed) return this.acct.shed('closed', topic, messages.length, false);
    const now = Date.now();
    let full = 0;
    for (const m of messages) {
      const bytes = m.value.byteLength + keyBytes(m.key);
      if (!this.acct.admit(bytes)) {
        full++;
        continue;
      }
      const e = { topic, m, bytes, at: now };
      if (this.ready) this.produce(e);
      else this.early.push(e);
    }
    this.acct.shed('queue_full', topic, full, false);
  }

  private produce(e: Pending): void {
    const v = e.m.value;
    const value = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    try {
      this.p.produce(e.topic, e.m.partition ?? null, value, e.m.key);
      this.inside.set(e.topic, (this.inside.get(e.topic) ?? 0) + 1);
    } catch (err) {
      this.acct.unqueue(e.bytes);
      const code = (err as LibrdKafkaError).code;
      this.acct.shed(code === E.ERR__QUEUE_FULL ? 'queue_full' : 'send_failed', e.topic, 1, true);
      if (code !== E.ERR__QUEUE_FULL) this.acct.failed(err, 'produce');
    }
  }

  private delivered(err: LibrdKafkaError | null | undefined, r: DeliveryReport): void {
    this.inside.set(r.topic, (this.inside.get(r.topic) ?? 1) - 1);
    this.acct.unqueue((r.size ?? 0) + keyBytes(r.key));
    if (err) {
      this.acct.failed(err, 'send');
      const reason = err.code === E.ERR__MSG_TIMED_OUT ? 'expired' : 'send_failed';
      this.acct.shed(reason, r.topic, 1, true);
      return;
    }
    this.acct.sent(1);
  }

  /** Messages that waited for the first connection longer than maxQueueAgeMs. */
  private expireEarly(): void {
    const limit = Date.now() - this.maxAgeMs;
    let n = 0;
    while (n < this.early.length && this.early[n].at < limit) n++;
    for (const e of this.early.splice(0, n)) {
      this.acct.unqueue(e.bytes);
      this.acct.shed('expired', e.topic, 1, true);
    }
  }

  flush(): Promise<void> {
    return this.acct.flush();
  }

  stats(): ProducerStats {
    return this.acct.stats();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.flush(),
      new Promise<void>((r) => (timer = setTimeout(r, this.closeTimeoutMs))),
    ]);
    clearTimeout(timer);
    await this.connecting;
    if (this.ready) {
      await new Promise<void>((r) => this.p.disconnect(0, () => r()));
      this.ready = false;
    }
    // what librdkafka still held, and what never reached it, is shed
    for (const e of this.early.splice(0)) {
      this.acct.unqueue(e.bytes);
      this.acct.shed('closed', e.topic, 1, true);
    }
    for (const [topic, n] of this.inside) this.acct.shed('closed', topic, n, true);
    this.inside.clear();
    this.acct.st.queuedMessages = 0;
    this.acct.st.queuedBytes = 0;
  }
}

/** The package's KafkaJS-shaped logger → our logger (its info lines are routine: debug). */
function layerLogger(log: Logger) {
  const at =
    (warn: boolean) =>
    (message: string, extra?: object): void => {
      const f = extra as Record<string, unknown> | undefined;
      if (warn) log.warn(`librdkafka: ${message}`, f);
      else if (log.enabled('debug')) log.debug(`librdkafka: ${message}`, f);
    };
  const l = {
    info: at(false),
    debug: at(false),
    warn: at(false),
    error: at(true),
    namespace: () => l,
    setLogLevel: () => undefined,
  };
  return l;
}

type RdConsumer = KafkaJS.Consumer;

export class RdkafkaConsumer implements Consumer {
  private readonly log: Logger;
  private readonly kafka: KafkaJS.Kafka;
  private c: RdConsumer;
  private st: ConsumerStats = emptyConsumerStats();
  private readyP: Promise<void>;
  private joined?: () => void;
  private closed = false;
  private readonly redelivery: Redelivery;
  private readonly commits: CommitCycle;
  /** Partitions ("topic/partition") assigned now. */
  private assigned = new Set<string>();
  /** Batches in the handler now (close() waits for them before its last commit). */
  private inFlight = new Set<Promise<void>>();
  private handler?: BatchHandler;

  constructor(private readonly o: KafkaConsumerOptions) {
    this.log = (o.logger ?? defaultLog).child({
      component: 'kafka-consumer',
      client: 'rdkafka',
      groupId: o.groupId,
    });
    this.redelivery = new Redelivery(o, this.log, () => this.closed);
    this.commits = new CommitCycle({
      intervalMs: o.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS,
      commit: (offsets) => this.c.commitOffsets(offsets),
      canCommit: () => this.assigned.size > 0,
      owns: (topic, partition) => this.assigned.has(`${topic}/${partition}`),
      st: this.st,
      log: this.log,
      describe: (err) => this.describe(err),
    });
    this.readyP = new Promise((resolve) => (this.joined = resolve));
    this.kafka = new KafkaJS.Kafka({
      kafkaJS: {
        brokers: o.brokers,
        clientId: o.clientId ?? 'hopwatch',
        connectionTimeout: Math.max(1000, o.connectTimeoutMs ?? 3000),
        requestTimeout: o.requestTimeoutMs ?? 10_000,
        logger: layerLogger(this.log),
        logLevel: this.log.enabled('debug') ? KafkaJS.logLevel.DEBUG : KafkaJS.logLevel.WARN,
      },
      ...RDKAFKA_RECONNECT,
      ...rdkafkaSecurity(o.security),
    });
    this.c = this.create();
  }

  private create(): RdConsumer {
    const o = this.o;
    return this.kafka.consumer({
      kafkaJS: {
        groupId: o.groupId,
        fromBeginning: o.fromBeginning ?? true,
        autoCommit: false,
        sessionTimeout: o.sessionTimeoutMs ?? 10_000,
        heartbeatInterval: o.heartbeatIntervalMs ?? 1000,
      },
      'fetch.wait.max.ms': o.maxWaitTimeMs ?? 1000,
      'max.partition.fetch.bytes': o.maxBytesPerPartition ?? 1024 * 1024,
      // messages per eachBatch call (the layer's default is 32)
      'js.consumer.max.batch.size': 1000,
      // the same assignor name as no other client: a group must not mix clients (docs/kafka.md)
      'partition.assignment.strategy': 'roundrobin',
      // the layer awaits this callback (and applies a truthy result as the assignment)
      rebalance_cb: async (
        err: LibrdKafkaError,
        assignment: { topic: string; partition: number }[],
      ): Promise<void> => {
        if (err.code === E.ERR__ASSIGN_PARTITIONS) {
          const parts: Record<string, number[]> = {};
          for (const a of assignment) {
            (parts[a.topic] ??= []).push(a.partition);
            this.assigned.add(`${a.topic}/${a.partition}`);
          }
          this.log.info('joined consumer group', { assignment: parts });
          this.joined?.();
          this.joined = undefined;
        } else {
          this.log.info('partitions revoked', { count: assignment.length });
          // still ours until this returns: the batches in the handler finish and the handled
          // batches' offsets are committed now, so the next owner does not handle them again
          // (bounded: a handler waiting for a store outage must not hold the group for long)
          if (!this.closed) {
            await settleWithin(this.inFlight, CLOSE_COMMIT_MS);
            await settleWithin([this.commits.flush()], CLOSE_COMMIT_MS);
          }
          for (const a of assignment) this.assigned.delete(`${a.topic}/${a.partition}`);
          this.commits.retain((topic, partition) => this.assigned.has(`${topic}/${partition}`));
        }
      },
    } as KafkaJS.ConsumerConstructorConfig);
  }

  async run(handler: BatchHandler, o?: RunOptions): Promise<void> {
    if (this.handler) throw new Error('kafka consumer: already running');
    this.handler = handler;
    this.commits.start(o?.beforeCommit);
    const c = this.c;
    try {
      await c.connect();
      await c.subscribe({ topics: this.o.topics });
    } catch (err) {
      const text = describeKafkaError(err, this.o.brokers, this.o.security);
      this.log.error('kafka consumer: cannot start', { error: text });
      await c.disconnect().catch(() => undefined);
      throw new Error(`kafka consumer (group ${this.o.groupId}): ${text}`);
    }
    await c.run({
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => {
        const p = this.eachBatch(payload);
        this.inFlight.add(p);
        return p.finally(() => this.inFlight.delete(p));
      },
    });
  }

  private readonly describe = (err: unknown): string =>
    describeKafkaError(err, this.o.brokers, this.o.security);

  private async eachBatch(payload: KafkaJS.EachBatchPayload): Promise<void> {
    const { batch, isRunning, isStale } = payload;
    if (!batch.messages.length || !isRunning() || isStale() || this.closed) return;
    const { topic, partition } = batch;
    const id = `${topic}/${partition}`;
    const messages = batch.messages.map((m) => ({
      key: (m.key as Buffer | null | undefined) ?? null,
      value: (m.value as Buffer | null) ?? Buffer.alloc(0),
      offset: m.offset,
    }));
    try {
      await this.handler!({ topic, partition, messages });
    } catch (err) {
      this.st.failures++;
      this.redelivery.failed(this.c, topic, partition, messages, err);
      return;
    }
    this.redelivery.succeeded(id);
    this.st.batches++;
    this.st.messages += messages.length;
    const last = messages[messages.length - 1].offset;
    payload.resolveOffset(last);
    this.commits.handled(topic, partition, last);
  }

  ready(): Promise<void> {
    return this.readyP;
  }

  stats(): ConsumerStats {
    return { ...this.st };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.redelivery.clear();
    await settleWithin(this.inFlight, CLOSE_COMMIT_MS);
    await this.commits.close(CLOSE_COMMIT_MS);
    await disconnectWithin(this.c, this.o.disconnectTimeoutMs ?? 15_000, this.log, this.describe);
  }
}
