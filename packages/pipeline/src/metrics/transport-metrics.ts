import type { Consumer, Producer } from '../transport/types';
import { Registry } from './registry';

/**
 * Exposes a producer's stats() as hopwatch_producer_* metrics (read at scrape time), with
 * a `producer` label (e.g. the ingest worker's name).
 */
export function instrumentProducer(registry: Registry, producer: Producer, name = 'default'): void {
  const producers = new Map<string, Producer>();
  producers.set(name, producer);
  const each = (fn: (n: string, p: Producer) => void) => () =>
    producers.forEach((p, n) => fn(n, p));
  registry.gauge(
    'hopwatch_producer_queued_messages',
    'Messages waiting to be sent to Kafka.',
    ['producer'],
    (g) => each((n, p) => g.set({ producer: n }, p.stats().queuedMessages))(),
  );
  registry.gauge(
    'hopwatch_producer_queued_bytes',
    'Bytes waiting to be sent to Kafka.',
    ['producer'],
    (g) => each((n, p) => g.set({ producer: n }, p.stats().queuedBytes))(),
  );
  registry.counter(
    'hopwatch_producer_sent_total',
    'Messages acknowledged by Kafka.',
    ['producer'],
    (c) => each((n, p) => c.setTotal({ producer: n }, p.stats().sent))(),
  );
  registry.counter(
    'hopwatch_producer_shed_total',
    'Messages dropped instead of sent, by reason.',
    ['producer', 'reason'],
    (c) =>
      each((n, p) => {
        for (const [reason, v] of Object.entries(p.stats().shedByReason))
          c.setTotal({ producer: n, reason }, v);
      })(),
  );
  registry.counter(
    'hopwatch_producer_errors_total',
    'Failed connect/send attempts.',
    ['producer'],
    (c) => each((n, p) => c.setTotal({ producer: n }, p.stats().errors))(),
  );
}

/** The consumers already exposed on each registry (the counters read them all). */
const consumersOf = new WeakMap<Registry, Map<string, Consumer>>();

/**
 * Exposes a consumer's stats() as hopwatch_consumer_* counters with a `consumer` label; call
 * it once per consumer (e.g. analyze's records and detector consumers).
 */
export function instrumentConsumer(registry: Registry, consumer: Consumer, name = 'default'): void {
  const known = consumersOf.get(registry);
  if (known) {
    known.set(name, consumer);
    return;
  }
  const consumers = new Map([[name, consumer]]);
  consumersOf.set(registry, consumers);
  const fields = [
    'batches',
    'messages',
    'failures',
    'commits',
    'commitErrors',
    'restarts',
  ] as const;
  const names: Record<(typeof fields)[number], [string, string]> = {
    batches: ['hopwatch_consumer_batches_total', 'Batches handled and committed.'],
    messages: ['hopwatch_consumer_messages_total', 'Messages handled and committed.'],
    failures: ['hopwatch_consumer_handler_failures_total', 'Handler failures (redelivered).'],
    commits: ['hopwatch_consumer_commits_total', 'Offset commits.'],
    commitErrors: ['hopwatch_consumer_commit_errors_total', 'Failed offset commits.'],
    restarts: [
      'hopwatch_consumer_restarts_total',
      'Group rejoins after partitions stalled behind their log end.',
    ],
  };
  for (const f of fields) {
    registry.counter(names[f][0], names[f][1], ['consumer'], (c) =>
      consumers.forEach((cons, n) => c.setTotal({ consumer: n }, cons.stats()[f])),
    );
  }
}
