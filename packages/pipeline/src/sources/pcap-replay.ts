/**
 * Replays capture files (pcap µs/ns, pcapng) as fast as possible or at the capture's pace × N.
 * Reading is streamed in constant memory; the loop yields to the event loop between chunks
 * so asynchronous inserts downstream make progress.
 */
import { openCapture } from '@hopwatch/pcap';
import { emptyStats, PacketHandler, PacketSource, SourceStats } from './types';

export interface ReplayOptions {
  /** 0 = as fast as possible; N = the capture's own pace × N. */
  speed?: number;
  /** Called every ~1 MB with (bytes read, total bytes) of the current file. */
  onProgress?: (file: string, bytesRead: number, fileSize: number) => void;
}

const CHUNK = 2048; // packets between yields

export class PcapReplaySource implements PacketSource {
  readonly name: string;
  private readonly st: SourceStats;

  constructor(
    private readonly files: string[],
    private readonly opts: ReplayOptions = {},
  ) {
    this.name = `pcap:${files.join(',')}`;
    this.st = emptyStats(this.name);
  }

  stats(): SourceStats {
    return { ...this.st };
  }

  async run(handler: PacketHandler, signal: AbortSignal): Promise<void> {
    const speed = this.opts.speed ?? 0;
    for (const file of this.files) {
      const reader = openCapture(file); // throws CaptureFormatError on a bad header
      let firstTs = -1;
      const wallStart = performance.now();
      let lastProgress = 0;
      try {
        if (handler.beginCapture) await handler.beginCapture(file);
        for (;;) {
          if (signal.aborted) return;
          let n = 0;
          let p = reader.next();
          for (; p && n < CHUNK; n++) {
            this.st.received++;
            this.st.reads++;
            this.st.bytes += p.capturedLength;
            handler.onPacket(p.data, p.linkType, p.tsSec, p.tsNsec);
            if (speed > 0) {
              const t = p.tsSec * 1000 + p.tsNsec / 1e6;
              if (firstTs < 0) firstTs = t;
              const due = (t - firstTs) / speed - (performance.now() - wallStart);
              if (due > 2) {
                await sleep(due);
                if (signal.aborted) return;
              }
            }
            if (n + 1 < CHUNK) p = reader.next();
          }
          if (this.opts.onProgress && reader.bytesRead - lastProgress > 1 << 20) {
            lastProgress = reader.bytesRead;
            this.opts.onProgress(file, reader.bytesRead, reader.fileSize);
          }
          const bp = handler.backpressure?.();
          if (bp) await bp;
          else await yieldToLoop();
          if (!p) break;
        }
        if (reader.error) {
          this.st.errors++;
          this.st.lastError = `${file}: ${reader.error.message}`;
        }
        this.opts.onProgress?.(file, reader.fileSize, reader.fileSize);
      } finally {
        reader.close();
      }
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function yieldToLoop(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
