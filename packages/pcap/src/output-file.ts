/**
 * Safe output files for the commands that read one file and write another: an output that is
 * the input under another name (`./x.pcap`, a hard link, a symlink) is refused before anything
 * is opened, and outputs are written to a temporary file beside them and renamed into place
 * at the end, so even an alias that slipped through never truncates the input.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HopwatchError } from '@hopwatch/codec';

/** Raised when an output would overwrite an input or cannot be created where asked. */
export class OutputFileError extends HopwatchError {
  constructor(message: string) {
    super(message);
    this.name = 'OutputFileError';
  }
}

/** The file identity behind a path (symlinks followed), or null when nothing is there. */
function identity(p: string): { dev: number; ino: number; dir: boolean } | null {
  try {
    const st = fs.statSync(p);
    return { dev: st.dev, ino: st.ino, dir: st.isDirectory() };
  } catch {
    return null;
  }
}

/** True when both paths name the same existing file (same device and inode). */
export function sameFile(a: string, b: string): boolean {
  const x = identity(a);
  const y = identity(b);
  return x !== null && y !== null && x.dev === y.dev && x.ino === y.ino;
}

export interface NamedPath {
  /** How the user gave it: 'OUT', '--labels', 'the scenario'. */
  name: string;
  path: string;
}

/**
 * Checks outputs before anything is written: none may be an input or another output (by
 * identity when they exist, by resolved path when they do not yet), none may be a directory,
 * and each one's directory must exist.
 */
export function checkOutputs(inputs: NamedPath[], outputs: NamedPath[]): void {
  for (const [i, o] of outputs.entries()) {
    const id = identity(o.path);
    if (id?.dir) throw new OutputFileError(`${o.name} ${o.path} is a directory`);
    for (const inp of inputs) {
      if (sameFile(o.path, inp.path) || path.resolve(o.path) === path.resolve(inp.path))
        throw new OutputFileError(
          `${o.name} ${o.path} is the same file as ${inp.name} ${inp.path}: refusing to overwrite it`,
        );
    }
    for (const other of outputs.slice(0, i)) {
      if (sameFile(o.path, other.path) || path.resolve(o.path) === path.resolve(other.path))
        throw new OutputFileError(`${o.name} and ${other.name} are the same file (${o.path})`);
    }
    const dir = path.dirname(path.resolve(o.path));
    if (!identity(dir)?.dir)
      throw new OutputFileError(`${o.name} ${o.path}: directory ${dir} does not exist`);
  }
}

/**
 * Where to write `target`'s bytes: a hidden temporary name in the same directory (so the
 * final rename is atomic), ending like the target (writers choose the format from the
 * extension). An existing target that is not a regular file (/dev/null, a FIFO, a terminal)
 * is written directly: renaming over it would replace the device node itself.
 */
export function tempPathFor(target: string): string {
  try {
    if (!fs.statSync(target).isFile()) return target;
  } catch {
    /* does not exist yet: a temporary file */
  }
  const rand = Math.random().toString(36).slice(2, 10);
  return path.join(
    path.dirname(target),
    `.hopwatch-${process.pid}-${rand}-${path.basename(target)}`,
  );
}

/** Moves a file written at `tempPathFor(target)` into place (nothing to do for a device). */
export function commitTemp(temp: string, target: string): void {
  if (temp !== target && fs.existsSync(temp)) fs.renameSync(temp, target);
}

/**
 * Runs `write` with a temporary path for each target, then renames each temporary file onto
 * its target. When `write` throws, the temporary files are removed and the targets are left
 * as they were. Paths `write` did not create are skipped at rename time (an optional output).
 */
export async function writeViaTemp<T>(
  targets: string[],
  write: (temps: string[]) => T | Promise<T>,
): Promise<T> {
  const temps = targets.map(tempPathFor);
  let result: T;
  try {
    result = await write(temps);
  } catch (e) {
    for (const [i, t] of temps.entries()) if (t !== targets[i]) fs.rmSync(t, { force: true });
    throw e;
  }
  for (const [i, t] of temps.entries()) commitTemp(t, targets[i]);
  return result;
}
