import { RecordBatch } from '@hopwatch/codec';
import { anomalyToJson, type AnomalyLike } from '../wire/anomaly-json';
import { decodeMessage } from '../wire/messages';
import { SplitOptions, splitBatch } from '../wire/split';
import {
  kindOfTopic,
  TOPIC_ANOMALIES,
  TOPIC_QUEUES,
  TOPIC_RECORDS,
  TOPIC_REPORTS,
} from '../wire/topics';
import type { KafkaCompression } from './kafka';
import type { ConsumedBatch, Producer } from './types';

export interface PublishCounts {
  records: number;
  queues: number;
  reports: number;
  messages: number;
}

/** Splits a batch (see splitBatch) and enqueues the messages on the three data topics. */
export function publishBatch(
  producer: Producer,
  batch: RecordBatch,
  opts: SplitOptions = {},
): PublishCounts {
  const s = splitBatch(batch, opts);
  const out: PublishCounts = { records: 0, queues: 0, reports: 0, messages: 0 };
  const topics = [
    [TOPIC_RECORDS, s.records, 'records'],
    [TOPIC_QUEUES, s.queues, 'queues'],
    [TOPIC_REPORTS, s.reports, 'reports'],
  ] as const;
  for (const [topic, msgs, k] of topics) {
    if (!msgs.length) continue;
    producer.send(
      topic,
      msgs.map((m) => ({ key: m.key, value: m.value, partition: m.partition })),
    );
    for (const m of msgs) out[k] += m.count;
    out.messages += msgs.length;
  }
  return out;
}

/** The codec of the anomaly topic's producer: users subscribe with any Kafka client, and
 * gzip is the one every client reads (the data topics' default, lz4, is not). */
export const ANOMALY_COMPRESSION: KafkaCompression = 'gzip';

/** Enqueues anomalies as JSON (anomalyToJson) on hopwatch.anomalies.v2, key = anomaly id;
 * `producer` compresses with ANOMALY_COMPRESSION. */
export function publishAnomalies(producer: Producer, anomalies: readonly AnomalyLike[]): void {
  if (!anomalies.length) return;
  producer.send(
    TOPIC_ANOMALIES,
    anomalies.map((a) => ({
      key: a.id,
      value: Buffer.from(anomalyToJson(a)),
    })),
  );
}

/** Decodes every message of a consumed data-topic batch into `into`; returns rows added. */
export function decodeConsumed(batch: ConsumedBatch, into: RecordBatch): number {
  const kind = kindOfTopic(batch.topic);
  if (!kind) throw new Error(`decodeConsumed: ${batch.topic} is not a hopwatch data topic`);
  let n = 0;
  for (const m of batch.messages) n += decodeMessage(kind, m.value, into);
  return n;
}
