/**
 * Sends flow records to an IPFIX collector over UDP or TCP without ever holding up the
 * pipeline: export() encodes and hands the messages to the socket at once; failures are
 * counted, never thrown.
 *
 * UDP: templates go at start and again every `templateRefreshSec` (RFC 7011
 * §8.4: a collector that restarts, or starts after the exporter, learns them within that
 * time; data it gets before is lost at the collector, as with every UDP exporter). TCP: templates
 * at the start of each connection; while the collector is away, messages wait in a bounded
 * queue (the oldest are dropped and counted) and the exporter reconnects with back-off.
 */
import * as dgram from 'dgram';
import * as net from 'net';
import type { FlowRecord } from '../model';
import { DOCUMENTATION_PEN } from './elements';
import { IpfixMessageBuilder, type DataMessage } from './message';

export interface IpfixTarget {
  transport: 'udp' | 'tcp';
  host: string;
  port: number;
}

export interface IpfixExporterOptions extends IpfixTarget {
  observationDomain?: number;
  enterprise?: number;
  maxMessageBytes?: number;
  /** UDP: seconds between template resends (default 30). */
  templateRefreshSec?: number;
  /** TCP: messages kept while disconnected (default 10,000). */
  maxQueuedMessages?: number;
}

export interface IpfixExporterStats {
  records: number;
  messages: number;
  bytes: number;
  templateMessages: number;
  sendErrors: number;
  /** Records dropped (TCP queue full, or the exporter closed with the collector away). */
  droppedRecords: number;
  connections: number;
  lastError: string | null;
}

