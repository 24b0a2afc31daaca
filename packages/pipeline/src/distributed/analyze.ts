/**
 * The analytics worker of the distributed mode (one member of a Kafka consumer group).
 *
 * Input: the three data topics, through one consumer, or through two in two groups (records;
 * queues and reports) so that the per-queue and report detectors never wait for the row
 * inserts: kafkajs fetches again only after every batch of its last fetch was handled, so a
 * slow insert would otherwise hold back the detector topics too.
 *
 * State is kept per (topic, partition): every partition has its own Analyzer, which sees all
 * rows of its keys in order (flows on the records topic, queues on the queues topic, Telemetry
 * Report sources on the reports topic), so the result does not depend on how partitions are
 * spread over workers, or on the order partitions are served in.
 *
 * - records topic → per-flow detectors, and the `hops` / `paths` rows. Rows are inserted, made
 *   durable (`store.flush()`), and only then does the handler resolve, which commits the
 *   offsets. Each row carries its message's (partition, offset + 1) — the offset ledger — and
 *   messages at or below `max(kafka_offset)` of their partition (read from ClickHouse at the
 *   first batch of a partition and again after any failure or discontinuity) are not inserted
 *   again: a redelivery after a crash, a ClickHouse outage or a rebalance never duplicates rows.
 * - queues topic → per-queue detectors (microbursts, per-hop latency).
 * - reports topic → report detectors (sequence loss, drop reports).
 *
 * Anomalies: de-duplicated across workers in Redis (SET NX on the deterministic id), published
 * as JSON on hopwatch.anomalies.v1, stored in `anomalies` (ReplacingMergeTree on id: a
 * duplicate that slips through collapses), and recorded as live state in Redis.
 *
 * Checkpoints: every `checkpointEveryMs` and at close, the state of every changed partition is
 * written to Redis with the offset it reflects; a worker that gets a partition (at start, after
 * a rebalance or a restart) loads it, and feeds the detectors only messages after it.
 */
import { createHash } from 'crypto';
import { Analyzer, type AnalyticsConfig, type Anomaly } from '@hopwatch/analytics';
import { RecordBatch, toJson } from '@hopwatch/codec';
import type { Store } from '@hopwatch/store';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { decodeMessage, type MessageKind } from '../wire/messages';
import { kindOfTopic, TOPIC_ANOMALIES, TOPIC_RECORDS } from '../wire/topics';
import type { ConsumedBatch, Consumer, InMessage, Producer } from '../transport/types';
import type { Logger } from '../metrics/log';
import { Registry, type Histogram, type Counter } from '../metrics/registry';
import type { RedisState } from './redis-state';
import { GroupCommit } from './group-commit';
import { LoopMerger } from './loop-merge';

type Checkpoint = ReturnType<Analyzer['exportCheckpoint']>;

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
  /** For the consumer-lag gauge (admin client); optional. */
  brokers?: string[];
  groupId?: string;
  /** Checkpoint period (default 5000 ms; 0 = only at close). */
  checkpointEveryMs?: number;
  /** When no data arrived for this long, event time advances with the wall clock so open
   * anomaly episodes close (default 1000 ms). */
  idleFlushMs?: number;
  /** Micro-loop partials of all partitions are merged once none arrived for this long (1000 ms). */
  loopHoldMs?: number;
  /** Called for each anomaly published (after de-duplication). */
  onAnomaly?: (a: Anomaly) => void;
}

interface PartState {
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
  /** Digests of the latest messages handled (a producer retry can write a message twice). */
  digests: Set<string>;
  digestOrder: string[];
}

const MAX_DIGESTS = 4096;

interface Ledger {
  hops: number;
  paths: number;
}

export interface AnalyzeStats {
  records: { records: number; queues: number; reports: number };
  hopRows: number;
  pathRows: number;
  skippedRecords: number;
  insertFailures: number;
  anomalies: number;
  deduplicated: number;
  checkpoints: number;
  checkpointFailures: number;
  restored: number;
  detectorGaps: number;
  anomalyStoreFailures: number;
  /** Messages skipped because the same bytes were already handled (producer duplicates). */
  duplicateMessages: number;
}

const PARTS = {
  records: { flows: true, queues: false, reports: false },
  queues: { flows: false, queues: true, reports: false },
  reports: { flows: false, queues: false, reports: true },
} as const;

