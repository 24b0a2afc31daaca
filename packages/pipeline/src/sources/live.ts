/**
 * Live capture on an interface through libpcap (npm `cap`, an optional native dependency),
 * with a BPF filter. Packets are copied out of cap's single receive buffer by the handler's
 * decode before the next one arrives, so no per-packet copy is made here.
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { emptyStats, PacketHandler, PacketSource, SourceStats } from './types';
import { Clock } from './types';

const LINK_TYPES: Record<string, number> = {
  ETHERNET: 1,
  NULL: 0,
  RAW: 101,
  LINUX_SLL: 113,
  IEEE802_11: 105,
};

interface CapModule {
  Cap: new () => {
    open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
    on(ev: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
    close(): void;
    setMinBytes?(n: number): void;
  };
  deviceList(): { name: string }[];
}

export interface LiveCaptureOptions {
  device: string;
  filter?: string;
  /** libpcap buffer in bytes. */
  bufferSize?: number;
}

/**
 * cap's addon is built for one Node ABI. deploy/node24.sh builds it for another Node beside
 * the default build, as build-abiN/ (N = process.versions.modules); that one is loaded first,
 * wrapped the way cap's own lib/Cap.js wraps its addon.
 */
function loadCapForThisAbi(): CapModule | null {
  let dir: string;
  try {
    dir = path.dirname(require.resolve('cap/package.json'));
  } catch {
    return null;
  }
  const file = path.join(dir, `build-abi${process.versions.modules}`, 'Release', 'cap.node');
  if (!fs.existsSync(file)) return null;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const addon = require(file) as CapModule & { Cap: { prototype: object } };
  if (!(addon.Cap.prototype instanceof EventEmitter))
    Object.setPrototypeOf(addon.Cap.prototype, EventEmitter.prototype);
  return addon;
}

export function loadCap(): CapModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return loadCapForThisAbi() ?? (require('cap') as CapModule);
  } catch (e) {
    throw new Error(
      `live capture needs the native module 'cap' built for this Node (${process.version}) (Debian: apt-get install libpcap-dev, then npm rebuild cap; for Node 24 beside 20: deploy/node24.sh): ${(e as Error).message}`,
    );
  }
}

export class LiveCaptureSource implements PacketSource {
  readonly name: string;
  private readonly st: SourceStats;
  private readonly clock = new Clock();
  private readonly ts = new Uint32Array(2);

  constructor(private readonly opts: LiveCaptureOptions) {
    this.name = `live:${opts.device}`;
    this.st = emptyStats(this.name);
  }

  stats(): SourceStats {
    return { ...this.st };
  }

  async run(handler: PacketHandler, signal: AbortSignal): Promise<void> {
    const cap = loadCap();
    const c = new cap.Cap();
    const buffer = Buffer.alloc(65535);
    let linkName: string;
    try {
      linkName = c.open(
        this.opts.device,
        this.opts.filter ?? '',
        this.opts.bufferSize ?? 64 << 20,
        buffer,
      );
    } catch (e) {
      const devices = cap
        .deviceList()
        .map((d) => d.name)
        .join(', ');
      throw new Error(
        `cannot capture on '${this.opts.device}': ${(e as Error).message} (devices: ${devices})`,
      );
    }
    const linkType = LINK_TYPES[linkName] ?? -1;
    c.setMinBytes?.(0);
    c.on('packet', (nbytes: number) => {
      this.st.received++;
      this.st.reads++;
      this.st.bytes += nbytes;
      this.clock.now(this.ts);
      handler.onPacket(buffer.subarray(0, nbytes), linkType, this.ts[0], this.ts[1]);
    });
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    c.close();
  }
}
