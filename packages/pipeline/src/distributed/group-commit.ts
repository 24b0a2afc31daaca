/**
 * Group commit: many callers, one flush at a time, each caller's promise settles with the
 * first flush that *started after* its call (so it covers whatever the caller wrote before).
 * Callers arriving while a flush runs all share the single next one.
 */
export class GroupCommit {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  /** Flushes started (for metrics and tests). */
  flushes = 0;

  constructor(private readonly flush: () => Promise<unknown>) {}

  /** Resolves when a flush started after this call is done; rejects with its error. */
  commit(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    const next = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.start();
      });
    this.queued = next;
    return next;
  }

  /** Resolves when no flush is running or queued (errors are the callers'). */
  async idle(): Promise<void> {
    while (this.queued || this.running) await (this.queued ?? this.running)!.catch(() => undefined);
  }

  private start(): Promise<void> {
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
