/**
 * Micro-loop episodes across partitions and workers.
 *
 * The micro-loop detector groups looping packets of *all* flows by the loop's switch set, but
 * in the distributed mode each flow lives on one records partition, so every partition's
 * analyzer sees only its own flows' share of a loop and reports a partial episode. This merges
 * the partials of one switch set the way one analyzer would have grouped the packets: partials
 * whose time ranges are closer than `loopGapNs` chain into one episode (start = earliest, end =
 * latest, packets / E-bit packets / flow counts summed — flows are disjoint across partitions —,
 * hop count before = smallest, hop count max = largest, switches and ports from the earliest).
 * The merged id is then the embedded mode's id.
 *
 * Partials meet in Redis (`hopwatch:loop:<switches>` list, `hopwatch:loops-pending` sorted set
 * by latest arrival); once no partial of a key arrived for `holdMs`, one worker takes the key's
 * lock, merges and emits. A partial arriving after that (a worker far behind) is reported as
 * its own episode. Without
 * Redis (or while it is down) partials are merged within this worker only.
 */
import type { Anomaly, MicroloopAnomaly } from '@hopwatch/analytics';
import type { RedisState } from './redis-state';

type Partial = MicroloopAnomaly;

const ser = (a: Partial): string =>
  JSON.stringify({ ...a, start: a.start.toString(), end: a.end.toString() });
const de = (s: string): Partial => {
  const o = JSON.parse(s);
  return { ...o, start: BigInt(o.start), end: BigInt(o.end) };
};

export function mergeLoopPartials(
  parts: Partial[],
  loopGapNs: number,
  maxFlows: number,
): Partial[] {
  const sorted = [...parts].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Partial[] = [];
  const gap = BigInt(Math.round(loopGapNs));
  for (const p of sorted) {
    const cur = out[out.length - 1];
    if (cur && p.start - cur.end <= gap) {
      if (p.end > cur.end) cur.end = p.end;
      cur.packets += p.packets;
      cur.eBitPackets += p.eBitPackets;
      cur.flowCount += p.flowCount;
      for (const f of p.flows) if (cur.flows.length < maxFlows) cur.flows.push(f);
      if (
        p.hopCountBefore !== null &&
        (cur.hopCountBefore === null || p.hopCountBefore < cur.hopCountBefore)
      )
        cur.hopCountBefore = p.hopCountBefore;
      if (p.hopCountMax > cur.hopCountMax) cur.hopCountMax = p.hopCountMax;
    } else out.push({ ...p, flows: [...p.flows] });
  }
  for (const e of out)
    e.id = `microloop:${[...new Set(e.switches)].sort((x, y) => x - y).join('-')}:${e.start}`;
  return out;
}

export class LoopMerger {
  private local = new Map<string, { first: number; parts: Partial[] }>();
  private readonly prefix = 'hopwatch:';

  constructor(
    private readonly redis: RedisState | null,
    private readonly o: { holdMs: number; loopGapNs: number; maxFlows: number },
  ) {}

  private keyOf(a: Partial): string {
    return [...new Set(a.switches)].sort((x, y) => x - y).join('-');
  }

  async add(a: Partial): Promise<void> {
    const key = this.keyOf(a);
    if (this.redis?.connected) {
      try {
        const r = this.redis.redis;
        await r
          .multi()
          .rpush(`${this.prefix}loop:${key}`, ser(a))
          .zadd(`${this.prefix}loops-pending`, Date.now(), key)
          .exec();
        return;
      } catch {
        /* fall back to merging here */
      }
    }
    let l = this.local.get(key);
    if (!l) this.local.set(key, (l = { first: Date.now(), parts: [] }));
    l.parts.push(a);
    l.first = Date.now();
  }

  /** Merged episodes whose hold time is over. */
  async due(force = false): Promise<Anomaly[]> {
    const now = Date.now();
    const out: Anomaly[] = [];
    for (const [key, l] of this.local) {
      if (!force && now - l.first < this.o.holdMs) continue;
      this.local.delete(key);
      out.push(...mergeLoopPartials(l.parts, this.o.loopGapNs, this.o.maxFlows));
    }
    if (this.redis?.connected) {
      try {
        const r = this.redis.redis;
        const keys = await r.zrangebyscore(
          `${this.prefix}loops-pending`,
          0,
          force ? '+inf' : now - this.o.holdMs,
        );
        for (const key of keys) {
          const lock = await r.set(
            `${this.prefix}looplock:${key}`,
            String(process.pid),
            'PX',
            5000,
            'NX',
          );
          if (lock !== 'OK') continue;
          try {
            const res = await r
              .multi()
              .lrange(`${this.prefix}loop:${key}`, 0, -1)
              .del(`${this.prefix}loop:${key}`)
              .zrem(`${this.prefix}loops-pending`, key)
              .exec();
            const items = (res?.[0]?.[1] as string[] | undefined) ?? [];
            if (items.length)
              out.push(...mergeLoopPartials(items.map(de), this.o.loopGapNs, this.o.maxFlows));
          } finally {
            await r.del(`${this.prefix}looplock:${key}`);
          }
        }
      } catch {
        /* Redis went away: the partials stay there for a worker to merge later */
      }
    }
    return out;
  }
}
