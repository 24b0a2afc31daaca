/** A one-line progress bar on stderr (only when stderr is a terminal). */
export class Progress {
  private last = 0;
  private readonly tty = process.stderr.isTTY === true;
  private readonly t0 = Date.now();

  constructor(private readonly label: string) {}

  update(fraction: number, detail: string): void {
    if (!this.tty) return;
    const now = Date.now();
    if (now - this.last < 100 && fraction < 1) return;
    this.last = now;
    const width = 30;
    const done = Math.round(Math.min(1, Math.max(0, fraction)) * width);
    const secs = ((now - this.t0) / 1000).toFixed(1);
    process.stderr.write(
      `\r${this.label} [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${detail} ${secs}s\x1b[K`,
    );
  }

  done(): void {
    if (this.tty) process.stderr.write('\n');
  }
}
