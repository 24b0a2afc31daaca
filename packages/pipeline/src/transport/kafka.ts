/**
 * Kafka transport over kafkajs (kept behind the Producer / Consumer interfaces).
 *
 * KafkaProducer: a bounded in-memory queue drained by one background loop with
 * `sendBatch` (GZIP at level 1, acks=all, one request in flight). Capture never waits for Kafka: when
 * the queue is full, messages are shed (dropped and counted, by reason); messages older than
 * `maxQueueAgeMs` are shed as 'expired'; a batch that failed `maxAttempts` times is shed as
 * 'send_failed'. Failed attempts are retried with exponential backoff.
 *
 * KafkaConsumer: a consumer-group member with autoCommit off; a batch's offsets are
 * committed only after the handler resolved. On a handler failure nothing is committed, the
 * partition is paused, rewound (seek) to the batch's first offset and resumed after a
 * backoff, so the same messages are delivered again (also to another member, or after a
 * restart, since the group's committed offset did not move).
 *
 * Length: producer and consumer share the kafkajs workarounds, the error classification and the
 * shed accounting kept here; splitting them would spread the one seam kafkajs is confined to.
 */
import { promisify } from 'util';
import * as zlib from 'zlib';
import {
  Admin,
  CompressionCodecs,
  CompressionTypes,
  Consumer as KjsConsumer,
  EachBatchPayload,
  Kafka,
  logLevel as KjsLogLevel,
  LogEntry,
  Producer as KjsProducer,
  TopicMessages,
} from 'kafkajs';
import { Logger, log as defaultLog } from '../metrics/log';
import {
  BatchHandler,
  Consumer,
  ConsumerStats,
  emptyConsumerStats,
  OutMessage,
  Producer,
  ProducerStats,
  RunOptions,
  ShedReason,
  type KafkaSecurity,
} from './types';
import {
  CLOSE_COMMIT_MS,
  CommitCycle,
  disconnectWithin,
  Redelivery,
  settleWithin,
} from './consumer-batch';
import { ProducerAccount } from './producer-account';
import { kafkajsSecurity } from './kafkajs-security';
import { inflateBatch } from './gunzip';
import { lz4Compress, lz4Decompress } from './lz4';
import './kafkajs-idle';

/**
 * kafkajs compresses GZIP record batches at zlib's default level (6). Level 1 compresses our
 * messages several times faster for a somewhat larger batch (see docs/kafka.md), and any gzip
 * reader reads either. kafkajs keeps codecs in one process-wide table: this replaces its GZIP
 * entry for every kafkajs client in the process, once, when this module loads.
 */
export const GZIP_LEVEL = 1;
const gzip = promisify(zlib.gzip) as (b: Buffer, o: zlib.ZlibOptions) => Promise<Buffer>;
CompressionCodecs[CompressionTypes.GZIP] = () => ({
  compress: (encoder: { buffer: Buffer }) => gzip(encoder.buffer, { level: GZIP_LEVEL }),
  // synchronous, one buffer: the asynchronous inflate cost analyze 3-4x its CPU (gunzip.ts)
  decompress: async (buffer: Buffer) => inflateBatch(buffer),
});
/** kafkajs has no LZ4 of its own: the JavaScript frames of lz4.ts, so that a kafkajs client
 * reads and writes what librdkafka (and every other Kafka client) does. */
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (encoder: { buffer: Buffer }) => lz4Compress(encoder.buffer),
  decompress: async (buffer: Buffer) => lz4Decompress(buffer),
});

export interface KafkaCommonOptions {
  brokers: string[];
  clientId?: string;
  /** TCP connect timeout per broker (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Request timeout (default 10000 ms). */
  requestTimeoutMs?: number;
  /** TLS / SASL (absent: plaintext, no authentication). */
  security?: KafkaSecurity;
  logger?: Logger;
}

/** kafkajs log lines go to our logger at debug level (they are very chatty while a broker
 * is down); our own code logs the state changes that matter at warn/info. */
function kjsLogCreator(logger: Logger) {
  return () =>
    ({ level, log: entry }: LogEntry): void => {
      if (!logger.enabled('debug')) return;
      const { message, ...rest } = entry;
      logger.debug(`kafkajs: ${message}`, { kafkajsLevel: KjsLogLevel[level], ...rest });
    };
}

