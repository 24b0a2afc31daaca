/**
 * Shared state of the analytics workers in Redis (ioredis):
 *
 * - detector checkpoints per (topic, partition): `hopwatch:ckpt:<topic>:<partition>` (hash:
 *   `next` = first offset not reflected in the state, `state` = JSON). Written with a
 *   compare-and-set script that never replaces a checkpoint with an older one (a worker that
 *   lost a partition in a rebalance cannot overwrite the new owner's newer state);
 * - anomaly de-duplication: `SET hopwatch:anomaly:<id> 1 NX EX <ttl>` before publishing (the
 *   anomalies of one detector flush claimed in one pipeline);
 * - live state for quick lookups: `hopwatch:active` (sorted set of anomaly ids by end time, ms)
 *   + `hopwatch:anomaly-data` (hash id → JSON), trimmed to the newest `maxActive` (one MULTI
 *   per list of anomalies, the trim a script inside it);
 *   `hopwatch:path` (hash flow id → JSON {path, time}) with the latest path of each flow
 *   seen changing path.
 *
 * Redis being down never stops the pipeline: every call fails fast (no offline queue), is
 * counted, and the caller carries on (publishing without de-duplication, checkpointing later).
 */
import Redis from 'ioredis';
import type { Logger } from '../metrics/log';

const CAS = `
local cur = redis.call('HGET', KEYS[1], 'next')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'next', ARGV[1], 'state', ARGV[2], 'at', ARGV[3])
return 1`;

/** Trims the active set (KEYS[1]) and its data hash (KEYS[2]) to the newest ARGV[1] ids. */
const TRIM_ACTIVE = `
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if over <= 0 then return 0 end
local old = redis.call('ZRANGE', KEYS[1], 0, over - 1)
for i = 1, #old, 1000 do
  local last = math.min(i + 999, #old)
  redis.call('ZREM', KEYS[1], unpack(old, i, last))
  redis.call('HDEL', KEYS[2], unpack(old, i, last))
end
return #old`;

/** An anomaly's live state (recordAnomalies). */
export interface LiveAnomaly {
  id: string;
  endMs: number;
  json: string;
  /** The flow's new path (path changes). */
  flowPath?: { flow: string; path: number[] };
}

export interface RedisStateOptions {
  url: string;
  prefix?: string;
  /** Seconds an anomaly id stays claimed (default 86400). */
  dedupeTtlSec?: number;
  /** Anomalies kept in the live 'active' set (default 1000). */
  maxActive?: number;
  logger: Logger;
}

export interface StoredCheckpoint {
  next: number;
  state: unknown;
  at: number;
}

export class RedisState {
  readonly redis: Redis;
  private readonly p: string;
  private readonly log: Logger;
  private down = false;
  errors = 0;

