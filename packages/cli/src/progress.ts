/**
 * A one-line progress display on stderr, only when stderr is a terminal: never `\r` into a
 * pipe or a file. With a known total (files) it shows a bar, the rate and the time left; with
 * none (a stream on stdin) the count and the rate.
 */

export interface ProgressState {
  label: string;
  /** Share done in [0, 1], or null when the total is unknown (stdin). */
  fraction: number | null;
  /** Items done so far (records, packets) and what they are. */
  count: number;
  unit: string;
  elapsedMs: number;
}

/** The line for a state, without control characters (testable). */
export function formatProgress(s: ProgressState): string {
  const secs = s.elapsedMs / 1000;
  const rate = secs > 0 ? s.count / secs : 0;
  const parts = [s.label];
  if (s.fraction !== null) {
    const f = Math.min(1, Math.max(0, s.fraction));
    const width = 30;
    const done = Math.round(f * width);
    parts.push(`[${'#'.repeat(done)}${'.'.repeat(width - done)}]`, `${(f * 100).toFixed(0)}%`);
  }
  parts.push(`${s.count.toLocaleString('en-US')} ${s.unit}`);
  if (secs >= 0.5) parts.push(`${compact(rate)} ${s.unit}/s`);
  parts.push(`${secs.toFixed(1)}s`);
  // time left from the share done so far: meaningful once a little work has been measured
  if (s.fraction !== null && s.fraction > 0.01 && s.fraction < 1 && secs >= 0.5)
    parts.push(`ETA ${duration((secs * (1 - s.fraction)) / s.fraction)}`);
  return parts.join(' ');
}

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

function duration(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.ceil(s - m * 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class Progress {
  private last = 0;
  private shown = false;
  private readonly t0 = Date.now();

  constructor(
    private readonly label: string,
    private readonly unit = 'records',
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  private get tty(): boolean {
    return this.out.isTTY === true;
  }

  update(fraction: number | null, count: number): void {
    if (!this.tty) return;
    const now = Date.now();
    if (now - this.last < 100 && (fraction === null || fraction < 1)) return;
    this.last = now;
    this.shown = true;
    const line = formatProgress({
      label: this.label,
      fraction,
      count,
      unit: this.unit,
      elapsedMs: now - this.t0,
    });
    this.out.write(`\r${line}\x1b[K`);
  }

  done(): void {
    if (this.tty && this.shown) this.out.write('\n');
  }
}
