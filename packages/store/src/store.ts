/**
 * Store: the hopwatch tables in ClickHouse. Two backends share the same client code and SQL:
 * EmbeddedStore (chDB in-process via @clickhouse/client + chdb/connection) and ServerStore
 * (@clickhouse/client over HTTP). They differ only in how an insert body (Native blocks by
 * default, see native.ts) reaches the engine.
 *
 * Length: both backends and their shared client code (migrations, write chain, read sessions)
 * are one class hierarchy; the SQL, encodings and endpoint already live in their own modules.
 */
import { createHash } from 'crypto';
import { mkdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { createClient, ClickHouseLogLevel, type ClickHouseClient } from '@clickhouse/client';
import { HopwatchError, type HopwatchErrorOptions, type RecordBatch } from '@hopwatch/codec';
import type { FlowRecord } from '@hopwatch/flows';
import { detectCapabilities, type Capabilities } from './capabilities';
import { parseEngineError } from './engine-error';
import { flowsInsertSql } from './flow-rows';
import {
  ChdbReadSession,
  ServerReadSession,
  type ReadSession,
  type ReadSettings,
} from './read-session';
import { buildNamedQuery } from './named-queries';
import {
  anomalyColumns,
  columnList,
  hopColumns,
  LEDGER_COLUMNS,
  LEDGER_TABLES,
  MIGRATIONS_TABLE_DDL,
  migrations,
  pathColumns,
  TTL_TARGETS,
  type ColumnSpec,
} from './schema';
import { encodeBatch, GrowBuf, type LedgerInput } from './rowbinary';
import { storedCaptureSql, toStoredWrites, type StoredCapture } from './capture-ledger';
import { NativeEncoder } from './native';
import { InsertFiles, removeOrphanedInsertFiles } from './insert-files';
import { ident, str, timeNs, uint, U16, U32 } from './sql';

export interface StoreOptions {
  /** ClickHouse HTTP URL (e.g. http://127.0.0.1:18123). Undefined → embedded chDB. */
  url?: string;
  /** chDB data directory (embedded only). Default `.hopwatch/data`. */
  dataDir?: string;
  /** Database name. Default `hopwatch`. */
  database?: string;
  /** Drop rows older than this many days (TTL; modern dialect only). Undefined = keep forever. */
  retentionDays?: number;
  /**
   * Write when this many hop rows (or path rows) are pending. Default 500 000: bigger inserts
   * make fewer parts and merges (measured: ~1.1 s of CPU per million hop rows for all threads at
   * 500k vs ~1.5 s at 250k and ~1.7–2.4 s at 100k). Memory: two buffers of ~140 bytes per
   * pending hop row (one being written while the other fills).
   */
  batchRows?: number;
  /**
   * Writes (inserts of batchRows rows) in flight at once. Default 2: the engine works on two
   * while the caller encodes the next rows. Use 1 when rows carry the Kafka offset ledger: a
   * later write must not land while an earlier one of the same partition fails.
   */
  maxWrites?: number;
  /**
   * Insert encoding: 'Native' (columnar; default where supported: chDB and servers ≥ 20.1) or
   * 'RowBinary' (default for legacy servers).
   */
  insertFormat?: InsertFormat;
  /**
   * MergeTree `merge_selector_base` of `hops` and `paths`: about how many parts of one size
   * pile up before the engine merges them (its default is 5). Background merges were 40% of
   * the embedded store's CPU in a 10M-record replay; at 50 they rewrite each row about half as
   * often, for more parts (tens per partition) until the engine lowers the base for parts
   * older than a few seconds to an hour, so old data still ends in few parts. Default: 50
   * embedded, the server's own setting (untouched) for a ClickHouse server; `null` leaves it
   * untouched. Applied at every start-up where the engine has the setting.
   */
  mergeSelectorBase?: number | null;
  /**
   * Query only: no database creation, no migrations, no inserts (`hopwatch query`, also
   * against the read-only endpoint of a running `serve`).
   */
  readOnly?: boolean;
  /** Server only: user / password. */
  username?: string;
  password?: string;
  /** Server only, https:// URLs: PEM CA file of the server certificate (default: system CAs). */
  tlsCaFile?: string;
}

/** See StoreOptions.mergeSelectorBase (benchmarks/replay.js, docs/benchmarks.md). */
export const DEFAULT_EMBEDDED_MERGE_SELECTOR_BASE = 50;

export type QueryFormat = 'table' | 'json' | 'csv';
export type InsertFormat = 'Native' | 'RowBinary';
export type Row = Record<string, unknown>;

/** Options of insertBatch: where the rows came from in Kafka (per batch or per record) or
 * which capture (`captureId`; the store numbers the writes itself), and which of `hops` /
 * `paths` to write (both by default). */
export type InsertOptions = LedgerInput;

export interface InsertStats {
  hopRows: number;
  pathRows: number;
}

/** An anomaly to store. Times: ns since epoch (bigint/number/digit string), Date or ISO string. */
export interface AnomalyInput {
  id?: string;
  type: string;
  start: bigint | number | string | Date;
  end?: bigint | number | string | Date;
  switchId?: number | null;
  egressPort?: number | null;
  queueId?: number | null;
  switches?: number[];
  flows?: unknown;
  packets?: number | bigint;
  [key: string]: unknown;
}

export interface Store {
  readonly kind: 'embedded' | 'server';
  readonly capabilities: Capabilities;
  readonly database: string;
  /** Encodes the batch now (the batch may be reused afterwards); writes when batchRows is reached.
   * `opts`: the rows' Kafka partition/offset (the offset ledger, `kafka_partition` /
   * `kafka_offset`) or their capture (the capture ledger, `capture_id`; the store adds
   * `capture_write`), and which tables to write; see InsertOptions. */
  insertBatch(batch: RecordBatch, opts?: InsertOptions): Promise<InsertStats>;
  insertAnomalies(anomalies: AnomalyInput[] | object[]): Promise<number>;
  /** Stores closed flow intervals in `flows` (one row each). */
  insertFlows(flows: readonly FlowRecord[]): Promise<number>;
  /** Writes pending rows. */
  flush(): Promise<InsertStats>;
  /**
   * The capture ledger of capture `captureId` (rows inserted with that `captureId`): its
   * (write, day) groups per table, see capture-ledger.ts. Later writes get numbers above
   * every write listed, so they never merge with the groups of an earlier run; insertBatch()
   * refuses rows of a capture whose ledger was not read first.
   */
  storedCapture(captureId: bigint): Promise<StoredCapture>;
  /** Rows (objects) for 'json'; aligned text for 'table'; CSV with a header for 'csv'. */
  query(sql: string, format?: 'json'): Promise<Row[]>;
  query(sql: string, format: 'table' | 'csv'): Promise<string>;
  query(sql: string, format?: QueryFormat): Promise<Row[] | string>;
  named(name: string, params?: Record<string, unknown>, format?: 'json'): Promise<Row[]>;
  named(name: string, params: Record<string, unknown>, format: 'table' | 'csv'): Promise<string>;
  named(
    name: string,
    params?: Record<string, unknown>,
    format?: QueryFormat,
  ): Promise<Row[] | string>;
  /** Rows with the engine's column names and types (for formatting by type). */
  queryResult(sql: string): Promise<QueryResult>;
  /**
   * Runs a statement that carries its own FORMAT clause (see formatClauseOf) exactly as given
   * and returns the engine's output bytes.
   */
  queryRaw(sql: string): Promise<Buffer>;
  /** Runs a statement without a result (DDL, ALTER, OPTIMIZE …). */
  command(sql: string): Promise<void>;
  /**
   * A read-only engine session with these settings (`readonly = 1` added, which no statement
   * can lift), outside the store's statement chain and its writes: for the HTTP query
   * endpoint of `serve`. Close it after use.
   */
  openReadSession(settings: ReadSettings): Promise<ReadSession>;
  /** Versions of the applied migrations. */
  schemaVersions(): Promise<number[]>;
  close(): Promise<void>;
}

/** A result as the engine's JSON format gives it: columns (name, type) and rows. */
export interface QueryResult {
  meta: { name: string; type: string }[];
  data: Row[];
}

/** An error from the engine or a parameter check, with the SQL that failed. */
export class StoreError extends HopwatchError {
  readonly code?: number;
  readonly type?: string;
  readonly sql?: string;
  constructor(
    message: string,
    opts: { code?: number; type?: string; sql?: string } & HopwatchErrorOptions = {},
  ) {
    super(message, { cause: opts.cause, retriable: opts.retriable });
    this.name = 'StoreError';
    this.code = opts.code;
    this.type = opts.type;
    this.sql = opts.sql;
  }
}

function wrapError(e: unknown, sql: string): StoreError {
  if (e instanceof StoreError) return e;
  const { code, type, message } = parseEngineError(e);
  const short = sql.length > 200 ? sql.slice(0, 200) + '…' : sql;
  return new StoreError(
    `ClickHouse error${code !== undefined ? ' ' + code : ''}${type ? ' ' + type : ''}: ${message}\n  in: ${short}`,
    {
      code,
      type,
      sql,
      cause: e,
    },
  );
}

const stripSql = (sql: string): string => sql.trim().replace(/;+\s*$/, '');

/** Plain-text table of rows (columns in `meta` order). */
export function formatTable(columns: string[], rows: Row[]): string {
  const cell = (v: unknown): string =>
    v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (vals: string[]): string =>
    vals
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const out = [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
  return out.join('\n') + '\n';
}

abstract class BaseStore implements Store {
  abstract readonly kind: 'embedded' | 'server';
  capabilities!: Capabilities;
  readonly database: string;
  protected client!: ClickHouseClient;
  protected readonly opts: StoreOptions;
  private hops: GrowBuf;
  private paths: GrowBuf;
  /** Buffers of finished writes, for the next ones (a write swaps in a fresh pair). */
  private spares: { hops: GrowBuf; paths: GrowBuf }[] = [];
  /** Writes in flight (each settles when done and never rejects; see track()). */
  private writes = new Set<Promise<void>>();
  /** A failed background write not yet reported to a caller. */
  private failure: unknown = null;
  private readonly batchRows: number;
  private readonly maxWrites: number;
  /** Number of the write the pending rows go out in (the capture ledger's `capture_write`). */
  private writeNo = 1;
  /** Captures whose ledger was read (storedCapture): only their rows may be inserted. */
  private readonly ledgerRead = new Set<bigint>();
  private hopCols!: ColumnSpec[];
  private pathCols!: ColumnSpec[];
  protected insertFormat: InsertFormat = 'RowBinary';
  private native: NativeEncoder | null = null;
  protected closed = false;
  /** Serialises engine calls (chDB runs one statement at a time per session anyway). */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(opts: StoreOptions) {
    this.opts = opts;
    this.database = opts.database ?? 'hopwatch';
    ident(this.database);
    this.batchRows = Math.max(1, opts.batchRows ?? 500_000);
    this.maxWrites = opts.maxWrites ?? 2;
    if (!Number.isInteger(this.maxWrites) || this.maxWrites < 1)
      throw new StoreError(`maxWrites must be a positive integer, not ${opts.maxWrites}`);
    const msb = opts.mergeSelectorBase;
    if (msb !== undefined && msb !== null && !(Number.isFinite(msb) && msb >= 1 && msb <= 1000))
      throw new StoreError(`mergeSelectorBase must be a number from 1 to 1000, not ${msb}`);
    this.hops = this.newHopBuf();
    this.paths = this.newPathBuf();
  }

  // Sized for a full batch up front (no grow-and-copy on the hot path; untouched pages of a large
  // allocation cost no memory until written), with headroom: while a write is in flight,
  // callers keep encoding into the same buffer past batchRows (a Native hop row is ~166 bytes
  // with the capture ledger; 160 per row overflowed by a few percent at every write when rows
  // were ~150, and each growth copied ~80 MB).
  private newHopBuf(): GrowBuf {
    return new GrowBuf(Math.min(this.batchRows, 4_000_000) * 224 + (1 << 20));
  }
  private newPathBuf(): GrowBuf {
    return new GrowBuf(Math.min(this.batchRows, 4_000_000) * 80 + (1 << 20));
  }

  protected serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Runs a statement; `sql` must not carry a FORMAT clause. */
  async command(sql: string): Promise<void> {
    this.assertOpen();
    const q = stripSql(sql);
    await this.serial(async () => {
      try {
        await this.client.command({ query: q });
      } catch (e) {
        throw wrapError(e, q);
      }
    });
  }

  queryResult(sql: string): Promise<QueryResult> {
    return this.queryJSON(sql);
  }

  async queryRaw(sql: string): Promise<Buffer> {
    this.assertOpen();
    const q = stripSql(sql);
    return this.serial(async () => {
      try {
        const rs = await this.client.exec({ query: q });
        const parts: Buffer[] = [];
        for await (const c of rs.stream) parts.push(Buffer.from(c as Uint8Array));
        return Buffer.concat(parts);
      } catch (e) {
        throw wrapError(e, q);
      }
    });
  }

  protected async queryJSON(sql: string): Promise<QueryResult> {
    this.assertOpen();
    const q = stripSql(sql);
    return this.serial(async () => {
      try {
        const rs = await this.client.query({ query: q, format: 'JSON' });
        const j = (await rs.json()) as unknown as {
          meta: { name: string; type: string }[];
          data: Row[];
        };
        return { meta: j.meta ?? [], data: j.data ?? [] };
      } catch (e) {
        throw wrapError(e, q);
      }
    });
  }

  protected async queryText(sql: string, format: 'CSVWithNames'): Promise<string> {
    this.assertOpen();
    const q = stripSql(sql);
    return this.serial(async () => {
      try {
        const rs = await this.client.query({ query: q, format });
        return await rs.text();
      } catch (e) {
        throw wrapError(e, q);
      }
    });
  }

  abstract openReadSession(settings: ReadSettings): Promise<ReadSession>;

  query(sql: string, format?: 'json'): Promise<Row[]>;
  query(sql: string, format: 'table' | 'csv'): Promise<string>;
  query(sql: string, format?: QueryFormat): Promise<Row[] | string>;
  async query(sql: string, format: QueryFormat = 'json'): Promise<Row[] | string> {
    if (format === 'csv') return this.queryText(sql, 'CSVWithNames');
    const { meta, data } = await this.queryJSON(sql);
    if (format === 'json') return data;
    if (format === 'table')
      return formatTable(
        meta.map((m) => m.name),
        data,
      );
    throw new StoreError(`unknown format: ${String(format)}`);
  }

  named(name: string, params?: Record<string, unknown>, format?: 'json'): Promise<Row[]>;
  named(name: string, params: Record<string, unknown>, format: 'table' | 'csv'): Promise<string>;
  named(
    name: string,
    params?: Record<string, unknown>,
    format?: QueryFormat,
  ): Promise<Row[] | string>;
  async named(
    name: string,
    params: Record<string, unknown> = {},
    format: QueryFormat = 'json',
  ): Promise<Row[] | string> {
    let sql: string;
    try {
      sql = buildNamedQuery(name, params, this.capabilities.ipv6Type);
    } catch (e) {
      throw new StoreError((e as Error).message, { cause: e });
    }
    return this.query(sql, format);
  }

  /** Connects, detects the version, creates the database and runs migrations. */
  async init(): Promise<void> {
    this.client = await this.connect();
    const v = (await this.queryJSON('SELECT version() AS v')).data[0]?.v;
    this.capabilities = detectCapabilities(String(v ?? ''));
    await this.useDatabase();
    this.hopCols = hopColumns(this.capabilities);
    this.pathCols = pathColumns(this.capabilities);
    this.insertFormat =
      this.opts.insertFormat ?? (this.capabilities.nativeInsert ? 'Native' : 'RowBinary');
    if (this.insertFormat !== 'Native' && this.insertFormat !== 'RowBinary')
      throw new StoreError(`unknown insertFormat: ${String(this.insertFormat)}`);
    if (this.insertFormat === 'Native') this.native = new NativeEncoder(this.capabilities);
    if (!this.opts.readOnly) await this.migrate();
  }

  protected abstract connect(): Promise<ClickHouseClient>;
  protected abstract useDatabase(): Promise<void>;
  /** Writes one body (RowBinary rows or Native blocks, see insertFormat) into `table`. */
  protected abstract insertBody(table: string, cols: ColumnSpec[], body: Buffer): Promise<void>;

  private async migrate(): Promise<void> {
    await this.command(MIGRATIONS_TABLE_DDL);
    const done = new Set(await this.schemaVersions());
    for (const m of migrations(this.opts.retentionDays)) {
      if (done.has(m.version)) continue;
      for (const stmt of m.statements(this.capabilities)) {
        try {
          await this.command(stmt);
        } catch (e) {
          // an ADD COLUMN that an earlier, interrupted start-up (or a concurrent one) applied
          if (
            !/^ALTER TABLE .* ADD COLUMN /.test(stmt) ||
            !/already exists/i.test((e as Error).message)
          )
            throw e;
        }
      }
      await this.command(
        `INSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, ${str(m.name)}, now())`,
      );
    }
    await this.ensureLedger();
    await this.applyMergePolicy();
    const days = this.opts.retentionDays;
    if (days !== undefined && this.capabilities.ttl) {
      const d = Number(uint(Math.floor(days), 'retentionDays', 100_000n));
      if (d > 0) {
        for (const t of TTL_TARGETS) {
          const target = t.table === 'hop_rollup_1m' ? await this.rollupInner() : t.table;
          if (!target) continue;
          await this.command(`ALTER TABLE ${target} MODIFY TTL ${t.expr} + INTERVAL ${d} DAY`);
        }
      }
    }
  }

  /** Merge policy of the two big tables (see StoreOptions.mergeSelectorBase). */
  private async applyMergePolicy(): Promise<void> {
    const base =
      this.opts.mergeSelectorBase === undefined
        ? this.kind === 'embedded'
          ? DEFAULT_EMBEDDED_MERGE_SELECTOR_BASE
          : null
        : this.opts.mergeSelectorBase;
    if (base === null) return;
    const known = await this.queryJSON(
      "SELECT count() AS n FROM system.merge_tree_settings WHERE name = 'merge_selector_base'",
    );
    if (Number(known.data[0]?.n ?? 0) === 0) return; // older engines (e.g. 18.16) do not have it
    for (const t of ['hops', 'paths'])
      await this.command(`ALTER TABLE ${ident(t)} MODIFY SETTING merge_selector_base = ${base}`);
  }

  /** Adds the Kafka ledger columns to tables created before they existed (idempotent). */
  private async ensureLedger(): Promise<void> {
    const have = await this.queryJSON(
      `SELECT table, name FROM system.columns WHERE database = ${str(this.database)} AND name IN (${LEDGER_COLUMNS.map((c) => str(c.name)).join(', ')})`,
    );
    const seen = new Set(have.data.map((r) => `${String(r.table)}.${String(r.name)}`));
    for (const t of LEDGER_TABLES)
      for (const col of LEDGER_COLUMNS) {
        if (seen.has(`${t}.${col.name}`)) continue;
        try {
          await this.command(`ALTER TABLE ${t} ADD COLUMN \`${col.name}\` ${col.type} DEFAULT 0`);
        } catch (e) {
          // a concurrent start-up added it first
          if (!/already exists/i.test((e as Error).message)) throw e;
        }
      }
  }

  private async rollupInner(): Promise<string | null> {
    const r = await this.queryJSON(
      `SELECT name FROM system.tables WHERE database = ${str(this.database)} AND name LIKE '.inner%hop_rollup_1m' LIMIT 1`,
    );
    const name = r.data[0]?.name;
    if (typeof name === 'string') return '`' + name.replace(/`/g, '') + '`';
    const u = await this.queryJSON(
      `SELECT uuid FROM system.tables WHERE database = ${str(this.database)} AND name = 'hop_rollup_1m' LIMIT 1`,
    ).catch(() => null);
    const uuid = u?.data[0]?.uuid;
    return typeof uuid === 'string' && /^[0-9a-f-]{36}$/.test(uuid)
      ? '`.inner_id.' + uuid + '`'
      : null;
  }

  async schemaVersions(): Promise<number[]> {
    const r = await this.queryJSON(
      'SELECT DISTINCT version FROM schema_migrations ORDER BY version',
    );
    return r.data.map((x) => Number(x.version));
  }

  async insertBatch(batch: RecordBatch, opts?: InsertOptions): Promise<InsertStats> {
    this.assertOpen();
    this.assertWritable();
    // synchronous: everything needed is copied into this.hops / this.paths before returning
    let o = opts;
    if (opts?.captureId) {
      // numbered before its ledger was read, a write could take a number an earlier run used
      // for the same capture, and the two runs' intervals would merge over a gap
      if (!this.ledgerRead.has(opts.captureId))
        throw new StoreError(`capture ${opts.captureId}: call storedCapture() before inserting`);
      o = { ...opts, captureWrite: this.writeNo };
    }
    const res = this.native
      ? this.native.encode(batch, this.hops, this.paths, o)
      : encodeBatch(batch, this.capabilities, this.hops, this.paths, o);
    if (this.full()) {
      // Up to maxWrites (2) writes in flight: the engine inserts one batch of rows while it works
      // on the previous one (both cores busy), and callers decode and encode the next rows
      // meanwhile. Callers need not await each other (the pipeline keeps several insertBatch()
      // calls open), so several may find the buffer full at once; the first starts a write,
      // the others then find it no longer full. (Before, each such caller started a write of
      // its own and only the last one was tracked: flush() and close() did not wait for the
      // others, and a replay lost a write's rows now and then.)
      while (this.full()) {
        if (this.writes.size < this.maxWrites) {
          this.track(this.writePending(), false);
          break;
        }
        await Promise.race(this.writes);
        this.throwFailure();
      }
    }
    return res;
  }

  private full(): boolean {
    return this.hops.rows >= this.batchRows || this.paths.rows >= this.batchRows;
  }

  /**
   * Tracks write `p` until it is done. The failure of a write nobody awaits is kept and
   * thrown once, by the next insertBatch() that has to wait or by flush().
   */
  private track(p: Promise<InsertStats>, awaited: boolean): void {
    const t: Promise<void> = p.then(
      () => {
        this.writes.delete(t);
      },
      (e: unknown) => {
        this.writes.delete(t);
        if (!awaited && this.failure === null) this.failure = e;
      },
    );
    this.writes.add(t);
  }

  private async awaitWrites(): Promise<void> {
    while (this.writes.size) await Promise.all(this.writes);
    this.throwFailure();
  }

  private throwFailure(): void {
    const e = this.failure;
    if (e !== null) {
      this.failure = null;
      throw e;
    }
  }

  async flush(): Promise<InsertStats> {
    this.assertOpen();
    await this.awaitWrites();
    const p = this.writePending();
    this.track(p, true); // the caller gets this write's error from p
    return p;
  }

  private async writePending(): Promise<InsertStats> {
    // swap the buffers first: insertBatch() may encode more rows while this write is in flight
    const hops = this.hops;
    const paths = this.paths;
    if (hops.rows + paths.rows > 0) this.writeNo++;
    const spare = this.spares.pop();
    this.hops = spare?.hops ?? this.newHopBuf();
    this.paths = spare?.paths ?? this.newPathBuf();
    const stats = { hopRows: hops.rows, pathRows: paths.rows };
    try {
      // the two tables at once, outside the statement chain: the engine runs both inserts in
      // parallel (replay into chDB: +20% records/s, the main thread busy 83-90% instead of
      // 53%). If one fails, the other may have landed: the offset ledger (per table) copes.
      // allSettled: both bodies must be done with before their buffers are reused
      const done = await Promise.allSettled([
        hops.rows > 0 ? this.insertBody('hops', this.hopCols, hops.bytes()) : null,
        paths.rows > 0 ? this.insertBody('paths', this.pathCols, paths.bytes()) : null,
      ]);
      for (const d of done) if (d.status === 'rejected') throw d.reason;
    } finally {
      hops.reset();
      paths.reset();
      this.spares.push({ hops, paths });
    }
    return stats;
  }

  async storedCapture(captureId: bigint): Promise<StoredCapture> {
    const hops = toStoredWrites((await this.queryJSON(storedCaptureSql('hops', captureId))).data);
    const paths = toStoredWrites((await this.queryJSON(storedCaptureSql('paths', captureId))).data);
    for (const g of [...hops, ...paths]) if (g.write >= this.writeNo) this.writeNo = g.write + 1;
    this.ledgerRead.add(captureId);
    return { hops, paths };
  }

  async insertAnomalies(anomalies: AnomalyInput[] | object[]): Promise<number> {
    if (!anomalies.length) return 0;
    this.assertWritable();
    const c = this.capabilities;
    const cols = anomalyColumns(c).map((x) => '`' + x.name + '`');
    const time = (ns: bigint): string =>
      c.dateTime64
        ? `fromUnixTimestamp64Nano(toInt64(${ns}), 'UTC')`
        : `${ns}, toDateTime(${ns / 1_000_000_000n})`;
    const rows = (anomalies as AnomalyInput[]).map((a, i) => {
      if (!a || typeof a !== 'object') throw new StoreError(`anomaly ${i}: not an object`);
      const get = (...keys: string[]): unknown => {
        for (const k of keys) if (a[k] !== undefined) return a[k];
        return undefined;
      };
      const type = get('type', 'kind');
      if (typeof type !== 'string' || !type) throw new StoreError(`anomaly ${i}: missing type`);
      let start: bigint, end: bigint;
      try {
        start = timeNs(get('start', 'startNs', 'start_ns', 'time', 'timeNs'), 'start');
        const e = get('end', 'endNs', 'end_ns');
        end = e === undefined || e === null ? start : timeNs(e, 'end');
      } catch (e) {
        throw new StoreError(`anomaly ${i}: ${(e as Error).message}`);
      }
      const opt = (v: unknown, max: bigint, name: string): string =>
        v === undefined || v === null ? 'NULL' : uint(v, name, max);
      const sw = get('switchId', 'switch_id', 'switch');
      const port = get('egressPort', 'egress_port', 'port');
      const q = get('queueId', 'queue_id', 'queue');
      const switches = get('switches', 'path');
      const swList = Array.isArray(switches) ? switches.map((s) => uint(s, 'switches', U32)) : [];
      const flows = get('flows', 'flow');
      const details = toJson(a);
      const id =
        (get('id') as string | undefined) ??
        createHash('sha1')
          .update(`${type}|${start}|${String(sw)}|${String(port)}|${String(q)}`)
          .digest('hex');
      const packets = get('packets', 'count');
      return (
        `(${str(String(id))}, ${str(type)}, ${time(start)}, ${time(end)}, ${opt(sw, U32, 'switchId')}, ` +
        `${opt(port, U32, 'egressPort')}, ${opt(q, U16, 'queueId')}, [${swList.join(', ')}], ` +
        `${str(flows === undefined ? '' : typeof flows === 'string' ? flows : toJson(flows))}, ` +
        `${packets === undefined ? '0' : uint(packets, 'packets')}, ${str(details)}, now())`
      );
    });
    await this.command(`INSERT INTO anomalies (${cols.join(', ')}) VALUES ${rows.join(', ')}`);
    return rows.length;
  }

  async insertFlows(flows: readonly FlowRecord[]): Promise<number> {
    if (!flows.length) return 0;
    this.assertWritable();
    let sql: string;
    try {
      sql = flowsInsertSql(flows, this.capabilities);
    } catch (e) {
      throw new StoreError(`flows: ${(e as Error).message}`, { cause: e });
    }
    await this.command(sql);
    return flows.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      await this.chain;
      await this.client.close();
      await this.afterClose();
    }
  }

  protected async afterClose(): Promise<void> {}

  private assertWritable(): void {
    if (this.opts.readOnly) throw new StoreError('store opened read-only (queries only)');
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('store is closed');
  }
}

function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
}

// ---------------------------------------------------------------------------------------------

/** chDB in-process, in a data directory. One per data directory per process. */
export class EmbeddedStore extends BaseStore {
  readonly kind = 'embedded' as const;
  readonly dataDir: string;
  private readonly insertFiles = new InsertFiles();

  constructor(opts: StoreOptions) {
    super(opts);
    this.dataDir = path.resolve(opts.dataDir ?? '.hopwatch/data');
  }

  protected async connect(): Promise<ClickHouseClient> {
    mkdirSync(this.dataDir, { recursive: true });
    if (!this.opts.readOnly) removeOrphanedInsertFiles();
    // Loaded lazily: the native engine is only needed in embedded mode.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createChdbConnection } = require('chdb/connection') as {
      createChdbConnection(o: { path?: string }): unknown;
    };
    let connection;
    try {
      connection = createChdbConnection({ path: this.dataDir });
    } catch (e) {
      const holder = lockHolder(this.dataDir);
      if (holder !== null)
        throw new StoreError(
          `the embedded store ${this.dataDir} is in use by process ${holder} (one process at a time: query a running \`hopwatch serve\` through its --http endpoint with --store-url, or stop it)`,
          { cause: e },
        );
      throw new StoreError(
        `cannot open chDB data directory ${this.dataDir}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    return createClient({ connection, log: { level: ClickHouseLogLevel.OFF } } as Parameters<
      typeof createClient
    >[0]);
  }

  protected async useDatabase(): Promise<void> {
    if (!this.opts.readOnly)
      await this.command(`CREATE DATABASE IF NOT EXISTS ${ident(this.database)}`);
    // the chDB session keeps its current database across statements
    await this.command(`USE ${ident(this.database)}`);
    await this.command('SET output_format_json_quote_64bit_integers = 1');
  }

  async openReadSession(settings: ReadSettings): Promise<ReadSession> {
    if (this.closed) throw new StoreError('store is closed');
    return ChdbReadSession.open(this.dataDir, this.database, settings);
  }

  /**
   * chDB's Connection.insert turns the body into a UTF-8 string, so binary goes via a file:
   * one writeFile of the whole body (libuv thread pool), then INSERT … SELECT FROM file() (chDB
   * worker thread). Native blocks carry their own names and types.
   */
  protected async insertBody(table: string, cols: ColumnSpec[], body: Buffer): Promise<void> {
    const file = await this.insertFiles.write(body);
    const names = cols.map((c) => '`' + c.name + '`').join(', ');
    const source =
      this.insertFormat === 'Native'
        ? `file(${str(file)}, 'Native', ${str(columnList(cols, null))})`
        : `file(${str(file)}, 'RowBinary', ${str(columnList(cols, null))})`;
    const sql = `INSERT INTO ${ident(table)} (${names}) SELECT * FROM ${source}`;
    try {
      await this.client.command({ query: sql });
    } catch (e) {
      throw wrapError(e, sql);
    } finally {
      await this.insertFiles.remove(file);
    }
  }

  protected override async afterClose(): Promise<void> {
    this.insertFiles.close();
  }
}

/**
 * The live process holding an engine data directory, from the `status` file the engine writes
 * there (`PID: n`); null when there is none or it is gone.
 */
function lockHolder(dataDir: string): number | null {
  try {
    const m = /^PID: (\d+)/m.exec(readFileSync(path.join(dataDir, 'status'), 'utf8'));
    const pid = m ? Number(m[1]) : 0;
    if (!pid || pid === process.pid) return null;
    process.kill(pid, 0); // throws when no such process
    return pid;
  } catch {
    return null;
  }
}

/** A ClickHouse server over HTTP. */
export class ServerStore extends BaseStore {
  readonly kind = 'server' as const;
  readonly url: string;

  constructor(opts: StoreOptions & { url: string }) {
    super(opts);
    this.url = opts.url;
  }

  protected async connect(): Promise<ClickHouseClient> {
    // the database may not exist yet: connect to `default`, create it, then reconnect
    const base = {
      url: this.url,
      username: this.opts.username,
      password: this.opts.password,
      log: { level: ClickHouseLogLevel.OFF },
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 as const },
      ...(this.opts.tlsCaFile ? { tls: { ca_cert: readFileSync(this.opts.tlsCaFile) } } : {}),
    };
    if (this.opts.readOnly) return createClient({ ...base, database: this.database });
    const boot = createClient({ ...base, database: 'default' });
    try {
      await boot.command({ query: `CREATE DATABASE IF NOT EXISTS ${ident(this.database)}` });
    } catch (e) {
      throw wrapError(e, 'CREATE DATABASE');
    } finally {
      await boot.close();
    }
    return createClient({ ...base, database: this.database });
  }

  protected async useDatabase(): Promise<void> {}

  async openReadSession(settings: ReadSettings): Promise<ReadSession> {
    if (this.closed) throw new StoreError('store is closed');
    return new ServerReadSession(this.client, settings);
  }

  protected async insertBody(table: string, cols: ColumnSpec[], body: Buffer): Promise<void> {
    const names = cols.map((c) => '`' + c.name + '`').join(', ');
    const sql = `INSERT INTO ${ident(table)} (${names}) FORMAT ${this.insertFormat}`;
    try {
      const res = await this.client.exec({ query: sql, values: Readable.from([body]) });
      for await (const _ of res.stream) void _; // drain: frees the socket
    } catch (e) {
      throw wrapError(e, sql);
    }
  }
}

/** Opens (and migrates) a store: embedded chDB when `url` is undefined, else a server. */
export async function openStore(opts: StoreOptions = {}): Promise<Store> {
  const store = opts.url ? new ServerStore({ ...opts, url: opts.url }) : new EmbeddedStore(opts);
  try {
    await store.init();
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return store;
}