function makeKafka(o: KafkaCommonOptions, retries: number, logger: Logger): Kafka {
  return new Kafka({
    clientId: o.clientId ?? 'hopwatch',
    brokers: o.brokers,
    connectionTimeout: o.connectTimeoutMs ?? 3000,
    requestTimeout: o.requestTimeoutMs ?? 10000,
    retry: { retries, initialRetryTime: 100, maxRetryTime: 2000 },
    logLevel: KjsLogLevel.DEBUG,
    logCreator: kjsLogCreator(logger),
    ...kafkajsSecurity(o.security),
  });
}

/** One line explaining a kafkajs error, with the brokers (for logs and stats). With the
 * connection's security, authentication and TLS failures say what to check (the password is
 * never part of it). */
export function describeKafkaError(
  err: unknown,
  brokers: string[],
  security?: KafkaSecurity,
): string {
  const e = err as {
    name?: string;
    message?: string;
    cause?: { message?: string };
    originalError?: Error;
  };
  const name = e?.name ?? 'Error';
  let msg = e?.message ?? String(err);
  const inner = e?.originalError?.message ?? e?.cause?.message;
  if (inner && !msg.includes(inner)) msg += `: ${inner}`;
  const at = brokers.join(',');
  if (/SASLAuthentication/.test(name) || /SASL .*authentication failed/i.test(msg)) {
    const who = security?.sasl
      ? ` (SASL ${security.sasl.mechanism} as user ${security.sasl.username})`
      : '';
    return `Kafka authentication failed at ${at}${who}: ${msg}; check the user and password (kafka.sasl)`;
  }
  if (/ERR__AUTHENTICATION|SASL authentication error/i.test(msg) && security?.sasl) {
    const who = ` (SASL ${security.sasl.mechanism} as user ${security.sasl.username})`;
    return `Kafka authentication failed at ${at}${who}: ${msg}; check the user and password (kafka.sasl)`;
  }
  if (TLS_REFUSED.test(msg))
    return `TLS: the certificate of Kafka brokers ${at} was not accepted (${msg}); check the CA file (kafka.tls.caFile) and the server name (kafka.tls.serverName)`;
  if (security?.tls && /before secure TLS connection|wrong version number|EPROTO/i.test(msg))
    return `TLS handshake with Kafka brokers ${at} failed (${name}: ${msg}); is that port a TLS (SSL / SASL_SSL) listener?`;
  const conn =
    /KafkaJSConnectionError|KafkaJSNumberOfRetriesExceeded|KafkaJSNonRetriableError|KafkaJSRequestTimeoutError/.test(
      name,
    ) ||
    /ECONNREFUSED|Connection (error|timeout|refused)|connect ETIMEDOUT|socket|Closed connection|brokers? (are|is) down|connections are down|Broker transport failure|Disconnected/i.test(
      msg,
    );
  // a TLS (or SASL) listener closes a plaintext client's connection without an answer
  const hint =
    !security?.tls && /Closed connection/i.test(msg)
      ? '; the broker closed the connection: if the listener expects TLS or SASL, configure kafka.tls / kafka.sasl'
      : '';
  return conn
    ? `cannot reach Kafka brokers ${at} (${name}: ${msg})${hint}`
    : `Kafka error from ${at} (${name}: ${msg})`;
}

/** Node's messages for a certificate the client refused (chain, expiry, name). */
const TLS_REFUSED =
  /certificate verify failed|self[- ]signed certificate|unable to (verify|get (local )?issuer)|certificate (has expired|is not yet valid|signature failure)|does not match certificate's altnames|CERT_|ERR_TLS_CERT/i;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Protocol errors that only mean "the cluster's metadata has not caught up yet". */
const METADATA_LAG = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'NOT_COORDINATOR',
]);

