/**
 * What both Kafka producers (kafkajs and librdkafka) count around their queue, so the two keep
 * one behaviour: the bounds send() admits against, shed messages by reason, flush() waiters,
 * and the failure state (one warning when deliveries start failing, one line when they work
 * again).
 */
import type { Logger } from '../metrics/log';
import { emptyProducerStats, type ProducerStats, type ShedReason } from './types';

export interface ProducerAccountOptions {
  log: Logger;
  brokers: string[];
  maxMessages: number;
  maxBytes: number;
  onShed?: (reason: ShedReason, topic: string, n: number) => void;
  /** The error text for logs and `lastError` (the client's own description of it). */
  describe: (err: unknown) => string;
}

export class ProducerAccount {
  readonly st: ProducerStats = emptyProducerStats(false);
  /** Sequence numbers of enqueued and of finished (sent or shed) messages, for flush(). */
  private enqueued = 0;
  private finished = 0;
  private waiters: { upTo: number; resolve: () => void }[] = [];
  private down = false;

  constructor(private readonly o: ProducerAccountOptions) {}

  /** One more message of `bytes` within the bounds: counted as queued (true), or not (false:
   * the caller sheds it as 'queue_full'). */
  admit(bytes: number): boolean {
    if (
      this.st.queuedMessages + 1 > this.o.maxMessages ||
      this.st.queuedBytes + bytes > this.o.maxBytes
    )
      return false;
    this.st.queuedMessages++;
    this.st.queuedBytes += bytes;
    this.enqueued++;
    return true;
  }

  /** A queued message left the queue (sent, shed or handed on). */
  unqueue(bytes: number): void {
    this.st.queuedMessages--;
    this.st.queuedBytes -= bytes;
  }

  /** Counts shed messages; `queued` = they were in the queue (and count as finished). */
  shed(reason: ShedReason, topic: string, n: number, queued: boolean): void {
    if (n <= 0) return;
    this.st.shed += n;
    this.st.shedByReason[reason] += n;
    if (queued) this.finish(n);
    this.o.onShed?.(reason, topic, n);
    this.o.log.debug('shed messages', { reason, topic, count: n });
  }

  /** `n` queued messages were delivered. */
  sent(n: number): void {
    if (this.down) {
      this.down = false;
      this.o.log.info('kafka producer: delivering again', { brokers: this.o.brokers.join(',') });
    }
    this.st.connected = true;
    this.st.sent += n;
    this.finish(n);
  }

  failed(err: unknown, what: string): void {
    this.st.errors++;
    this.st.connected = false;
    const text = this.o.describe(err);
    this.st.lastError = text;
    if (!this.down) {
      this.down = true;
      this.o.log.warn(`kafka producer: ${what} failed; queueing (and shedding when full)`, {
        error: text,
        queuedMessages: this.st.queuedMessages,
      });
    } else this.o.log.debug(`kafka producer: ${what} failed again`, { error: text });
  }

  /** Resolves once every message enqueued so far is sent or shed. */
  flush(): Promise<void> {
    if (this.finished >= this.enqueued) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ upTo: this.enqueued, resolve }));
  }

  stats(): ProducerStats {
    return { ...this.st, shedByReason: { ...this.st.shedByReason } };
  }

  private finish(n: number): void {
    this.finished += n;
    while (this.waiters.length && this.waiters[0].upTo <= this.finished)
      this.waiters.shift()!.resolve();
  }
}
