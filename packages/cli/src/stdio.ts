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