export class AnalyzeWorker {
  private parts = new Map<string, PartState>();
  private ledgers = new Map<number, Ledger>();
  private ledgerValid = false;
  private storeLock: Promise<void> = Promise.resolve();
  /**
   * Store flushes shared by the batches of several partitions handled at once (group commit):
   * above ~20k reports/s, one insert per Kafka batch, one at a time, fell behind. A failed
   * flush fails every batch in it; they are redelivered and the ledger skips what did land.
   */
  private readonly commits = new GroupCommit(() => this.o.store.flush());
  private pendingAnomalies: Anomaly[] = [];
  private lastData = Date.now();
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private readonly log: Logger;
  private readonly st: AnalyzeStats = {
    records: { records: 0, queues: 0, reports: 0 },
    hopRows: 0,
    pathRows: 0,
    skippedRecords: 0,
    insertFailures: 0,
    anomalies: 0,
    deduplicated: 0,
    checkpoints: 0,
    checkpointFailures: 0,
    restored: 0,
    detectorGaps: 0,
    anomalyStoreFailures: 0,
    duplicateMessages: 0,
  };
  private lag = new Map<string, number>();
  private hInsertRows?: Histogram;
  private hInsertSec?: Histogram;
  private hEventDelay?: Histogram;
  private hAnomalyDelay?: Histogram;
  private cAnomalies?: Counter;
  private reportGaps = 0;
  private feedBatch = new RecordBatch(4096, 8);
  private rowBatch = new RecordBatch(4096, 8);
  private rowOffsets = new Float64Array(4096);
  private tickBusy = false;
  private anomalyStoreDown = false;
  private readonly loops: LoopMerger;

  constructor(private readonly o: AnalyzeOptions) {
    this.log = o.logger.child({ component: 'analyze' });
    const cfg = new Analyzer({
      ...(o.analytics ?? {}),
      maxFlows: 16,
      maxQueues: 16,
      maxReporters: 16,
      maxPaths: 16,
      maxLatencyFlows: 16,
    }).config;
    this.loops = new LoopMerger(o.redis, {
      holdMs: o.loopHoldMs ?? 1000,
      loopGapNs: cfg.loopGapNs,
      maxFlows: cfg.maxFlowsPerAnomaly,
    });
    if (o.registry) this.instrument(o.registry);
  }

  stats(): AnalyzeStats {
    return { ...this.st, records: { ...this.st.records } };
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
    await this.o.consumer.run((b) => this.handle(b));
    await this.o.detectorConsumer?.run((b) => this.handle(b));
    this.timers.push(setInterval(() => void this.tick(), 200));
    const every = this.o.checkpointEveryMs ?? 5000;
    if (every > 0) this.timers.push(setInterval(() => void this.checkpointAll(), every));
    if (this.o.brokers && this.o.registry)
      this.timers.push(setInterval(() => void this.updateLag(), 5000));
  }

  // ------------------------------------------------------------------ per batch

  private async handle(batch: ConsumedBatch): Promise<void> {
    const kind = kindOfTopic(batch.topic);
    if (!kind || batch.messages.length === 0) return;
    this.lastData = Date.now();
    const first = Number(batch.messages[0].offset);
    const last = Number(batch.messages[batch.messages.length - 1].offset);
    const ps = await this.partition(batch.topic, batch.partition, kind, first);
    // Kafka may hold a message twice (a producer retry after a leader change): skip byte-identical
    // copies of messages already handled (rows and detectors)
    const fresh: InMessage[] = [];
    const inBatch = new Set<string>();
    const digests: string[] = [];
    for (const m of batch.messages) {
      const d = createHash('sha1').update(m.value).digest('base64');
      if (ps.digests.has(d) || inBatch.has(d)) {
        if (Number(m.offset) >= ps.expect) this.st.duplicateMessages++;
        continue;
      }
      inBatch.add(d);
      digests.push(d);
      fresh.push(m);
    }
    // detectors first, so that their anomalies do not wait for the row insert: messages not
    // yet reflected in the state (a batch redelivered after a failed insert is skipped here)
    const feed = fresh.filter((m) => Number(m.offset) >= ps.next);
    if (feed.length) {
      const b = this.feedBatch;
      b.reset();
      for (const m of feed) decodeMessage(kind, m.value, b);
      if (b.count) {
        ps.analyzer.process(b, PARTS[kind]);
        ps.lastEventNs = maxTimeNs(b, ps.lastEventNs);
        this.st.records[kind] += b.count;
        this.hEventDelay?.observe({ kind }, delaySeconds(ps.lastEventNs));
      }
      b.reset();
      ps.next = last + 1;
      ps.dirty = true;
      const out = ps.analyzer.flush();
      if (out.length) await this.route(out);
    }
    const work: ConsumedBatch = { topic: batch.topic, partition: batch.partition, messages: fresh };
    if (kind === 'records' && fresh.length) await this.storeRows(work, first !== ps.expect);
    ps.expect = last + 1;
    ps.lastWall = Date.now();
    if (digests.length) {
      for (const d of digests) {
        ps.digests.add(d);
        ps.digestOrder.push(d);
      }
      while (ps.digestOrder.length > MAX_DIGESTS) ps.digests.delete(ps.digestOrder.shift()!);
      if (this.o.redis)
        await this.o.redis.pushDigests(batch.topic, batch.partition, digests, MAX_DIGESTS);
    }
  }

