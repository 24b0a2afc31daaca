/**
 * The identity of a capture file for the capture ledger (`capture_id`, see docs/schema.md):
 * SHA-256 over the file's size and its first and last MiB, first 8 bytes. Content-based, so a
 * copy or a renamed file is the same capture, and constant-time (two reads of at most 1 MiB,
 * not a pass over a multi-gigabyte file). The size and the tail make a capture that differs
 * only after its first MiB (the same scenario simulated longer, a file still being written)
 * another capture: its records are stored in full rather than wrongly skipped.
 */
import { createHash } from 'crypto';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'fs';

const SPAN = 1 << 20;

/**
 * A non-zero 64-bit identity (0 means "not from a capture" in the tables), or null for what is
 * not a regular file (a FIFO, a device): its bytes can be read only once, and its size says
 * nothing, so it has no identity and no ledger.
 */
export function captureIdentity(file: string): bigint | null {
  if (file === '-' || !statSync(file).isFile()) return null; // `-`: standard input
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const h = createHash('sha256');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(size));
    h.update(len);
    const headLen = Math.min(size, SPAN);
    const buf = Buffer.allocUnsafe(SPAN);
    h.update(buf.subarray(0, readFully(fd, buf, headLen, 0)));
    const tailLen = Math.min(size - headLen, SPAN);
    if (tailLen > 0) h.update(buf.subarray(0, readFully(fd, buf, tailLen, size - tailLen)));
    const id = h.digest().readBigUInt64LE(0);
    return id === 0n ? 1n : id;
  } finally {
    closeSync(fd);
  }
}

function readFully(fd: number, buf: Buffer, len: number, pos: number): number {
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}
