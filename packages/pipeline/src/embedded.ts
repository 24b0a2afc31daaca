/**
 * The in-process pipeline: source → decode → analytics → store, with no servers.
 *
 * Packets are decoded into a RecordBatch; a full batch (or the periodic tick) is handed to the
 * analyzer and to the store. The store encodes a batch synchronously and writes it in the
 * background, so the batch is reused at once; when writes fall behind, replay waits
 * (backpressure) and live sources shed whole batches from the store, counting them — the
 * analytics still see every record.
 */
import { CodecConfig, Decoder, RecordBatch, REJECT_NAMES } from '@hopwatch/codec';
import { Analyzer, type AnalyticsConfig, type Anomaly } from '@hopwatch/analytics';
import type { FlowRecord, FlowTable } from '@hopwatch/flows';
import { captureLedger, type CaptureLedger, type InsertOptions, type Store } from '@hopwatch/store';
import { captureIdentity } from './sources/capture-identity';
import type { PacketHandler } from './sources/types';
import { selectRecords } from './select-records';

/** Flow intervals per insert into `flows`. */
const FLOW_INSERT_BATCH = 50_000;

export interface PipelineOptions {
  codec: CodecConfig;
  analytics?: Partial<AnalyticsConfig>;
  /** null: analytics only (nothing stored). */
  store: Store | null;
  /** Records per batch (default 8192). */
  batchRecords?: number;
  /** Store writes in flight before replay waits / live sources shed (default 4). */
  maxInflight?: number;
  /** Live sources shed instead of waiting. */
  live?: boolean;
  /**
   * tick() writes the store's pending rows when the last such write is this old, so rows of a
   * slow live feed become durable and queryable without waiting for a full insert batch
   * (500,000 rows can be minutes of reports). Default 1000 ms when live, 0 (never) otherwise.
   */
  storeFlushMs?: number;
  /** Every finished anomaly, as soon as the analyzer closes it. */
  onAnomaly?: (a: Anomaly) => void;
  /**
   * Capture replays (beginCapture): store the records of a capture even when its rows are
   * already stored (the capture ledger is still written, not consulted). Default false:
   * records already stored are skipped (see docs/schema.md, capture ledger).
   */
  force?: boolean;
  /**
   * Per-flow intervals (null: none). Closed intervals go to the store's `flows` table and to
   * onFlows (e.g. IPFIX exporters).
   */
  flows?: FlowTable | null;
  /** Every batch of closed flow intervals. Must not throw (exporters count their failures). */
  onFlows?: (flows: FlowRecord[]) => void;
}

/** The capture being replayed (see beginCapture). */
interface CurrentCapture {
  id: bigint;
  /** What was stored of it before; null when nothing was (or --force). */
  ledger: CaptureLedger | null;
  insert: InsertOptions;
}

export interface PipelineStats {
  packets: number;
  records: number;
  hops: number;
  /** Rejected packets by reason. */
  rejected: Record<string, number>;
  /** Records analysed but not stored because the store fell behind (live sources only). */
  shedRecords: number;
  /**
   * Records of a replayed capture analysed but not stored because their rows were stored
   * already (the capture ledger); see PipelineOptions.force.
   */
  alreadyStored: number;
  storeErrors: number;
  lastStoreError: string | null;
  anomalies: number;
  /** Flow intervals closed (stored and handed to onFlows). */
  flows: number;
  /** Store writes still in flight. */
  inflight: number;
}

export class Pipeline implements PacketHandler {
  readonly decoder: Decoder;
  readonly analyzer: Analyzer;
  private batch: RecordBatch;
  private readonly batchRecords: number;
  private readonly maxInflight: number;
  private inflight = 0;
  private waiters: (() => void)[] = [];
  private frame = 0;
  private readonly st = {
    packets: 0,
    records: 0,
    hops: 0,
    shedRecords: 0,
    alreadyStored: 0,
    storeErrors: 0,
    lastStoreError: null as string | null,
    anomalies: 0,
    flows: 0,
  };
  private anomalyQueue: Anomaly[] = [];
  private pendingFlows: FlowRecord[] = [];
  private lastFlowWrite = Date.now();
  private closed = false;
  private readonly storeFlushMs: number;
  private lastStoreFlush = Date.now();
  private storeFlushing = false;
  private capture: CurrentCapture | null = null;
  /** Captures begun in this run: a second one with the same identity waits for the first's rows. */
  private readonly captures = new Set<bigint>();
  /** Boundary batches of the capture ledger: the records to store, per table (see storeNew). */
  private keepHops = new Uint8Array(0);
  private keepPaths = new Uint8Array(0);
  private hopsOnly: RecordBatch | null = null;
  private pathsOnly: RecordBatch | null = null;

  constructor(private readonly opts: PipelineOptions) {
    this.decoder = new Decoder(opts.codec);
    this.analyzer = new Analyzer(opts.analytics ?? {});
    this.batchRecords = opts.batchRecords ?? 8192;
    this.maxInflight = opts.maxInflight ?? 4;
    this.storeFlushMs = opts.storeFlushMs ?? (opts.live ? 1000 : 0);
    this.batch = new RecordBatch(this.batchRecords + 256, 8);
  }

