/**
 * The public API of @hopwatch/pipeline, by name (no `export *`: what leaves the package is a
 * decision). Test helpers are in `@hopwatch/pipeline/testing` (src/testing.ts).
 */
export {
  emptyStats,
  type PacketHandler,
  type SourceStats,
  type PacketSource,
  Clock,
} from './sources/types';
export { sleep, yieldToLoop, type ReplayOptions, PcapReplaySource } from './sources/pcap-replay';
export {
  receiveBufferWarning,
  parseListen,
  type ListenAddress,
  type UdpSourceOptions,
  UdpSource,
  chooseReceivePath,
  UDP_RECEIVE_CHOICES,
  type UdpReceiveChoice,
  type UdpReceivePath,
} from './sources/udp';
export { addrWords, type Sender, Allowlist } from './sources/allowlist';
export { loadCap, type LiveCaptureOptions, LiveCaptureSource } from './sources/live';
export { captureIdentity } from './sources/capture-identity';
export { type PipelineOptions, type PipelineStats, Pipeline } from './embedded';
export {
  detectorGroupOf,
  kindOfTopic,
  TOPIC_RECORDS,
  TOPIC_QUEUES,
  TOPIC_REPORTS,
  TOPIC_ANOMALIES,
  DATA_TOPICS,
  ALL_TOPICS,
  DETECTOR_TOPICS,
} from './wire/topics';
export {
  varintSize,
  zigzag,
  unzigzag,
  WireError,
  WT_VARINT,
  WT_FIXED64,
  WT_LEN,
  WT_FIXED32,
  PbWriter,
  type Segment,
  PbReader,
} from './wire/pb';
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
  MAX_MESSAGE_ROWS,
  MAX_MESSAGE_HOPS,
  MAX_MESSAGE_DS_WORDS,
  type MessageKind,
} from './wire/messages';
export {
  flowHash,
  recordKey,
  reportKey,
  queueKey,
  murmur2,
  partitionOf,
  splitBatch,
  type WireMessage,
  type SplitResult,
  type SplitOptions,
  SPLIT_TOPICS,
} from './wire/split';
export {
  emptyConsumerStats,
  emptyShed,
  type OutMessage,
  type ShedReason,
  type ProducerStats,
  type Producer,
  type InMessage,
  type ConsumedBatch,
  type BatchHandler,
  type ConsumerStats,
  type Consumer,
  type OffsetAdmin,
  type KafkaSecurity,
  type KafkaTls,
  type KafkaSasl,
  type SaslMechanism,
  SASL_MECHANISMS,
  securityProtocol,
  describeKafkaSecurity,
} from './transport/types';
export {
  InProcessBroker,
  type InProcessProducerOptions,
  InProcessProducer,
  type InProcessConsumerOptions,
  InProcessConsumer,
  InProcessOffsetAdmin,
} from './transport/memory';
export {
  describeKafkaError,
  isMetadataLag,
  GZIP_LEVEL,
  type KafkaCommonOptions,
  type KafkaProducerOptions,
  KafkaProducer,
  type KafkaConsumerOptions,
  KafkaConsumer,
  type KafkaCompression,
  DEFAULT_COMPRESSION,
  KAFKA_COMPRESSIONS,
} from './transport/kafka';
export {
  type KafkaClientName,
  KAFKA_CLIENTS,
  DEFAULT_KAFKA_CLIENT,
  defaultKafkaClient,
  rdkafkaUnavailable,
  createKafkaProducer,
  createKafkaConsumer,
} from './transport/client';
export {
  ensureTopics,
  type EnsureTopicsOptions,
  type EnsureTopicsResult,
  type KafkaOffsetAdminOptions,
  KafkaOffsetAdmin,
} from './transport/admin';
export {
  publishBatch,
  publishAnomalies,
  ANOMALY_COMPRESSION,
  decodeConsumed,
  type PublishCounts,
} from './transport/publish';
export { anomalyToJson, type AnomalyLike } from './wire/anomaly-json';
export {
  formatValue,
  type Labels,
  Counter,
  Gauge,
  DEFAULT_BUCKETS,
  Histogram,
  Registry,
  CONTENT_TYPE,
} from './metrics/registry';
export { serveMetrics, type MetricsServer } from './metrics/server';
export { instrumentProcess } from './metrics/process-metrics';
export {
  parseLevel,
  createLogger,
  type LogLevel,
  type LogFields,
  type Logger,
  type LoggerOptions,
  log,
} from './metrics/log';
export { instrumentProducer, instrumentConsumer } from './metrics/transport-metrics';
export { type IngestOptions, type IngestStats, IngestWorker } from './distributed/ingest';
export { AnalyzeWorker, type AnalyzeOptions } from './distributed/analyze/worker';
export { FlowStage, type FlowStageOptions, type FlowStageStats } from './distributed/analyze/flows';
export { type AnalyzeStats } from './distributed/analyze/metrics';
export {
  type RedisStateOptions,
  type StoredCheckpoint,
  RedisState,
} from './distributed/redis-state';
export { mergeLoopPartials, LoopMerger } from './distributed/loop-merge';
