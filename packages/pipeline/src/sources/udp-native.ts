/**
 * The batched UDP receive path: a small N-API addon (native/udp-recv) that polls a
 * non-blocking socket on Node's event loop and reads every queued datagram with recvmmsg(2)
 * into one preallocated buffer, then calls JavaScript once per batch. Node's dgram makes a
 * 64 KiB buffer, an address string, an object and an event per datagram; here a datagram costs
 * a view on the shared buffer. Linux only; built by deploy/setup.sh (node-gyp, against the
 * local Node headers). When the addon is missing the UDP source falls back to dgram.
 */
import * as path from 'path';

/** Words of `meta` per slot: length, flags, four address words (IPv4 in the last), port, the
 * kernel's receive time (seconds, nanoseconds; 0 when it gave none), 0. */
export const META_WORDS = 10;
/** The addon's JavaScript API (open's arguments); a build from older sources is not used. */
export const API_VERSION = 2;
export const META_SEC = 7;
export const META_NSEC = 8;
export const FLAG_TRUNCATED = 1;
export const FLAG_V6 = 2;

type Handle = object;

export interface UdpRecvBinding {
  /** The layout the addon was built with: a build from older sources is not used. */
  META_WORDS: number;
  API_VERSION?: number;
  open(
    host: string,
    port: number,
    v6: boolean,
    receiveBuffer: number,
    buffer: Uint8Array,
    slotSize: number,
    meta: Uint32Array,
    onBatch: (count: number, errno: number) => void,
    holdMs: number,
  ): Handle;
  localPort(h: Handle): number;
  receiveBuffer(h: Handle): number;
  close(h: Handle): void;
}

let binding: UdpRecvBinding | null | undefined;
let loadError = '';

/** The addon, or null (with `udpRecvLoadError()` saying why) when it is not built here. */
export function loadUdpRecv(): UdpRecvBinding | null {
  if (binding !== undefined) return binding;
  if (process.platform !== 'linux') {
    loadError = 'recvmmsg is Linux only';
    return (binding = null);
  }
  // src/sources and dist/sources are both two levels below the package
  const file = path.join(
    __dirname,
    '..',
    '..',
    'native',
    'udp-recv',
    'build',
    'Release',
    'udp_recv.node',
  );
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    binding = require(file) as UdpRecvBinding;
    if (binding.META_WORDS !== META_WORDS || binding.API_VERSION !== API_VERSION) {
      loadError = `${file} was built from older sources (rebuild it with deploy/setup.sh)`;
      binding = null;
    }
  } catch (e) {
    loadError = `${(e as Error).message.split('\n')[0]} (build it with deploy/setup.sh)`;
    binding = null;
  }
  return binding;
}

export function udpRecvLoadError(): string {
  return loadError;
}

/** Datagrams per recvmmsg call and the largest datagram a slot holds (IPv4's maximum payload
 * is 65,507 bytes, so nothing real is truncated). */
export const SLOTS = 64;
export const SLOT_SIZE = 65536;

/** One socket on the batched path. `onBatch` reads slots 0..count-1 synchronously. */
export class NativeUdpSocket {
  readonly buffer = new Uint8Array(SLOTS * SLOT_SIZE);
  readonly meta = new Uint32Array(SLOTS * META_WORDS);
  private handle: Handle | null = null;

  constructor(private readonly b: UdpRecvBinding) {}

  /** Binds host:port (host numeric). Throws with `code` EADDRINUSE etc. `holdMs` > 0: once a
   * wake-up finds two or more datagrams or comes within holdMs of the last read, read again
   * that much later rather than on the next datagram (receive coalescing, see udp_recv.c). */
  open(
    host: string,
    port: number,
    receiveBuffer: number,
    onBatch: (count: number, errno: number) => void,
    holdMs = 0,
  ): void {
    this.handle = this.b.open(
      host,
      port,
      host.includes(':'),
      receiveBuffer,
      this.buffer,
      SLOT_SIZE,
      this.meta,
      onBatch,
      holdMs,
    );
  }

  /** The datagram in slot i (a view: valid until the callback returns). */
  datagram(i: number): Uint8Array {
    const off = i * SLOT_SIZE;
    return this.buffer.subarray(off, off + this.meta[i * META_WORDS]);
  }

  port(): number {
    return this.handle ? this.b.localPort(this.handle) : 0;
  }

  /** SO_RCVBUF as the kernel reports it (Linux: twice the granted size). */
  receiveBuffer(): number {
    return this.handle ? this.b.receiveBuffer(this.handle) : 0;
  }

  close(): void {
    if (this.handle) this.b.close(this.handle);
    this.handle = null;
  }
}
