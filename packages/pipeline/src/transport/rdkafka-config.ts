/** KafkaSecurity and the common options (client-neutral) → librdkafka configuration properties. */
import type { KafkaSecurity } from './types';

export type RdkafkaProps = Record<string, string | number | boolean>;

/**
 * TLS / SASL as librdkafka properties. librdkafka reads the PEM files itself when it connects.
 * It has no setting for a server name other than the broker's host: a `serverName` is refused
 * unless the name check is off (then it is not needed).
 */
export function rdkafkaSecurity(s: KafkaSecurity | undefined): RdkafkaProps {
  const out: RdkafkaProps = {};
  if (!s?.tls && !s?.sasl) return out;
  out['security.protocol'] = s.sasl ? (s.tls ? 'sasl_ssl' : 'sasl_plaintext') : 'ssl';
  const t = s.tls;
  if (t) {
    if (t.serverName && t.verifyServerName)
      throw new Error(
        `Kafka TLS: the rdkafka client checks the certificate against the broker host only; kafka.tls.serverName (${t.serverName}) needs --kafka-client kafkajs, or verifyServerName: false`,
      );
    if (t.caFile) out['ssl.ca.location'] = t.caFile;
    if (t.certFile) out['ssl.certificate.location'] = t.certFile;
    if (t.keyFile) out['ssl.key.location'] = t.keyFile;
    // the chain is still verified (enable.ssl.certificate.verification stays true)
    out['ssl.endpoint.identification.algorithm'] = t.verifyServerName ? 'https' : 'none';
  }
  if (s.sasl) {
    out['sasl.mechanisms'] = s.sasl.mechanism;
    out['sasl.username'] = s.sasl.username;
    out['sasl.password'] = s.sasl.password;
  }
  return out;
}

/** librdkafka's log_level (syslog severities) for our logger: debug → 7, else errors only. */
export function rdkafkaLogLevel(debug: boolean): number {
  return debug ? 7 : 3;
}

/** Reconnect within a second of a broker's return (librdkafka backs off up to 10 s by default:
 * longer than a replay's patience and the producer's queue age in tests). */
export const RDKAFKA_RECONNECT: RdkafkaProps = {
  'reconnect.backoff.ms': 100,
  'reconnect.backoff.max.ms': 1000,
};
