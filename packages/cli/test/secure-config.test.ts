/**
 * Kafka TLS / SASL settings and ClickHouse server credentials, without servers: precedence of
 * flags, environment and config file; secrets only from files or the environment; a URL's
 * password taken out of it and never shown.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { kafkaConfig, kafkaSecurityFromArgs, KAFKA_DEFAULTS } from '../src/config/kafka';
import { redactUrl, storeConfig } from '../src/config/store';
import { storeAccess } from '../src/runtime-options';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-secure-config-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string, mode = 0o600): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text, { mode });
  fs.chmodSync(f, mode);
  return f;
};
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

test('Kafka: config section, flags over it, password from a file or the environment', () => {
  const ca = file('ca.pem', PEM);
  const pw = file('pw', 'file-secret\nignored second line\n');
  const cfg = kafkaConfig({
    brokers: ['k:9093'],
    tls: { caFile: ca, serverName: 'kafka.example.net' },
    sasl: { mechanism: 'scram-sha-256', username: 'hop', password_env: 'KPW' },
  });
  expect(kafkaSecurityFromArgs({}, cfg, { KPW: 'env-secret' })).toEqual({
    tls: { caFile: ca, serverName: 'kafka.example.net', verifyServerName: true },
    sasl: { mechanism: 'SCRAM-SHA-256', username: 'hop', password: 'env-secret' },
  });
  const flags = kafkaSecurityFromArgs(
    { 'kafka-password-file': pw, 'kafka-sasl': 'PLAIN', 'kafka-no-verify-server-name': true },
    cfg,
    {},
  );
  expect(flags?.sasl).toEqual({ mechanism: 'PLAIN', username: 'hop', password: 'file-secret' });
  expect(flags?.tls?.verifyServerName).toBe(false);
  expect(kafkaSecurityFromArgs({}, { ...KAFKA_DEFAULTS }, {})).toBeUndefined();
  expect(kafkaConfig({ tls: true }).tls).toEqual({});
});

test('Kafka: warnings for a readable password file and SASL without TLS', () => {
  const pw = file('open-pw', 'x\n', 0o644);
  const warnings: string[] = [];
  kafkaSecurityFromArgs(
    { 'kafka-sasl': 'PLAIN', 'kafka-user': 'u', 'kafka-password-file': pw },
    { ...KAFKA_DEFAULTS },
    {},
    (l) => warnings.push(l),
  );
  expect(warnings.join('\n')).toMatch(/readable by other users/);
  expect(warnings.join('\n')).toMatch(/without TLS: the password crosses the network in clear/);
});

test('Kafka: mistakes name the setting, never a secret', () => {
  expect(() => kafkaConfig({ sasl: { password: 's3cr3t' } })).toThrow(
    /kafka\.sasl\.password is not taken/,
  );
  expect(() => kafkaConfig({ tls: { ca: 'x' } })).toThrow(/unknown setting 'kafka\.tls\.ca'/);
  expect(() => kafkaConfig({ tls: { verifyServerName: 'no' } })).toThrow(/true or false/);
  expect(() => kafkaConfig({ sasl: { mechanism: 'GSSAPI' } })).toThrow(/not one of PLAIN/);
  const both = { 'kafka-sasl': 'PLAIN', 'kafka-user': 'u', 'kafka-password-env': 'A' };
  expect(() =>
    kafkaSecurityFromArgs({ ...both, 'kafka-password-file': '/x' }, { ...KAFKA_DEFAULTS }, {}),
  ).toThrow(/one of them/);
  expect(() => kafkaSecurityFromArgs(both, { ...KAFKA_DEFAULTS }, {})).toThrow(
    /environment variable A is not set/,
  );
  expect(() =>
    kafkaSecurityFromArgs(
      { ...both, 'kafka-password-env': undefined, 'kafka-password-file': file('e', '\n') },
      { ...KAFKA_DEFAULTS },
      {},
    ),
  ).toThrow(/is empty/);
});

test('store: URL credentials taken out, environment over config over URL, redacted', () => {
  expect(redactUrl('https://u:p%40ss@h:8443/x')).toBe('https://u:***@h:8443/x');
  expect(redactUrl('http://h:8123')).toBe('http://h:8123');
  const a = storeAccess('https://u:p%40ss@h:8443', storeConfig({}), {});
  expect(a).toEqual({ url: 'https://h:8443', username: 'u', password: 'p@ss' });
  const pw = file('chpw', 'cfg-secret\n');
  const cfg = storeConfig({ user: 'cfguser', password_file: pw });
  expect(storeAccess('http://u:p@h:1', cfg, {})).toMatchObject({
    username: 'cfguser',
    password: 'cfg-secret',
  });
  expect(
    storeAccess('http://h:1', cfg, { HOPWATCH_STORE_USER: 'e', HOPWATCH_STORE_PASSWORD: 'ep' }),
  ).toMatchObject({ username: 'e', password: 'ep' });
  const ca = file('ch-ca.pem', PEM);
  expect(storeAccess('https://h:1', storeConfig({ caFile: ca }), {}).tlsCaFile).toBe(ca);
  expect(() => storeAccess('http://h:1', storeConfig({ caFile: ca }), {})).toThrow(
    /for https:\/\/ URLs/,
  );
  expect(() => storeConfig({ password: 'x' })).toThrow(/store\.password is not taken/);
  expect(() => storeConfig({ url: 'ftp://u:topsecret@h' })).toThrow(/u:\*\*\*@h/);
});
