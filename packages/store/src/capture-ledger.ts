/**
 * The capture ledger (see docs/schema.md): which records of a replayed capture are stored,
 * read from the rows themselves.
 *
 * Every `hops` / `paths` row of a replay carries `capture_id` (the capture's identity),
 * `frame` (the packet's position in the capture) and `capture_write` (the store write that
 * carried it). One write holds a contiguous run of the capture's records, and it lands per
 * partition (`toDate(time)`) or not at all, so for each (write, day) the stored records of
 * that day are exactly those with a frame in [min(frame), max(frame)]. Writes that failed,
 * or never ran because the process was killed, leave gaps between those intervals, even when
 * a later write landed (two writes are in flight at once): the ledger is the union of the
 * intervals, per table, and nothing else.
 */

/** One (write, day) group of a capture's rows in one table. */
export interface StoredWrite {
  write: number;
  /** Days since the epoch (UTC) of the rows' time: the table's partition. */
  day: number;
  /** Smallest and largest frame of the group. */
  lo: number;
  hi: number;
  rows: number;
}

/** What is stored of one capture: the groups per table. */
export interface StoredCapture {
  hops: StoredWrite[];
  paths: StoredWrite[];
}

/** The ledger's query of one table (both dialects: `time_ns` is a column in each). */
export function storedCaptureSql(table: 'hops' | 'paths', captureId: bigint): string {
  if (captureId <= 0n || captureId >= 1n << 64n) throw new RangeError('capture id out of range');
  return (
    `SELECT capture_write AS w, intDiv(time_ns, 86400000000000) AS day, min(frame) AS lo, ` +
    `max(frame) AS hi, count() AS n FROM ${table} WHERE capture_id = ${captureId} GROUP BY w, day`
  );
}

/** Rows of storedCaptureSql as StoredWrites. */
export function toStoredWrites(rows: Record<string, unknown>[]): StoredWrite[] {
  return rows.map((r) => ({
    write: Number(r.w),
    day: Number(r.day),
    lo: Number(r.lo),
    hi: Number(r.hi),
    rows: Number(r.n),
  }));
}

interface DayRanges {
  lo: number[];
  hi: number[];
  /** First range whose hi is not below the frames asked so far. */
  at: number;
}

/**
 * "Is record (frame, day) stored in this table?" for frames asked in non-decreasing order (a
 * capture is replayed front to back), in amortised O(1): a cursor per day over the union of
 * the intervals.
 */
export class TableLedger {
  private readonly days = new Map<number, DayRanges>();
  /** Largest stored frame: records above it are not stored (the common, fast case). */
  readonly end: number;

  constructor(groups: readonly StoredWrite[]) {
    const byDay = new Map<number, StoredWrite[]>();
    let end = 0;
    for (const g of groups) {
      if (g.rows <= 0) continue;
      let l = byDay.get(g.day);
      if (!l) byDay.set(g.day, (l = []));
      l.push(g);
      if (g.hi > end) end = g.hi;
    }
    this.end = end;
    for (const [day, l] of byDay) {
      l.sort((a, b) => a.lo - b.lo);
      const r: DayRanges = { lo: [], hi: [], at: 0 };
      for (const g of l) {
        const k = r.hi.length - 1;
        // overlapping (a --force replay stored the same records twice) or adjacent: one range
        if (k >= 0 && g.lo <= r.hi[k] + 1) r.hi[k] = Math.max(r.hi[k], g.hi);
        else {
          r.lo.push(g.lo);
          r.hi.push(g.hi);
        }
      }
      this.days.set(day, r);
    }
  }

  get empty(): boolean {
    return this.days.size === 0;
  }

  stored(frame: number, day: number): boolean {
    if (frame > this.end) return false;
    const r = this.days.get(day);
    if (r === undefined) return false;
    const hi = r.hi;
    let at = r.at;
    while (at < hi.length && hi[at] < frame) at++;
    r.at = at;
    return at < hi.length && r.lo[at] <= frame;
  }
}

/** The ledgers of both tables of one capture. */
export interface CaptureLedger {
  hops: TableLedger;
  paths: TableLedger;
}

export function captureLedger(s: StoredCapture): CaptureLedger {
  return { hops: new TableLedger(s.hops), paths: new TableLedger(s.paths) };
}
