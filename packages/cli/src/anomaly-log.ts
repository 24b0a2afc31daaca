/**
 * The --anomalies FILE.jsonl of replay, serve and analyze: one JSON object per line, as on
 * hopwatch.anomalies.v2. A write that fails (disk full, file system gone) never ends the
 * command: it is counted, the first failure is reported in one line and later ones at most
 * once a minute, and the anomaly is still printed and stored. `-` is standard output (the
 * command then prints its own lines on standard error); a reader that goes away (EPIPE) ends
 * the writing quietly, as `head` expects.
 */
import * as fs from 'fs';
import * as path from 'path';
import { FdSink } from '@hopwatch/pcap';
import { anomalyToJson } from '@hopwatch/pipeline';
import { UsageError } from './errors';

const WARN_EVERY_MS = 60_000;
/** The --anomalies value that means standard output. */
export const STDOUT = '-';

export class AnomalyLog {
  private fd: number | null;
  /** Anomalies written / not written (a failed write). */
  written = 0;
  failed = 0;
  lastError: string | null = null;
  private lastWarn = -Infinity;
  private unreported = 0;
  /** Standard output (`-`): written through, never closed here. */
  private readonly stdout: FdSink | null;

  /**
   * Opens `file` for appending ('a') or from scratch ('w'). A file that cannot be opened is
   * the user's mistake (missing directory, no permission): a UsageError, before any work.
   */
  constructor(
    readonly file: string,
    mode: 'a' | 'w',
    private readonly warn: (line: string) => void,
    /** Where the bytes go when not `file` itself (a temporary file renamed onto it later). */
    writeTo = file,
  ) {
    if (file === STDOUT) {
      this.stdout = new FdSink(1);
      this.fd = 1;
      return;
    }
    this.stdout = null;
    const dir = path.dirname(path.resolve(file));
    if (!fs.existsSync(dir))
      throw new UsageError(`--anomalies ${file}: directory ${dir} does not exist`);
    try {
      this.fd = fs.openSync(writeTo, mode);
    } catch (e) {
      throw new UsageError(`--anomalies ${file}: ${(e as Error).message}`);
    }
  }

  /** One line in the format of the anomalies topic (anomalyToJson: ns times as strings). */
  write(a: object): void {
    if (this.fd === null) return;
    const line = Buffer.from(anomalyToJson(a) + '\n');
    try {
      if (this.stdout) this.stdout.write(line);
      else
        for (let done = 0; done < line.length;)
          done += fs.writeSync(this.fd, line, done, line.length - done);
      this.written++;
    } catch (e) {
      if (this.stdout && (e as NodeJS.ErrnoException).code === 'EPIPE') {
        this.fd = null; // the reader has what it wanted
        return;
      }
      this.failed++;
      this.lastError = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      this.unreported++;
      const now = Date.now();
      if (now - this.lastWarn >= WARN_EVERY_MS) {
        this.lastWarn = now;
        this.warn(
          this.failed === 1
            ? `warning: cannot write anomalies to ${this.file} (${(e as Error).message}); ` +
                'they are still printed and stored; the failures are counted'
            : `warning: ${this.unreported} more anomaly(ies) not written to ${this.file} ` +
                `(${this.lastError}; ${this.failed} in all)`,
        );
        this.unreported = 0;
      }
    }
  }

  /** One line for a summary, or null when every write succeeded. */
  summary(): string | null {
    return this.failed
      ? `Anomalies file ${this.file}: ${this.failed} anomaly(ies) not written (${this.lastError})`
      : null;
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    if (this.stdout) return;
    try {
      fs.closeSync(fd);
    } catch (e) {
      this.failed++;
      this.lastError = (e as Error).message;
    }
  }
}
