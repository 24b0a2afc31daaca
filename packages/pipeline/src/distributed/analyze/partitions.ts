/**
 * Per-partition detector state: every (topic, partition) has its own Analyzer, which sees all
 * rows of its keys in order, so the result does not depend on how partitions are spread over
 * workers. A state is created (from its Redis checkpoint, if any) when its partition is first
 * seen, and reloaded when a batch does not follow what this worker saw (another member had
 * the partition meanwhile). Also the per-partition memory of message digests: Kafka may hold a
 * message twice (a producer retry after a leader change).
 *
 * Digests are SHA-1s of the message bytes: kept in memory as 20-character latin1 strings (one
 * byte per character: cheap Set keys), stored in Redis as 20-byte binary list entries. The
 * Redis copy (for the partition's next owner) is not written per batch: remember() queues it
 * and pushQueued() sends the queue of every partition in one pipeline, called by the consumer
 * right before it commits offsets (see worker.ts).
 */
import { createHash } from 'crypto';
import { Analyzer, type AnalyticsConfig } from '@hopwatch/analytics';
import type { MessageKind } from '../../wire/messages';
import type { InMessage } from '../../transport/types';
import type { Logger } from '../../metrics/log';
import type { RedisState } from '../redis-state';
import type { AnalyzeStats } from './metrics';
import { restoreCheckpoint } from './checkpoints';

export interface PartState {
  topic: string;
  partition: number;
  kind: MessageKind;
  analyzer: Analyzer;
  /** First offset not yet fed to the detectors. */
  next: number;
  /** Offset after the last message seen in a batch (continuity check). */
  expect: number;
  lastEventNs: bigint;
  lastWall: number;
  dirty: boolean;
  /** The checkpoint's `next` at open (for reporting). */
  restoredFrom: number | null;
  /** The checkpoint's state as loaded (other stages' parts of it: flows). */
  checkpoint?: unknown;
  /** Digests of the latest messages handled (a producer retry can write a message twice). */
  digests: Set<string>;
  digestOrder: string[];
  /** Digests remembered but not yet pushed to Redis. */
  unpushed: string[];
}

export const MAX_DIGESTS = 4096;

export interface PartitionTableOptions {
  redis: RedisState | null;
  analytics?: Partial<AnalyticsConfig>;
  log: Logger;
  stats: AnalyzeStats;
  /** A partition (re)assigned to this worker got a fresh state. */
  onOpen: (ps: PartState) => void;
}

export class PartitionTable {
  private readonly parts = new Map<string, PartState>();
  /** Partitions with digests waiting for pushQueued(). */
  private readonly queued = new Set<PartState>();

  constructor(private readonly o: PartitionTableOptions) {}

  get size(): number {
    return this.parts.size;
  }

  values(): IterableIterator<PartState> {
    return this.parts.values();
  }

  get(topic: string, partition: number): PartState | undefined {
    return this.parts.get(`${topic}/${partition}`);
  }

  /** The state for a batch starting at offset `first`. */
  async open(
    topic: string,
    partition: number,
    kind: MessageKind,
    first: number,
  ): Promise<PartState> {
    const { redis, log, stats } = this.o;
    const key = `${topic}/${partition}`;
    let ps = this.parts.get(key);
    if (ps && first > ps.expect) {
      // another worker processed [ps.expect, first): its checkpoint is newer than our state
      const ck = redis ? await redis.loadCheckpoint(topic, partition) : null;
      if (ck && ck.next > ps.next) {
        ps = undefined;
      } else if (first > ps.next) {
        stats.detectorGaps++;
        log.warn('detector state gap (messages processed elsewhere, no newer checkpoint)', {
          topic,
          partition,
          from: ps.next,
          to: first,
        });
      }
    }
    if (!ps) {
      ps = {
        topic,
        partition,
        kind,
        analyzer: new Analyzer({ ...(this.o.analytics ?? {}), onAnomaly: null }),
        next: 0,
        expect: first,
        lastEventNs: 0n,
        lastWall: Date.now(),
        dirty: false,
        restoredFrom: null,
        digests: new Set(),
        digestOrder: [],
        unpushed: [],
      };
      if (redis) {
        ps.digestOrder = await redis.loadDigests(topic, partition, MAX_DIGESTS);
        ps.digests = new Set(ps.digestOrder);
      }
      await restoreCheckpoint(ps, redis, log, stats);
      if (first > ps.next && ps.restoredFrom !== null) {
        stats.detectorGaps++;
        log.warn('detector state gap after restore (offsets committed after the last checkpoint)', {
          topic,
          partition,
          from: ps.next,
          to: first,
        });
      }
      this.parts.set(key, ps);
      this.o.onOpen(ps);
    }
    return ps;
  }

  /** The messages whose bytes were not handled before (in this batch or the latest ones), and
   * their digests for remember(); copies at or after `expect` are counted as duplicates. */
  unseen(ps: PartState, messages: InMessage[]): { fresh: InMessage[]; digests: string[] } {
    const fresh: InMessage[] = [];
    const inBatch = new Set<string>();
    const digests: string[] = [];
    for (const m of messages) {
      const d = createHash('sha1').update(m.value).digest('binary'); // = latin1
      if (ps.digests.has(d) || inBatch.has(d)) {
        if (Number(m.offset) >= ps.expect) this.o.stats.duplicateMessages++;
        continue;
      }
      inBatch.add(d);
      digests.push(d);
      fresh.push(m);
    }
    return { fresh, digests };
  }

  /** Adds handled messages' digests (bounded) at once, and queues them for Redis (for the
   * partition's next owner): pushQueued() sends them. */
  remember(ps: PartState, digests: string[]): void {
    if (!digests.length) return;
    for (const d of digests) {
      ps.digests.add(d);
      ps.digestOrder.push(d);
    }
    if (ps.digestOrder.length > MAX_DIGESTS) {
      const old = ps.digestOrder.splice(0, ps.digestOrder.length - MAX_DIGESTS);
      for (const d of old) ps.digests.delete(d);
    }
    if (!this.o.redis) return;
    for (const d of digests) ps.unpushed.push(d);
    if (ps.unpushed.length > MAX_DIGESTS) ps.unpushed.splice(0, ps.unpushed.length - MAX_DIGESTS);
    this.queued.add(ps);
  }

  /** Sends the queued digests of every partition to Redis in one pipeline. */
  async pushQueued(): Promise<void> {
    const redis = this.o.redis;
    if (!redis || !this.queued.size) return;
    const lists = [...this.queued].map((ps) => {
      const digests = ps.unpushed;
      ps.unpushed = [];
      return { topic: ps.topic, partition: ps.partition, digests };
    });
    this.queued.clear();
    await redis.pushDigests(lists, MAX_DIGESTS);
  }
}