  onPacket(data: Uint8Array, linkType: number, tsSec: number, tsNsec: number): void {
    this.st.packets++;
    this.decoder.decode(data, linkType, tsSec, tsNsec, ++this.frame, this.batch);
    if (this.batch.count >= this.batchRecords) this.dispatch();
  }

  onDatagram(
    data: Uint8Array,
    from: Uint32Array,
    fromV6: boolean,
    tsSec: number,
    tsNsec: number,
  ): void {
    this.st.packets++;
    this.decoder.decodeDatagram(data, from, fromV6, tsSec, tsNsec, ++this.frame, this.batch);
    if (this.batch.count >= this.batchRecords) this.dispatch();
  }

  /**
   * A capture file starts (PcapReplaySource): frames count from 1 again, rows carry the
   * capture's identity, and records whose rows the store already holds (an earlier replay of
   * the same capture, or the stored part of an interrupted one) are analysed but not stored
   * again. Reads the capture ledger from the store, so later writes never merge with it.
   */
  async beginCapture(file: string): Promise<void> {
    this.dispatch(); // the previous capture's records go out with its identity
    this.frame = 0;
    const id = captureIdentity(file);
    if (id === null) {
      // not a regular file (a FIFO): rows untagged, nothing skipped
      this.capture = null;
      return;
    }
    const store = this.opts.store;
    let ledger: CaptureLedger | null = null;
    if (store) {
      // the same capture twice in one run (or a copy): its first rows must be stored first
      if (this.captures.has(id)) await this.drainStore();
      const led = captureLedger(await store.storedCapture(id));
      if (!this.opts.force && !(led.hops.empty && led.paths.empty)) ledger = led;
    }
    this.captures.add(id);
    this.capture = { id, ledger, insert: { captureId: id } };
  }

  /** Waits for every store write of this run so far (errors counted, as in close()). */
  private async drainStore(): Promise<void> {
    while (this.inflight > 0) await new Promise<void>((r) => this.waiters.push(r));
    try {
      await this.opts.store?.flush();
    } catch (e) {
      this.st.storeErrors++;
      this.st.lastStoreError = (e as Error).message;
    }
  }

  backpressure(): Promise<void> | null {
    if (this.inflight < this.maxInflight) return null;
    return new Promise((r) => this.waiters.push(r));
  }

  /** Hands the current batch to the analyzer and the store; the batch is reused. */
  dispatch(): void {
    const b = this.batch;
    if (b.count === 0) return;
    this.st.records += b.count;
    this.st.hops += b.hopTotal;
    this.analyzer.process(b);
    this.collectAnomalies(this.analyzer.flush());
    if (this.opts.flows) {
      this.opts.flows.process(b);
      this.emitFlows(this.opts.flows.take());
    }
    const store = this.opts.store;
    if (store) {
      if (this.opts.live && this.inflight >= this.maxInflight) {
        this.st.shedRecords += b.count;
      } else if (this.capture?.ledger) {
        this.storeNew(store, b, this.capture.ledger, this.capture.insert);
      } else {
        this.insert(store, b, this.capture?.insert);
      }
    }
    b.reset();
    if (this.anomalyQueue.length) void this.storeAnomalies();
  }

  private insert(store: Store, b: RecordBatch, opts: InsertOptions | undefined): void {
    this.inflight++;
    store.insertBatch(b, opts).then(
      () => this.settled(),
      (e: Error) => {
        this.st.storeErrors++;
        this.st.lastStoreError = e.message;
        this.settled();
      },
    );
  }

  /**
   * Stores the records of `b` the capture ledger does not show as stored, per table (one
   * table may hold a record the other lacks: the two inserts of a write land separately).
   * Records come in frame order, so once past the ledger's end every batch goes as it is.
   */
  private storeNew(store: Store, b: RecordBatch, led: CaptureLedger, opts: InsertOptions): void {
    const n = b.count;
    if (b.frame[0] > led.hops.end && b.frame[0] > led.paths.end) {
      this.insert(store, b, opts);
      return;
    }
    if (this.keepHops.length < n) {
      this.keepHops = new Uint8Array(b.capacity);
      this.keepPaths = new Uint8Array(b.capacity);
    }
    const kh = this.keepHops;
    const kp = this.keepPaths;
    let nh = 0;
    let np = 0;
    let same = true;
    for (let r = 0; r < n; r++) {
      const f = b.frame[r];
      const day = Math.floor(b.tsSec[r] / 86400);
      kp[r] = led.paths.stored(f, day) ? 0 : 1;
      // a record without hops has no hops rows to find or to store: it follows paths, so
      // the two masks stay equal (one copy of the batch, not two)
      kh[r] = b.hopCount[r] === 0 ? kp[r] : led.hops.stored(f, day) ? 0 : 1;
      nh += kh[r];
      np += kp[r];
      if (kh[r] !== kp[r]) same = false;
    }
    this.st.alreadyStored += n - np;
    if (nh === n && np === n) {
      this.insert(store, b, opts);
      return;
    }
    const h = (this.hopsOnly ??= new RecordBatch(b.capacity, 8));
    if (same) {
      if (np > 0 && selectRecords(b, kp, h) > 0) this.insert(store, h, opts);
      return;
    }
    const p = (this.pathsOnly ??= new RecordBatch(b.capacity, 8));
    if (nh > 0 && selectRecords(b, kh, h) > 0) this.insert(store, h, { ...opts, paths: false });
    if (np > 0 && selectRecords(b, kp, p) > 0) this.insert(store, p, { ...opts, hops: false });
  }

