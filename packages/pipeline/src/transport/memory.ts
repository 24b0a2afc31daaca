/**
 * In-process transport: a broker with topics, partitions and consumer-group offsets in
 * memory, with the same semantics as the Kafka implementation (per-key partitioning,
 * commit after the handler, redelivery on failure). For the embedded mode and tests.
 */
import { partitionOf } from '../wire/split';
import {
  BatchHandler,
  ConsumedBatch,
  Consumer,
  ConsumerStats,
  emptyConsumerStats,
  emptyProducerStats,
  InMessage,
  OffsetAdmin,
  OutMessage,
  Producer,
  ProducerStats,
  RunOptions,
} from './types';

interface Stored {
  key: Buffer | null;
  value: Buffer;
}

interface Member {
  id: number;
  topics: string[];
  wake: () => void;
}

export class InProcessBroker {
  private topics = new Map<string, Stored[][]>();
  private groups = new Map<string, { members: Member[]; offsets: Map<string, number> }>();
  private nextMember = 1;
  /** While false, producers keep (and eventually shed) what they are given. */
  available = true;
  private rr = 0;

  constructor(readonly defaultPartitions = 4) {}

  createTopic(name: string, partitions = this.defaultPartitions): void {
    const t = this.topics.get(name);
    if (!t)
      this.topics.set(
        name,
        Array.from({ length: partitions }, () => []),
      );
    else while (t.length < partitions) t.push([]);
  }

  partitions(topic: string): number {
    return this.topics.get(topic)?.length ?? 0;
  }

  /** Appends a message (auto-creating the topic); returns [partition, offset]. */
  append(topic: string, m: OutMessage): [number, number] {
    if (!this.topics.has(topic)) this.createTopic(topic);
    const parts = this.topics.get(topic)!;
    const key = m.key === undefined || m.key === null ? null : Buffer.from(m.key);
    const p =
      m.partition !== undefined
        ? m.partition
        : key
          ? partitionOf(key, parts.length)
          : this.rr++ % parts.length;
    if (p < 0 || p >= parts.length)
      throw new Error(`in-process broker: ${topic} has no partition ${p}`);
    parts[p].push({
      key,
      value: Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength),
    });
    for (const g of this.groups.values())
      for (const mem of g.members) if (mem.topics.includes(topic)) mem.wake();
    return [p, parts[p].length - 1];
  }

  /** Offset after the last message of a partition. */
  endOffset(topic: string, partition: number): number {
    return this.topics.get(topic)?.[partition]?.length ?? 0;
  }

  /** Messages of a partition from `offset` (at most `max`). */
  read(topic: string, partition: number, offset: number, max: number): InMessage[] {
    const log = this.topics.get(topic)?.[partition] ?? [];
    const out: InMessage[] = [];
    for (let o = offset; o < log.length && out.length < max; o++)
      out.push({ key: log[o].key, value: log[o].value, offset: String(o) });
    return out;
  }

  private group(id: string): { members: Member[]; offsets: Map<string, number> } {
    let g = this.groups.get(id);
    if (!g) {
      g = { members: [], offsets: new Map() };
      this.groups.set(id, g);
    }
    return g;
  }

  join(groupId: string, topics: string[], wake: () => void): number {
    const id = this.nextMember++;
    for (const t of topics) if (!this.topics.has(t)) this.createTopic(t);
    const g = this.group(groupId);
    g.members.push({ id, topics, wake });
    for (const m of g.members) m.wake();
    return id;
  }

  leave(groupId: string, member: number): void {
    const g = this.group(groupId);
    g.members = g.members.filter((m) => m.id !== member);
    for (const m of g.members) m.wake();
  }

  /** Round-robin assignment of the subscribed partitions to the group's members. */
  assignment(groupId: string, member: number): { topic: string; partition: number }[] {
    const g = this.group(groupId);
    const all: { topic: string; partition: number }[] = [];
    const topics = [...new Set(g.members.flatMap((m) => m.topics))].sort();
    for (const t of topics)
      for (let p = 0; p < this.partitions(t); p++) all.push({ topic: t, partition: p });
    const idx = g.members.findIndex((m) => m.id === member);
    const me = g.members[idx];
    if (!me) return [];
    return all
      .filter((_, i) => i % g.members.length === idx)
      .filter((a) => me.topics.includes(a.topic));
  }

  private busy = new Set<string>();
  private contended = new Set<string>();

  /** Marks a partition as being processed by a member of the group (as a Kafka rebalance
   * waits for the batch in progress before moving a partition); false if it already is. */
  acquire(groupId: string, topic: string, partition: number): boolean {
    const k = `${groupId}\u0000${topic}/${partition}`;
    if (this.busy.has(k)) {
      this.contended.add(k);
      return false;
    }
    this.busy.add(k);
    return true;
  }

  release(groupId: string, topic: string, partition: number): void {
    const k = `${groupId}\u0000${topic}/${partition}`;
    this.busy.delete(k);
    if (this.contended.delete(k)) for (const m of this.group(groupId).members) m.wake();
  }

  committed(groupId: string, topic: string, partition: number): number {
    return this.group(groupId).offsets.get(`${topic}/${partition}`) ?? 0;
  }

  commit(groupId: string, topic: string, partition: number, next: number): void {
    this.group(groupId).offsets.set(`${topic}/${partition}`, next);
  }
}

