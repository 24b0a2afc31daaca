/**
 * What both Kafka consumers (kafkajs and librdkafka) do around a batch, so the two clients keep
 * one at-least-once behaviour: redelivery of a batch the handler failed on, offset commits on a
 * cycle after handled ones, and a disconnect that gives up after a while.
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

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

export interface CommitCycleOptions {
  /** Period of the offset commit (ms). */
  intervalMs: number;
  /** Commits these offsets (next offset to read, per partition) in one request. */
  commit: (offsets: TopicPartitionOffset[]) => Promise<unknown>;
  /** False while the client cannot commit (not joined yet, being replaced): offsets wait. */
  canCommit?: () => boolean;
  /** Whether this member still owns the partition (a failed commit of one it lost is dropped). */
  owns?: (topic: string, partition: number) => boolean;
  st: { commits: number; commitErrors: number };
  log: Logger;
  describe: (err: unknown) => string;
}

interface PendingOffset {
  topic: string;
  partition: number;
  next: bigint;
}

/**
 * Offset commits on a cycle instead of after every batch (one commit request per partition and
 * batch cost more CPU than the batch's own work when ingest publishes small messages often).
 *
 * A batch whose handler resolved only records its partition's next offset (`handled`); every
 * `intervalMs`, and at `flush()` (close, revocation), the pending offsets of all partitions go
 * out in ONE commit request, after the `beforeCommit` hook (analyze pushes its duplicate
 * digests there, so Redis covers at least what is committed). At-least-once is kept: an offset
 * is recorded only after its batch's handler resolved, and a failed batch records nothing (its
 * partition is rewound by Redelivery), so nothing is ever committed past it. A crash loses at
 * most one cycle of commits: those messages come again, as before a commit always could.
 *
 * A failed commit is not fatal (the messages would be delivered again): it is counted, logged
 * (a warning for the first failure of a streak, debug after), and its offsets are kept for the
 * next cycle unless a newer one came meanwhile or the partition is no longer owned.
 */
export class CommitCycle {
  private pending = new Map<string, PendingOffset>();
  private timer?: NodeJS.Timeout;
  private running: Promise<void> | null = null;
  private failing = false;
  private beforeCommit?: () => Promise<void>;

  constructor(private readonly o: CommitCycleOptions) {}

  /** Starts the timer; `beforeCommit` runs before each commit request. */
  start(beforeCommit?: () => Promise<void>): void {
    this.beforeCommit = beforeCommit;
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (!this.running) void this.flush();
    }, this.o.intervalMs);
    this.timer.unref();
  }

  /** The handler resolved for a batch of `topic/partition` ending at offset `last`. */
  handled(topic: string, partition: number, last: string): void {
    // a batch that ended after its partition was revoked: the next owner handles it again
    if (this.o.owns && !this.o.owns(topic, partition)) return;
    this.pending.set(`${topic}/${partition}`, { topic, partition, next: BigInt(last) + 1n });
  }

  /** Offsets waiting for the next commit (tests, stats). */
  get waiting(): number {
    return this.pending.size;
  }

  /** Forgets the pending offsets of partitions this member no longer owns. */
  retain(owned: (topic: string, partition: number) => boolean): void {
    for (const [id, p] of this.pending) if (!owned(p.topic, p.partition)) this.pending.delete(id);
  }

  /** Commits what is pending now (after the commit already running, if any). */
  flush(): Promise<void> {
    const p = (this.running ?? Promise.resolve()).then(() => this.commitNow());
    const done = p.finally(() => {
      if (this.running === done) this.running = null;
    });
    this.running = done;
    return done;
  }

  /** Stops the timer and commits what is pending, giving up after `ms`. */
  async close(ms: number): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    let t: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      this.flush().then(() => true),
      new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms))),
    ]);
    clearTimeout(t);
    if (!done)
      this.o.log.warn('offset commit at close did not finish; messages may be redelivered', {
        afterMs: ms,
      });
  }

  private async commitNow(): Promise<void> {
    if (!this.pending.size || (this.o.canCommit && !this.o.canCommit())) return;
    // what is committed is taken before the hook runs: the hook covers at least these batches
    const batch = [...this.pending.values()];
    this.pending.clear();
    try {
      if (this.beforeCommit) await this.beforeCommit();
      await this.o.commit(
        batch.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.next.toString() })),
      );
      this.o.st.commits++;
      this.failing = false;
    } catch (err) {
      this.o.st.commitErrors++;
      let kept = 0;
      for (const p of batch) {
        const id = `${p.topic}/${p.partition}`;
        if (this.pending.has(id) || (this.o.owns && !this.o.owns(p.topic, p.partition))) continue;
        this.pending.set(id, p);
        kept++;
      }
      const f = {
        partitions: batch.length,
        retrying: kept,
        error: this.o.describe(err),
      };
      if (this.failing) this.o.log.debug('offset commit failed again', f);
      else this.o.log.warn('offset commit failed; will retry, messages may be redelivered', f);
      this.failing = true;
    }
  }
}

/** How long close() waits for the batches in the handler, and then for the final commit. */
export const CLOSE_COMMIT_MS = 5000;

/** Waits for the promises (batches in the handler) to settle, at most `ms`. */
export async function settleWithin(ps: Iterable<Promise<unknown>>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled([...ps]),
    new Promise<void>((r) => (t = setTimeout(r, ms))),
  ]);
  clearTimeout(t);
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
