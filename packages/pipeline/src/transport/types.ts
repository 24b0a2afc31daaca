/** The transport seam: ingest publishes through a Producer, analytics consumes through a
 * Consumer. Implementations: in-process (embedded mode, unit tests) and Kafka (kafkajs,
 * kept behind this interface so it can be replaced). */

export interface OutMessage {
  key: Buffer | string;
  value: Uint8Array;
  /** Explicit partition; default: Kafka's murmur2 partitioner on the key. */
  partition?: number;
}

/** Why messages were dropped instead of delivered. */
export type ShedReason = 'queue_full' | 'expired' | 'send_failed' | 'closed';

export interface ProducerStats {
  /** Bytes (values + keys) and messages waiting to be sent. */
  queuedBytes: number;
  queuedMessages: number;
  /** Messages acknowledged by the broker. */
  sent: number;
  /** Messages dropped (never delivered), total and by reason. */
  shed: number;
  shedByReason: Record<ShedReason, number>;
  /** Failed send / connect attempts. */
  errors: number;
  /** The last error, e.g. "cannot reach Kafka brokers 127.0.0.1:9092: connect ECONNREFUSED". */
  lastError?: string;
  /** Whether the last attempt to talk to the broker succeeded. */
  connected: boolean;
}

export interface Producer {
  /** Enqueues messages; never blocks and never throws for broker trouble: when the queue is
   * full they are shed (dropped and counted). */
  send(topic: string, messages: OutMessage[]): void;
  /** Resolves when everything enqueued before the call has been sent or shed. */
  flush(): Promise<void>;
  stats(): ProducerStats;
  /** Flushes (up to a timeout), then disconnects; what is still queued is shed ('closed'). */
  close(): Promise<void>;
}

export interface InMessage {
  key: Buffer | null;
  value: Buffer;
  /** Offset as a decimal string (Kafka offsets are 64-bit). */
  offset: string;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: InMessage[];
}

/** Processes one batch of one partition; the batch's offsets are committed only after the
 * returned promise resolves (not necessarily at once: Kafka consumers commit on a cycle). A rejection makes the consumer redeliver the same messages
 * (after a backoff), so handlers must be idempotent. */
export type BatchHandler = (batch: ConsumedBatch) => Promise<void>;

export interface ConsumerStats {
  batches: number;
  messages: number;
  /** Handler rejections (each one leads to a redelivery). */
  failures: number;
  /** Offset commit requests (each covers every partition with handled batches since the
   * previous one) and failed ones. */
  commits: number;
  commitErrors: number;
  /** Times the member left and rejoined its group because partitions stalled. */
  restarts: number;
}

export function emptyConsumerStats(): ConsumerStats {
  return { batches: 0, messages: 0, failures: 0, commits: 0, commitErrors: 0, restarts: 0 };
}

export interface RunOptions {
  /** Runs before each offset commit, and a commit waits for it (Kafka consumers commit the
   * offsets of handled batches on a cycle, see consumer-batch.ts). A rejection postpones the
   * commit to the next cycle. */
  beforeCommit?: () => Promise<void>;
}

export interface Consumer {
  /** Starts consuming; resolves once the consumer is running (see ready()). */
  run(handler: BatchHandler, o?: RunOptions): Promise<void>;
  /** Resolves when the consumer has joined its group and got partitions. */
  ready(): Promise<void>;
  stats(): ConsumerStats;
  /** Stops after the batch in progress, commits the offsets of the batches handled (only those
   * whose handler succeeded) and leaves the group. */
  close(): Promise<void>;
}

/** Where consumer groups stand against the partition ends (the consumer-lag gauge, the idle
 * flush's catch-up check): read through this seam, like messages, not through a client library. */
export interface OffsetAdmin {
  /** Offset after the last message of every partition of `topic` (partition → end offset). */
  endOffsets(topic: string): Promise<Map<number, number>>;
  /** The group's committed offsets: topic → partition → next offset (-1: nothing committed). */
  committedOffsets(groupId: string, topics: string[]): Promise<Map<string, Map<number, number>>>;
  /** Releases the connection; later calls fail. */
  close(): Promise<void>;
}

export function emptyShed(): Record<ShedReason, number> {
  return { queue_full: 0, expired: 0, send_failed: 0, closed: 0 };
}

/** A producer's stats before its first message (`connected`: an in-process one always is). */
export function emptyProducerStats(connected: boolean): ProducerStats {
  return {
    queuedBytes: 0,
    queuedMessages: 0,
    sent: 0,
    shed: 0,
    shedByReason: emptyShed(),
    errors: 0,
    connected,
  };
}

/**
 * TLS and SASL for a Kafka connection, in terms any client maps (kafkajs: `ssl` / `sasl`;
 * librdkafka: `security.protocol`, `ssl.*.location`, `sasl.*`). Files are paths, read by the
 * client at connect time; the password is the resolved secret (never logged: see
 * `describeKafkaSecurity`).
 */
export interface KafkaTls {
  /** PEM file of the CA(s) that signed the broker certificates; absent: the system CAs. */
  caFile?: string;
  /** PEM client certificate and key (mutual TLS); both or neither. */
  certFile?: string;
  keyFile?: string;
  /** Name the broker certificate must carry (and SNI); default: the bootstrap host. */
  serverName?: string;
  /** Check the certificate's name against serverName / the host (default true). */
  verifyServerName: boolean;
}

export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
export const SASL_MECHANISMS: readonly SaslMechanism[] = [
  'PLAIN',
  'SCRAM-SHA-256',
  'SCRAM-SHA-512',
];

export interface KafkaSasl {
  mechanism: SaslMechanism;
  username: string;
  password: string;
}

/** Absent parts: plaintext (no tls) and no authentication (no sasl). */
export interface KafkaSecurity {
  tls?: KafkaTls;
  sasl?: KafkaSasl;
}

/** Kafka's name for the combination (security.protocol): PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL. */
export function securityProtocol(s: KafkaSecurity | undefined): string {
  if (s?.sasl) return s.tls ? 'SASL_SSL' : 'SASL_PLAINTEXT';
  return s?.tls ? 'SSL' : 'PLAINTEXT';
}

/** The security settings for logs: protocol, mechanism and user, never the password. */
export function describeKafkaSecurity(s: KafkaSecurity | undefined): string {
  const p = securityProtocol(s);
  return s?.sasl ? `${p} ${s.sasl.mechanism} user ${s.sasl.username}` : p;
}
