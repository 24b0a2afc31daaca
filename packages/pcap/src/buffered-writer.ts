import { DEFAULT_WRITE_BUFFER } from './limits';
import { FileSink, isBufferSink, type ByteSink } from './sink';

/**
 * Fills one large buffer and hands it to the sink when full: one syscall per few MiB. With a
 * BufferSink the buffers are the sink's (`bufferSize` is then the sink's) and change hands
 * without a copy.
 */
export abstract class BufferedWriter {
  protected buf: Buffer;
  protected view: DataView;
  protected pos = 0;
  private readonly sink: ByteSink;
  private closed = false;

  constructor(target: string | ByteSink, bufferSize = DEFAULT_WRITE_BUFFER) {
    if (!Number.isInteger(bufferSize) || bufferSize < 4096) {
      throw new RangeError('bufferSize must be an integer >= 4096');
    }
    this.sink = typeof target === 'string' ? new FileSink(target) : target;
    this.buf = isBufferSink(this.sink) ? this.sink.firstBuffer() : Buffer.allocUnsafe(bufferSize);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Makes room for `n` header bytes (n is always small next to the buffer). */
  protected reserve(n: number): void {
    if (this.closed) throw new Error('writer is closed');
    if (this.pos + n > this.buf.length) this.flush();
  }

  /** Appends packet bytes, bypassing the buffer for packets larger than it. */
  protected putBytes(data: Uint8Array, length: number): void {
    if (this.pos + length > this.buf.length) {
      this.flush();
      if (length > this.buf.length) {
        this.sink.write(length === data.length ? data : data.subarray(0, length));
        return;
      }
    }
    this.buf.set(length === data.length ? data : data.subarray(0, length), this.pos);
    this.pos += length;
  }

  /** Sends everything buffered so far to the sink. */
  flush(): void {
    if (this.pos === 0) return;
    if (isBufferSink(this.sink)) {
      this.buf = this.sink.exchange(this.buf, this.pos);
      this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    } else {
      this.sink.write(this.buf.subarray(0, this.pos));
    }
    this.pos = 0;
  }

  /** Flushes and closes the sink (the file, for a path target). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.sink.close();
  }
}

/** Common shape of PcapWriter and PcapngWriter, for code that can produce either. */
export interface CaptureWriter {
  write(
    data: Uint8Array,
    tsSec: number,
    tsNsec: number,
    interfaceId?: number,
    originalLength?: number,
  ): void;
  flush(): void;
  close(): void;
}

/** Validates a timestamp once per packet: cheap, and a bad value would corrupt the file. */
export function checkTimestamp(tsSec: number, tsNsec: number, maxSec: number): void {
  if (!(tsSec >= 0 && tsSec <= maxSec && Number.isInteger(tsSec))) {
    throw new RangeError(`tsSec ${tsSec} out of range 0..${maxSec}`);
  }
  if (!(tsNsec >= 0 && tsNsec < 1e9 && Number.isInteger(tsNsec))) {
    throw new RangeError(`tsNsec ${tsNsec} out of range 0..999999999`);
  }
}