  /** Micro-loop partials go to the merger; everything else out at once. */
  private async route(list: Anomaly[]): Promise<void> {
    const rest: Anomaly[] = [];
    for (const a of list) {
      if (a.type === 'microloop') {
        this.log.debug('micro-loop partial', {
          id: a.id,
          end: a.end.toString(),
          flows: a.flowCount,
        });
        await this.loops.add(a);
      } else rest.push(a);
    }
    if (rest.length) await this.emit(rest);
  }

  /** The partition's state: created (from its Redis checkpoint, if any) on first sight; reloaded
   * when the batch does not follow what this worker saw (another member had the partition). */
  private async partition(
    topic: string,
    partition: number,
    kind: MessageKind,
    first: number,
  ): Promise<PartState> {
    const key = `${topic}/${partition}`;
    let ps = this.parts.get(key);
    if (ps && first > ps.expect) {
      // another worker processed [ps.expect, first): its checkpoint is newer than our state
      const ck = this.o.redis ? await this.o.redis.loadCheckpoint(topic, partition) : null;
      if (ck && ck.next > ps.next) {
        ps = undefined;
      } else if (first > ps.next) {
        this.st.detectorGaps++;
        this.log.warn('detector state gap (messages processed elsewhere, no newer checkpoint)', {
          topic,
          partition,
          from: ps.next,
          to: first,
        });
      }
    }
    if (!ps) {
      const analyzer = new Analyzer({ ...(this.o.analytics ?? {}), onAnomaly: null });
      ps = {
        topic,
        partition,
        kind,
        analyzer,
        next: 0,
        expect: first,
        lastEventNs: 0n,
        lastWall: Date.now(),
        dirty: false,
        restoredFrom: null,
        digests: new Set(),
        digestOrder: [],
      };
      if (this.o.redis) {
        ps.digestOrder = await this.o.redis.loadDigests(topic, partition, MAX_DIGESTS);
        ps.digests = new Set(ps.digestOrder);
      }
      const ck = this.o.redis ? await this.o.redis.loadCheckpoint(topic, partition) : null;
      if (ck) {
        try {
          analyzer.importCheckpoint(ck.state as Checkpoint);
          ps.next = ck.next;
          ps.restoredFrom = ck.next;
          ps.lastEventNs = BigInt((ck.state as { lastEventNs?: string }).lastEventNs ?? '0');
          this.st.restored++;
          this.log.info('detector state restored from checkpoint', {
            topic,
            partition,
            next: ck.next,
            ageMs: Date.now() - ck.at,
          });
        } catch (e) {
          this.log.warn('ignoring unreadable checkpoint', {
            topic,
            partition,
            error: (e as Error).message,
          });
        }
      }
      if (first > ps.next && ps.restoredFrom !== null) {
        this.st.detectorGaps++;
        this.log.warn(
          'detector state gap after restore (offsets committed after the last checkpoint)',
          { topic, partition, from: ps.next, to: first },
        );
      }
      this.parts.set(key, ps);
      // a partition (re)assigned to us: the ledger may have moved
      if (kind === 'records') this.ledgers.delete(partition);
    }
    return ps;
  }

