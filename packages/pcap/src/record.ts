import type { PacketRecord } from './types';

const EMPTY = new Uint8Array(0);

/**
 * The single mutable record a reader hands out. Readers set the fields directly; `data` is a
 * getter so that loops which only need `buffer`/`offset` never allocate a view per packet.
 */
export class MutableRecord implements PacketRecord {
  buffer: Uint8Array = EMPTY;
  offset = 0;
  linkType = 0;
  tsSec = 0;
  tsNsec = 0;
  capturedLength = 0;
  originalLength = 0;
  interfaceId = 0;
  index = 0;
  private view: Uint8Array | null = null;

  get data(): Uint8Array {
    if (this.view === null) {
      this.view = this.buffer.subarray(this.offset, this.offset + this.capturedLength);
    }
    return this.view;
  }

  /** Called by readers before filling in a new packet. */
  reset(buffer: Uint8Array, offset: number, capturedLength: number): void {
    this.buffer = buffer;
    this.offset = offset;
    this.capturedLength = capturedLength;
    this.view = null;
    this.index++;
  }
}
