/**
 * The Kafka transport over TLS and SASL against a real broker with a SASL_SSL listener
 * (@hopwatch/testkit; certificates made here with openssl and keytool): PLAIN and both SCRAM
 * mechanisms carry messages, with and without a client certificate; a wrong password, a
 * wrong CA, a wrong server name and a plaintext client on the TLS port each fail quickly with
 * an error that says which. Skipped, with a message, without Kafka.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  makeTestPki,
  servicesAvailable,
  startKafka,
  unavailableMessage,
  type KafkaHandle,
  type TestPki,
} from '@hopwatch/testkit';
import {
  createKafkaConsumer,
  createKafkaProducer,
  createLogger,
  describeKafkaError,
  describeKafkaSecurity,
  ensureTopics,
  KafkaOffsetAdmin,
  type KafkaSecurity,
} from '../src';
import { rdkafkaSecurity } from '../src/transport/rdkafka-config';

const avail = servicesAvailable();
if (!avail.kafka)
  console.warn(`transport-kafka-secure tests skipped: ${unavailableMessage('kafka')}`);
const d = avail.kafka ? describe : describe.skip;

const PASSWORDS = {
  PLAIN: 'plain-pw-1',
  'SCRAM-SHA-256': 'scram256-pw-2',
  'SCRAM-SHA-512': 'scram512-pw-3',
} as const;

d('kafka transport over SASL_SSL (real broker)', () => {
  let kafka: KafkaHandle;
  let pki: TestPki;
  let tmp: string;
  const logger = createLogger({ level: 'silent' });

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-kafka-tls-'));
    pki = makeTestPki(path.join(tmp, 'pki'));
    kafka = await startKafka({
      saslSsl: {
        keystore: pki.keystore,
        truststore: pki.truststore,
        storePasswordFile: pki.storePasswordFile,
        users: Object.entries(PASSWORDS).map(([mechanism, password]) => ({
          mechanism: mechanism as keyof typeof PASSWORDS,
          username: 'hop',
          password,
        })),
      },
    });
  }, 120_000);

  afterAll(async () => {
    await kafka?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  const secure = (
    mechanism: keyof typeof PASSWORDS,
    over: { password?: string; caFile?: string; mtls?: boolean; serverName?: string } = {},
  ): KafkaSecurity => ({
    tls: {
      caFile: over.caFile ?? pki.caFile,
      verifyServerName: true,
      ...(over.serverName ? { serverName: over.serverName } : {}),
      ...(over.mtls ? { certFile: pki.clientCertFile, keyFile: pki.clientKeyFile } : {}),
    },
    sasl: { mechanism, username: 'hop', password: over.password ?? PASSWORDS[mechanism] },
  });

  /** ensureTopics' error (or null), and how long it took. */
  const attempt = async (
    brokers: string[],
    security: KafkaSecurity | undefined,
  ): Promise<{ error: string | null; ms: number }> => {
    const t0 = Date.now();
    try {
      await ensureTopics(brokers, { partitions: 1, security, logger, connectTimeoutMs: 2000 });
      return { error: null, ms: Date.now() - t0 };
    } catch (e) {
      return { error: (e as Error).message, ms: Date.now() - t0 };
    }
  };

  test.each([
    ['PLAIN', false, 'kafkajs'],
    ['SCRAM-SHA-256', false, 'kafkajs'],
    ['SCRAM-SHA-512', true, 'kafkajs'],
    ['PLAIN', false, 'rdkafka'],
    ['SCRAM-SHA-256', false, 'rdkafka'],
    ['SCRAM-SHA-512', true, 'rdkafka'],
  ] as const)(
    '%s (client certificate: %s) carries messages both ways over %s',
    async (mechanism, mtls, client) => {
      const security = secure(mechanism, { mtls });
      const brokers = kafka.saslSslBrokers;
      await ensureTopics(brokers, { partitions: 2, security, logger });
      const topic = 'hopwatch.records.v1';
      const producer = createKafkaProducer(client, { brokers, security, logger });
      const groupId = `secure-${mechanism}-${client}-${Date.now()}`;
      const consumer = createKafkaConsumer(client, {
        brokers,
        security,
        logger,
        groupId,
        topics: [topic],
        // from the beginning: librdkafka resolves "latest" only after the group assigned the
        // partitions, later than run() returns; the filter below keeps this case's messages
        fromBeginning: true,
        maxWaitTimeMs: 100,
      });
      const got: string[] = [];
      try {
        await consumer.run(async (b) => {
          for (const m of b.messages) got.push(m.value.toString());
        });
        const want = Array.from({ length: 20 }, (_, i) => `${mechanism}-${client}-${i}`);
        producer.send(
          topic,
          want.map((v) => ({ key: v, value: Buffer.from(v) })),
        );
        const t0 = Date.now();
        while (want.some((v) => !got.includes(v)) && Date.now() - t0 < 30_000)
          await new Promise((r) => setTimeout(r, 50));
        expect(got.filter((v) => v.startsWith(`${mechanism}-${client}-`)).sort()).toEqual(
          want.sort(),
        );
        expect(producer.stats().sent).toBe(20);
        const admin = new KafkaOffsetAdmin({ brokers, security });
        try {
          const end = await admin.endOffsets(topic);
          expect([...end.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(20);
        } finally {
          await admin.close();
        }
      } finally {
        await producer.close();
        await consumer.close();
      }
    },
    90_000,
  );

  test('a wrong password is an authentication error naming mechanism and user', async () => {
    for (const mechanism of ['PLAIN', 'SCRAM-SHA-512'] as const) {
      const r = await attempt(kafka.saslSslBrokers, secure(mechanism, { password: 'wrong-pw' }));
      expect(r.error).toMatch(/authentication failed/i);
      expect(r.error).toContain(`SASL ${mechanism}`);
      expect(r.error).toContain('user hop');
      expect(r.error).not.toContain('wrong-pw');
      expect(r.ms).toBeLessThan(20_000);
    }
  }, 60_000);

  test('a broker certificate from another CA is a TLS verification error', async () => {
    const r = await attempt(kafka.saslSslBrokers, secure('PLAIN', { caFile: pki.otherCaFile }));
    expect(r.error).toMatch(/TLS/);
    expect(r.error).toMatch(/certificate/i);
    expect(r.error).toMatch(/CA file/);
    expect(r.ms).toBeLessThan(20_000);
  }, 60_000);

  test('the server name is checked unless turned off', async () => {
    const wrong = await attempt(
      kafka.saslSslBrokers,
      secure('PLAIN', { serverName: 'kafka.example.net' }),
    );
    expect(wrong.error).toMatch(/TLS/);
    expect(wrong.error).toMatch(/kafka\.example\.net/);
    const off = secure('PLAIN', { serverName: 'kafka.example.net' });
    off.tls!.verifyServerName = false;
    expect((await attempt(kafka.saslSslBrokers, off)).error).toBeNull();
    // the certificate names localhost too
    const port = kafka.saslSslBrokers[0].split(':')[1];
    expect((await attempt([`localhost:${port}`], secure('PLAIN'))).error).toBeNull();
  }, 60_000);

  test('a plaintext client on the TLS port, and TLS on the plaintext port, fail quickly', async () => {
    const plain = await attempt(kafka.saslSslBrokers, undefined);
    expect(plain.error).toMatch(/closed the connection: if the listener expects TLS or SASL/);
    expect(plain.ms).toBeLessThan(40_000);
    const tlsOnPlain = await attempt(kafka.brokers, secure('PLAIN'));
    expect(tlsOnPlain.error).toMatch(/TLS handshake with Kafka brokers .* failed/);
    expect(tlsOnPlain.ms).toBeLessThan(40_000);
  }, 90_000);

  test('librdkafka properties: protocol, files, name check, SASL; a server name it cannot check is refused', () => {
    const s = secure('SCRAM-SHA-512', { mtls: true });
    expect(rdkafkaSecurity(s)).toEqual({
      'security.protocol': 'sasl_ssl',
      'ssl.ca.location': pki.caFile,
      'ssl.certificate.location': pki.clientCertFile,
      'ssl.key.location': pki.clientKeyFile,
      'ssl.endpoint.identification.algorithm': 'https',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'hop',
      'sasl.password': PASSWORDS['SCRAM-SHA-512'],
    });
    expect(rdkafkaSecurity(undefined)).toEqual({});
    expect(() => rdkafkaSecurity(secure('PLAIN', { serverName: 'kafka.example.net' }))).toThrow(
      /serverName \(kafka\.example\.net\) needs --kafka-client kafkajs/,
    );
    const off = secure('PLAIN', { serverName: 'kafka.example.net' });
    off.tls!.verifyServerName = false;
    expect(rdkafkaSecurity(off)['ssl.endpoint.identification.algorithm']).toBe('none');
  });

  test('the security description never holds the password', () => {
    const s = secure('SCRAM-SHA-256');
    expect(describeKafkaSecurity(s)).toBe('SASL_SSL SCRAM-SHA-256 user hop');
    expect(describeKafkaError(new Error('x'), ['a:1'])).not.toContain(PASSWORDS['SCRAM-SHA-256']);
  });
});
