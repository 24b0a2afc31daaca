import type { CaptureFormatError } from './errors';

/**
 * One packet as returned by `CaptureReader.next()`. The reader reuses the same object for every
 * packet, and `data` / `buffer` point into the reader's chunk: both are only valid until the
 * next call to `next()`. Copy (`Buffer.from(rec.data)`) what you need to keep.
 */
export interface PacketRecord {
  /** Captured bytes: a view into the reader's chunk (created lazily on first access). */
  readonly data: Uint8Array;
  /** The chunk itself; the packet is `buffer[offset .. offset + capturedLength)`. Zero-copy,
   * zero-allocation access for hot loops. */
  readonly buffer: Uint8Array;
  readonly offset: number;
  /** LINKTYPE_* of the packet's interface (see `LinkType`). */
  readonly linkType: number;
  /** Timestamp as whole seconds since the epoch plus nanoseconds (0..999_999_999). */
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly capturedLength: number;
  readonly originalLength: number;
  /** pcapng interface id within its section (always 0 for classic pcap and for SPBs). */
  readonly interfaceId: number;
  /** 1-based frame number, as Wireshark shows it. */
  readonly index: number;
}

export type CaptureFormat = 'pcap' | 'pcapng';

export interface CaptureReader {
  readonly format: CaptureFormat;
  /** The next packet, or null at the end of the input or at the first unreadable byte. */
  next(): PacketRecord | null;
  /** Releases the file descriptor; idempotent. `next()` returns null afterwards. */
  close(): void;
  /** Bytes consumed so far (offset just past the last record returned). */
  readonly bytesRead: number;
  /** Size of the input in bytes (at open time for files). */
  readonly fileSize: number;
  /** Why reading stopped early, or null while reading is fine / ended cleanly. */
  readonly error: CaptureFormatError | null;
  /** True when reading stopped because the input ended inside a record (`error.truncated`). */
  readonly truncated: boolean;
}

export interface OpenOptions {
  /** Read chunk size in bytes (default 8 MiB); grows only for a single larger block. */
  chunkSize?: number;
}
