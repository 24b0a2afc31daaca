/**
 * The JSON of one anomaly as subscribers get it: on hopwatch.anomalies.v2 (one object per
 * message) and in --anomalies FILE.jsonl (one per line). Described by
 * packages/pipeline/schema/hopwatch.anomalies.v2.schema.json (docs/kafka.md).
 *
 * ns times are decimal strings: a 19-digit JSON number loses its last bits in JSON.parse
 * (doubles hold 53 bits) and in many other JSON libraries. `start`/`end` sit beside
 * `startTime`/`endTime`, the same instants as RFC 3339 text with nine fraction digits.
 */
import { nsToRfc3339 } from '@hopwatch/codec';

/** Anything with a string id (an Anomaly of @hopwatch/analytics). */
export interface AnomalyLike {
  id: string;
  [k: string]: unknown;
}

const bigintAsString = (_k: string, v: unknown): unknown =>
  typeof v === 'bigint' ? v.toString() : v;

/** An anomaly (any object whose bigint `start`/`end` are ns since the epoch) as v2 JSON. */
export function anomalyToJson(a: object): string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    out[k] = v;
    if ((k === 'start' || k === 'end') && typeof v === 'bigint') out[`${k}Time`] = nsToRfc3339(v);
  }
  return JSON.stringify(out, bigintAsString);
}
