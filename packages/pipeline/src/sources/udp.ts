/**
 * UDP listener for Telemetry Reports. Several sockets (one per listen address) with large
 * receive buffers; the sender allowlist is checked before decoding; kernel drops are read from
 * /proc/net/udp{,6} per socket (the `drops` column) so loss before hopwatch is counted too.
 *
 * Two receive paths: `recvmmsg` (udp-native.ts: many datagrams per system call and per call into
 * JavaScript, the default where the addon is built) and Node's `dgram` (one event per
 * datagram; the fallback, and what `ingest --workers` shares between its processes).
 */
import cluster from 'cluster';
import * as dgram from 'dgram';
import * as dns from 'dns';
import * as fs from 'fs';
import { isIP } from 'net';
import { getSystemErrorName } from 'util';
import { Allowlist } from './allowlist';
import { Clock, emptyStats, PacketHandler, PacketSource, SourceStats } from './types';
import {
  FLAG_TRUNCATED,
  FLAG_V6,
  loadUdpRecv,
  META_NSEC,
  META_SEC,
  META_WORDS,
  NativeUdpSocket,
  SLOT_SIZE,
  udpRecvLoadError,
} from './udp-native';

export type UdpReceivePath = 'recvmmsg' | 'dgram';
/** Receive coalescing of the recvmmsg path (udp_recv.c): at 20,000 reports/s a wake-up found
 * 2-4 datagrams; held 1 ms (1-2 ms with libuv's timers) a read finds 20-30. */
export const RECEIVE_HOLD_MS = 1;
export const UDP_RECEIVE_CHOICES = ['auto', 'recvmmsg', 'dgram'] as const;
export type UdpReceiveChoice = (typeof UDP_RECEIVE_CHOICES)[number];

/** `auto`: recvmmsg where the addon loads, except in `ingest --workers`' processes, which read
 * the socket their primary shares with them through dgram. */
export function chooseReceivePath(want: UdpReceiveChoice = 'auto'): UdpReceivePath {
  if (want === 'dgram') return 'dgram';
  const addon = loadUdpRecv();
  if (want === 'recvmmsg') {
    if (!addon)
      throw new Error(`the recvmmsg receive path is not available: ${udpRecvLoadError()}`);
    return 'recvmmsg';
  }
  return addon && cluster.isPrimary ? 'recvmmsg' : 'dgram';
}

export interface ListenAddress {
  host: string;
  port: number;
}

export interface UdpSourceOptions {
  listen: ListenAddress[];
  /** CIDR prefixes allowed to send; empty = everyone. */
  allow?: string[];
  /** SO_RCVBUF in bytes (the kernel caps it at net.core.rmem_max). */
  receiveBuffer?: number;
  /** Called once all sockets are bound, with the actual ports (port 0 = any) and, when the
   * kernel granted a smaller receive buffer than asked for, a warning saying how to fix it. */
  onListening?: (addrs: ListenAddress[], bufferWarning: string | null) => void;
  /** Receive path (default auto, see chooseReceivePath). */
  receive?: UdpReceiveChoice;
  /** recvmmsg only: once a wake-up finds two or more datagrams queued, or comes within this
   * many ms of the last read, read the socket again this many ms later rather than on the next
   * datagram, while reads find some (default RECEIVE_HOLD_MS; 0 = never). */
  receiveHoldMs?: number;
}

/**
 * Linux silently caps SO_RCVBUF at net.core.rmem_max (and reports twice the granted size, its
 * bookkeeping overhead included). A buffer too small for a burst is the first cause of kernel
 * drops on a report socket: say so at start-up rather than in a drop counter later.
 */
export function receiveBufferWarning(requested: number, reported: number): string | null {
  const granted = process.platform === 'linux' ? reported / 2 : reported;
  if (granted >= requested) return null;
  return (
    `UDP receive buffer is ${granted} bytes, not the ${requested} asked for (capped by ` +
    `net.core.rmem_max); bursts may be dropped by the kernel. Raise it with ` +
    `'sysctl -w net.core.rmem_max=${requested}'`
  );
}