/** Whether `err` (or what it wraps) is one of METADATA_LAG. */
export function isMetadataLag(err: unknown): boolean {
  for (
    let e = err as { type?: unknown; originalError?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 5;
    i++
  ) {
    if (typeof e.type === 'string' && METADATA_LAG.has(e.type)) return true;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return false;
}

export type KafkaCompression = 'none' | 'gzip' | 'lz4' | 'zstd';
export const KAFKA_COMPRESSIONS: readonly KafkaCompression[] = ['none', 'gzip', 'lz4', 'zstd'];
/** The data topics' codec unless configured: the cheapest in CPU per report of the four that
 * still shrinks what Kafka stores (docs/kafka.md#compression), and both clients read it. */
export const DEFAULT_COMPRESSION: KafkaCompression = 'lz4';

export interface KafkaProducerOptions extends KafkaCommonOptions {
  /** Queue bounds; beyond them send() sheds ('queue_full'). Defaults 64 MiB / 100,000. */
  maxQueuedBytes?: number;
  maxQueuedMessages?: number;
  /** Messages waiting longer are shed ('expired'); default 30,000 ms. */
  maxQueueAgeMs?: number;
  /** Per sendBatch call (default 1000 messages / 4 MiB). */
  batchMaxMessages?: number;
  batchMaxBytes?: number;
  /** Bytes (before compression) of one partition in one sendBatch call: default 900 KiB
   * uncompressed, 4 MiB with gzip. The messages of a partition travel as one record batch,
   * which the broker refuses above its `message.max.bytes` (1 MiB by default): a backlog for
   * one hot partition would exceed it and every retry would fail. When the broker still says
   * "too large" (small limit, data that does not compress), the bound is halved for good. */
  partitionMaxBytes?: number;
  /** Attempts per batch before it is shed ('send_failed'); default 8 (about 16 s of backoff). */
  maxAttempts?: number;
  /** Backoff between failed attempts: initial and maximum (default 200 ms, 5000 ms). */
  retryBackoffMs?: number;
  maxRetryBackoffMs?: number;
  /** kafkajs idempotent producer; default false. kafkajs (unmaintained) mishandles its
   * sequence numbers across partition leader changes: sends fail with "out of order sequence
   * number", and acknowledged batches were seen missing from the log. Without it, a retry can
   * write a message twice; consumers skip byte-identical copies (docs/kafka.md). */
  idempotent?: boolean;
  /** Record-batch compression (default DEFAULT_COMPRESSION). kafkajs has gzip and, through
   * lz4.ts, lz4; zstd is refused here (the rdkafka client has all four). */
  compression?: KafkaCompression;
  /** close() waits this long for the queue to drain (default 5000 ms). */
  closeTimeoutMs?: number;
  /** Called for every shed group of messages (e.g. to count them in metrics). */
  onShed?: (reason: ShedReason, topic: string, count: number) => void;
}

const KJS_CODEC: Record<KafkaCompression, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD, // refused by the constructor
};

interface Entry {
  topic: string;
  m: OutMessage;
  bytes: number;
  at: number;
}

export class KafkaProducer implements Producer {
  private o: Required<
    Omit<
      KafkaProducerOptions,
      'logger' | 'onShed' | 'clientId' | 'connectTimeoutMs' | 'requestTimeoutMs' | 'security'
    >
  > &
    KafkaProducerOptions;
  private log: Logger;
  private queue: Entry[] = [];
  private head = 0;
  private readonly acct: ProducerAccount;
  private kafka: Kafka;
  private producer?: KjsProducer;
  private pumping?: Promise<void>;
  private closed = false;
  private stopping = false;
  private wake?: () => void;

  constructor(opts: KafkaProducerOptions) {
    if (opts.compression === 'zstd')
      throw new Error(`compression zstd needs the rdkafka client (kafkajs has gzip, lz4 and none)`);
    this.o = {
      maxQueuedBytes: 64 * 1024 * 1024,
      maxQueuedMessages: 100_000,
      maxQueueAgeMs: 30_000,
      batchMaxMessages: 1000,
      batchMaxBytes: 4 * 1024 * 1024,
      maxAttempts: 8,
      retryBackoffMs: 200,
      maxRetryBackoffMs: 5000,
      idempotent: false,
      compression: DEFAULT_COMPRESSION,
      closeTimeoutMs: 5000,
      ...opts,
      partitionMaxBytes:
        opts.partitionMaxBytes ?? (opts.compression === 'none' ? 900 * 1024 : 4 * 1024 * 1024),
    };
    this.partitionBytes = this.o.partitionMaxBytes;
    this.log = (opts.logger ?? defaultLog).child({ component: 'kafka-producer' });
    this.acct = new ProducerAccount({
      log: this.log,
      brokers: opts.brokers,
      maxMessages: this.o.maxQueuedMessages,
      maxBytes: this.o.maxQueuedBytes,
      onShed: opts.onShed,
      describe: (err) => describeKafkaError(err, opts.brokers, opts.security),
    });
    // Few kafkajs-internal retries: our loop retries (and sheds) instead.
    this.kafka = makeKafka(opts, 2, this.log);
  }

  send(topic: string, messages: OutMessage[]): void {
    const now = Date.now();
    let shedFull = 0;
    let shedClosed = 0;
    for (const m of messages) {
      const bytes = m.value.byteLength + (m.key ? Buffer.byteLength(m.key) : 0);
      if (this.closed) {
        shedClosed++;
        continue;
      }
      if (!this.acct.admit(bytes)) {
        shedFull++;
        continue;
      }
      this.queue.push({ topic, m, bytes, at: now });
    }
    this.acct.shed('queue_full', topic, shedFull, false);
    this.acct.shed('closed', topic, shedClosed, false);
    if (!this.closed) this.kick();
  }

  private kick(): void {
    if (this.wake) this.wake();
    if (!this.pumping) {
      this.pumping = this.pump().catch((err) => {
        this.log.error('producer loop crashed', { err });
      });
    }
  }

  private take(n: number): Entry[] {
    const out = this.queue.slice(this.head, this.head + n);
    this.head += out.length;
    for (const e of out) {
      this.acct.unqueue(e.bytes);
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  private expire(): void {
    const limit = Date.now() - this.o.maxQueueAgeMs;
    const byTopic = new Map<string, number>();
    let n = 0;
    while (this.head + n < this.queue.length && this.queue[this.head + n].at < limit) {
      const t = this.queue[this.head + n].topic;
      byTopic.set(t, (byTopic.get(t) ?? 0) + 1);
      n++;
    }
    if (!n) return;
    this.take(n);
    for (const [t, c] of byTopic) this.acct.shed('expired', t, c, true);
  }

  private async connect(): Promise<KjsProducer> {
    if (this.producer) return this.producer;
    const p = this.kafka.producer({
      idempotent: this.o.idempotent,
      // one request in flight: retries never reorder messages within a partition
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // No kafkajs-internal retries. Its retry of a multi-partition send only re-sends to
      // brokers that have not answered yet: a partition whose leadership moved to a broker
      // that already acknowledged its own partitions is silently left out, and the send
      // resolves as if everything was written (acknowledged batches missing from the log,
      // seen here when a broker stopped). Our loop re-sends the whole batch instead; copies
      // that did reach the log are byte-identical messages, which consumers skip.
      retry: { retries: 0 },
    });
    try {
      await p.connect();
    } catch (err) {
      await p.disconnect().catch(() => undefined);
      throw err;
    }
    this.producer = p;
    return p;
  }

  private async dropProducer(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    if (p) await p.disconnect().catch(() => undefined);
  }

  private async backoff(attempt: number): Promise<void> {
    const ms = Math.min(
      this.o.maxRetryBackoffMs,
      this.o.retryBackoffMs * 2 ** Math.max(0, attempt - 1),
    );
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      // only close() interrupts a backoff
      this.wake = () => {
        if (this.stopping) done();
      };
    });
  }

  private async pump(): Promise<void> {
    let batch: Entry[] = [];
    let attempts = 0;
    for (;;) {
      this.expire();
      if (batch.length === 0) {
        attempts = 0;
        batch = this.take(
          this.fitting((i) => this.queue[this.head + i], this.queue.length - this.head),
        );
      }
      if (batch.length === 0) break;
      if (this.stopping && this.closed && this.abandon) {
        this.shedBatch(batch, 'closed');
        batch = [];
        continue;
      }
      let producer: KjsProducer;
      try {
        producer = await this.connect();
      } catch (err) {
        this.acct.failed(err, 'connect');
        attempts++;
        if (attempts >= this.o.maxAttempts) {
          this.shedBatch(batch, 'send_failed');
          batch = [];
        }
        if (this.abandon) continue;
        await this.backoff(attempts);
        continue;
      }
      // after a "too large" answer the bound shrank: send what fits now, the rest next
      const n = this.fitting((i) => batch[i], batch.length);
      const part = n === batch.length ? batch : batch.slice(0, n);
      const groups = new Map<string, TopicMessages>();
      for (const e of part) {
        let g = groups.get(e.topic);
        if (!g) {
          g = { topic: e.topic, messages: [] };
          groups.set(e.topic, g);
        }
        const v = e.m.value;
        g.messages.push({
          key: e.m.key,
          value: Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength),
          partition: e.m.partition,
        });
      }
      try {
        await producer.sendBatch({
          topicMessages: [...groups.values()],
          acks: -1,
          compression: KJS_CODEC[this.o.compression],
        });
      } catch (err) {
        if (n > 1 && isTooLarge(err) && this.partitionBytes > 64 * 1024) {
          // the broker's message.max.bytes is below our bound (or the data did not compress):
          // halve it for good and send the same messages in smaller record batches
          this.partitionBytes = Math.max(64 * 1024, this.partitionBytes >>> 1);
          this.log.warn('kafka producer: record batch too large for the broker; sending less', {
            partitionMaxBytes: this.partitionBytes,
          });
          continue;
        }
        this.acct.failed(err, 'send');
        attempts++;
        // kafkajs's idempotent producer does not recover its sequence numbers after a leader
        // change ("out of order sequence number"): start over with a new producer id and send
        // the same batch again. A copy that did reach the broker is a byte-identical message,
        // which consumers skip (see docs/distributed.md).
        if (
          this.o.idempotent &&
          /OUT_OF_ORDER_SEQUENCE|out of order sequence|UNKNOWN_PRODUCER|PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/i.test(
            String((err as Error)?.message ?? err) + String((err as { type?: string })?.type ?? ''),
          )
        ) {
          await this.dropProducer();
        }
        if (attempts >= this.o.maxAttempts) {
          this.shedBatch(batch, 'send_failed');
          batch = [];
          // With an idempotent producer, a new producer id avoids reusing the sequence
          // numbers of a batch that may have reached the broker after all.
          if (this.o.idempotent) await this.dropProducer();
        }
        if (this.abandon) continue;
        await this.backoff(attempts);
        continue;
      }
      this.acct.sent(n);
      batch = n === batch.length ? [] : batch.slice(n);
      attempts = 0;
    }
    this.pumping = undefined;
  }

  private abandon = false;
  private readonly perPartition = new Map<string, number>();
  private partitionBytes: number;

  /** How many leading entries (at least one) go into one sendBatch: within the message and
   * byte bounds of the call and, per partition, within partitionBytes. */
  private fitting(at: (i: number) => Entry, available: number): number {
    let bytes = 0;
    let n = 0;
    const perPartition = this.perPartition;
    perPartition.clear();
    while (n < available && n < this.o.batchMaxMessages) {
      const e = at(n);
      // without an explicit partition the partitioner decides: count the topic as one
      const key = `${e.topic}/${e.m.partition ?? -1}`;
      const inPartition = (perPartition.get(key) ?? 0) + e.bytes;
      if (n > 0 && (bytes + e.bytes > this.o.batchMaxBytes || inPartition > this.partitionBytes))
        break;
      perPartition.set(key, inPartition);
      bytes += e.bytes;
      n++;
    }
    return n;
  }

  private shedBatch(batch: Entry[], reason: ShedReason): void {
    const byTopic = new Map<string, number>();
    for (const e of batch) byTopic.set(e.topic, (byTopic.get(e.topic) ?? 0) + 1);
    for (const [t, c] of byTopic) this.acct.shed(reason, t, c, true);
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
    const drained = await Promise.race([
      this.flush().then(() => true),
      sleep(this.o.closeTimeoutMs).then(() => false),
    ]);
    if (!drained) {
      this.stopping = true;
      this.abandon = true;
      this.wake?.();
      const rest = this.take(this.queue.length - this.head);
      this.shedBatch(rest, 'closed');
      // Interrupts a send in flight (it fails, and its batch is shed as 'closed').
      await this.dropProducer();
      await this.pumping;
    }
    await this.dropProducer();
  }
}

