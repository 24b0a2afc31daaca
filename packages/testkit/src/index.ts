/**
 * Test support: start real Kafka (KRaft), ClickHouse and Redis servers on free 127.0.0.1
 * ports from jest tests, each in its own run directory under os.tmpdir(), through
 * deploy/services.sh. Whatever a test starts it must stop (`handle.stop()` in afterAll);
 * anything left running is SIGKILLed when the process exits.
 *
 *   const avail = servicesAvailable();
 *   (avail.redis ? describe : describe.skip)('with redis', () => { ... startRedis() ... });
 */
export { servicesAvailable, unavailableMessage, kafkaHome } from './available';
export type { ServiceName, ServicesAvailability } from './available';
export { startKafka } from './kafka';
export type { KafkaHandle, KafkaSaslSslOptions, KafkaSaslUser, StartKafkaOptions } from './kafka';
export { startClickHouse } from './clickhouse';
export type { ClickHouseHandle, StartClickHouseOptions } from './clickhouse';
export { makeTestPki } from './pki';
export type { TestPki } from './pki';
export { startRedis } from './redis';
export type { RedisHandle } from './redis';
export { runServices, servicesScript, freePorts, ephemeralPortStart } from './runner';
export {
  collectorsAvailable,
  goflow2Path,
  startNfcapd,
  startGoflow2,
  captureLoopback,
} from './collectors';
export type {
  CollectorsAvailability,
  CollectorHandle,
  NfdumpFlow,
  GoflowFlow,
  LoopbackCapture,
} from './collectors';
export { rawRequest } from './raw-http';