export interface InProcessProducerOptions {
  maxQueuedMessages?: number;
  maxQueuedBytes?: number;
}

export class InProcessProducer implements Producer {
  private queue: { topic: string; m: OutMessage; bytes: number }[] = [];
  private st: ProducerStats = emptyProducerStats(true);
  private closed = false;
  private maxMessages: number;
  private maxBytes: number;

  constructor(
    private broker: InProcessBroker,
    opts: InProcessProducerOptions = {},
  ) {
    this.maxMessages = opts.maxQueuedMessages ?? 100_000;
    this.maxBytes = opts.maxQueuedBytes ?? 64 * 1024 * 1024;
  }

  send(topic: string, messages: OutMessage[]): void {
    if (this.queue.length) this.drain();
    for (const m of messages) {
      const bytes = m.value.byteLength + (m.key ? Buffer.byteLength(m.key) : 0);
      if (this.closed) {
        this.shed('closed', 1);
        continue;
      }
      if (
        this.st.queuedMessages + 1 > this.maxMessages ||
        this.st.queuedBytes + bytes > this.maxBytes
      ) {
        this.shed('queue_full', 1);
        continue;
      }
      this.queue.push({ topic, m, bytes });
      this.st.queuedMessages++;
      this.st.queuedBytes += bytes;
    }
    this.drain();
  }

  private shed(reason: keyof ProducerStats['shedByReason'], n: number): void {
    this.st.shed += n;
    this.st.shedByReason[reason] += n;
  }

  private drain(): void {
    if (!this.broker.available) {
      this.st.connected = false;
      return;
    }
    this.st.connected = true;
    for (const e of this.queue) {
      this.broker.append(e.topic, e.m);
      this.st.sent++;
    }
    this.queue = [];
    this.st.queuedBytes = 0;
    this.st.queuedMessages = 0;
  }

  async flush(): Promise<void> {
    this.drain();
  }

  stats(): ProducerStats {
    return { ...this.st, shedByReason: { ...this.st.shedByReason } };
  }

  async close(): Promise<void> {
    this.drain();
    this.closed = true;
    if (this.queue.length) {
      this.shed('closed', this.queue.length);
      this.queue = [];
      this.st.queuedBytes = 0;
      this.st.queuedMessages = 0;
    }
  }
}

export interface InProcessConsumerOptions {
  groupId: string;
  topics: string[];
  maxBatchMessages?: number;
  /** First and maximum delay before redelivering after a handler failure. */
  retryBackoffMs?: number;
  maxRetryBackoffMs?: number;
}

