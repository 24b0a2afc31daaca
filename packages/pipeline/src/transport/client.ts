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
 * (docs/benchmarks-distributed.md, "Kafka client and compression"). Where the native module
 * does not load (built for another Node ABI), defaultKafkaClient() falls back to kafkajs. */
export const DEFAULT_KAFKA_CLIENT: KafkaClientName = 'rdkafka';

type RdkafkaModule = typeof import('./rdkafka');
let rdk: RdkafkaModule | Error | undefined;

/** librdkafka is a native module: loaded only when chosen, so kafkajs users never need it. */
function load(): RdkafkaModule | Error {
  if (rdk === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      rdk = require('./rdkafka') as RdkafkaModule;
    } catch (e) {
      rdk = e as Error;
    }
  }
  return rdk;
}

/** Why the rdkafka client cannot run in this process (null: it can). */
export function rdkafkaUnavailable(): string | null {
  const m = load();
  if (!(m instanceof Error)) return null;
  return `the rdkafka Kafka client (@confluentinc/kafka-javascript) does not load in Node ${process.version} (ABI ${process.versions.modules}): ${m.message.replace(/\s+/g, ' ').trim()}; it is built for the Node that ran npm install (rebuild it: npm rebuild @confluentinc/kafka-javascript, see docs/kafka.md), or use --kafka-client kafkajs`;
}

/** DEFAULT_KAFKA_CLIENT where it loads, else kafkajs. */
export function defaultKafkaClient(): KafkaClientName {
  return rdkafkaUnavailable() ? 'kafkajs' : DEFAULT_KAFKA_CLIENT;
}

function rdkafka(): RdkafkaModule {
  const m = load();
  if (m instanceof Error) throw new Error(rdkafkaUnavailable()!);
  return m;
}

export function createKafkaProducer(client: KafkaClientName, o: KafkaProducerOptions): Producer {
  return client === 'rdkafka' ? new (rdkafka().RdkafkaProducer)(o) : new KafkaProducer(o);
}

export function createKafkaConsumer(client: KafkaClientName, o: KafkaConsumerOptions): Consumer {
  return client === 'rdkafka' ? new (rdkafka().RdkafkaConsumer)(o) : new KafkaConsumer(o);
}
