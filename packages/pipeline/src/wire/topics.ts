/** Kafka topic names of the distributed mode (the major schema version is in the name). */
export const TOPIC_RECORDS = 'hopwatch.records.v1';
export const TOPIC_QUEUES = 'hopwatch.queues.v1';
export const TOPIC_REPORTS = 'hopwatch.reports.v1';
/** v2: ns times as decimal strings (v1 had bare JSON numbers that JSON.parse rounds). */
export const TOPIC_ANOMALIES = 'hopwatch.anomalies.v2';

export const DATA_TOPICS = [TOPIC_RECORDS, TOPIC_QUEUES, TOPIC_REPORTS] as const;
export const ALL_TOPICS = [...DATA_TOPICS, TOPIC_ANOMALIES] as const;
/** The data topics read by detectors only (no rows): analyze consumes them in their own group. */
export const DETECTOR_TOPICS = [TOPIC_QUEUES, TOPIC_REPORTS] as const;

/** The consumer group analyze uses for DETECTOR_TOPICS, given its main group. */
export function detectorGroupOf(groupId: string): string {
  return `${groupId}.detectors`;
}

import type { MessageKind } from './messages';

/** Message kind carried by a data topic, or undefined. */
export function kindOfTopic(topic: string): MessageKind | undefined {
  switch (topic) {
    case TOPIC_RECORDS:
      return 'records';
    case TOPIC_QUEUES:
      return 'queues';
    case TOPIC_REPORTS:
      return 'reports';
    default:
      return undefined;
  }
}