export interface KafkaConsumerOptions extends KafkaCommonOptions {
  groupId: string;
  topics: string[];
  /** Where a group without committed offsets starts (default true: the beginning). */
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Redelivery backoff after a handler failure: initial and maximum (100 ms, 10 s). */
  retryBackoffMs?: number;
  maxRetryBackoffMs?: number;
  maxBytesPerPartition?: number;
  /** Longest a fetch waits for data (default 1000 ms); also bounds how long close() and a
   * redelivery after a failure can wait for a fetch in flight. */
  maxWaitTimeMs?: number;
  /** Partitions processed concurrently (default 1). */
  partitionsConsumedConcurrently?: number;
  /** A partition behind its log end without progress this long makes the member rejoin
   * with a fresh consumer (default 30,000 ms; 0 disables the check). */
  stallTimeoutMs?: number;
  /** How long close() (and a rejoin) waits for kafkajs to disconnect (default 15,000 ms). */
  disconnectTimeoutMs?: number;
  /** Handled batches' offsets are committed together this often (default 500 ms), and at
   * close and before partitions are revoked. */
  commitIntervalMs?: number;
}

export const DEFAULT_COMMIT_INTERVAL_MS = 500;

export class KafkaConsumer implements Consumer {
  private kafka: Kafka;
  private consumer: KjsConsumer;
  private log: Logger;
  private st: ConsumerStats = emptyConsumerStats();
  private readyP: Promise<void>;
  private joined?: () => void;
  private closed = false;
  private readonly redelivery: Redelivery;
  private readonly commits: CommitCycle;
  /** The consumer that joined the group last and commits the offsets (none while replacing),
   * and the partitions ("topic/partition") it was assigned. */
  private committer?: KjsConsumer;
  private assigned = new Set<string>();
  private handler?: BatchHandler;
  /** Assigned partitions ("topic/partition") → when they last made progress (or were
   * assigned), and the next offset this member will handle. */
  private progress = new Map<string, number>();
  private nextOffset = new Map<string, bigint>();
  /** Batches in the handler now (up to partitionsConsumedConcurrently): a rejoin waits for
   * all of them, so an old consumer's batch never overlaps the new one's for a partition. */
  private inFlight = new Set<Promise<void>>();
  /** Partitions whose batch is in the handler now → since when. */
  private handling = new Map<string, number>();
  private watchdog?: NodeJS.Timeout;
  private checking = false;
  private admin?: Admin;