/** `HOST:PORT`, `udp://HOST:PORT` or `tcp://HOST:PORT` (IPv6 in brackets). */
export function parseIpfixTarget(spec: string): IpfixTarget {
  const m = /^(?:(udp|tcp):\/\/)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(spec.trim());
  if (!m) throw new Error(`IPFIX collector '${spec}': expected [udp://|tcp://]HOST:PORT`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new Error(`IPFIX collector '${spec}': port out of range`);
  return {
    transport: (m[1] as 'udp' | 'tcp' | undefined) ?? 'udp',
    host: m[2].replace(/^\[|\]$/g, ''),
    port,
  };
}

export class IpfixExporter {
  readonly stats: IpfixExporterStats = {
    records: 0,
    messages: 0,
    bytes: 0,
    templateMessages: 0,
    sendErrors: 0,
    droppedRecords: 0,
    connections: 0,
    lastError: null,
  };
  private builder: IpfixMessageBuilder;
  private udp: dgram.Socket | null = null;
  private tcp: net.Socket | null = null;
  private connected = false;
  private queue: { buf: Buffer; records: number }[] = [];
  private refresh: NodeJS.Timeout | null = null;
  private reconnect: NodeJS.Timeout | null = null;
  private backoffMs = 500;
  private closed = false;
  private templatesDue = true;
  /** UDP sends handed to the socket and not yet done (close() waits for them). */
  private sending = 0;

  constructor(private readonly opts: IpfixExporterOptions) {
    this.builder = this.newBuilder();
  }

  private newBuilder(): IpfixMessageBuilder {
    return new IpfixMessageBuilder({
      observationDomain: this.opts.observationDomain ?? 1,
      enterprise: this.opts.enterprise ?? DOCUMENTATION_PEN,
      maxMessageBytes: this.opts.maxMessageBytes,
    });
  }

  /** Opens the socket (UDP) or starts connecting (TCP: export() queues until connected). */
  start(): void {
    if (this.opts.transport === 'udp') {
      this.udp = dgram.createSocket(net.isIPv6(this.opts.host) ? 'udp6' : 'udp4');
      this.udp.on('error', (e) => this.failed(e));
      const every = (this.opts.templateRefreshSec ?? 30) * 1000;
      // on the timer itself, not in front of the next data: a collector that (re)started
      // learns them before the data comes (ahead of data they can be overtaken)
      this.refresh = setInterval(() => void this.sendTemplates(), every);
      this.refresh.unref();
      // at once, not in front of the first data: collectors that decode on several workers
      // (GoFlow2) can take data that follows its templates too closely before them
      void this.sendTemplates();
    } else this.connect();
  }

  /** UDP: sends the templates now (they also go before the first data and on a timer). */
  async sendTemplates(): Promise<void> {
    if (!this.udp || this.closed) return;
    this.templatesDue = false;
    this.send(this.builder.templates(Math.floor(Date.now() / 1000)), 0, true);
  }

  /** Sends the records (flow intervals that just closed). Never throws, never waits. */
  export(records: readonly FlowRecord[]): void {
    if (this.closed || records.length === 0) return;
    const now = Math.floor(Date.now() / 1000);
    if (this.opts.transport === 'udp' && this.templatesDue) {
      this.templatesDue = false;
      this.send(this.builder.templates(now), 0, true);
    }
    let msgs: DataMessage[];
    try {
      msgs = this.builder.data(records, now);
    } catch (e) {
      this.stats.droppedRecords += records.length;
      this.failed(e as Error);
      return;
    }
    for (const m of msgs) this.send(m.buf, m.records, false);
  }

  private send(buf: Buffer, records: number, template: boolean): void {
    if (this.udp) {
      this.sending++;
      this.udp.send(buf, this.opts.port, this.opts.host, (e) => {
        this.sending--;
        if (e) {
          this.stats.droppedRecords += records;
          this.failed(e);
        }
      });
      this.sent(buf, records, template);
      return;
    }
    if (!this.connected || !this.tcp) {
      this.queue.push({ buf, records });
      const max = this.opts.maxQueuedMessages ?? 10_000;
      while (this.queue.length > max) this.stats.droppedRecords += this.queue.shift()!.records;
      return;
    }
    this.tcp.write(buf);
    this.sent(buf, records, template);
  }

  private sent(buf: Buffer, records: number, template: boolean): void {
    this.stats.messages++;
    this.stats.bytes += buf.length;
    this.stats.records += records;
    if (template) this.stats.templateMessages++;
  }

  private connect(): void {
    if (this.closed) return;
    const s = net.connect(this.opts.port, this.opts.host);
    this.tcp = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      this.connected = true;
      this.backoffMs = 500;
      this.stats.connections++;
      // a new transport session: its own sequence numbers, templates first
      this.builder = this.newBuilder();
      const q = this.queue;
      this.queue = [];
      const tpl = this.builder.templates(Math.floor(Date.now() / 1000));
      s.write(tpl);
      this.sent(tpl, 0, true);
      // queued messages were numbered for no session: their headers get this session's count
      for (const m of q) {
        m.buf.writeUInt32BE(this.builder.sequence, 8);
        this.builder.sequence = (this.builder.sequence + m.records) >>> 0;
        s.write(m.buf);
        this.sent(m.buf, m.records, false);
      }
    });
    s.on('error', (e) => this.failed(e));
    s.on('close', () => {
      this.connected = false;
      this.tcp = null;
      if (this.closed) return;
      this.reconnect = setTimeout(() => this.connect(), this.backoffMs);
      this.reconnect.unref();
      this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
    });
  }

  private failed(e: Error): void {
    this.stats.sendErrors++;
    this.stats.lastError = e.message;
  }

  /** Sends what can be sent (TCP: waits up to `timeoutMs` for the queue) and closes. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    if (this.opts.transport === 'tcp' && this.queue.length && !this.connected) {
      const t0 = Date.now();
      while (!this.connected && Date.now() - t0 < timeoutMs)
        await new Promise((r) => setTimeout(r, 50));
    }
    this.closed = true;
    // UDP: sends still queued in the socket would be dropped by closing it now
    for (const t0 = Date.now(); this.sending > 0 && Date.now() - t0 < timeoutMs;)
      await new Promise((r) => setTimeout(r, 5));
    if (this.refresh) clearInterval(this.refresh);
    if (this.reconnect) clearTimeout(this.reconnect);
    for (const m of this.queue) this.stats.droppedRecords += m.records;
    this.queue = [];
    if (this.udp) {
      const u = this.udp;
      await new Promise<void>((r) => u.close(() => r()));
    }
    if (this.tcp) {
      const t = this.tcp;
      await new Promise<void>((r) => {
        t.end(() => r());
        setTimeout(r, timeoutMs).unref();
      });
      t.destroy();
    }
  }
}
