/**
 * Rows of the records topic into `hops` / `paths`, exactly once. Each row carries its
 * message's (partition, offset + 1), the offset ledger: messages at or below
 * `max(kafka_offset)` of their partition (read from the store at a partition's first batch and
 * again after any failure or discontinuity) are not inserted again, so a redelivery after a
 * crash, a store outage or a rebalance never duplicates rows. A batch's handler resolves (and
 * its offsets commit) only once its rows are durable.
 */
import { RecordBatch } from '@hopwatch/codec';
import type { Store } from '@hopwatch/store';
import { decodeMessage } from '../../wire/messages';
import type { ConsumedBatch, InMessage } from '../../transport/types';
import type { Logger } from '../../metrics/log';
import { GroupCommit } from '../group-commit';
import type { Decoded } from './decoded';
import type { AnalyzeInstruments, AnalyzeStats } from './metrics';

/** Per partition: the highest offset (+1) stored in each table. */
interface Ledger {
  hops: number;
  paths: number;
}

export interface RowWriterOptions {
  /** Opened with `maxWrites: 1`: the ledger needs a partition's rows to land in order. */
  store: Store;
  log: Logger;
  stats: AnalyzeStats;
  inst: AnalyzeInstruments;
  /** Shortest time between two inserts' starts (ms; default 0: the next one as soon as the
   * previous one is done). */
  insertEveryMs?: number;
}

export class RowWriter {
  private ledgers = new Map<number, Ledger>();
  private ledgerValid = false;
  /** Failed inserts so far: a ledger read that overlapped one may predate rows it landed. */
  private failures = 0;
  private storeLock: Promise<void> = Promise.resolve();
  /**
   * Store flushes shared by the batches of several partitions handled at once (group commit):
   * above ~20k reports/s, one insert per Kafka batch, one at a time, fell behind. A failed
   * flush fails every batch in it; they are redelivered and the ledger skips what did land.
   */
  private readonly commits: GroupCommit;
  private rowBatch = new RecordBatch(4096, 8);
  private rowOffsets = new Float64Array(4096);

  constructor(private readonly o: RowWriterOptions) {
    this.commits = new GroupCommit(() => {
      o.stats.storeFlushes++;
      return o.store.flush();
    }, o.insertEveryMs ?? 0);
  }

  /** A partition (re)assigned to this worker: its ledger may have moved. */
  forget(partition: number): void {
    this.ledgers.delete(partition);
  }

  /** Resolves when no insert is under way. */
  async idle(): Promise<void> {
    await this.storeLock;
    await this.commits.idle();
  }