  constructor(private o: KafkaConsumerOptions) {
    this.log = (o.logger ?? defaultLog).child({ component: 'kafka-consumer', groupId: o.groupId });
    this.redelivery = new Redelivery(o, this.log, () => this.closed);
    this.commits = new CommitCycle({
      intervalMs: o.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS,
      commit: (offsets) => this.committer!.commitOffsets(offsets),
      canCommit: () => this.committer !== undefined,
      owns: (topic, partition) => this.assigned.has(`${topic}/${partition}`),
      st: this.st,
      log: this.log,
      describe: (err) => this.describe(err),
    });
    this.kafka = makeKafka(o, 5, this.log);
    this.readyP = new Promise((resolve) => (this.joined = resolve));
    this.consumer = this.create();
  }

  private create(): KjsConsumer {
    const o = this.o;
    const c = this.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: o.heartbeatIntervalMs ?? 1000,
      maxBytesPerPartition: o.maxBytesPerPartition,
      maxWaitTimeInMs: o.maxWaitTimeMs ?? 1000,
      allowAutoTopicCreation: false,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
    });
    c.on(c.events.GROUP_JOIN, (e) => {
      if (c !== this.consumer || this.closed) {
        // A replaced consumer that kafkajs restarted after a crash (its restart timer outlives
        // our disconnect) joins again: its batches are ignored, so the partitions it takes
        // would never move. It leaves the group at once.
        this.log.warn('kafka consumer: a replaced consumer rejoined the group; disconnecting it', {
          memberId: e.payload.memberId,
        });
        void this.disconnect(c);
        return;
      }
      this.log.info('joined consumer group', {
        memberId: e.payload.memberId,
        assignment: e.payload.memberAssignment,
      });
      const now = Date.now();
      this.progress.clear();
      this.assigned.clear();
      for (const [topic, parts] of Object.entries(e.payload.memberAssignment))
        for (const p of parts) {
          this.progress.set(`${topic}/${p}`, now);
          this.assigned.add(`${topic}/${p}`);
        }
      // offsets of partitions now owned by another member are not committed (that member
      // starts from the last commit; the offset ledger and the digests absorb the redelivery)
      this.commits.retain((topic, partition) => this.assigned.has(`${topic}/${partition}`));
      this.committer = c;
      this.joined?.();
      this.joined = undefined;
    });
    // a rebalance is starting: the group still accepts this generation's commits until it
    // completes, so the handled batches of the partitions about to be revoked are committed now
    c.on(c.events.REBALANCING, () => {
      if (c === this.consumer && !this.closed) void this.commits.flush();
    });
    c.on(c.events.CRASH, (e) => {
      if (c !== this.consumer || this.closed) {
        // A replaced consumer crashed (often because we disconnected it mid-join). kafkajs
        // arms its restart timer right after this event: stop() on the next turn clears it,
        // else the old consumer joins again and again, each time forcing a rebalance.
        if (e.payload.restart) setImmediate(() => void c.stop().catch(() => undefined));
        return;
      }
      this.log.error('kafka consumer crashed', {
        error: describeKafkaError(e.payload.error, o.brokers, o.security),
        restart: e.payload.restart,
      });
      // kafkajs restarts itself only after errors it deems retriable; after any other (e.g.
      // "Failed to find group coordinator" while a broker is loaded or restarting) the consumer
      // is gone for good and the process would idle with its partitions unread: replace it
      if (!e.payload.restart && c === this.consumer && !this.closed && this.handler)
        void this.replaceAfterCrash(c);
    });
    return c;
  }

  async run(handler: BatchHandler, o?: RunOptions): Promise<void> {
    if (this.handler) throw new Error('kafka consumer: already running');
    this.handler = handler;
    this.commits.start(o?.beforeCommit);
    await this.start(this.consumer);
    const stallMs = this.o.stallTimeoutMs ?? 30_000;
    if (stallMs > 0) {
      this.watchdog = setInterval(
        () => void this.checkStall(stallMs),
        Math.min(5000, Math.max(100, stallMs / 3)),
      );
      this.watchdog.unref();
    }
  }

  private async start(c: KjsConsumer): Promise<void> {
    // Topics just created (analyze creates them at start-up) are not known to every broker at
    // once: subscribing then fails with "does not host this topic-partition" for a moment.
    // Such metadata errors are waited out (up to 60 s); anything else fails at once.
    const until = Date.now() + 60_000;
    for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
      try {
        await c.connect();
        await c.subscribe({ topics: this.o.topics, fromBeginning: this.o.fromBeginning ?? true });
        break;
      } catch (err) {
        const text = describeKafkaError(err, this.o.brokers, this.o.security);
        if (isMetadataLag(err) && Date.now() + wait < until) {
          this.log.warn('kafka consumer: topic metadata not ready yet, retrying', {
            error: text,
            retryInMs: wait,
          });
          await sleep(wait);
          continue;
        }
        this.log.error('kafka consumer: cannot start', { error: text });
        await c.disconnect().catch(() => undefined);
        throw new Error(`kafka consumer (group ${this.o.groupId}): ${text}`);
      }
    }
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => {
        const p = this.eachBatch(c, payload);
        this.inFlight.add(p);
        return p.finally(() => this.inFlight.delete(p));
      },
    });
  }

  private readonly describe = (err: unknown): string =>
    describeKafkaError(err, this.o.brokers, this.o.security);

  private async eachBatch(c: KjsConsumer, payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    if (!batch.messages.length || !isRunning() || isStale() || c !== this.consumer || this.closed)
      return;
    const { topic, partition } = batch;
    const id = `${topic}/${partition}`;
    const messages = batch.messages.map((m) => ({
      key: m.key,
      value: m.value ?? Buffer.alloc(0),
      offset: m.offset,
    }));
    this.handling.set(id, Date.now());
    try {
      await this.handler!({ topic, partition, messages });
    } catch (err) {
      this.handling.delete(id);
      this.st.failures++;
      this.redelivery.failed(c, topic, partition, messages, err);
      return;
    }
    this.handling.delete(id);
    this.redelivery.succeeded(id);
    this.st.batches++;
    this.st.messages += messages.length;
    const last = messages[messages.length - 1].offset;
    this.progress.set(id, Date.now());
    this.nextOffset.set(id, BigInt(last) + 1n);
    resolveOffset(last);
    this.commits.handled(topic, partition, last);
    await heartbeat().catch(() => undefined);
  }

  /** kafkajs can stop fetching some partitions for good after a partition leader moved (a
   * broker went down and came back) while the group stays healthy. A partition that is
   * behind its log end and made no progress for `stallTimeoutMs` makes the member leave the
   * group and join again with a fresh consumer; it resumes from the committed offsets. */
  private async checkStall(stallMs: number): Promise<void> {
    if (this.checking || this.closed || !this.handler) return;
    this.checking = true;
    try {
      const now = Date.now();
      // A handler that has been busy for long is downstream backpressure (e.g. the store is
      // down and inserts wait), not kafkajs forgetting a partition: no rejoin for that.
      for (const since of this.handling.values()) if (now - since > stallMs / 2) return;
      const quiet = [...this.progress]
        .filter(([id, t]) => now - t > stallMs && !this.redelivery.failing(id))
        .map(([id]) => id);
      if (!quiet.length) return;
      if (!this.admin) {
        const a = this.kafka.admin();
        await a.connect();
        this.admin = a;
      }
      const topics = [...new Set(quiet.map((id) => id.slice(0, id.lastIndexOf('/'))))];
      const committed = new Map<string, bigint>();
      for (const t of await this.admin.fetchOffsets({ groupId: this.o.groupId, topics }))
        for (const p of t.partitions)
          if (Number(p.offset) >= 0) committed.set(`${t.topic}/${p.partition}`, BigInt(p.offset));
      const stalled: { partition: string; behind: string }[] = [];
      for (const topic of topics) {
        for (const p of await this.admin.fetchTopicOffsets(topic)) {
          const id = `${topic}/${p.partition}`;
          if (!quiet.includes(id)) continue;
          const low = BigInt(p.low);
          const done = [this.nextOffset.get(id), committed.get(id), low].reduce(
            (m, v) => (v !== undefined && v > m! ? v : m),
            low,
          )!;
          const high = BigInt(p.high);
          if (high > done) stalled.push({ partition: id, behind: String(high - done) });
          else this.progress.set(id, now); // caught up: nothing to fetch
        }
      }
      if (stalled.length && !this.closed) await this.restart(stalled, stallMs);
    } catch (err) {
      this.log.debug('kafka consumer: stall check failed', {
        error: describeKafkaError(err, this.o.brokers, this.o.security),
      });
    } finally {
      this.checking = false;
    }
  }

  private async restart(stalled: { partition: string; behind: string }[], stallMs: number) {
    this.log.warn('kafka consumer: partitions behind the log end made no progress; rejoining', {
      stalled,
      stalledForMs: stallMs,
    });
    // a failed start: the next check tries again (the partitions keep their old progress time)
    await this.replace();
  }

  /** A crashed consumer kafkajs will not restart: a fresh one joins, retried with a growing
   * delay until it starts (or the consumer is closed). */
  private async replaceAfterCrash(crashed: KjsConsumer): Promise<void> {
    for (let wait = 1000; !this.closed && this.consumer === crashed;) {
      if (await this.replace()) return;
      crashed = this.consumer;
      await sleep(wait);
      wait = Math.min(wait * 2, 30_000);
    }
  }

  /** Swaps in a fresh consumer that rejoins the group and resumes from the committed offsets;
   * false when it could not start. */
  private async replace(): Promise<boolean> {
    this.st.restarts++;
    const old = this.consumer;
    // offsets handled so far wait for the new consumer's join (if it still owns them)
    this.committer = undefined;
    this.consumer = this.create(); // the old one's batches are ignored from now on
    await this.disconnect(old);
    await Promise.allSettled([...this.inFlight]);
    this.redelivery.clear();
    if (this.closed) return true;
    try {
      await this.start(this.consumer);
      return true;
    } catch (err) {
      this.log.warn('kafka consumer: rejoin failed', { error: String(err) });
      return false;
    }
  }

  /** kafkajs's disconnect can hang while a broker is unreachable: give up after a while. */
  private async disconnect(c: KjsConsumer): Promise<void> {
    await disconnectWithin(c, this.o.disconnectTimeoutMs ?? 15_000, this.log, this.describe);
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
    if (this.watchdog) clearInterval(this.watchdog);
    this.redelivery.clear();
    await settleWithin(this.inFlight, CLOSE_COMMIT_MS);
    await this.commits.close(CLOSE_COMMIT_MS);
    await this.disconnect(this.consumer);
    await this.admin?.disconnect().catch(() => undefined);
  }
}

/** The broker refused a record batch for its size (kafkajs error type or message). */
function isTooLarge(err: unknown): boolean {
  const e = err as
    | {
        type?: string;
        message?: string;
        errors?: unknown[];
        cause?: unknown;
        originalError?: unknown;
      }
    | undefined;
  if (!e) return false;
  const text = `${e.type ?? ''} ${e.message ?? ''}`;
  if (/MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|larger than the max message size/i.test(text))
    return true;
  if (Array.isArray(e.errors) && e.errors.some(isTooLarge)) return true;
  return (
    (e.cause !== undefined && e.cause !== err && isTooLarge(e.cause)) ||
    (e.originalError !== undefined && e.originalError !== err && isTooLarge(e.originalError))
  );
}
