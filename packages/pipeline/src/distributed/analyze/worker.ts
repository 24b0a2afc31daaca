/**
 * The analytics worker of the distributed mode (one member of a Kafka consumer group).
 *
 * Input: the three data topics, through one consumer, or through two in two groups (records;
 * queues and reports) so that the per-queue and report detectors never wait for the row
 * inserts: kafkajs fetches again only after every batch of its last fetch was handled, so a
 * slow insert would otherwise hold back the detector topics too.
 *
 * Per batch: byte-identical copies of handled messages are dropped (partitions.ts), the rest
 * feeds the partition's detectors (records topic → per-flow detectors; queues → per-queue
 * detectors; reports → sequence loss, drop reports), whose anomalies go out (anomalies.ts);
 * records also become `hops` / `paths` rows, exactly once through the offset ledger
 * (ledger.ts). Detector state is checkpointed to Redis (checkpoints.ts); lag and group progress
 * are read through the transport's OffsetAdmin (progress.ts).
 */
import { Analyzer, type AnalyticsConfig, type Anomaly } from '@hopwatch/analytics';
import { RecordBatch } from '@hopwatch/codec';
import type { Store } from '@hopwatch/store';
import { kindOfTopic } from '../../wire/topics';
import type { ConsumedBatch, Consumer, OffsetAdmin, Producer } from '../../transport/types';
import type { Logger } from '../../metrics/log';
import type { Registry } from '../../metrics/registry';
import type { RedisState } from '../redis-state';
import { LoopMerger } from '../loop-merge';
import { AnomalyOutput } from './anomalies';
import { saveCheckpoints } from './checkpoints';
import { decodeAll, DecodedPool } from './decoded';
import type { FlowStage, FlowStageStats } from './flows';
import { RowWriter } from './ledger';
import {
  delaySeconds,
  emptyAnalyzeStats,
  instrumentAnalyze,
  type AnalyzeInstruments,
  type AnalyzeStats,
} from './metrics';
import { PartitionTable } from './partitions';
import { GroupProgress } from './progress';

export interface AnalyzeOptions {
  /** The records topic's consumer; also the detector topics' unless detectorConsumer is set. */
  consumer: Consumer;
  /** Consumer of the detector topics (queues, reports) in its own group, detectorGroupId. */
  detectorConsumer?: Consumer;
  detectorGroupId?: string;
  /** Open it with `maxWrites: 1`: the offset ledger needs a partition's rows to land in order. */
  store: Store;
  /** Anomaly topic producer (null: do not publish). */
  producer: Producer | null;
  redis: RedisState | null;
  analytics?: Partial<AnalyticsConfig>;
  logger: Logger;
  registry?: Registry;
  /** Offsets of the transport, for the consumer-lag gauge and the idle flush's check that the
   * group caught up; optional. The worker closes it. */
  admin?: OffsetAdmin;
  groupId?: string;
  /** Checkpoint period (default 5000 ms; 0 = only at close). */
  checkpointEveryMs?: number;
  /** When no data arrived for this long, event time advances with the wall clock so open
   * anomaly episodes close (default 1000 ms). */
  idleFlushMs?: number;
  /** Shortest time between two row inserts' starts (ms, default 0): fewer, larger inserts. */
  insertEveryMs?: number;
  /** Micro-loop partials of all partitions are merged once none arrived for this long (1000 ms). */
  loopHoldMs?: number;
  /** Called for each anomaly published (after de-duplication). */
  onAnomaly?: (a: Anomaly) => void;
  /** Flow intervals of the records partitions into `flows` (flows.ts); null: none. */
  flows?: FlowStage | null;
}

const PARTS = {
  records: { flows: true, queues: false, reports: false },
  queues: { flows: false, queues: true, reports: false },
  reports: { flows: false, queues: false, reports: true },
} as const;

export class AnalyzeWorker {
  private readonly log: Logger;
  private readonly st: AnalyzeStats = emptyAnalyzeStats();
  private readonly inst: AnalyzeInstruments;
  private readonly parts: PartitionTable;
  private readonly rows: RowWriter;
  private readonly out: AnomalyOutput;
  private readonly progress: GroupProgress;
  private readonly pool = new DecodedPool();
  private lastData = Date.now();
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private tickBusy = false;

