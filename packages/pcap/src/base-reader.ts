import type { ChunkedInput } from './chunked-input';
import { CaptureFormatError } from './errors';
import { MutableRecord } from './record';
import type { CaptureFormat, CaptureReader, PacketRecord } from './types';

/** State and bookkeeping shared by the pcap and pcapng readers. */
export abstract class BaseReader implements CaptureReader {
  abstract readonly format: CaptureFormat;
  error: CaptureFormatError | null = null;
  protected readonly rec = new MutableRecord();
  /** Set at the end of input, on error, or on close: `next()` then returns null for good. */
  protected done = false;

  constructor(protected readonly input: ChunkedInput) {}

  abstract next(): PacketRecord | null;

  get bytesRead(): number {
    return this.input.offset;
  }

  get fileSize(): number {
    return this.input.size;
  }

  get truncated(): boolean {
    return this.error !== null && this.error.truncated;
  }

  close(): void {
    this.done = true;
    this.input.close();
  }

  /** Records why reading stops here; never throws, so one bad tail cannot crash a batch job. */
  protected fail(reason: string, offset: number, truncated = false): null {
    this.error = new CaptureFormatError(reason, offset, truncated);
    this.done = true;
    return null;
  }

  /** End of input at a record boundary is a clean end; anything left over is a truncation. */
  protected endOrTruncated(what: string): null {
    const inp = this.input;
    if (inp.end > inp.pos) {
      return this.fail(`input ends inside a ${what}`, inp.offset, true);
    }
    this.done = true;
    return null;
  }
}
