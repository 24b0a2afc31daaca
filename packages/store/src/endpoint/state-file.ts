/**
 * Where a running `serve` records its query endpoint, inside the embedded data directory, so
 * that `hopwatch query --data-dir DIR` finds it.
 *
 * Written atomically and without following links: a temporary file created exclusively
 * (O_EXCL never follows a link) then renamed over the name (rename replaces a link, it does
 * not write through it). A link planted at the name cannot make serve overwrite its target.
 */
import { randomBytes } from 'crypto';
import { closeSync, constants, openSync, readFileSync, renameSync, rmSync, writeSync } from 'fs';
import * as path from 'path';

export const ENDPOINT_FILE = 'hopwatch-serve.json';

/** Writes `text` to `file` by a new temporary file and a rename, never through a link. */
export function writeStateFile(file: string, text: string): void {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const fd = openSync(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0),
    0o644,
  );
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Records `url` as the endpoint of this process's store in `dataDir`; returns the remover. */
export function recordEndpoint(dataDir: string, url: string): () => void {
  const file = path.join(dataDir, ENDPOINT_FILE);
  writeStateFile(file, JSON.stringify({ pid: process.pid, url }) + '\n');
  return () => {
    // only our own record (another serve may have taken the directory over since)
    if (recordedEndpoint(dataDir)?.pid === process.pid) rmSync(file, { force: true });
  };
}

/** The endpoint a live process recorded in `dataDir`, or null (none, unreadable, or gone). */
export function recordedEndpoint(dataDir: string): { pid: number; url: string } | null {
  try {
    const j = JSON.parse(readFileSync(path.join(dataDir, ENDPOINT_FILE), 'utf8')) as {
      pid?: unknown;
      url?: unknown;
    };
    if (typeof j.pid !== 'number' || typeof j.url !== 'string') return null;
    // only this machine: the file must not be able to send queries (and credentials) elsewhere
    if (!/^http:\/\/(127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0|\[::\]):\d{1,5}$/.test(j.url))
      return null;
    process.kill(j.pid, 0); // throws when the process is gone
    return { pid: j.pid, url: j.url };
  } catch {
    return null;
  }
}
