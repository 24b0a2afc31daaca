/**
 * Detector checkpoints in Redis: the state of every changed partition with the offset it
 * reflects, written periodically and at close; a worker that gets a partition (at start, after
 * a rebalance or a restart) loads it and feeds the detectors only messages after it.
 */
import type { Analyzer } from '@hopwatch/analytics';
import type { Logger } from '../../metrics/log';
import type { RedisState } from '../redis-state';
import type { AnalyzeStats } from './metrics';
import type { PartState } from './partitions';

type Checkpoint = ReturnType<Analyzer['exportCheckpoint']>;

/** Loads the partition's checkpoint into its fresh state (an unreadable one is ignored). */
export async function restoreCheckpoint(
  ps: PartState,
  redis: RedisState | null,
  log: Logger,
  stats: AnalyzeStats,
): Promise<void> {
  const { topic, partition } = ps;
  const ck = redis ? await redis.loadCheckpoint(topic, partition) : null;
  if (!ck) return;
  try {
    ps.analyzer.importCheckpoint(ck.state as Checkpoint);
    ps.checkpoint = ck.state;
    ps.next = ck.next;
    ps.restoredFrom = ck.next;
    ps.lastEventNs = BigInt((ck.state as { lastEventNs?: string }).lastEventNs ?? '0');
    stats.restored++;
    log.info('detector state restored from checkpoint', {
      topic,
      partition,
      next: ck.next,
      ageMs: Date.now() - ck.at,
    });
  } catch (e) {
    log.warn('ignoring unreadable checkpoint', {
      topic,
      partition,
      error: (e as Error).message,
    });
  }
}

/** Writes the state of every partition changed since its last checkpoint. */
export async function saveCheckpoints(
  parts: Iterable<PartState>,
  redis: RedisState | null,
  stats: AnalyzeStats,
  /** Other stages' state of the partition, taken at the same moment (same offset). */
  extra?: (ps: PartState) => Record<string, unknown> | undefined,
): Promise<void> {
  if (!redis) return;
  for (const ps of parts) {
    if (!ps.dirty) continue;
    ps.dirty = false;
    const state = {
      ...ps.analyzer.exportCheckpoint(),
      lastEventNs: ps.lastEventNs.toString(),
      ...extra?.(ps),
    };
    const ok = await redis.saveCheckpoint(ps.topic, ps.partition, ps.next, state);
    if (ok) stats.checkpoints++;
    else {
      stats.checkpointFailures++;
      if (!redis.connected) ps.dirty = true; // retry when Redis is back
    }
  }
}
