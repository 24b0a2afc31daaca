/**
 * Group commit: many callers, one flush at a time, each caller's promise settles with the
 * first flush that *started after* its call (so it covers whatever the caller wrote before).
 * Callers arriving while a flush runs all share the single next one, and fail if the running
 * one fails too (their rows may be in it).
 *
 * With `minIntervalMs`, a flush starts no sooner than that after the previous one started:
 * callers arriving in the meantime join it (it has taken no rows yet), so a busy writer makes
 * fewer, larger inserts (each INSERT is a part in every table and view it writes, and the
 * server's merges cost more than the rows).
 */
export class GroupCommit {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  /** A flush waiting for the interval: callers join it. */
  private delayed: Promise<void> | null = null;
  private lastStart = -Infinity;
  /** Flushes started (for metrics and tests). */
  flushes = 0;

  constructor(
    private readonly flush: () => Promise<unknown>,
    private readonly minIntervalMs = 0,
  ) {}

  /** Resolves when a flush started after this call is done; rejects with its error. */
  commit(): Promise<void> {
    if (this.queued) return this.queued;
    if (this.delayed) return this.delayed;
    if (!this.running) return this.start();
    // The running flush may carry this caller's rows too: it may not have taken the pending
    // rows yet when the caller wrote them (a flush swaps them out a few microtasks after it
    // starts, and a caller whose ledger is cached writes within microtasks). So its failure
    // fails this caller as well, after the next flush is done (which writes whatever is still
    // pending, so nothing lands after the redelivery read the ledger).
    const next = this.running.then(
      () => {
        this.queued = null;
        return this.start();
      },
      (e: unknown) => {
        this.queued = null;
        const fail = (): never => {
          throw e;
        };
        return this.start().then(fail, fail);
      },
    );
    this.queued = next;
    return next;
  }

  /** Resolves when no flush is running or queued (errors are the callers'). */
  async idle(): Promise<void> {
    while (this.queued || this.running) await (this.queued ?? this.running)!.catch(() => undefined);
  }

  private start(): Promise<void> {
    const wait = this.lastStart + this.minIntervalMs - performance.now();
    if (wait > 0) {
      // not running yet: callers until the timer fires join this flush (see commit)
      const d = new Promise<void>((resolve) => setTimeout(resolve, wait)).then(() => {
        this.delayed = null;
        return this.start();
      });
      this.delayed = d;
      this.running = d;
      return d;
    }
    this.lastStart = performance.now();
    this.flushes++;
    const p = Promise.resolve()
      .then(() => this.flush())
      .then(() => undefined);
    this.running = p;
    const clear = (): void => {
      if (this.running === p) this.running = null;
    };
    p.then(clear, clear);
    return p;
  }
}
