/** KafkaSecurity (client-neutral) → the `ssl` and `sasl` settings of a kafkajs client. */
import { readFileSync } from 'fs';
import type { ConnectionOptions } from 'tls';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { KafkaSecurity } from './types';

function pem(what: string, file: string): Buffer {
  let b: Buffer;
  try {
    b = readFileSync(file);
  } catch (e) {
    throw new Error(`Kafka TLS: cannot read the ${what} ${file}: ${(e as Error).message}`);
  }
  if (!b.includes('-----BEGIN ')) throw new Error(`Kafka TLS: the ${what} ${file} is not PEM`);
  return b;
}

/** Files are read here, once per client: a renewed certificate is used by the next client. */
export function kafkajsSecurity(s: KafkaSecurity | undefined): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  const t = s?.tls;
  if (t) {
    const ssl: ConnectionOptions = { rejectUnauthorized: true };
    if (t.caFile) ssl.ca = [pem('CA file', t.caFile)];
    if (t.certFile) ssl.cert = pem('client certificate', t.certFile);
    if (t.keyFile) ssl.key = pem('client key', t.keyFile);
    if (t.serverName) ssl.servername = t.serverName;
    // the chain is still verified; only the name on the certificate is not compared
    if (!t.verifyServerName) ssl.checkServerIdentity = () => undefined;
    out.ssl = ssl;
  }
  if (s?.sasl) {
    const { username, password } = s.sasl;
    const mechanism = s.sasl.mechanism.toLowerCase() as 'plain' | 'scram-sha-256' | 'scram-sha-512';
    out.sasl = { mechanism, username, password } as SASLOptions;
  }
  return out;
}
