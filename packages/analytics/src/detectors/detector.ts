/**
 * The contract between the Analyzer and each detector.
 *
 * Per record, the Analyzer calls each detector's own typed entry points directly (their
 * arguments differ, and one call site per detector keeps the per-record loop monomorphic);
 * everything else goes through this interface.
 */

/** Where the checkpoint's table entries are, in checkpoint order (entry i ↔ slots[i]). */
export interface CheckpointRows {
  flows: readonly number[];
  queues: readonly number[];
  reporters: readonly number[];
}

/** The same when restoring, plus the time shift: restored time = saved time + shift (ns),
 * since the restoring analyzer may count time from another base second. */
export interface RestoreRows extends CheckpointRows {
  shift: number;
}

/** State of a detector whose checkpoint carries nothing: its open episodes are not saved (one
 * open at a checkpoint is reported again from the evidence seen after the restart) and its
 * per-slot state restarts. */
export type NoState = Record<string, never>;

export interface Detector<S> {
  /** Closes the episodes that have been idle long enough at `now` (relative ns). */
  sweep(now: number): void;
  /** End of input: closes every open episode. */
  finish(): void;
  /** Open episodes (for stats). */
  readonly open: number;
  /** Bytes of preallocated per-slot state. */
  readonly bytes: number;
  /** The state worth keeping across a restart, JSON-serialisable. */
  checkpoint(rows: CheckpointRows): S;
  /** Loads `checkpoint()` output into a detector (normally a fresh one). */
  restore(s: S, rows: RestoreRows): void;
}
