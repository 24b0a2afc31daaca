import type { Consumer, Producer } from '../transport/types';
import { Registry } from './registry';

/**
 * Adds `item` under `name` to what `registry` already exposes from `of`. Returns the new map
 * on the first call for a registry (the caller then registers the metrics, whose collectors
 * read every entry), null afterwards: a registry returns an already registered metric, so a
 * second set of collectors would never run.
 */
function exposeOnce<T>(
  of: WeakMap<Registry, Map<string, T>>,
  registry: Registry,
  name: string,
  item: T,
): Map<string, T> | null {
  const known = of.get(registry);
  if (known) {
    known.set(name, item);
    return null;
  }
  const fresh = new Map([[name, item]]);
  of.set(registry, fresh);
  return fresh;
}

const producersOf = new WeakMap<Registry, Map<string, Producer>>();

/**
 * Exposes a producer's stats() as hopwatch_producer_* metrics (read at scrape time), with
 * a `producer` label (e.g. the ingest worker's name); call it once per producer.
 */
export function instrumentProducer(registry: Registry, producer: Producer, name = 'default'): void {
  const producers = exposeOnce(producersOf, registry, name, producer);
  if (!producers) return;
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
  const consumers = exposeOnce(consumersOf, registry, name, consumer);
  if (!consumers) return;
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
