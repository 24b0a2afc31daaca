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
  readonly size: number;

  private constructor(buf: Buffer, end: number, fd: number | null, size: number) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.end = end;
    this.fd = fd;
    this.eof = fd === null;
    this.size = size;
  }

  static fromFile(path: string, chunkSize = DEFAULT_CHUNK_SIZE): ChunkedInput {
    if (!Number.isInteger(chunkSize) || chunkSize < 16 || chunkSize > MAX_RECORD_BYTES) {
      throw new RangeError(`chunkSize must be an integer in 16..${MAX_RECORD_BYTES}`);
    }
    const fd = fs.openSync(path, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      // No point in a chunk bigger than the file (plus slack so tiny files need one read).
      const cap = Math.max(16, Math.min(chunkSize, size + 1));
      return new ChunkedInput(Buffer.allocUnsafe(cap), 0, fd, size);
    } catch (e) {
      fs.closeSync(fd);
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
      const got = fs.readSync(
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
      fs.closeSync(fd);
    }
  }
}