  /**
   * Rows of a records batch: encoded into the store's pending insert under the store lock, then
   * made durable by a group flush (see `commits`), and only then does this resolve. Batches of
   * several partitions handled at once share one insert.
   */
  async store(
    batch: ConsumedBatch,
    discontinuity: boolean,
    /** The batch's messages already decoded (all of them), or null. */
    decoded: Decoded | null = null,
  ): Promise<void> {
    const { stats, inst } = this.o;
    const partition = batch.partition;
    const t0 = performance.now();
    try {
      const e = await this.withStoreLock(() => this.encodeRows(batch, discontinuity, decoded));
      await this.commits.commit();
      e.led.hops = Math.max(e.led.hops, e.lastHops);
      e.led.paths = Math.max(e.led.paths, e.lastPaths);
      stats.hopRows += e.hopRows;
      stats.pathRows += e.pathRows;
      if (e.hopRows + e.pathRows > 0) {
        inst.insertRows?.observe(e.hopRows);
        inst.insertSec?.observe((performance.now() - t0) / 1000);
      }
    } catch (e) {
      stats.insertFailures++;
      this.failures++;
      this.ledgerValid = false; // partial inserts: read the ledger again before retrying
      this.o.log.warn('insert failed; the batch will be redelivered', {
        partition,
        error: (e as Error).message.split('\n')[0],
      });
      throw e;
    }
  }

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
    // Reads run beside other partitions' flushes. One that fails while a read is under way
    // may have landed rows after the read saw the table (the server applied the insert, the
    // client saw the connection drop): that read is stale for the failed partitions, so it is
    // taken again. Entries only move forward (max): a read that started before a flush landed
    // must not lower what that flush's handler has since recorded.
    for (let n = 0; refresh || !this.ledgerValid || !this.ledgers.has(partition); n++) {
      const failuresBefore = this.failures;
      const q = async (t: string): Promise<Map<number, number>> => {
        const rows = await this.o.store.query(
          `SELECT kafka_partition AS p, max(kafka_offset) AS o FROM ${t} WHERE kafka_offset > 0 GROUP BY kafka_partition`,
        );
        return new Map(rows.map((r) => [Number(r.p), Number(r.o)]));
      };
      const [h, p] = [await q('hops'), await q('paths')];
      for (const k of new Set([...h.keys(), ...p.keys(), ...this.ledgers.keys()])) {
        const l = this.ledgers.get(k) ?? { hops: 0, paths: 0 };
        l.hops = Math.max(l.hops, h.get(k) ?? 0);
        l.paths = Math.max(l.paths, p.get(k) ?? 0);
        this.ledgers.set(k, l);
      }
      if (!this.ledgers.has(partition)) this.ledgers.set(partition, { hops: 0, paths: 0 });
      refresh = false;
      if (this.failures === failuresBefore) this.ledgerValid = true;
      else if (n >= 10) throw new Error('offset ledger: inserts keep failing while it is read');
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
      last = off1;
      if (!decodes(m.value, b)) continue; // counted by the worker when it was fed
      if (this.rowOffsets.length < b.count) {
        const grown = new Float64Array(Math.max(b.count, this.rowOffsets.length * 2));
        grown.set(this.rowOffsets);
        this.rowOffsets = grown;
      }
      this.rowOffsets.fill(off1, from, b.count);
    }
    return { batch: b, offsets: this.rowOffsets, last };
  }

  /**
   * Encodes the rows of `batch` the ledger does not show as stored into the store's pending
   * insert (under the store lock). Returns the partition's ledger entry and the offsets it
   * moves to once the insert is durable.
   */
  private async encodeRows(
    batch: ConsumedBatch,
    discontinuity: boolean,
    decoded: Decoded | null,
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
      const msgs = batch.messages;
      const first1 = Number(msgs[0].offset) + 1;
      if (decoded && decoded.messages === msgs && lo === hi && first1 > hi) {
        // the common case: every message is new to both tables, and decoded already
        if (decoded.batch.count) {
          const s = await store.insertBatch(decoded.batch, {
            partition,
            offset: decoded.offsets,
          });
          hopRows += s.hopRows;
          pathRows += s.pathRows;
          lastHops = lastPaths = Number(msgs[msgs.length - 1].offset) + 1;
        }
        return { led, lastHops, lastPaths, hopRows, pathRows };
      }
      let total = 0;
      for (const m of msgs) total += Number(m.offset) + 1 <= hi ? 1 : 0;
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
      this.o.stats.skippedRecords += total ? countSkipped(batch.messages, hi) : 0;
      return { led, lastHops, lastPaths, hopRows, pathRows };
    } finally {
      this.rowBatch.reset();
    }
  }
}

/** Records in the messages the ledger shows as stored (at or below `hi`). */
function countSkipped(messages: InMessage[], hi: number): number {
  const b = new RecordBatch(1024, 8);
  let n = 0;
  for (const m of messages) {
    if (Number(m.offset) + 1 > hi) continue;
    b.reset();
    if (decodes(m.value, b)) n += b.count;
  }
  return n;
}

/** Appends a records message to `b`; false (and `b` unchanged) when it does not decode. */
function decodes(bytes: Uint8Array, b: RecordBatch): boolean {
  try {
    decodeMessage('records', bytes, b);
    return true;
  } catch {
    return false;
  }
}
