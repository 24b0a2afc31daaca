/** Running a scenario to a capture file (pcap/pcapng), to memory, or live over UDP. */
import * as dgram from 'dgram';
import * as fs from 'fs';
import {
  BackgroundFileSink,
  FdSink,
  PcapWriter,
  PcapngWriter,
  MemorySink,
  type CaptureWriter,
} from '@hopwatch/pcap';
import { Simulation, type RecordSink, type SimStats } from './engine';
import { labelsToJson, type Labels } from './labels';
import { loadScenario, type Scenario } from './scenario';

export interface SimulateOptions {
  /** Capture file to write. Without it nothing is written (labels and stats only). */
  out?: string;
  /** Capture format (default: the scenario's output.format, else from the file extension). */
  format?: 'pcap' | 'pcapng';
  /** Labels JSON file to write. */
  labels?: string;
  /** Stop after this many records (packets or reports) were written. */
  limit?: number;
  /** Called about every 65536 records with the count so far. */
  onProgress?: (records: number) => void;
  /**
   * Packet output only: a second capture with, record for record and at the same timestamps,
   * each INT packet without INT (what a stripping INT sink forwards; see docs/simulator.md).
   * Format: `format`, else from its extension, else `output.format`.
   */
  before?: string;
}

export interface SimulateResult {
  scenario: Scenario;
  labels: Labels;
  stats: SimStats;
  /** Wall-clock seconds spent. */
  seconds: number;
}

export function epochNs(s: Scenario): bigint {
  return BigInt(Date.parse(s.epoch)) * 1000000n;
}

function toScenario(s: Scenario | string | object): Scenario {
  if (typeof s === 'string') return loadScenario(s);
  if ((s as Scenario).topology && (s as Scenario).int && Array.isArray((s as Scenario).events)) {
    return loadScenario({ ...(s as object) });
  }
  return loadScenario(s);
}

/** A RecordSink writing capture records (timestamps = epoch + simulation time). */
export class CaptureSink implements RecordSink {
  private readonly epochSec: number;
  private readonly epochFracNs: number;
  count = 0;

  constructor(
    private readonly w: CaptureWriter,
    epoch: bigint,
    private readonly onProgress?: (n: number) => void,
  ) {
    this.epochSec = Number(epoch / 1000000000n);
    this.epochFracNs = Number(epoch % 1000000000n);
  }

  write(bytes: Uint8Array, timeNs: number): void {
    const t = Math.round(timeNs) + this.epochFracNs;
    const sec = Math.floor(t / 1e9);
    this.w.write(bytes, this.epochSec + sec, t - sec * 1e9);
    if ((++this.count & 0xffff) === 0 && this.onProgress) this.onProgress(this.count);
  }
}

function writerFor(
  target: string | MemorySink,
  format: 'pcap' | 'pcapng',
  snaplen: number,
): CaptureWriter {
  const snap = snaplen > 0 ? snaplen : undefined;
  // files: the write syscalls run on a worker thread, beside packet generation
  // `-`: standard output, written in order from this thread (a pipe has no position)
  const sink =
    target === '-'
      ? new FdSink(1)
      : typeof target === 'string'
        ? new BackgroundFileSink(target)
        : target;
  if (format === 'pcapng')
    return new PcapngWriter(sink, {
      interfaces: [{ name: 'sim0', tsResolution: 9, ...(snap ? { snaplen: snap } : {}) }],
    });
  return new PcapWriter(sink, { resolution: 'ns', ...(snap ? { snaplen: snap } : {}) });
}

/** Runs a scenario; writes the capture and labels if asked. */
export function simulate(
  scenario: Scenario | string | object,
  opts: SimulateOptions = {},
): SimulateResult {
  const s = toScenario(scenario);
  const t0 = process.hrtime.bigint();
  const sim = new Simulation(s);
  const epoch = epochNs(s);
  const format = opts.format ?? (opts.out?.endsWith('.pcapng') ? 'pcapng' : s.output.format);
  let writer: CaptureWriter | null = null;
  let sink: RecordSink;
  if (opts.out) {
    writer = writerFor(opts.out, format, s.output.snaplen);
    sink = new CaptureSink(writer, epoch, opts.onProgress);
  } else {
    let n = 0;
    sink = {
      write: () => {
        if ((++n & 0xffff) === 0 && opts.onProgress) opts.onProgress(n);
      },
    };
  }
  let beforeWriter: CaptureWriter | null = null;
  try {
    if (opts.before) {
      if (s.output.kind !== 'packets')
        throw new Error(`simulate: 'before' needs output.kind packets, not ${s.output.kind}`);
      const bf = opts.format ?? (opts.before.endsWith('.pcapng') ? 'pcapng' : s.output.format);
      beforeWriter = writerFor(opts.before, bf, s.output.snaplen);
      const beforeSink = new CaptureSink(beforeWriter, epoch);
      sim.onOriginal = (original, _pkt, t) => beforeSink.write(original, t);
    }
    sim.run(sink, Infinity, opts.limit ?? Infinity);
  } finally {
    writer?.close();
    beforeWriter?.close();
  }
  const labels = sim.labels(epoch);
  if (opts.labels) fs.writeFileSync(opts.labels, labelsToJson(labels));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { scenario: s, labels, stats: sim.stats, seconds };
}

