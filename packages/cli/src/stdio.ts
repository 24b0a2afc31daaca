/** `-` as a command's input (stdin) or output (stdout), for the commands that take files. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pipeline } from 'stream/promises';

/** The whole of a stream (stdin: a pipe cannot be mapped or seeked). */
export async function readAll(input: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

/** A private temporary directory for a command's stdin copy or stdout staging; removed by
 * the returned cleanup. */
export function scratchDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hopwatch-${prefix}-`));
  const remove = (): void => fs.rmSync(dir, { recursive: true, force: true });
  // a closed stdout ends the process at once (main.ts): the directory goes with it
  process.once('exit', remove);
  return {
    dir,
    cleanup: () => {
      process.removeListener('exit', remove);
      remove();
    },
  };
}

/** Copies a finished file to `out` with back-pressure; a reader that went away (EPIPE) is a
 * quiet end, not an error. */
export async function copyToOutput(file: string, out: NodeJS.WritableStream): Promise<void> {
  try {
    await pipeline(fs.createReadStream(file), out, { end: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
  }
}

/**
 * The embedded engine (chDB) takes whatever the host process's standard input holds as data
 * for its INSERTs (chdb-core issue 239): `cat x | hopwatch replay -` failed with "inlined and
 * external data", and with other settings it would store rows nobody wrote. Before the
 * embedded store opens, standard input is moved off descriptor 0, which then reads
 * /dev/null. Returns a path from which the original standard input can still be read (a pipe
 * reopened through /proc), or null when there was nothing to move (a terminal, /dev/null) or
 * it cannot be reopened (a socket: then `-` inputs must have been taken before, see
 * `stdinAsCapturePath`). Idempotent.
 */
export function isolateStdin(): string | null {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(0);
  } catch {
    return null; // no descriptor 0 at all: nothing to read
  }
  if (st.isCharacterDevice()) return null; // a terminal, or /dev/null already
  let kept: number | null = null;
  try {
    kept = fs.openSync('/proc/self/fd/0', 'r');
  } catch {
    kept = null; // a socket (a parent's 'pipe' stdio) cannot be reopened
  }
  fs.closeSync(0);
  // the lowest free descriptor is 0: /dev/null takes its place
  const nul = fs.openSync('/dev/null', 'r');
  if (nul !== 0) fs.closeSync(nul);
  return kept === null ? null : `/proc/self/fd/${kept}`;
}

/**
 * Where a command that opens the embedded store reads its `-` capture from: standard input
 * reopened off descriptor 0 (a pipe or a file: still streamed), or, when it cannot be
 * reopened (a socket), a copy in a scratch file. `files` with `-` replaced; the cleanup
 * removes any copy.
 */
export async function stdinAsCapturePath(
  files: string[],
): Promise<{ files: string[]; cleanup: () => void }> {
  if (!files.includes('-')) return { files, cleanup: () => undefined };
  let st: fs.Stats | null = null;
  try {
    st = fs.fstatSync(0);
  } catch {
    st = null;
  }
  if (st && !st.isSocket()) {
    const kept = isolateStdin();
    if (kept) return { files: files.map((f) => (f === '-' ? kept : f)), cleanup: () => undefined };
    return { files, cleanup: () => undefined }; // a terminal: read fd 0 itself
  }
  const scratch = scratchDir('stdin');
  const copy = path.join(scratch.dir, 'stdin.pcap');
  await pipeline(process.stdin, fs.createWriteStream(copy));
  isolateStdin();
  return { files: files.map((f) => (f === '-' ? copy : f)), cleanup: scratch.cleanup };
}
