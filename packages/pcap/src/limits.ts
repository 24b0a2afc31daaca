/** Largest record or block we accept: anything bigger is treated as corruption, not allocated. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/** Default read chunk: large enough that read syscalls cost nothing next to parsing. */
export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;

/** Default writer buffer: one write syscall per ~4 MiB of packets. */
export const DEFAULT_WRITE_BUFFER = 4 * 1024 * 1024;