  // ------------------------------------------------------------------ rows (records topic)

  private async withStoreLock<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.storeLock;
    let release!: () => void;
    this.storeLock = new Promise((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private async ledger(partition: number, refresh: boolean): Promise<Ledger> {
    if (refresh || !this.ledgerValid || !this.ledgers.has(partition)) {
      const q = async (t: string): Promise<Map<number, number>> => {
        const rows = await this.o.store.query(
          `SELECT kafka_partition AS p, max(kafka_offset) AS o FROM ${t} WHERE kafka_offset > 0 GROUP BY kafka_partition`,
        );
        return new Map(rows.map((r) => [Number(r.p), Number(r.o)]));
      };
      const [h, p] = [await q('hops'), await q('paths')];
      // in place: a handler whose rows are in a flush still holds its partition's entry and
      // moves it forward when that flush is done
      for (const k of new Set([...h.keys(), ...p.keys(), ...this.ledgers.keys()])) {
        const l = this.ledgers.get(k) ?? { hops: 0, paths: 0 };
        l.hops = h.get(k) ?? 0;
        l.paths = p.get(k) ?? 0;
        this.ledgers.set(k, l);
      }
      this.ledgerValid = true;
    }
    let l = this.ledgers.get(partition);
    if (!l) {
      l = { hops: 0, paths: 0 };
      this.ledgers.set(partition, l);
    }
    return l;
  }

  /** Decodes the messages selected by `pick` into rowBatch, with per-record offsets (+1). */
  private decodeRows(
    messages: InMessage[],
    pick: (off1: number) => boolean,
  ): { batch: RecordBatch; offsets: Float64Array; last: number } {
    const b = this.rowBatch;
    b.reset();
    let last = 0;
    for (const m of messages) {
      const off1 = Number(m.offset) + 1;
      if (!pick(off1)) continue;
      const from = b.count;
      decodeMessage('records', m.value, b);
      if (this.rowOffsets.length < b.count) {
        const grown = new Float64Array(Math.max(b.count, this.rowOffsets.length * 2));
        grown.set(this.rowOffsets);
        this.rowOffsets = grown;
      }
      this.rowOffsets.fill(off1, from, b.count);
      last = off1;
    }
    return { batch: b, offsets: this.rowOffsets, last };
  }

  /**
   * Rows of a records batch: encoded into the store's pending insert under the store lock, then
   * made durable by a group flush (see `commits`), and only then does the handler resolve and
   * its offsets commit. Batches of several partitions handled at once share one insert.
   */
  private async storeRows(batch: ConsumedBatch, discontinuity: boolean): Promise<void> {
    const partition = batch.partition;
    const t0 = performance.now();
    try {
      const e = await this.withStoreLock(() => this.encodeRows(batch, discontinuity));
      await this.commits.commit();
      e.led.hops = Math.max(e.led.hops, e.lastHops);
      e.led.paths = Math.max(e.led.paths, e.lastPaths);
      this.st.hopRows += e.hopRows;
      this.st.pathRows += e.pathRows;
      if (e.hopRows + e.pathRows > 0) {
        this.hInsertRows?.observe(e.hopRows);
        this.hInsertSec?.observe((performance.now() - t0) / 1000);
      }
    } catch (e) {
      this.st.insertFailures++;
      this.ledgerValid = false; // partial inserts: read the ledger again before retrying
      this.log.warn('insert failed; the batch will be redelivered', {
        partition,
        error: (e as Error).message.split('\n')[0],
      });
      throw e;
    }
  }

  /**
   * Encodes the rows of `batch` the ledger does not show as stored into the store's pending
   * insert (under the store lock). Returns the partition's ledger entry and the offsets it
   * moves to once the insert is durable.
   */
  private async encodeRows(
    batch: ConsumedBatch,
    discontinuity: boolean,
  ): Promise<{
    led: Ledger;
    lastHops: number;
    lastPaths: number;
    hopRows: number;
    pathRows: number;
  }> {
    const store = this.o.store;
    const partition = batch.partition;
    try {
      const led = await this.ledger(partition, discontinuity);
      const hi = Math.max(led.hops, led.paths);
      const lo = Math.min(led.hops, led.paths);
      let lastHops = led.hops;
      let lastPaths = led.paths;
      let hopRows = 0;
      let pathRows = 0;
      let total = 0;
      for (const m of batch.messages) total += Number(m.offset) + 1 <= hi ? 1 : 0;
      // one table behind the other (an insert failed between the two): catch it up first
      if (lo < hi) {
        const only = led.hops < led.paths ? 'hops' : 'paths';
        const r = this.decodeRows(batch.messages, (o) => o > lo && o <= hi);
        if (r.batch.count) {
          const s = await store.insertBatch(r.batch, {
            partition,
            offset: r.offsets,
            hops: only === 'hops',
            paths: only === 'paths',
          });
          hopRows += s.hopRows;
          pathRows += s.pathRows;
          if (only === 'hops') lastHops = r.last;
          else lastPaths = r.last;
        }
      }
      const r = this.decodeRows(batch.messages, (o) => o > hi);
      if (r.batch.count) {
        const s = await store.insertBatch(r.batch, { partition, offset: r.offsets });
        hopRows += s.hopRows;
        pathRows += s.pathRows;
        lastHops = lastPaths = r.last;
      }
      this.st.skippedRecords += total ? this.countSkipped(batch.messages, hi) : 0;
      return { led, lastHops, lastPaths, hopRows, pathRows };
    } finally {
      this.rowBatch.reset();
    }
  }

  private countSkipped(messages: InMessage[], hi: number): number {
    const b = new RecordBatch(1024, 8);
    let n = 0;
    for (const m of messages) {
      if (Number(m.offset) + 1 > hi) continue;
      b.reset();
      n += decodeMessage('records', m.value, b);
    }
    return n;
  }

  // ------------------------------------------------------------------ anomalies

  private async emit(list: Anomaly[]): Promise<void> {
    for (const a of list) {
      const fresh = this.o.redis ? await this.o.redis.claimAnomaly(a.id) : true;
      if (!fresh) {
        this.st.deduplicated++;
        continue;
      }
      this.st.anomalies++;
      this.cAnomalies?.inc({ type: a.type });
      this.hAnomalyDelay?.observe({ type: a.type }, delaySeconds(a.end));
      if (a.type === 'report_loss') this.reportGaps += a.lost;
      if (this.o.producer) {
        this.o.producer.send(TOPIC_ANOMALIES, [{ key: a.id, value: Buffer.from(toJson(a)) }]);
      }
      this.pendingAnomalies.push(a);
      this.o.onAnomaly?.(a);
      if (this.o.redis) {
        const fp =
          a.type === 'path_change'
            ? {
                flow: `${a.flow.srcAddr}:${a.flow.srcPort}>${a.flow.dstAddr}:${a.flow.dstPort}/${a.flow.protocol}`,
                path: a.newPath,
              }
            : undefined;
        void this.o.redis.recordAnomaly(a.id, Number(a.end / 1_000_000n), toJson(a), fp);
      }
    }
  }

  private async storeAnomalies(): Promise<void> {
    if (!this.pendingAnomalies.length) return;
    const list = this.pendingAnomalies;
    this.pendingAnomalies = [];
    try {
      await this.o.store.insertAnomalies(list);
    } catch (e) {
      this.st.anomalyStoreFailures++;
      this.pendingAnomalies = list.concat(this.pendingAnomalies);
      if (!this.anomalyStoreDown)
        this.log.warn('storing anomalies failed; will retry', {
          count: list.length,
          error: (e as Error).message.split('\n')[0],
        });
      this.anomalyStoreDown = true;
      return;
    }
    if (this.anomalyStoreDown) {
      this.anomalyStoreDown = false;
      this.log.info('anomalies stored again');
    }
  }

  private async tick(): Promise<void> {
    if (this.tickBusy || this.closed) return;
    this.tickBusy = true;
    try {
      const idle = Date.now() - this.lastData;
      // Event time moves on with the wall clock only once the whole group has consumed
      // everything (or after 3 idle seconds): otherwise a partition whose data is still in
      // Kafka would see its open episodes closed early.
      if (idle >= (this.o.idleFlushMs ?? 1000) && (idle >= 3_000 || (await this.groupCaughtUp()))) {
        for (const ps of this.parts.values()) {
          if (ps.lastEventNs === 0n) continue;
          const out = ps.analyzer.flush(
            ps.lastEventNs + BigInt(Date.now() - ps.lastWall) * 1_000_000n,
          );
          if (out.length) {
            ps.dirty = true;
            await this.route(out);
          }
        }
      }
      const merged = await this.loops.due();
      if (merged.length) {
        this.log.debug('micro-loops merged', { ids: merged.map((m) => m.id) });
        await this.emit(merged);
      }
      await this.storeAnomalies();
    } finally {
      this.tickBusy = false;
    }
  }

  async checkpointAll(): Promise<void> {
    const r = this.o.redis;
    if (!r) return;
    for (const ps of this.parts.values()) {
      if (!ps.dirty) continue;
      ps.dirty = false;
      const state = { ...ps.analyzer.exportCheckpoint(), lastEventNs: ps.lastEventNs.toString() };
      const ok = await r.saveCheckpoint(ps.topic, ps.partition, ps.next, state);
      if (ok) this.st.checkpoints++;
      else {
        this.st.checkpointFailures++;
        if (!r.connected) ps.dirty = true; // retry when Redis is back
      }
    }
  }

  private admin?: Admin;

  private async getAdmin(): Promise<Admin> {
    if (!this.admin) {
      const kafka = new Kafka({
        clientId: 'hopwatch-analyze-admin',
        brokers: this.o.brokers!,
        logLevel: logLevel.NOTHING,
        connectionTimeout: 2000,
        retry: { retries: 0 },
      });
      const a = kafka.admin();
      await a.connect();
      this.admin = a;
    }
    return this.admin;
  }

  /** True when the group's committed offsets are at the end of every data partition. */
  private async groupCaughtUp(): Promise<boolean> {
    if (!this.o.brokers || !this.o.groupId) return true;
    try {
      const admin = await this.getAdmin();
      const byGroup = new Map<string, Set<string>>();
      for (const { topic } of this.parts.values()) {
        const split = this.o.detectorConsumer && this.o.detectorGroupId && topic !== TOPIC_RECORDS;
        const g = split ? (this.o.detectorGroupId as string) : this.o.groupId;
        byGroup.set(g, (byGroup.get(g) ?? new Set()).add(topic));
      }
      for (const [groupId, topics] of byGroup) {
        const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
        for (const t of committed) {
          const high = await admin.fetchTopicOffsets(t.topic);
          const hi = new Map(high.map((h) => [h.partition, Number(h.high)]));
          for (const p of t.partitions) {
            const c = Number(p.offset);
            const h = hi.get(p.partition) ?? 0;
            if (h > 0 && c < h) return false;
          }
        }
      }
      return true;
    } catch {
      const a = this.admin;
      this.admin = undefined;
      await a?.disconnect().catch(() => undefined);
      return false;
    }
  }

  private async updateLag(): Promise<void> {
    if (!this.o.brokers) return;
    try {
      const kafka = new Kafka({
        clientId: 'hopwatch-lag',
        brokers: this.o.brokers,
        logLevel: logLevel.NOTHING,
        connectionTimeout: 2000,
        retry: { retries: 0 },
      });
      const admin = kafka.admin();
      await admin.connect();
      try {
        const topics = new Set([...this.parts.values()].map((p) => p.topic));
        for (const t of topics) {
          const offs = await admin.fetchTopicOffsets(t);
          for (const o of offs) {
            const ps = this.parts.get(`${t}/${o.partition}`);
            if (ps) this.lag.set(`${t}/${o.partition}`, Math.max(0, Number(o.high) - ps.expect));
          }
        }
      } finally {
        await admin.disconnect();
      }
    } catch {
      /* brokers down: keep the last values */
    }
  }

  private instrument(reg: Registry): void {
    reg.counter(
      'hopwatch_analyze_records_total',
      'Rows fed to the detectors, by topic kind.',
      ['kind'],
      (c) => {
        for (const [k, v] of Object.entries(this.st.records)) c.setTotal({ kind: k }, v);
      },
    );
    reg.counter(
      'hopwatch_analyze_rows_inserted_total',
      'Rows made durable in ClickHouse, by table.',
      ['table'],
      (c) => {
        c.setTotal({ table: 'hops' }, this.st.hopRows);
        c.setTotal({ table: 'paths' }, this.st.pathRows);
      },
    );
    reg.counter(
      'hopwatch_analyze_records_skipped_total',
      'Redelivered records already stored (offset ledger).',
      [],
      (c) => c.setTotal(this.st.skippedRecords),
    );
    reg.counter(
      'hopwatch_analyze_duplicate_messages_total',
      'Byte-identical Kafka messages skipped (producer retries).',
      [],
      (c) => c.setTotal(this.st.duplicateMessages),
    );
    reg.counter(
      'hopwatch_store_insert_failures_total',
      'Failed ClickHouse inserts (the batch is redelivered).',
      [],
      (c) => c.setTotal(this.st.insertFailures),
    );
    this.hInsertRows = reg.histogram(
      'hopwatch_store_insert_batch_hop_rows',
      'Hop rows per durable ClickHouse insert.',
      [],
      [100, 1000, 10000, 50000, 100000, 500000, 1000000],
    );
    this.hInsertSec = reg.histogram(
      'hopwatch_store_insert_seconds',
      'Latency of a durable ClickHouse insert (encode + write).',
      [],
    );
    // live traffic only: for a replayed capture these are the capture's age
    this.hEventDelay = reg.histogram(
      'hopwatch_analyze_event_delay_seconds',
      'Wall clock minus the newest event time of each batch fed to the detectors, by topic kind (how far the detectors are behind live traffic).',
      ['kind'],
      DELAY_BUCKETS,
    );
    this.hAnomalyDelay = reg.histogram(
      'hopwatch_anomaly_delay_seconds',
      'Wall clock at publication minus the anomaly end (event time), by type.',
      ['type'],
      DELAY_BUCKETS,
    );
    this.cAnomalies = reg.counter(
      'hopwatch_analyze_anomalies_total',
      'Anomalies published (after de-duplication), by type.',
      ['type'],
    );
    reg.counter(
      'hopwatch_analyze_anomalies_deduplicated_total',
      'Anomalies already published by another worker.',
      [],
      (c) => c.setTotal(this.st.deduplicated),
    );
    reg.counter(
      'hopwatch_analyze_report_sequence_gaps_total',
      'Telemetry Reports missing (sequence gaps), from report_loss anomalies.',
      [],
      (c) => c.setTotal(this.reportGaps),
    );
    reg.counter(
      'hopwatch_analyze_checkpoints_total',
      'Detector checkpoints written to Redis.',
      [],
      (c) => c.setTotal(this.st.checkpoints),
    );
    reg.counter(
      'hopwatch_analyze_checkpoint_failures_total',
      'Checkpoints not written (Redis down, or a newer one exists).',
      [],
      (c) => c.setTotal(this.st.checkpointFailures),
    );
    reg.counter(
      'hopwatch_analyze_detector_gaps_total',
      'Partitions resumed with messages the detectors did not see.',
      [],
      (c) => c.setTotal(this.st.detectorGaps),
    );
    reg.counter('hopwatch_redis_errors_total', 'Failed Redis calls.', [], (c) =>
      c.setTotal(this.o.redis?.errors ?? 0),
    );
    reg.gauge(
      'hopwatch_kafka_consumer_lag',
      'Messages behind the partition end (refreshed every 5 s).',
      ['topic', 'partition'],
      (g) => {
        for (const [k, v] of this.lag) {
          const i = k.lastIndexOf('/');
          g.set({ topic: k.slice(0, i), partition: k.slice(i + 1) }, v);
        }
      },
    );
    reg.gauge(
      'hopwatch_analyze_partitions',
      'Partitions with detector state in this worker.',
      [],
      (g) => g.set({}, this.parts.size),
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
    await this.admin?.disconnect().catch(() => undefined);
    await this.storeLock;
    await this.commits.idle();
    step('inserts done');
    for (const ps of this.parts.values()) {
      const out = ps.analyzer.flush();
      if (out.length) await this.route(out);
    }
    while (this.tickBusy) await new Promise((r) => setTimeout(r, 10));
    const merged = await this.loops.due(true);
    if (merged.length) await this.emit(merged);
    step('detectors flushed');
    await this.checkpointAll();
    step('checkpoints written');
    for (let i = 0; i < 3 && this.pendingAnomalies.length; i++) await this.storeAnomalies();
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

const DELAY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60];

/** Seconds from event time `ns` (ns since epoch) to now. */
function delaySeconds(ns: bigint): number {
  return Math.max(0, Date.now() / 1000 - Number(ns) / 1e9);
}

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