export class InProcessConsumer implements Consumer {
  private member = 0;
  private running = false;
  private loop?: Promise<void>;
  private wakeUp: () => void = () => undefined;
  private st: ConsumerStats = emptyConsumerStats();
  private readyP: Promise<void>;
  private readyResolve!: () => void;

  constructor(
    private broker: InProcessBroker,
    private opts: InProcessConsumerOptions,
  ) {
    this.readyP = new Promise((r) => (this.readyResolve = r));
  }

  async run(handler: BatchHandler, o?: RunOptions): Promise<void> {
    if (this.running) throw new Error('in-process consumer: already running');
    this.running = true;
    let pending = false;
    this.member = this.broker.join(this.opts.groupId, this.opts.topics, () => {
      pending = true;
      this.wakeUp();
    });
    this.readyResolve();
    const max = this.opts.maxBatchMessages ?? 1000;
    const backoff0 = this.opts.retryBackoffMs ?? 100;
    const backoffMax = this.opts.maxRetryBackoffMs ?? 5000;
    const failures = new Map<string, number>();
    this.loop = (async () => {
      while (this.running) {
        pending = false;
        let didWork = false;
        let wait = Infinity;
        for (const a of this.broker.assignment(this.opts.groupId, this.member)) {
          if (!this.running) break;
          const id = `${a.topic}/${a.partition}`;
          if (!this.broker.acquire(this.opts.groupId, a.topic, a.partition)) continue;
          try {
            const from = this.broker.committed(this.opts.groupId, a.topic, a.partition);
            const messages = this.broker.read(a.topic, a.partition, from, max);
            if (!messages.length) continue;
            const batch: ConsumedBatch = { topic: a.topic, partition: a.partition, messages };
            try {
              await handler(batch);
              // commits here are per batch and cost nothing: the hook runs before each one
              // (a rejection redelivers the batch, like a handler failure)
              await o?.beforeCommit?.();
            } catch {
              this.st.failures++;
              const n = (failures.get(id) ?? 0) + 1;
              failures.set(id, n);
              wait = Math.min(wait, Math.min(backoffMax, backoff0 * 2 ** (n - 1)));
              continue;
            }
            failures.delete(id);
            this.st.batches++;
            this.st.messages += messages.length;
            this.broker.commit(this.opts.groupId, a.topic, a.partition, from + messages.length);
            this.st.commits++;
            didWork = true;
          } finally {
            this.broker.release(this.opts.groupId, a.topic, a.partition);
          }
        }
        if (didWork || pending) {
          await new Promise((r) => setImmediate(r));
          continue;
        }
        await new Promise<void>((resolve) => {
          const t = wait === Infinity ? undefined : setTimeout(resolve, wait);
          this.wakeUp = () => {
            if (t) clearTimeout(t);
            resolve();
          };
        });
        this.wakeUp = () => undefined;
      }
    })();
  }

  ready(): Promise<void> {
    return this.readyP;
  }

  stats(): ConsumerStats {
    return { ...this.st };
  }

  async close(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wakeUp();
    await this.loop;
    this.broker.leave(this.opts.groupId, this.member);
  }
}

/** Offsets of an in-process broker, as the Kafka admin reports them. */
export class InProcessOffsetAdmin implements OffsetAdmin {
  private closed = false;

  constructor(private readonly broker: InProcessBroker) {}

  async endOffsets(topic: string): Promise<Map<number, number>> {
    this.check();
    const out = new Map<number, number>();
    for (let p = 0; p < this.broker.partitions(topic); p++)
      out.set(p, this.broker.endOffset(topic, p));
    return out;
  }

  async committedOffsets(
    groupId: string,
    topics: string[],
  ): Promise<Map<string, Map<number, number>>> {
    this.check();
    const out = new Map<string, Map<number, number>>();
    for (const t of topics) {
      const parts = new Map<number, number>();
      for (let p = 0; p < this.broker.partitions(t); p++)
        parts.set(p, this.broker.committed(groupId, t, p) || -1);
      out.set(t, parts);
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new Error('in-process offset admin: closed');
  }
}
