/**
 * The Kafka client behind the Producer / Consumer seam: kafkajs (JavaScript, transport/kafka.ts)
 * or librdkafka (@confluentinc/kafka-javascript, transport/rdkafka.ts). Topic setup and offset
 * reads (transport/admin.ts) use kafkajs for both: they run at start-up and every few seconds,
 * off the hot path.
 */
import {
  KafkaConsumer,
  KafkaProducer,
  type KafkaConsumerOptions,
  type KafkaProducerOptions,
} from './kafka';
import type { Consumer, Producer } from './types';

export type KafkaClientName = 'kafkajs' | 'rdkafka';
export const KAFKA_CLIENTS: readonly KafkaClientName[] = ['kafkajs', 'rdkafka'];
/** Chosen by measurement: ingest half the CPU per report, every fault test green
 * (docs/benchmarks-distributed.md, "Kafka client and compression"). */
export const DEFAULT_KAFKA_CLIENT: KafkaClientName = 'rdkafka';

/** librdkafka is a native module: loaded only when chosen, so kafkajs users never need it. */
function rdkafka(): typeof import('./rdkafka') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./rdkafka') as typeof import('./rdkafka');
}

export function createKafkaProducer(client: KafkaClientName, o: KafkaProducerOptions): Producer {
  return client === 'rdkafka' ? new (rdkafka().RdkafkaProducer)(o) : new KafkaProducer(o);
}

export function createKafkaConsumer(client: KafkaClientName, o: KafkaConsumerOptions): Consumer {
  return client === 'rdkafka' ? new (rdkafka().RdkafkaConsumer)(o) : new KafkaConsumer(o);
}