  constructor(private readonly o: AnalyzeOptions) {
    const log = o.logger.child({ component: 'analyze' });
    this.log = log;
    const stats = this.st;
    const cfg = new Analyzer({
      ...(o.analytics ?? {}),
      maxFlows: 16,
      maxQueues: 16,
      maxReporters: 16,
      maxPaths: 16,
      maxLatencyFlows: 16,
    }).config;
    const loops = new LoopMerger(o.redis, {
      holdMs: o.loopHoldMs ?? 1000,
      loopGapNs: cfg.loopGapNs,
      maxFlows: cfg.maxFlowsPerAnomaly,
    });
    // the sources are read at scrape time, when every part below exists
    this.inst = o.registry
      ? instrumentAnalyze(o.registry, {
          stats,
          reportGaps: () => this.out.reportGaps,
          redisErrors: () => o.redis?.errors ?? 0,
          lag: () => this.progress.lag,
          partitions: () => this.parts.size,
        })
      : {};
    const inst = this.inst;
    this.rows = new RowWriter({
      store: o.store,
      log,
      stats,
      inst,
      insertEveryMs: o.insertEveryMs,
    });
    this.parts = new PartitionTable({
      redis: o.redis,
      analytics: o.analytics,
      log,
      stats,
      onOpen: (ps) => {
        if (ps.kind === 'records') this.rows.forget(ps.partition);
      },
    });
    this.out = new AnomalyOutput({
      store: o.store,
      producer: o.producer,
      redis: o.redis,
      loops,
      log,
      stats,
      inst,
      onAnomaly: o.onAnomaly,
    });
    this.progress = new GroupProgress({
      admin: o.admin,
      groupId: o.groupId,
      detectorGroupId: o.detectorConsumer ? o.detectorGroupId : undefined,
      parts: this.parts,
    });
  }

  stats(): AnalyzeStats & { flows?: FlowStageStats } {
    const s = { ...this.st, records: { ...this.st.records } };
    return this.o.flows ? { ...s, flows: this.o.flows.stats() } : s;
  }

  /** Partition states (for tests and status lines). */
  partitions(): { topic: string; partition: number; next: number; restoredFrom: number | null }[] {
    return [...this.parts.values()].map((p) => ({
      topic: p.topic,
      partition: p.partition,
      next: p.next,
      restoredFrom: p.restoredFrom,
    }));
  }

  async start(): Promise<void> {
    // Redis gets the digests of the handled batches right before their offsets commit, so it
    // always covers at least what is committed: the partition's next owner starts after the
    // committed offset and knows the messages before it only from Redis, and a copy of one of
    // them after that offset (a producer retry) is recognised only if its digest is there.
    // (Digests of batches handled but not yet committed may be there too: those messages come
    // again to the next owner, which drops them as copies; their rows are stored already.)
    // The digests of every partition go in one pipeline per commit instead of one per batch.
    const beforeCommit = (): Promise<void> => this.parts.pushQueued();
    await this.o.consumer.run((b) => this.handle(b), { beforeCommit });
    await this.o.detectorConsumer?.run((b) => this.handle(b), { beforeCommit });
    this.timers.push(setInterval(() => void this.tick(), 200));
    const every = this.o.checkpointEveryMs ?? 5000;
    if (every > 0) this.timers.push(setInterval(() => void this.checkpointAll(), every));
    if (this.o.admin && this.o.registry)
      this.timers.push(setInterval(() => void this.progress.updateLag(), 5000));
  }

  private async handle(batch: ConsumedBatch): Promise<void> {
    const kind = kindOfTopic(batch.topic);
    if (!kind || batch.messages.length === 0) return;
    this.lastData = Date.now();
    const first = Number(batch.messages[0].offset);
    const last = Number(batch.messages[batch.messages.length - 1].offset);
    const ps = await this.parts.open(batch.topic, batch.partition, kind, first);
    const flows = kind === 'records' ? this.o.flows : null;
    flows?.open(ps, first);
    const { fresh, digests } = this.parts.unseen(ps, batch.messages);
    const d = this.pool.take();
    try {
      // detectors first, so that their anomalies do not wait for the row insert: messages not
      // yet reflected in the state (a batch redelivered after a failed insert is skipped here)
      const all = fresh.length > 0 && Number(fresh[0].offset) >= ps.next; // offsets ascend
      const feed = all ? fresh : fresh.filter((m) => Number(m.offset) >= ps.next);
      if (feed.length) {
        decodeAll(d, kind, feed, (m, e) => {
          // a message that cannot decode would fail every redelivery and stall the partition
          this.st.malformedMessages++;
          this.log.warn('malformed message skipped', {
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            reason: e.message,
          });
        });
        const b = d.batch;
        if (b.count) {
          ps.analyzer.process(b, PARTS[kind]);
          flows?.feed(ps, b);
          ps.lastEventNs = maxTimeNs(b, ps.lastEventNs);
          this.st.records[kind] += b.count;
          this.inst.eventDelay?.observe({ kind }, delaySeconds(ps.lastEventNs));
        }
        ps.next = last + 1;
        ps.dirty = true;
        const out = ps.analyzer.flush();
        if (out.length) await this.out.route(out);
      }
      // the rows come from the same decode when it covered every fresh message
      if (kind === 'records' && fresh.length)
        await this.rows.store(
          { topic: batch.topic, partition: batch.partition, messages: fresh },
          first !== ps.expect,
          all ? d : null,
        );
    } finally {
      this.pool.give(d);
    }
    // the intervals these records closed are durable before the offsets commit
    if (flows) await flows.write(ps);
    ps.expect = last + 1;
    ps.lastWall = Date.now();
    this.parts.remember(ps, digests);
  }

