/**
 * The embedded store's insert files: chDB's Connection.insert takes text only, so each binary
 * insert body goes through a file that the engine reads with file(). The files live in a
 * directory of the process's own, `<tmpdir>/hopwatch-store-<pid>-<random>` (mode 0700: the
 * bodies are the fabric's telemetry), created exclusively (never through a planted link) and
 * removed after their INSERT; the directory goes when the store closes. A process killed
 * mid-insert cannot remove them, so an opening store removes what processes that no longer
 * exist left behind (a body can be tens of MB, and repeated kills would fill the disk).
 */
import { promises as fsp, mkdtempSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

/** A directory or (before 2026-12-07) a flat file of a store's insert files. */
const NAME = /^hopwatch-store-(\d+)-[0-9A-Za-z]+(?:-\d+\.bin)?$/;

/** Whether a process with this PID exists (EPERM: it does, under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the insert files and directories in `dir` left by processes that are gone; returns
 * how many entries. Those of live processes (this one included) and those it may not remove
 * are left alone.
 */
export function removeOrphanedInsertFiles(dir = tmpdir()): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  const dead = new Map<number, boolean>();
  let removed = 0;
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid) continue;
    let gone = dead.get(pid);
    if (gone === undefined) dead.set(pid, (gone = !alive(pid)));
    if (!gone) continue;
    try {
      rmSync(path.join(dir, name), { recursive: true, force: true });
      removed++;
    } catch {
      // another user's, or removed meanwhile by another store opening
    }
  }
  return removed;
}

/** One store's insert files. */
export class InsertFiles {
  private dir?: string;
  private seq = 0;

  constructor(private readonly parent = tmpdir()) {}

  /** Writes `body` to a new file and returns its path. */
  async write(body: Uint8Array): Promise<string> {
    this.dir ??= mkdtempSync(path.join(this.parent, `hopwatch-store-${process.pid}-`));
    const file = path.join(this.dir, `${++this.seq}.bin`);
    await fsp.writeFile(file, body, { flag: 'wx', mode: 0o600 });
    return file;
  }

  async remove(file: string): Promise<void> {
    await fsp.unlink(file).catch(() => undefined);
  }

  /** Removes the directory (the store closes). */
  close(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