/** Runs a scenario into memory: the capture bytes (pcap, ns resolution) and the labels. */
export function simulateToBuffer(
  scenario: Scenario | string | object,
  opts: { limit?: number; format?: 'pcap' | 'pcapng' } = {},
): SimulateResult & { capture: Buffer } {
  const s = toScenario(scenario);
  const mem = new MemorySink();
  const w = writerFor(mem, opts.format ?? s.output.format, s.output.snaplen);
  const sim = new Simulation(s);
  const epoch = epochNs(s);
  const t0 = process.hrtime.bigint();
  sim.run(new CaptureSink(w, epoch), Infinity, opts.limit ?? Infinity);
  w.close();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const capture = mem.toBuffer();
  return { scenario: s, labels: sim.labels(epoch), stats: sim.stats, seconds, capture };
}

export interface GenerateOptions {
  /**
   * Packet output only: called right after `fn` for each INT packet with the same packet
   * without INT (`original`, fresh bytes: what a stripping INT sink forwards) and the INT
   * packet (`intPacket`, the bytes `fn` got, reused after the call).
   */
  before?: (original: Uint8Array, intPacket: Uint8Array, timeNs: bigint) => void;
}

/**
 * Generates records in memory and calls `fn(bytes, captureTimeNs)` for each (bytes reused).
 * `opts.before` also gets each INT packet's pre-INT original (packet output).
 */
export function generate(
  scenario: Scenario | string | object,
  fn: (bytes: Uint8Array, timeNs: bigint) => void,
  limit = Infinity,
  opts: GenerateOptions = {},
): SimulateResult {
  const s = toScenario(scenario);
  const sim = new Simulation(s);
  const epoch = epochNs(s);
  const before = opts.before;
  if (before) {
    if (s.output.kind !== 'packets')
      throw new Error(`generate: 'before' needs output.kind packets, not ${s.output.kind}`);
    sim.onOriginal = (original, pkt, t) => before(original, pkt, epoch + BigInt(Math.round(t)));
  }
  const t0 = process.hrtime.bigint();
  sim.run({ write: (b, t) => fn(b, epoch + BigInt(Math.round(t))) }, Infinity, limit);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { scenario: s, labels: sim.labels(epoch), stats: sim.stats, seconds };
}

export interface LiveOptions {
  /** host:port to send to (default the scenario's collector port on 127.0.0.1). */
  target?: string;
  /** Datagrams per second (default 100000). */
  rate?: number;
  /** Datagrams per send batch (default 256). */
  batch?: number;
  limit?: number;
  labels?: string;
  onProgress?: (sent: number) => void;
}

/**
 * Sends the scenario's records live as UDP datagrams (the UDP payload of each report, or of
 * each packet's outer UDP header) to a loopback collector, paced at `rate` per second.
 */
export async function simulateLive(
  scenario: Scenario | string | object,
  opts: LiveOptions = {},
): Promise<SimulateResult & { sent: number }> {
  const s = toScenario(scenario);
  const sim = new Simulation(s);
  const epoch = epochNs(s);
  const [host, portText] = (opts.target ?? `127.0.0.1:${s.output.collectorPort}`).split(':');
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`bad live target '${opts.target}'`);
  const rate = opts.rate ?? 100000;
  const batch = opts.batch ?? 256;
  const sock = dgram.createSocket('udp4');
  const pending: Buffer[] = [];
  const sink: RecordSink = {
    write(bytes) {
      // the payload of the outermost UDP header (IPv4, no options)
      if (bytes.length < 42 || bytes[23] !== 17) return;
      pending.push(Buffer.from(bytes.subarray(42)));
    },
  };
  const t0 = process.hrtime.bigint();
  let sent = 0;
  let finished = false;
  const limit = opts.limit ?? Infinity;
  while (!finished || pending.length > 0) {
    if (!finished && pending.length < batch) finished = sim.run(sink, batch, limit);
    const chunk = pending.splice(0, batch);
    await Promise.all(
      chunk.map(
        (b) =>
          new Promise<void>((res, rej) => sock.send(b, port, host, (e) => (e ? rej(e) : res()))),
      ),
    );
    sent += chunk.length;
    opts.onProgress?.(sent);
    const due = (sent / rate) * 1e9;
    const elapsed = Number(process.hrtime.bigint() - t0);
    if (due > elapsed) await new Promise((r) => setTimeout(r, (due - elapsed) / 1e6));
  }
  sock.close();
  const labels = sim.labels(epoch);
  if (opts.labels) fs.writeFileSync(opts.labels, labelsToJson(labels));
  return {
    scenario: s,
    labels,
    stats: sim.stats,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    sent,
  };
}
