import * as fs from 'node:fs';
import { CaptureFormatError } from './errors';
import { DEFAULT_CHUNK_SIZE, MAX_RECORD_BYTES } from './limits';

/** Largest window: one maximal record plus its header. */
const MAX_WINDOW = MAX_RECORD_BYTES + 64;

/**
 * A sliding window over a file (or an in-memory buffer) read into one reusable chunk.
 * Parsers call `ensure(n)` before looking at `n` bytes from `pos`; that may move the unread
 * tail to the front of the chunk, so every view into it dies at the next `ensure`.
 */
export class ChunkedInput {
  buf: Buffer;
  view: DataView;
  /** Next unread byte in `buf`. */
  pos = 0;
  /** End of valid bytes in `buf`. */
  end: number;
  /** Input offset of `buf[0]`. */
  private base = 0;
  private fd: number | null;
  private eof: boolean;
  /** Input size in bytes; 0 for a stream (a pipe, a FIFO, a terminal: size unknown). */
  readonly size: number;
  /** A stream is read where it stands (no offsets) and its fd may not be ours to close. */
  private readonly stream: boolean;
  private readonly ownFd: boolean;

  private constructor(
    buf: Buffer,
    end: number,
    fd: number | null,
    size: number,
    stream = false,
    ownFd = true,
  ) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.end = end;
    this.fd = fd;
    this.eof = fd === null;
    this.size = size;
    this.stream = stream;
    this.ownFd = ownFd;
  }

  /**
   * Opens a file, or `-` for standard input. A path that is not a regular file (a pipe, a
   * FIFO, /dev/stdin) is read as a stream: front to back, in constant memory.
   */
  static fromFile(path: string, chunkSize = DEFAULT_CHUNK_SIZE): ChunkedInput {
    if (!Number.isInteger(chunkSize) || chunkSize < 16 || chunkSize > MAX_RECORD_BYTES) {
      throw new RangeError(`chunkSize must be an integer in 16..${MAX_RECORD_BYTES}`);
    }
    const stdin = path === '-';
    const fd = stdin ? 0 : fs.openSync(path, 'r');
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile())
        return new ChunkedInput(Buffer.allocUnsafe(chunkSize), 0, fd, 0, true, !stdin);
      const size = st.size;
      // No point in a chunk bigger than the file (plus slack so tiny files need one read).
      const cap = Math.max(16, Math.min(chunkSize, size + 1));
      return new ChunkedInput(Buffer.allocUnsafe(cap), 0, fd, size, false, !stdin);
    } catch (e) {
      if (!stdin) fs.closeSync(fd);
      throw e;
    }
  }

  static fromBytes(bytes: Uint8Array): ChunkedInput {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return new ChunkedInput(buf, buf.length, null, buf.length);
  }

  /** Input offset of `pos`. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** True once every byte of the input has been consumed. */
  atEnd(): boolean {
    return this.pos >= this.end && !this.ensure(1);
  }

  /**
   * Makes `n` bytes available at `pos`. Returns false if the input ends first. Throws
   * CaptureFormatError for sizes beyond MAX_RECORD_BYTES rather than allocating them.
   */
  ensure(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    if (this.eof || this.fd === null) return false;
    if (n > MAX_WINDOW) {
      // Readers check lengths first; this guards against a future caller forgetting to.
      throw new CaptureFormatError(
        `record of ${n} bytes exceeds the ${MAX_RECORD_BYTES} byte limit`,
        this.offset,
      );
    }
    const keep = this.end - this.pos;
    if (n > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.min(MAX_WINDOW, Math.max(n, this.buf.length * 2)));
      this.buf.copy(grown, 0, this.pos, this.end);
      this.buf = grown;
      this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
    } else if (this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.end);
    }
    this.base += this.pos;
    this.pos = 0;
    this.end = keep;
    while (this.end < n) {
      const got = this.stream
        ? readStream(this.fd, this.buf, this.end)
        : fs.readSync(
            this.fd,
            this.buf,
            this.end,
            this.buf.length - this.end,
            this.base + this.end,
          );
      if (got === 0) {
        this.eof = true;
        break;
      }
      this.end += got;
    }
    return this.end >= n;
  }

  close(): void {
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      this.eof = true;
      if (this.ownFd) fs.closeSync(fd);
    }
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Reads what a pipe has now; waits (blocking, as file reads do) while it is empty. */
function readStream(fd: number, buf: Buffer, at: number): number {
  for (;;) {
    try {
      return fs.readSync(fd, buf, at, buf.length - at, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // a non-blocking descriptor (set by whoever shares it) has nothing yet
      if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 2);
      else if (code === 'EOF') return 0;
      else throw e;
    }
  }
}
