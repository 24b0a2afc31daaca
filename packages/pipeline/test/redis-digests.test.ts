/**
 * Duplicate digests in Redis (a real redis-server, @hopwatch/testkit): remember() queues them,
 * pushQueued() writes every partition's queue in one pipeline as 20-byte binary entries, and
 * lists written by older versions (base64 entries) still load as the same digests. Also the
 * anomalies' claims (one pipeline per list) and live state (one MULTI, trimmed in a script).
 */
import { createHash } from 'crypto';
import { servicesAvailable, startRedis, unavailableMessage } from '@hopwatch/testkit';
import { createLogger, RedisState } from '../src';
import { MAX_DIGESTS, PartitionTable } from '../src/distributed/analyze/partitions';
import { emptyAnalyzeStats } from '../src/distributed/analyze/metrics';
import type { InMessage } from '../src/transport/types';

const avail = servicesAvailable();
const ok = avail.redis || process.env.HOPWATCH_REQUIRE_SERVICES === '1';
if (!ok) console.warn(`redis-digests tests skipped: ${unavailableMessage('redis')}`);
const d = ok ? describe : describe.skip;

const msg = (i: number): InMessage => ({
  key: null,
  value: Buffer.from(`message ${i}`),
  offset: String(i),
});

d('duplicate digests in Redis', () => {
  let rd: Awaited<ReturnType<typeof startRedis>>;
  let redis: RedisState;
  const log = createLogger({ level: 'warn', write: () => undefined });

  beforeAll(async () => {
    rd = await startRedis();
    redis = new RedisState({ url: rd.url, logger: log });
    for (let i = 0; i < 100 && !redis.connected; i++) await new Promise((r) => setTimeout(r, 50));
  }, 60_000);

  afterAll(async () => {
    await redis?.close();
    await rd?.stop();
  }, 30_000);

  const table = (): PartitionTable =>
    new PartitionTable({ redis, log, stats: emptyAnalyzeStats(), onOpen: () => undefined });

  test('queued per batch, pushed for all partitions at once, binary, read back by the next owner', async () => {
    const a = table();
    const p0 = await a.open('hopwatch.records.v2', 0, 'records', 0);
    const p1 = await a.open('hopwatch.records.v2', 1, 'records', 0);
    const batch = [0, 1, 2].map(msg);
    const u0 = a.unseen(p0, batch);
    expect(u0.fresh).toHaveLength(3);
    a.remember(p0, u0.digests);
    a.remember(p1, a.unseen(p1, [msg(7)]).digests);
    // in memory at once: the same messages again are copies
    expect(a.unseen(p0, batch).fresh).toHaveLength(0);
    // not in Redis until pushQueued()
    const key0 = 'hopwatch:digests:hopwatch.records.v2:0';
    expect(await redis.redis.llen(key0)).toBe(0);
    await a.pushQueued();
    const raw = await redis.redis.lrangeBuffer(key0, 0, -1);
    expect(raw.map((b) => b.length)).toEqual([20, 20, 20]);
    expect(raw[0]).toEqual(createHash('sha1').update(msg(0).value).digest());
    expect(await redis.redis.llen('hopwatch:digests:hopwatch.records.v2:1')).toBe(1);
    // nothing queued: no second write
    await a.pushQueued();
    expect(await redis.redis.llen(key0)).toBe(3);

    // the partition's next owner knows them
    const b = table();
    const q0 = await b.open('hopwatch.records.v2', 0, 'records', 3);
    const u = b.unseen(q0, [msg(1), msg(3)]);
    expect(u.fresh.map((m) => m.offset)).toEqual(['3']);
  });

  test('lists are trimmed to the newest MAX_DIGESTS', async () => {
    const a = table();
    const p = await a.open('hopwatch.queues.v2', 5, 'queues', 0);
    const many = Array.from({ length: MAX_DIGESTS + 10 }, (_, i) => msg(i));
    a.remember(p, a.unseen(p, many).digests);
    await a.pushQueued();
    expect(await redis.redis.llen('hopwatch:digests:hopwatch.queues.v2:5')).toBe(MAX_DIGESTS);
    expect(p.digests.size).toBe(MAX_DIGESTS);
    const loaded = await redis.loadDigests('hopwatch.queues.v2', 5, MAX_DIGESTS);
    expect(loaded).toEqual(p.digestOrder);
  });

  test('a list written before binary digests (base64 entries) still matches after a restart', async () => {
    const k = 'hopwatch:digests:hopwatch.reports.v2:2';
    const old = [0, 1].map((i) => createHash('sha1').update(msg(i).value).digest('base64'));
    await redis.redis.rpush(k, ...old);
    const a = table();
    const p = await a.open('hopwatch.reports.v2', 2, 'reports', 2);
    // mixed list: the old entries and the new binary ones
    a.remember(p, a.unseen(p, [msg(0), msg(1), msg(2)]).digests);
    await a.pushQueued();
    expect((await redis.redis.lrangeBuffer(k, 0, -1)).map((b) => b.length)).toEqual([28, 28, 20]);
    const b = table();
    const q = await b.open('hopwatch.reports.v2', 2, 'reports', 3);
    expect(b.unseen(q, [msg(0), msg(1), msg(2), msg(3)]).fresh.map((m) => m.offset)).toEqual(['3']);
  });

  test('anomalies: claimed in one pipeline, live state in one MULTI, trimmed to maxActive', async () => {
    const r = new RedisState({ url: rd.url, logger: log, prefix: 'live-test:', maxActive: 100 });
    try {
      for (let i = 0; i < 100 && !r.connected; i++) await new Promise((res) => setTimeout(res, 50));
      // the first claim of an id wins, also within one list
      expect(await r.claimAnomalies(['a', 'b', 'a'])).toEqual([true, true, false]);
      expect(await r.claimAnomalies(['a', 'c'])).toEqual([false, true]);
      expect(await r.claimAnomalies(['c'])).toEqual([false]);
      expect(await r.claimAnomalies([])).toEqual([]);
      // 250 anomalies in lists of 7: the newest 100 stay, with their data
      let id = 0;
      while (id < 250) {
        const list = [];
        for (let i = 0; i < 7 && id < 250; i++, id++)
          list.push({
            id: `x${id}`,
            endMs: id,
            json: JSON.stringify({ id }),
            flowPath: i === 0 ? { flow: `f${id}`, path: [1, id] } : undefined,
          });
        await r.recordAnomalies(list);
      }
      expect(await r.redis.zcard('live-test:active')).toBe(100);
      expect(await r.redis.hlen('live-test:anomaly-data')).toBe(100);
      expect(await r.redis.zrange('live-test:active', 0, 0)).toEqual(['x150']);
      expect(await r.activeAnomalies(2)).toEqual([{ id: 249 }, { id: 248 }]);
      expect(await r.latestPath('f245')).toEqual({ path: [1, 245], endMs: 245 });
      expect(r.errors).toBe(0);
    } finally {
      await r.close();
    }
  });
});
