/**
 * The last line of defence between a live source and the pipeline: a datagram or packet
 * whose handling throws (a bug the fuzzers have not found yet) is counted and reported in
 * one line at most once a minute, and the socket keeps delivering. Without it the throw
 * would escape the socket's 'message' event and end the process.
 */
import type { PacketHandler } from '@hopwatch/pipeline';

const WARN_EVERY_MS = 60_000;

export class GuardedHandler implements PacketHandler {
  /** Inputs whose handling threw. */
  failed = 0;
  lastError: string | null = null;
  private lastWarn = -Infinity;

  constructor(
    private readonly inner: PacketHandler,
    private readonly warn: (line: string) => void,
  ) {}

  onPacket(data: Uint8Array, linkType: number, tsSec: number, tsNsec: number): void {
    try {
      this.inner.onPacket(data, linkType, tsSec, tsNsec);
    } catch (e) {
      this.fail(e, data);
    }
  }

  onDatagram(
    data: Uint8Array,
    from: Uint32Array,
    fromV6: boolean,
    tsSec: number,
    tsNsec: number,
  ): void {
    try {
      this.inner.onDatagram(data, from, fromV6, tsSec, tsNsec);
    } catch (e) {
      this.fail(e, data);
    }
  }

  backpressure(): Promise<void> | null {
    return this.inner.backpressure?.() ?? null;
  }

  /** Runs a timer's work on the same terms (a periodic flush of what the inputs built up). */
  guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e, null, what);
    }
  }

  private fail(e: unknown, data: Uint8Array | null, what = ''): void {
    this.failed++;
    this.lastError = (e as Error).message;
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    const input = data
      ? `an input of ${data.length} bytes (starting ${Buffer.from(data.subarray(0, 32)).toString('hex')})`
      : what;
    this.warn(
      `warning: ${input} could not be handled: ${this.lastError}; skipped and counted ` +
        `(${this.failed} so far)`,
    );
  }
}
