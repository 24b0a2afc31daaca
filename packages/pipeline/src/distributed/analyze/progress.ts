/**
 * Where this worker's consumer groups stand against the partition ends, through the transport's
 * OffsetAdmin: the consumer-lag gauge, and whether the group has consumed everything (event
 * time may then move on with the wall clock).
 */
import type { OffsetAdmin } from '../../transport/types';
import { TOPIC_RECORDS } from '../../wire/topics';
import type { PartitionTable } from './partitions';

export interface GroupProgressOptions {
  /** Absent: lag is not measured and the group counts as caught up. */
  admin?: OffsetAdmin;
  groupId?: string;
  /** The detector topics' group, when they have their own consumer. */
  detectorGroupId?: string;
  parts: PartitionTable;
}

export class GroupProgress {
  /** "topic/partition" → messages behind the partition end (last successful measurement). */
  readonly lag = new Map<string, number>();

  constructor(private readonly o: GroupProgressOptions) {}

  /** True when the groups' committed offsets are at the end of every data partition. */
  async caughtUp(): Promise<boolean> {
    const { admin, groupId, detectorGroupId, parts } = this.o;
    if (!admin || !groupId) return true;
    try {
      const byGroup = new Map<string, Set<string>>();
      for (const { topic } of parts.values()) {
        const g = detectorGroupId && topic !== TOPIC_RECORDS ? detectorGroupId : groupId;
        byGroup.set(g, (byGroup.get(g) ?? new Set()).add(topic));
      }
      for (const [g, topics] of byGroup) {
        const committed = await admin.committedOffsets(g, [...topics]);
        for (const [topic, offsets] of committed) {
          const ends = await admin.endOffsets(topic);
          for (const [p, c] of offsets) {
            const h = ends.get(p) ?? 0;
            if (h > 0 && c < h) return false;
          }
        }
      }
      return true;
    } catch {
      return false;
    }
  }

  /** Measures the lag of the partitions this worker has state for. */
  async updateLag(): Promise<void> {
    const { admin, parts } = this.o;
    if (!admin) return;
    try {
      const topics = new Set([...parts.values()].map((p) => p.topic));
      for (const t of topics) {
        for (const [p, high] of await admin.endOffsets(t)) {
          const ps = parts.get(t, p);
          if (ps) this.lag.set(`${t}/${p}`, Math.max(0, high - ps.expect));
        }
      }
    } catch {
      /* brokers down: keep the last values */
    }
  }
}