  /** Periodic call from live sources: dispatches a partial batch, closes idle anomalies. */
  tick(nowNs?: bigint): void {
    this.dispatch();
    this.collectAnomalies(this.analyzer.flush(nowNs));
    if (this.opts.flows && nowNs !== undefined) {
      this.opts.flows.tick(nowNs);
      this.emitFlows(this.opts.flows.take());
    }
    if (this.pendingFlows.length && Date.now() - this.lastFlowWrite >= (this.storeFlushMs || 1000))
      this.writeFlows();
    void this.storeAnomalies();
    this.flushStoreIfDue();
  }

  /** A time-driven write of the store's partial insert batch (see storeFlushMs). */
  private flushStoreIfDue(): void {
    const store = this.opts.store;
    if (!store || this.storeFlushMs <= 0 || this.storeFlushing || this.closed) return;
    const now = Date.now();
    if (now - this.lastStoreFlush < this.storeFlushMs) return;
    this.lastStoreFlush = now;
    this.storeFlushing = true;
    this.inflight++;
    store.flush().then(
      () => {
        this.storeFlushing = false;
        this.settled();
      },
      (e: Error) => {
        this.st.storeErrors++;
        this.st.lastStoreError = e.message;
        this.storeFlushing = false;
        this.settled();
      },
    );
  }

  private settled(): void {
    this.inflight--;
    const w = this.waiters;
    if (w.length && this.inflight < this.maxInflight) {
      this.waiters = [];
      for (const r of w) r();
    }
  }

  private collectAnomalies(list: Anomaly[]): void {
    for (const a of list) {
      this.st.anomalies++;
      this.anomalyQueue.push(a);
      this.opts.onAnomaly?.(a);
    }
  }

  /**
   * Closed flow intervals: to onFlows at once; to the store's `flows` table in batches (one
   * insert per interval batch would make a part per dispatch: measured 5× the CPU of a replay).
   */
  private emitFlows(list: FlowRecord[]): void {
    if (list.length === 0) return;
    this.st.flows += list.length;
    this.opts.onFlows?.(list);
    if (!this.opts.store) return;
    for (const f of list) this.pendingFlows.push(f);
    if (this.pendingFlows.length >= FLOW_INSERT_BATCH) this.writeFlows();
  }

  /** Writes the pending flow intervals (a batch is full, a live tick, or the end). */
  private writeFlows(): void {
    const store = this.opts.store;
    if (!store || this.pendingFlows.length === 0) return;
    const list = this.pendingFlows;
    this.pendingFlows = [];
    this.lastFlowWrite = Date.now();
    this.inflight++;
    store.insertFlows(list).then(
      () => this.settled(),
      (e: Error) => {
        this.st.storeErrors++;
        this.st.lastStoreError = e.message;
        this.settled();
      },
    );
  }

  private async storeAnomalies(): Promise<void> {
    const store = this.opts.store;
    if (!store || this.anomalyQueue.length === 0) {
      this.anomalyQueue = [];
      return;
    }
    const list = this.anomalyQueue;
    this.anomalyQueue = [];
    try {
      await store.insertAnomalies(list);
    } catch (e) {
      this.st.storeErrors++;
      this.st.lastStoreError = (e as Error).message;
    }
  }

  /** End of input: flush everything, close open anomaly episodes, wait for the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dispatch();
    this.collectAnomalies(this.analyzer.finish());
    if (this.opts.flows) this.emitFlows(this.opts.flows.finish());
    this.writeFlows();
    await this.storeAnomalies();
    while (this.inflight > 0) await new Promise<void>((r) => this.waiters.push(r));
    if (this.opts.store) {
      try {
        await this.opts.store.flush();
      } catch (e) {
        this.st.storeErrors++;
        this.st.lastStoreError = (e as Error).message;
      }
    }
  }

  stats(): PipelineStats {
    const rejected: Record<string, number> = {};
    const r = this.decoder.stats.rejects;
    for (let i = 1; i < r.length; i++) if (r[i] > 0) rejected[REJECT_NAMES[i]] = r[i];
    return { ...this.st, rejected, inflight: this.inflight };
  }
}
