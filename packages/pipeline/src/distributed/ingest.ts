/**
 * The ingest worker of the distributed mode: packets (capture replay, live capture, UDP
 * reports) → Decoder → RecordBatch → splitBatch → Producer (Kafka, or any Producer).
 *
 * Memory is bounded by the batch (batchRecords) and the producer's queue (maxQueuedBytes /
 * maxQueuedMessages). Live sources never wait for Kafka: when the producer queue is full the
 * producer sheds messages and counts them. Capture replay (`waitForKafka`) waits instead
 * (backpressure on the file reader), so a replay loses nothing while Kafka is slow or briefly
 * down (messages still expire after the producer's maxQueueAgeMs).
 */
import { CodecConfig, Decoder, RecordBatch, REJECT_NAMES } from '@hopwatch/codec';
import type { PacketHandler, SourceStats } from '../sources/types';
import type { Producer } from '../transport/types';
import { publishBatch } from '../transport/publish';
import type { Registry } from '../metrics/registry';

export interface IngestOptions {
  codec: CodecConfig;
  producer: Producer;
  /** Partitions of the data topics (must match the topics; default 12). */
  partitions?: number;
  /** Records per published batch (default 4096). */
  batchRecords?: number;
  /** Replay: wait (instead of shedding) while the producer holds more than this many messages. */
  waitForKafka?: boolean;
  /** Queued messages above which replay waits (default 2000). */
  highWater?: number;
  /** Replay: at most this many packets per second (default unlimited). */
  maxPacketsPerSec?: number;
}

export interface IngestStats {
  packets: number;
  records: number;
  hops: number;
  /** Records published (enqueued on the producer) per topic. */
  published: { records: number; queues: number; reports: number; messages: number };
  rejected: Record<string, number>;
}

export class IngestWorker implements PacketHandler {
  readonly decoder: Decoder;
  private batch: RecordBatch;
  private frame = 0;
  private readonly batchRecords: number;
  private readonly st: IngestStats = {
    packets: 0,
    records: 0,
    hops: 0,
    published: { records: 0, queues: 0, reports: 0, messages: 0 },
    rejected: {},
  };
  /** Called after each publish with the wall time (ms) and the batch (before it is reset). */
  onPublish?: (batch: RecordBatch) => void;

  constructor(private readonly o: IngestOptions) {
    this.decoder = new Decoder(o.codec);
    this.batchRecords = o.batchRecords ?? 4096;
    this.batch = new RecordBatch(this.batchRecords + 256, 8);
  }

  onPacket(data: Uint8Array, linkType: number, tsSec: number, tsNsec: number): void {
    this.st.packets++;
    this.decoder.decode(data, linkType, tsSec, tsNsec, ++this.frame, this.batch);
    if (this.batch.count >= this.batchRecords) this.publish();
  }

  onDatagram(
    data: Uint8Array,
    from: Uint32Array,
    fromV6: boolean,
    tsSec: number,
    tsNsec: number,
  ): void {
    this.st.packets++;
    this.decoder.decodeDatagram(data, from, fromV6, tsSec, tsNsec, ++this.frame, this.batch);
    if (this.batch.count >= this.batchRecords) this.publish();
  }

  private t0 = 0;

  backpressure(): Promise<void> | null {
    const rate = this.o.maxPacketsPerSec;
    if (rate && rate > 0) {
      if (!this.t0) this.t0 = performance.now();
      const due = (this.st.packets / rate) * 1000 - (performance.now() - this.t0);
      if (due > 1)
        return new Promise((r) => setTimeout(r, due)).then(() => this.backpressure() ?? undefined);
    }
    if (!this.o.waitForKafka) return null;
    const hw = this.o.highWater ?? 2000;
    if (this.o.producer.stats().queuedMessages <= hw) return null;
    return new Promise((resolve) => {
      const t = setInterval(() => {
        if (this.o.producer.stats().queuedMessages <= hw / 2) {
          clearInterval(t);
          resolve();
        }
      }, 5);
    });
  }

  /** Publishes the current (partial) batch. */
  publish(): void {
    const b = this.batch;
    if (b.count === 0) return;
    this.st.records += b.count;
    this.st.hops += b.hopTotal;
    const c = publishBatch(this.o.producer, b, { partitions: this.o.partitions ?? 12 });
    this.st.published.records += c.records;
    this.st.published.queues += c.queues;
    this.st.published.reports += c.reports;
    this.st.published.messages += c.messages;
    this.onPublish?.(b);
    b.reset();
  }

  stats(): IngestStats {
    const rejected: Record<string, number> = {};
    const r = this.decoder.stats.rejects;
    for (let i = 1; i < r.length; i++) if (r[i] > 0) rejected[REJECT_NAMES[i]] = r[i];
    return { ...this.st, published: { ...this.st.published }, rejected };
  }

  /** Exposes the worker's counters (read at scrape time). */
  instrument(registry: Registry, sources: () => SourceStats[]): void {
    registry.counter(
      'hopwatch_ingest_received_total',
      'Packets / datagrams received, by source.',
      ['source'],
      (c) => {
        for (const s of sources()) c.setTotal({ source: s.source }, s.received);
      },
    );
    registry.counter(
      'hopwatch_ingest_reads_total',
      'Reads from the source (a recvmmsg batch, a dgram datagram, a capture packet), by source.',
      ['source'],
      (c) => {
        for (const s of sources()) c.setTotal({ source: s.source }, s.reads);
      },
    );
    registry.counter(
      'hopwatch_ingest_kernel_drops_total',
      'Packets dropped by the kernel before hopwatch saw them.',
      ['source'],
      (c) => {
        for (const s of sources()) c.setTotal({ source: s.source }, s.kernelDrops);
      },
    );
    registry.counter(
      'hopwatch_ingest_refused_total',
      'Datagrams refused by the sender allowlist.',
      ['source'],
      (c) => {
        for (const s of sources()) c.setTotal({ source: s.source }, s.refused);
      },
    );
    registry.counter(
      'hopwatch_ingest_source_errors_total',
      'Source errors (socket errors, corrupt captures).',
      ['source'],
      (c) => {
        for (const s of sources()) c.setTotal({ source: s.source }, s.errors);
      },
    );
    registry.counter(
      'hopwatch_ingest_decoded_records_total',
      'Records decoded (INT stacks / reports).',
      [],
      (c) => c.setTotal(this.st.records + this.batch.count),
    );
    registry.counter(
      'hopwatch_ingest_rejected_total',
      'Packets that yielded no record, by reason.',
      ['reason'],
      (c) => {
        for (const [reason, v] of Object.entries(this.stats().rejected)) c.setTotal({ reason }, v);
      },
    );
    registry.counter(
      'hopwatch_ingest_published_rows_total',
      'Rows enqueued for Kafka, by topic kind.',
      ['kind'],
      (c) => {
        c.setTotal({ kind: 'records' }, this.st.published.records);
        c.setTotal({ kind: 'queues' }, this.st.published.queues);
        c.setTotal({ kind: 'reports' }, this.st.published.reports);
      },
    );
  }
}