  private async tick(): Promise<void> {
    if (this.tickBusy || this.closed) return;
    this.tickBusy = true;
    try {
      const idle = Date.now() - this.lastData;
      // Event time moves on with the wall clock only once the whole group has consumed
      // everything (or after 3 idle seconds): otherwise a partition whose data is still in
      // Kafka would see its open episodes closed early.
      if (
        idle >= (this.o.idleFlushMs ?? 1000) &&
        (idle >= 3_000 || (await this.progress.caughtUp()))
      ) {
        for (const ps of this.parts.values()) {
          if (ps.lastEventNs === 0n) continue;
          const now = ps.lastEventNs + BigInt(Date.now() - ps.lastWall) * 1_000_000n;
          const out = ps.analyzer.flush(now);
          if (ps.kind === 'records' && this.o.flows?.tick(ps, now)) ps.dirty = true;
          if (out.length) {
            ps.dirty = true;
            await this.out.route(out);
          }
        }
      }
      await this.out.mergeLoops();
      await this.out.store();
      await this.o.flows?.flush();
    } finally {
      this.tickBusy = false;
    }
  }

  /** Writes the checkpoint of every partition changed since its last one. */
  async checkpointAll(): Promise<void> {
    const flows = this.o.flows;
    await saveCheckpoints(
      this.parts.values(),
      this.o.redis,
      this.st,
      flows ? (ps) => (ps.kind === 'records' ? flows.checkpoint(ps) : undefined) : undefined,
    );
  }

  /** Stops consuming, flushes anomalies and writes final checkpoints. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    const step = (what: string): void => this.log.info(`stopping: ${what}`);
    await Promise.all([this.o.consumer.close(), this.o.detectorConsumer?.close()]);
    step(this.o.detectorConsumer ? 'consumers closed' : 'consumer closed');
    await this.o.admin?.close().catch(() => undefined);
    await this.rows.idle();
    step('inserts done');
    for (const ps of this.parts.values()) {
      const out = ps.analyzer.flush();
      if (out.length) await this.out.route(out);
    }
    while (this.tickBusy) await new Promise((r) => setTimeout(r, 10));
    await this.out.mergeLoops(true);
    step('detectors flushed');
    if (this.o.flows) {
      // open intervals stay in the checkpoint: the partition's next owner continues them
      await this.o.flows.flush();
      step('flow intervals stored');
    }
    await this.checkpointAll();
    step('checkpoints written');
    for (let i = 0; i < 3 && this.out.unstored; i++) await this.out.store();
    step('anomalies stored');
    if (this.o.producer) {
      // Bounded: a producer that cannot reach its partition leaders must not hold the exit;
      // its own close() sheds (and counts) what is still queued.
      const flushed = await Promise.race([
        this.o.producer.flush().then(() => true),
        new Promise<boolean>((r) => setTimeout(r, 10_000, false).unref()),
      ]);
      if (!flushed) this.log.warn('stopping: anomaly publishing did not drain in 10 s');
    }
    step('anomalies published');
  }
}

/** The newest event time in the batch, or `cur` if later. */
function maxTimeNs(b: RecordBatch, cur: bigint): bigint {
  let sec = -1;
  let nsec = 0;
  for (let r = 0; r < b.count; r++) {
    const s = b.tsSec[r];
    if (s > sec || (s === sec && b.tsNsec[r] > nsec)) {
      sec = s;
      nsec = b.tsNsec[r];
    }
  }
  if (sec < 0) return cur;
  const t = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
  return t > cur ? t : cur;
}
