import * as fs from 'node:fs';

/** Where writers send their bytes. Writers call `write` with whole, already-filled chunks. */
export interface ByteSink {
  /** Must consume `bytes` before returning: the writer reuses the memory right after. */
  write(bytes: Uint8Array): void;
  close(): void;
}

/**
 * A sink that owns the buffers writers fill: a full buffer is handed over whole, not copied,
 * in exchange for the next one to fill (every buffer has the same size).
 */
export interface BufferSink extends ByteSink {
  /** The first buffer to fill. */
  firstBuffer(): Buffer;
  /** Takes the first `length` bytes of `full` (the buffer last lent) and lends the next. */
  exchange(full: Buffer, length: number): Buffer;
}

export function isBufferSink(s: ByteSink): s is BufferSink {
  return typeof (s as BufferSink).exchange === 'function';
}

/** Writes all of `bytes` to `fd` (write(2) may take fewer bytes than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;)
    done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes to a descriptor it does not own, such as standard output (`--out -`). A pipe that
 * another process set non-blocking is waited on, as a blocking write would; a reader that went
 * away surfaces as the EPIPE error for the caller to end quietly.
 */
export class FdSink implements ByteSink {
  constructor(private readonly fd: number) {}

  write(bytes: Uint8Array): void {
    for (let done = 0; done < bytes.length;) {
      try {
        done += fs.writeSync(this.fd, bytes, done, bytes.length - done);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(pause, 0, 0, 2);
      }
    }
  }

  close(): void {}
}

/** Appends to a file with synchronous writes (the writers batch them into large chunks). */
export class FileSink implements ByteSink {
  private fd: number | null;

  constructor(path: string) {
    this.fd = fs.openSync(path, 'w');
  }

  write(bytes: Uint8Array): void {
    if (this.fd === null) throw new Error('FileSink is closed');
    writeAll(this.fd, bytes);
  }

  close(): void {
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      fs.closeSync(fd);
    }
  }
}

/** Collects everything in memory; `toBuffer()` returns the whole capture (tests, small files). */
export class MemorySink implements ByteSink {
  private parts: Buffer[] = [];

  write(bytes: Uint8Array): void {
    this.parts.push(Buffer.from(bytes)); // copy: the writer reuses its buffer
  }

  close(): void {}

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}
