/**
 * UDP listener for Telemetry Reports. Several sockets (one per listen address) with large
 * receive buffers; the sender allowlist is checked before decoding; kernel drops are read from
 * /proc/net/udp{,6} per socket (the `drops` column) so loss before hopwatch is counted too.
 *
 * Node 20's dgram has no SO_REUSEPORT: spread load with several ports (exporters can send to a
 * port range) or several processes (`hopwatch serve --workers`, sharing the socket).
 */
import * as dgram from 'dgram';
import * as fs from 'fs';
import { Allowlist } from './allowlist';
import { Clock, emptyStats, PacketHandler, PacketSource, SourceStats } from './types';

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
  private readonly clock = new Clock();
  private readonly ts = new Uint32Array(2);
  private baseDrops = 0;
  private boundPorts: number[] = [];
  private open = false;

  constructor(private readonly opts: UdpSourceOptions) {
    this.name = `udp:${opts.listen.map((l) => `${l.host}:${l.port}`).join(',')}`;
    this.st = emptyStats(this.name);
    this.allow = new Allowlist(opts.allow ?? []);
  }

  stats(): SourceStats {
    if (this.open) this.st.kernelDrops = Math.max(0, this.readKernelDrops() - this.baseDrops);
    return { ...this.st };
  }

  /** Bound local ports (after run() started listening). */
  ports(): number[] {
    return [...this.boundPorts];
  }

  async run(handler: PacketHandler, signal: AbortSignal): Promise<void> {
    const bufSize = this.opts.receiveBuffer ?? 32 << 20;
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
    ).catch((e) => {
      this.close();
      throw new Error(`cannot listen on ${this.name.slice(4)}: ${(e as Error).message}`);
    });
    this.boundPorts = this.sockets.map((s) => s.address().port);
    this.open = true;
    this.baseDrops = this.readKernelDrops();
    this.opts.onListening?.(
      this.sockets.map((s) => ({ host: s.address().address, port: s.address().port })),
      receiveBufferWarning(bufSize, Math.min(...this.sockets.map((s) => s.getRecvBufferSize()))),
    );
    const ts = this.ts;
    const onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
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
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    this.st.kernelDrops = Math.max(0, this.readKernelDrops() - this.baseDrops);
    this.close();
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
  }

  /** Sum of the kernel's per-socket drop counters for our local ports. */
  private readKernelDrops(): number {
    const ports = new Set(this.boundPorts);
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
