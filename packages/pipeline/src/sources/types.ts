/** What every packet source feeds, and what it reports about itself. */

/** Receives packets from a source. Both calls are synchronous: the hot path never awaits. */
export interface PacketHandler {
  /** A link-layer packet (capture replay or live capture). */
  onPacket(data: Uint8Array, linkType: number, tsSec: number, tsNsec: number): void;
  /** The payload of a UDP datagram from a report socket, with the sender's address. */
  onDatagram(
    data: Uint8Array,
    from: Uint32Array,
    fromV6: boolean,
    tsSec: number,
    tsNsec: number,
  ): void;
  /** Replay asks this between chunks: a promise to wait for when downstream is busy. */
  backpressure?(): Promise<void> | null;
  /** Replay calls this before the first packet of each capture file (see Pipeline). */
  beginCapture?(file: string): Promise<void>;
}

export interface SourceStats {
  source: string;
  /** Packets or datagrams handed to the handler. */
  received: number;
  /** Reads from the source: one per datagram on dgram, one per batch of up to 64 on recvmmsg
   * (received / reads = datagrams per read, which receive coalescing raises). */
  reads: number;
  bytes: number;
  /** Dropped before hopwatch saw them: kernel socket buffer overflows, capture drops. */
  kernelDrops: number;
  /** Datagrams refused because the sender is not on the allowlist. */
  refused: number;
  /** Capture-file problems (truncated or corrupt tails), socket errors. */
  errors: number;
  /** Last error text, if any. */
  lastError: string | null;
}

export interface PacketSource {
  readonly name: string;
  /** Runs until the input ends (files) or `signal` aborts (live sources). */
  run(handler: PacketHandler, signal: AbortSignal): Promise<void>;
  stats(): SourceStats;
}

export function emptyStats(source: string): SourceStats {
  return {
    source,
    received: 0,
    reads: 0,
    bytes: 0,
    kernelDrops: 0,
    refused: 0,
    errors: 0,
    lastError: null,
  };
}

/** Wall clock as (seconds, nanoseconds) since the epoch, monotonic within the process. Read
 * once per datagram: plain numbers (performance.now() since the start, exact to well under a
 * microsecond for years), not process.hrtime.bigint(), which allocates on every call. */
export class Clock {
  private readonly baseSec: number;
  private readonly baseNsec: number;
  private readonly basePerf: number;
  constructor() {
    const ms = Date.now();
    this.basePerf = performance.now();
    this.baseSec = Math.floor(ms / 1000);
    this.baseNsec = (ms % 1000) * 1_000_000;
  }
  /** Writes [sec, nsec] into out. */
  now(out: Uint32Array): void {
    const ns = this.baseNsec + Math.round((performance.now() - this.basePerf) * 1e6);
    const s = Math.floor(ns / 1e9);
    out[0] = this.baseSec + s;
    out[1] = ns - s * 1e9;
  }
}
