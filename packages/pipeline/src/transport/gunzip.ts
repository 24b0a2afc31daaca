/**
 * GZIP record batches inflated on the event loop, in one call, into one buffer of the size the
 * gzip trailer announces.
 *
 * kafkajs inflated each fetched batch with the asynchronous zlib: 16 KiB output chunks, each a
 * round trip through the thread pool, then a copy into one buffer. For our batches (a few
 * hundred KiB to a few MiB) that cost 3–4 times the CPU of the inflate itself (analyze's
 * profile, docs/benchmarks-distributed.md "Analyze CPU"); the synchronous inflate of one batch
 * takes about a millisecond per MiB.
 */
import * as zlib from 'zlib';

/** Output buffer bound from the trailer: a hostile ISIZE must not allocate gigabytes (zlib
 * still grows past it for a real batch that is larger). */
const MAX_SIZE_HINT = 64 * 1024 * 1024;
const MIN_CHUNK = 16 * 1024;

/**
 * Inflates a gzip (or zlib) buffer. A gzip member ends with ISIZE, its uncompressed length
 * mod 2^32 (RFC 1952); one byte more as the chunk size lets zlib finish in a single buffer.
 * Throws zlib's error for corrupt input (kafkajs reports it as a failed fetch).
 */
export function inflateBatch(buf: Buffer): Buffer {
  if (buf.length >= 18 && buf[0] === 0x1f && buf[1] === 0x8b) {
    const isize = buf.readUInt32LE(buf.length - 4);
    const chunkSize = Math.max(MIN_CHUNK, Math.min(isize, MAX_SIZE_HINT) + 1);
    return zlib.gunzipSync(buf, { chunkSize });
  }
  return zlib.unzipSync(buf);
}