export function parseListen(spec: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(spec) ?? /^()()(\d+)$/.exec(spec);
  if (!m) throw new Error(`listen address '${spec}' must be HOST:PORT or PORT`);
  const port = Number(m[3]);
  if (port < 0 || port > 65535) throw new Error(`listen address '${spec}': bad port`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

export class UdpSource implements PacketSource {
  readonly name: string;
  private readonly st: SourceStats;
  private readonly allow: Allowlist;
  private sockets: dgram.Socket[] = [];
  private natives: NativeUdpSocket[] = [];
  /** The path run() uses (decided when it starts). */
  readonly receivePath: UdpReceivePath;
  private readonly clock = new Clock();
  private readonly ts = new Uint32Array(2);
  private baseDrops = 0;
  private bound: ListenAddress[] = [];
  private open = false;

  constructor(private readonly opts: UdpSourceOptions) {
    this.name = `udp:${opts.listen.map((l) => `${l.host}:${l.port}`).join(',')}`;
    this.st = emptyStats(this.name);
    this.allow = new Allowlist(opts.allow ?? []);
    this.receivePath = chooseReceivePath(opts.receive);
  }

  stats(): SourceStats {
    if (this.open) this.st.kernelDrops = Math.max(0, this.readKernelDrops() - this.baseDrops);
    return { ...this.st };
  }

  /** Bound local ports (after run() started listening). */
  ports(): number[] {
    return this.bound.map((a) => a.port);
  }

  async run(handler: PacketHandler, signal: AbortSignal): Promise<void> {
    const bufSize = this.opts.receiveBuffer ?? 32 << 20;
    let granted: number;
    try {
      granted =
        this.receivePath === 'recvmmsg'
          ? await this.openNative(handler, bufSize)
          : await this.openDgram(handler, bufSize);
    } catch (e) {
      this.close();
      throw new Error(`cannot listen on ${this.name.slice(4)}: ${(e as Error).message}`);
    }
    this.open = true;
    this.baseDrops = this.readKernelDrops();
    this.opts.onListening?.(
      this.bound.map((a) => ({ ...a })),
      receiveBufferWarning(bufSize, granted),
    );
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    this.st.kernelDrops = Math.max(0, this.readKernelDrops() - this.baseDrops);
    this.close();
  }

  /** Node's dgram: one 'message' event per datagram. Returns the smallest receive buffer. */
  private async openDgram(handler: PacketHandler, bufSize: number): Promise<number> {
    await Promise.all(
      this.opts.listen.map(
        (l) =>
          new Promise<void>((resolve, reject) => {
            const s = dgram.createSocket({
              type: l.host.includes(':') ? 'udp6' : 'udp4',
              recvBufferSize: bufSize,
            });
            s.once('error', reject);
            s.bind(l.port, l.host, () => {
              s.off('error', reject);
              s.on('error', (e) => {
                this.st.errors++;
                this.st.lastError = e.message;
              });
              this.sockets.push(s);
              resolve();
            });
          }),
      ),
    );
    this.bound = this.sockets.map((s) => ({ host: s.address().address, port: s.address().port }));
    const ts = this.ts;
    const onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
      this.st.reads++;
      const sender = this.allow.sender(rinfo.address);
      if (!sender.allowed) {
        this.st.refused++;
        return;
      }
      this.st.received++;
      this.st.bytes += msg.length;
      this.clock.now(ts);
      handler.onDatagram(msg, sender.words, sender.v6, ts[0], ts[1]);
    };
    for (const s of this.sockets) s.on('message', onMessage);
    return Math.min(...this.sockets.map((s) => s.getRecvBufferSize()));
  }

  /** recvmmsg: every queued datagram in one call, each stamped with the kernel's receive time
   * (one clock reading per batch where the kernel gave none). Returns the smallest receive
   * buffer. */
  private async openNative(handler: PacketHandler, bufSize: number): Promise<number> {
    const addon = loadUdpRecv();
    if (!addon) throw new Error(udpRecvLoadError());
    const st = this.st;
    const ts = this.ts;
    const from = new Uint32Array(4);
    for (const l of this.opts.listen) {
      const host = isIP(l.host)
        ? l.host
        : (await dns.promises.lookup(l.host, { family: 4 })).address;
      const sock = new NativeUdpSocket(addon);
      const meta = sock.meta;
      const onBatch = (count: number, errno: number): void => {
        if (errno !== 0) {
          st.errors++;
          st.lastError = `receive: ${getSystemErrorName(-errno)}`;
          return;
        }
        st.reads++;
        this.clock.now(ts);
        const readSec = ts[0];
        const readNsec = ts[1];
        for (let i = 0; i < count; i++) {
          const m = i * META_WORDS;
          const flags = meta[m + 1];
          if (flags & FLAG_TRUNCATED) {
            st.errors++;
            st.lastError = `a datagram over ${SLOT_SIZE} bytes was truncated and skipped`;
            continue;
          }
          const v6 = (flags & FLAG_V6) !== 0;
          from[0] = meta[m + 2];
          from[1] = meta[m + 3];
          from[2] = meta[m + 4];
          from[3] = meta[m + 5];
          if (!this.allow.allowsWords(from, v6)) {
            st.refused++;
            continue;
          }
          st.received++;
          st.bytes += meta[m];
          const sec = meta[m + META_SEC];
          if (sec !== 0) handler.onDatagram(sock.datagram(i), from, v6, sec, meta[m + META_NSEC]);
          else handler.onDatagram(sock.datagram(i), from, v6, readSec, readNsec);
        }
      };
      sock.open(host, l.port, bufSize, onBatch, this.opts.receiveHoldMs ?? RECEIVE_HOLD_MS);
      this.natives.push(sock);
      this.bound.push({ host, port: sock.port() });
    }
    return Math.min(...this.natives.map((s) => s.receiveBuffer()));
  }

  private close(): void {
    this.open = false;
    for (const s of this.sockets) {
      try {
        s.close();
      } catch {
        /* already closed */
      }
    }
    this.sockets = [];
    for (const s of this.natives) s.close();
    this.natives = [];
  }

  /** Sum of the kernel's per-socket drop counters for our local ports. */
  private readKernelDrops(): number {
    const ports = new Set(this.bound.map((a) => a.port));
    if (ports.size === 0) return 0;
    let drops = 0;
    for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
      let text: string;
      try {
        text = fs.readFileSync(f, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length < 13) continue;
        const port = parseInt(cols[1].split(':')[1], 16);
        if (ports.has(port)) drops += Number(cols[cols.length - 1]) || 0;
      }
    }
    return drops;
  }
}
