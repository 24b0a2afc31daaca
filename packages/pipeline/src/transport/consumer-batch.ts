/**
 * What both Kafka consumers (kafkajs and librdkafka) do around a batch, so the two clients keep
 * one at-least-once behaviour: redelivery of a batch the handler failed on, the commit after a
 * handled one, and a disconnect that gives up after a while.
 */
import type { Logger } from '../metrics/log';

interface TopicPartitions {
  topic: string;
  partitions: number[];
}

/** The part of a consumer that redelivery needs (kafkajs's API, which both clients offer). */
export interface PausableConsumer {
  pause(t: TopicPartitions[]): void;
  resume(t: TopicPartitions[]): void;
  seek(o: { topic: string; partition: number; offset: string }): void;
}

/**
 * A batch the handler failed on is not committed: its partition is paused, rewound to the
 * batch's first offset and resumed after a backoff that doubles per failed attempt of that
 * partition (reset by its next success), so the same messages come again.
 */
export class Redelivery {
  private readonly attempts = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly backoff: { retryBackoffMs?: number; maxRetryBackoffMs?: number },
    private readonly log: Logger,
    private readonly isClosed: () => boolean,
  ) {}

  /** The partition ("topic/partition") has a failed batch waiting to come again. */
  failing(id: string): boolean {
    return this.attempts.has(id);
  }

  succeeded(id: string): void {
    this.attempts.delete(id);
  }

  failed(
    c: PausableConsumer,
    topic: string,
    partition: number,
    messages: readonly { offset: string }[],
    err: unknown,
  ): void {
    const id = `${topic}/${partition}`;
    const n = (this.attempts.get(id) ?? 0) + 1;
    this.attempts.set(id, n);
    const delay = Math.min(
      this.backoff.maxRetryBackoffMs ?? 10_000,
      (this.backoff.retryBackoffMs ?? 100) * 2 ** (n - 1),
    );
    this.log.warn('handler failed; will redeliver without committing', {
      topic,
      partition,
      firstOffset: messages[0].offset,
      messages: messages.length,
      attempt: n,
      retryInMs: delay,
      error: err instanceof Error ? err.message : String(err),
    });
    if (this.isClosed()) return;
    c.pause([{ topic, partitions: [partition] }]);
    c.seek({ topic, partition, offset: messages[0].offset });
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.isClosed()) c.resume([{ topic, partitions: [partition] }]);
    }, delay);
    this.timers.add(t);
  }

  /** Forgets pending redeliveries (the consumer closes or is replaced). */
  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.attempts.clear();
  }
}

/**
 * Commits the offset after `last`. A failed commit is not fatal: the messages will be delivered
 * again (at-least-once); it is counted and logged.
 */
export async function commitAfter(
  c: {
    commitOffsets(o: { topic: string; partition: number; offset: string }[]): Promise<unknown>;
  },
  topic: string,
  partition: number,
  last: string,
  st: { commits: number; commitErrors: number },
  log: Logger,
  describe: (err: unknown) => string,
): Promise<void> {
  try {
    await c.commitOffsets([{ topic, partition, offset: (BigInt(last) + 1n).toString() }]);
    st.commits++;
  } catch (err) {
    st.commitErrors++;
    log.warn('offset commit failed; messages may be redelivered', {
      topic,
      partition,
      offset: last,
      error: describe(err),
    });
  }
}

/** Disconnects, giving up after `ms` (a client's disconnect can hang while a broker is
 * unreachable). */
export async function disconnectWithin(
  c: { disconnect(): Promise<unknown> },
  ms: number,
  log: Logger,
  describe: (err: unknown) => string,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    c.disconnect().then(
      () => true,
      (err: unknown) => {
        log.warn('kafka consumer: disconnect failed', { error: describe(err) });
        return true;
      },
    ),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
  ]);
  clearTimeout(timer);
  if (!done) log.warn('kafka consumer: disconnect did not finish; giving up', { afterMs: ms });
}