  constructor(private readonly o: RedisStateOptions) {
    this.p = o.prefix ?? 'hopwatch:';
    this.log = o.logger.child({ component: 'redis' });
    this.redis = new Redis(o.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: false,
      connectTimeout: 2000,
      retryStrategy: (n) => Math.min(200 * n, 2000),
    });
    this.redis.on('error', () => undefined);
    this.redis.on('ready', () => {
      if (this.down) this.log.info('redis reachable again', { url: o.url });
      this.down = false;
    });
  }

  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  private fail(what: string, e: unknown): void {
    this.errors++;
    if (!this.down) {
      this.down = true;
      this.log.warn(`redis ${what} failed; continuing without it`, {
        url: this.o.url,
        error: (e as Error).message,
      });
    }
  }

  /**
   * Anomaly de-duplication for several ids in one pipeline (one round trip): for each, true when
   * it was not claimed before, so publish it (an id twice in the list: the first only). True for
   * every id whose command failed (Redis down: publish without de-duplication).
   */
  async claimAnomalies(ids: readonly string[]): Promise<boolean[]> {
    if (!ids.length) return [];
    const ttl = this.o.dedupeTtlSec ?? 86400;
    try {
      const pipe = this.redis.pipeline();
      for (const id of ids) pipe.set(`${this.p}anomaly:${id}`, '1', 'EX', ttl, 'NX');
      const res = await pipe.exec();
      if (!res) throw new Error('redis pipeline was not executed');
      let err: unknown = null;
      const out = res.map(([e, r]) => {
        if (e) err = e;
        return e ? true : r === 'OK';
      });
      if (err) this.fail('anomaly de-duplication', err);
      return out;
    } catch (e) {
      this.fail('anomaly de-duplication', e);
      return ids.map(() => true);
    }
  }

  async saveCheckpoint(
    topic: string,
    partition: number,
    next: number,
    state: unknown,
  ): Promise<boolean> {
    try {
      const r = await this.redis.eval(
        CAS,
        1,
        `${this.p}ckpt:${topic}:${partition}`,
        String(next),
        JSON.stringify(state),
        String(Date.now()),
      );
      return r === 1;
    } catch (e) {
      this.fail('checkpoint save', e);
      return false;
    }
  }

  async loadCheckpoint(topic: string, partition: number): Promise<StoredCheckpoint | null> {
    try {
      const h = await this.redis.hgetall(`${this.p}ckpt:${topic}:${partition}`);
      if (!h || h.next === undefined || h.state === undefined) return null;
      return { next: Number(h.next), state: JSON.parse(h.state), at: Number(h.at ?? 0) };
    } catch (e) {
      this.fail('checkpoint load', e);
      return null;
    }
  }

  /**
   * Appends message digests (SHA-1s, as 20-character latin1 strings) to the lists of several
   * partitions, newest last, each trimmed to its newest `max`: one pipeline (one round trip).
   * Stored as 20-byte binary entries.
   */
  async pushDigests(
    lists: { topic: string; partition: number; digests: string[] }[],
    max: number,
  ): Promise<void> {
    try {
      const pipe = this.redis.pipeline();
      for (const l of lists) {
        if (!l.digests.length) continue;
        const k = `${this.p}digests:${l.topic}:${l.partition}`;
        // one buffer of all digests, entries are views of it (no copy per digest)
        const all = Buffer.from(l.digests.join(''), 'latin1');
        const entries: Buffer[] = [];
        for (let i = 0; i < all.length; i += 20) entries.push(all.subarray(i, i + 20));
        pipe.rpush(k, ...entries).ltrim(k, -max, -1);
      }
      const res = await pipe.exec();
      const err = res?.find(([e]) => e)?.[0];
      if (err) throw err;
    } catch (e) {
      this.fail('digest update', e);
    }
  }

  /**
   * The newest `max` digests of a partition (20-character latin1 strings, oldest first). Lists
   * written before hopwatch stored binary digests hold base64 (28 characters) entries: they are
   * read as the same digests, so a restart across the change misses no duplicate.
   */
  async loadDigests(topic: string, partition: number, max: number): Promise<string[]> {
    try {
      const raw = await this.redis.lrangeBuffer(`${this.p}digests:${topic}:${partition}`, -max, -1);
      const out: string[] = [];
      for (const b of raw) {
        if (b.length === 20) out.push(b.toString('latin1'));
        else if (b.length === 28)
          out.push(Buffer.from(b.toString('ascii'), 'base64').toString('latin1'));
        else if (b.length === 40)
          out.push(Buffer.from(b.toString('ascii'), 'hex').toString('latin1'));
      }
      return out;
    } catch (e) {
      this.fail('digest load', e);
      return [];
    }
  }

  /**
   * Live state for a list of anomalies, in one MULTI (one round trip): the ids into the active
   * set, their JSON into the data hash, the flows' new paths, then the active set trimmed to its
   * newest `maxActive` (a script inside the MULTI; before, four more round trips per anomaly).
   */
  async recordAnomalies(list: readonly LiveAnomaly[]): Promise<void> {
    if (!list.length) return;
    try {
      const active = `${this.p}active`;
      const data = `${this.p}anomaly-data`;
      const scores: (string | number)[] = [];
      const json: string[] = [];
      const paths: string[] = [];
      for (const a of list) {
        scores.push(a.endMs, a.id);
        json.push(a.id, a.json);
        if (a.flowPath)
          paths.push(a.flowPath.flow, JSON.stringify({ path: a.flowPath.path, endMs: a.endMs }));
      }
      const m = this.redis.multi();
      m.zadd(active, ...scores);
      m.hset(data, ...json);
      if (paths.length) m.hset(`${this.p}path`, ...paths);
      m.eval(TRIM_ACTIVE, 2, active, data, String(this.o.maxActive ?? 1000));
      await m.exec();
    } catch (e) {
      this.fail('live state update', e);
    }
  }

  /** Newest anomalies first (for `hopwatch analyze --active`). */
  async activeAnomalies(limit = 20): Promise<unknown[]> {
    const ids = await this.redis.zrevrange(`${this.p}active`, 0, limit - 1);
    if (!ids.length) return [];
    const data = await this.redis.hmget(`${this.p}anomaly-data`, ...ids);
    return data.filter((d): d is string => !!d).map((d) => JSON.parse(d));
  }

  async latestPath(flow: string): Promise<unknown> {
    const v = await this.redis.hget(`${this.p}path`, flow);
    return v ? JSON.parse(v) : null;
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
