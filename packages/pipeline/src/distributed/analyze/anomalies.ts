/**
 * Where anomalies go: de-duplicated across workers in Redis (SET NX on the deterministic id),
 * published as JSON on hopwatch.anomalies.v2, stored in `anomalies` (ReplacingMergeTree on id:
 * a duplicate that slips through collapses; kept and retried while the store is down), and
 * recorded as live state in Redis. Micro-loop partials first meet the other partitions' ones
 * in the LoopMerger.
 */
import type { Anomaly } from '@hopwatch/analytics';
import { toJson } from '@hopwatch/codec';
import type { Store } from '@hopwatch/store';
import { anomalyToJson } from '../../wire/anomaly-json';
import { TOPIC_ANOMALIES } from '../../wire/topics';
import type { OutMessage, Producer } from '../../transport/types';
import type { Logger } from '../../metrics/log';
import type { LiveAnomaly, RedisState } from '../redis-state';
import type { LoopMerger } from '../loop-merge';
import { delaySeconds, type AnalyzeInstruments, type AnalyzeStats } from './metrics';

export interface AnomalyOutputOptions {
  store: Store;
  /** null: do not publish. */
  producer: Producer | null;
  redis: RedisState | null;
  loops: LoopMerger;
  log: Logger;
  stats: AnalyzeStats;
  inst: AnalyzeInstruments;
  onAnomaly?: (a: Anomaly) => void;
}

export class AnomalyOutput {
  /** Telemetry Reports missing, from the report_loss anomalies published. */
  reportGaps = 0;
  private pending: Anomaly[] = [];
  private storeDown = false;

  constructor(private readonly o: AnomalyOutputOptions) {}

  /** Anomalies published but not stored yet. */
  get unstored(): number {
    return this.pending.length;
  }

  /** Micro-loop partials go to the merger; everything else out at once. */
  async route(list: Anomaly[]): Promise<void> {
    const rest: Anomaly[] = [];
    for (const a of list) {
      if (a.type === 'microloop') {
        this.o.log.debug('micro-loop partial', {
          id: a.id,
          end: a.end.toString(),
          flows: a.flowCount,
        });
        await this.o.loops.add(a);
      } else rest.push(a);
    }
    if (rest.length) await this.emit(rest);
  }

  /** Emits the merged micro-loops that are due (all of them with `force`). */
  async mergeLoops(force = false): Promise<void> {
    const merged = await this.o.loops.due(force);
    if (!merged.length) return;
    if (!force) this.o.log.debug('micro-loops merged', { ids: merged.map((m) => m.id) });
    await this.emit(merged);
  }

  /**
   * De-duplicates (one Redis pipeline for the list), publishes (one send), and records the live
   * state (one MULTI, not awaited). Before, each anomaly took seven Redis round trips, a cost
   * that showed at ~200 drop anomalies a second.
   */
  async emit(list: Anomaly[]): Promise<void> {
    const { redis, producer, stats, inst } = this.o;
    if (!list.length) return;
    const fresh = redis ? await redis.claimAnomalies(list.map((a) => a.id)) : null;
    const messages: OutMessage[] = [];
    const live: LiveAnomaly[] = [];
    for (let i = 0; i < list.length; i++) {
      const a = list[i];
      if (fresh && !fresh[i]) {
        stats.deduplicated++;
        continue;
      }
      stats.anomalies++;
      inst.anomalies?.inc({ type: a.type });
      inst.anomalyDelay?.observe({ type: a.type }, delaySeconds(a.end));
      if (a.type === 'report_loss') this.reportGaps += a.lost;
      if (producer) messages.push({ key: a.id, value: Buffer.from(anomalyToJson(a)) });
      this.pending.push(a);
      this.o.onAnomaly?.(a);
      if (redis) {
        const flowPath =
          a.type === 'path_change'
            ? {
                flow: `${a.flow.srcAddr}:${a.flow.srcPort}>${a.flow.dstAddr}:${a.flow.dstPort}/${a.flow.protocol}`,
                path: a.newPath,
              }
            : undefined;
        live.push({ id: a.id, endMs: Number(a.end / 1_000_000n), json: toJson(a), flowPath });
      }
    }
    if (producer && messages.length) producer.send(TOPIC_ANOMALIES, messages);
    if (redis && live.length) void redis.recordAnomalies(live);
  }

  /** Stores the anomalies emitted so far; on failure they stay for the next call. */
  async store(): Promise<void> {
    if (!this.pending.length) return;
    const list = this.pending;
    this.pending = [];
    try {
      await this.o.store.insertAnomalies(list);
    } catch (e) {
      this.o.stats.anomalyStoreFailures++;
      this.pending = list.concat(this.pending);
      if (!this.storeDown)
        this.o.log.warn('storing anomalies failed; will retry', {
          count: list.length,
          error: (e as Error).message.split('\n')[0],
        });
      this.storeDown = true;
      return;
    }
    if (this.storeDown) {
      this.storeDown = false;
      this.o.log.info('anomalies stored again');
    }
  }
}
