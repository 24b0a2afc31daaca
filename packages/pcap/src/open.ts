import { ChunkedInput } from './chunked-input';
import { CaptureFormatError } from './errors';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US, PcapReader } from './pcap-reader';
import { BLOCK_SHB, PcapngReader } from './pcapng-reader';
import type { OpenOptions } from './types';

const swap32 = (x: number): number =>
  (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

/** Picks the reader from the first four bytes. Throws CaptureFormatError for anything else. */
function readerFor(input: ChunkedInput): PcapReader | PcapngReader {
  if (!input.ensure(4))
    throw new CaptureFormatError('input too short for a capture header', 0, true);
  const magic = input.view.getUint32(0, false);
  if (magic === BLOCK_SHB) return new PcapngReader(input);
  for (const m of [PCAP_MAGIC_US, PCAP_MAGIC_NS]) {
    if (magic === m || magic === swap32(m)) return new PcapReader(input);
  }
  throw new CaptureFormatError(`unknown capture magic 0x${magic.toString(16).padStart(8, '0')}`, 0);
}

/**
 * Opens a pcap or pcapng file for streaming in constant memory. Throws CaptureFormatError if
 * the file header is unreadable; later problems stop `next()` and set `error` / `truncated`.
 */
export function openCapture(path: string, opts: OpenOptions = {}): PcapReader | PcapngReader {
  const input = ChunkedInput.fromFile(path, opts.chunkSize);
  try {
    return readerFor(input);
  } catch (e) {
    input.close();
    throw e;
  }
}

/** Same as `openCapture` over bytes already in memory (no copy is made). */
export function readCaptureBuffer(buf: Uint8Array): PcapReader | PcapngReader {
  return readerFor(ChunkedInput.fromBytes(buf));
}
