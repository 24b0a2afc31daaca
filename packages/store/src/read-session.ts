/**
 * Read-only engine sessions: where the queries of the HTTP endpoint run.
 *
 * Why a session of its own per request: the engine itself must refuse what a query may not do
 * (`readonly = 1` is set on the session before the query arrives, and a query cannot lift it:
 * the engine refuses every setting change, write, DDL and most table functions in that mode),
 * the limits of one request must not leak into another, and queries must neither wait behind
 * the store's writes nor hold them up. chDB runs statements of different sessions on the same
 * data directory concurrently; a ClickHouse server gets the settings with each request.
 */
import { randomUUID } from 'crypto';
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { ident, str } from './sql';

/** Engine settings for one read session, already checked against the endpoint's policy. */
export type ReadSettings = Readonly<Record<string, number | string>>;

export interface ReadSession {
  /**
   * Runs one statement and returns the engine's output bytes. `format` applies when the
   * statement has no FORMAT clause; `params` binds `{name:Type}` query parameters.
   * Engine errors are thrown as the engine reported them (see parseEngineError).
   */
  run(sql: string, opts: { format: string; params?: Record<string, string> }): Promise<Buffer>;
  /** Stops the statement this session is running, if any (client gone, time limit). */
  cancel(): Promise<void>;
  close(): Promise<void>;
}

const SETTING_NAME = /^[a-z_][a-z0-9_]*$/;

/** `name = value, …` of a SET statement; values are integers or strings, names checked. */
export function renderSettings(settings: ReadSettings): string {
  return Object.entries(settings)
    .map(([k, v]) => {
      if (!SETTING_NAME.test(k)) throw new Error(`invalid setting name ${JSON.stringify(k)}`);
      if (typeof v === 'number') {
        if (!Number.isSafeInteger(v) || v < 0)
          throw new Error(`setting ${k}: ${v} is not a non-negative integer`);
        return `${k} = ${v}`;
      }
      return `${k} = ${str(v)}`;
    })
    .join(', ');
}

interface ChdbSession {
  queryAsync(sql: string, opts?: { format?: string }): Promise<{ bytes(): Uint8Array }>;
  queryBindAsync(
    sql: string,
    params: object,
    opts?: { format?: string },
  ): Promise<{ bytes(): Uint8Array }>;
  close(): void;
}
type ChdbSessionCtor = new (path: string) => ChdbSession;

function chdbSessionCtor(): ChdbSessionCtor {
  // loaded lazily, as in EmbeddedStore: the native engine only in embedded mode
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('chdb') as { Session: ChdbSessionCtor }).Session;
}

/**
 * A chDB session on the embedded store's data directory, `readonly = 1` from its second
 * statement on. Cancellation: each statement starts with a comment carrying a random id, and
 * `KILL QUERY` from another short-lived session finds it in system.processes.
 */
export class ChdbReadSession implements ReadSession {
  private running: string | null = null;

  private constructor(
    private readonly dataDir: string,
    private readonly s: ChdbSession,
  ) {}

  static async open(
    dataDir: string,
    database: string,
    settings: ReadSettings,
  ): Promise<ChdbReadSession> {
    const Session = chdbSessionCtor();
    const s = new Session(dataDir);
    try {
      await s.queryAsync(`USE ${ident(database)}`);
      // readonly last: the engine applies the list in order, and after it nothing can change
      const list = renderSettings(settings);
      await s.queryAsync(`SET ${list ? list + ', ' : ''}readonly = 1`);
    } catch (e) {
      s.close();
      throw e;
    }
    return new ChdbReadSession(dataDir, s);
  }

  async run(
    sql: string,
    opts: { format: string; params?: Record<string, string> },
  ): Promise<Buffer> {
    const id = randomUUID();
    this.running = id;
    const text = `/* hopwatch-read ${id} */ ${sql}`;
    try {
      const r =
        opts.params && Object.keys(opts.params).length
          ? await this.s.queryBindAsync(text, opts.params, { format: opts.format })
          : await this.s.queryAsync(text, { format: opts.format });
      const b = r.bytes();
      return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    } finally {
      this.running = null;
    }
  }

  async cancel(): Promise<void> {
    const id = this.running;
    if (id === null) return;
    const Session = chdbSessionCtor();
    const k = new Session(this.dataDir);
    try {
      // the marker is split in the KILL statement so that it does not match itself
      await k.queryAsync(
        `KILL QUERY WHERE query LIKE concat('/* hopwatch-read ', ${str(id)}, ' */%') ASYNC`,
      );
    } finally {
      k.close();
    }
  }

  async close(): Promise<void> {
    this.s.close();
  }
}

/**
 * A "session" on a ClickHouse server: every request carries the settings (readonly = 1 last)
 * and its own query id, by which it is killed.
 */
export class ServerReadSession implements ReadSession {
  private running: { id: string; abort: AbortController } | null = null;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly settings: ReadSettings,
  ) {}

  async run(
    sql: string,
    opts: { format: string; params?: Record<string, string> },
  ): Promise<Buffer> {
    const id = randomUUID();
    const abort = new AbortController();
    this.running = { id, abort };
    try {
      const r = await this.client.exec({
        query: sql,
        query_id: id,
        abort_signal: abort.signal,
        query_params: opts.params,
        // readonly last: applied after the limits, it then forbids any further change
        clickhouse_settings: {
          ...this.settings,
          default_format: opts.format,
          readonly: '1',
        } as ClickHouseSettings,
      });
      const parts: Buffer[] = [];
      for await (const c of r.stream) parts.push(Buffer.from(c as Uint8Array));
      return Buffer.concat(parts);
    } finally {
      this.running = null;
    }
  }

  async cancel(): Promise<void> {
    const r = this.running;
    if (r === null) return;
    r.abort.abort();
    await this.client
      .command({ query: `KILL QUERY WHERE query_id = ${str(r.id)} ASYNC` })
      .catch(() => undefined);
  }

  async close(): Promise<void> {}
}
