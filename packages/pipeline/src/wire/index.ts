export * from './topics';
export * from './pb';
export {
  encodeRecordsMessage,
  encodeQueuesMessage,
  encodeReportsMessage,
  decodeRecordsMessage,
  decodeQueuesMessage,
  decodeReportsMessage,
  decodeMessage,
  messageFields,
  timeNs,
  type MessageKind,
} from './messages';
export * from './split';
export { randomBatch, signatures, topicChecksum, rng32 } from './testing';
