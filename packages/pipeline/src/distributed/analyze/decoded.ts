/**
 * A records batch decoded once, for the detectors and for the rows: the records of its
 * messages in one RecordBatch with each record's message offset + 1 (the offset ledger's
 * value). Before, the worker decoded every records message twice (detectors, then rows).
 *
 * The batches are pooled: a handler holds one across its awaits (detector output, then the
 * row insert under the store lock), and handlers of several partitions run at once, so one
 * shared batch would not do; allocating per handler churned the garbage collector.
 */
import { RecordBatch } from '@hopwatch/codec';
import { decodeMessage, type MessageKind } from '../../wire/messages';
import type { InMessage } from '../../transport/types';

export interface Decoded {
  batch: RecordBatch;
  /** offsets[r] = offset + 1 of record r's message (Float64: Kafka offsets exceed 2^32). */
  offsets: Float64Array;
  /** The messages it holds (in order; those that did not decode hold no records). */
  messages: InMessage[];
}

/** Decodes `messages` into `d` (reset first); calls `bad` for each message that does not decode
 * (it holds no records, the others are unaffected). */
export function decodeAll(
  d: Decoded,
  kind: MessageKind,
  messages: InMessage[],
  bad: (m: InMessage, e: Error) => void,
): void {
  const b = d.batch;
  b.reset();
  d.messages = messages;
  for (const m of messages) {
    const from = b.count;
    try {
      decodeMessage(kind, m.value, b);
    } catch (e) {
      bad(m, e as Error);
      continue;
    }
    if (d.offsets.length < b.count) {
      const grown = new Float64Array(Math.max(b.count, d.offsets.length * 2));
      grown.set(d.offsets);
      d.offsets = grown;
    }
    d.offsets.fill(Number(m.offset) + 1, from, b.count);
  }
}

export class DecodedPool {
  private free: Decoded[] = [];

  take(): Decoded {
    return (
      this.free.pop() ?? {
        batch: new RecordBatch(4096, 8),
        offsets: new Float64Array(4096),
        messages: [],
      }
    );
  }

  give(d: Decoded): void {
    d.batch.reset();
    d.messages = [];
    // bounded by the handlers that ran at once (consumer concurrency)
    if (this.free.length < 16) this.free.push(d);
  }
}
