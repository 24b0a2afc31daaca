/**
 * `hopwatch ingest` → Kafka → `hopwatch analyze` → ClickHouse over secured transports, as OS
 * processes against real servers (@hopwatch/testkit): a broker with a SASL_SSL listener and
 * ClickHouse 18.16 with a password user and HTTPS, certificates made here with openssl and
 * keytool. SASL PLAIN (flags) and SCRAM-SHA-512 (config file) store exactly the rows the
 * plaintext run stores; a wrong password, a wrong CA and a plaintext client on the TLS port
 * end with exit 2 and a line that says which; no password shows in any output or `--help`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeConfig } from '@hopwatch/codec';
import { codecOverridesFor, loadScenario } from '@hopwatch/simulator';
import { openStore, type Store } from '@hopwatch/store';
import {
  makeTestPki,
  servicesAvailable,
  startClickHouse,
  startKafka,
  unavailableMessage,
  type ClickHouseHandle,
  type KafkaHandle,
  type TestPki,
} from '@hopwatch/testkit';
import { expectedHopLatencies, REPO_ROOT, runCli, waitFor } from '@hopwatch/pipeline/testing';

const built = fs.existsSync(path.join(REPO_ROOT, 'packages/cli/dist/main.js'));
const avail = servicesAvailable();
const ok = built && avail.kafka && avail.clickhouse;
if (!ok)
  console.warn(
    `secure transports test skipped: ${!built ? 'run npx tsc -b first' : [!avail.kafka && unavailableMessage('kafka'), !avail.clickhouse && unavailableMessage('clickhouse')].filter(Boolean).join('; ')}`,
  );
const d = ok ? describe : describe.skip;
jest.setTimeout(240_000);

const NAME = 'tr-v2.0-md';
const CAP = path.join(REPO_ROOT, 'captures', `${NAME}.pcap`);
const KAFKA_PW = {
  PLAIN: 'kafka-plain-Pw1',
  'SCRAM-SHA-256': 'kafka-s256-Pw2',
  'SCRAM-SHA-512': 'kafka-s512-Pw3',
};
const CH_PW = 'clickhouse-Pw4';
const SECRETS = [...Object.values(KAFKA_PW), CH_PW];

d('secure transports (SASL_SSL Kafka, ClickHouse with password and HTTPS)', () => {
  let tmp: string;
  let pki: TestPki;
  let ch: ClickHouseHandle;
  const stores: Store[] = [];
  const outputs: string[] = [];
  const o = codecOverridesFor(loadScenario(path.join(REPO_ROOT, 'captures', `${NAME}.yaml`)));
  const want = expectedHopLatencies([CAP], makeConfig(o.profile, o.overrides));
  const codec = { profile: o.profile, ...o.overrides };

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-secure-'));
    pki = makeTestPki(path.join(tmp, 'pki'));
    ch = await startClickHouse({
      users: [{ username: 'hop', password: CH_PW }],
      https: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile },
    });
    fs.writeFileSync(path.join(tmp, 'kafka.pass'), KAFKA_PW.PLAIN + '\n', { mode: 0o600 });
    fs.writeFileSync(path.join(tmp, 'ch.pass'), CH_PW + '\n', { mode: 0o600 });
  }, 120_000);
  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    await ch?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  const startSecureKafka = (): Promise<KafkaHandle> =>
    startKafka({
      saslSsl: {
        keystore: pki.keystore,
        storePasswordFile: pki.storePasswordFile,
        users: Object.entries(KAFKA_PW).map(([mechanism, password]) => ({
          mechanism: mechanism as keyof typeof KAFKA_PW,
          username: 'hop',
          password,
        })),
      },
    });

  const writeConfig = (name: string, extra: object): string => {
    const file = path.join(tmp, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify({ codec, ...extra }));
    return file;
  };

  const hopRows = async (s: Store): Promise<string[]> =>
    (await s.query('SELECT frame, hop_index, switch_id, hop_latency FROM hops'))
      .map((r) => `${r.frame}/${r.hop_index}/${r.switch_id}/${r.hop_latency ?? 'null'}`)
      .sort();

  /** ingest the capture, analyze into `db`, and return the stored hop rows. */
  async function pipeline(
    db: string,
    brokers: string[],
    args: string[],
    env: Record<string, string> = {},
  ): Promise<string[]> {
    const analyze = runCli(
      ['analyze', '--brokers', brokers.join(','), '--database', db, '--status-every', '0'].concat([
        '--idle-flush-ms',
        '500',
        '--checkpoint-every',
        '1',
        ...args,
      ]),
      env,
    );
    try {
      await waitFor(
        () => analyze.stderr().includes('joined consumer group') || analyze.proc.exitCode !== null,
        120_000,
        'join',
      ).catch((e) => {
        throw new Error(`${(e as Error).message}\n${analyze.stderr().slice(-3000)}`);
      });
      if (!analyze.stderr().includes('joined consumer group'))
        throw new Error(`analyze did not join its group:\n${analyze.stderr().slice(-3000)}`);
      const ingest = runCli(
        ['ingest', '--brokers', brokers.join(','), '--status-every', '0', ...args, CAP].filter(
          (a) => !a.startsWith('--store-url') && !a.startsWith('http'),
        ),
        env,
      );
      expect(await ingest.exited).toBe(0);
      outputs.push(ingest.stdout(), ingest.stderr());
      expect(JSON.parse(ingest.stdout().trim().split('\n').pop()!).kafka.shed).toBe(0);
      const s = await openStore({ url: ch.url, database: db, readOnly: true });
      stores.push(s);
      await waitFor(
        async () => Number((await s.query('SELECT count() AS n FROM hops'))[0].n) >= want.length,
        120_000,
        'hop rows',
      );
      return await hopRows(s);
    } finally {
      analyze.proc.kill('SIGINT');
      const code = await analyze.exited;
      outputs.push(analyze.stdout(), analyze.stderr());
      expect(code).toBe(0);
    }
  }

  let plaintextRows: string[] = [];

  test('plaintext baseline', async () => {
    const k = await startKafka();
    try {
      const cfg = writeConfig('plain', {});
      plaintextRows = await pipeline('sec_plain', k.brokers, [
        '--config',
        cfg,
        '--store-url',
        ch.url,
      ]);
      expect(plaintextRows).toEqual(want);
    } finally {
      await k.stop();
    }
  });

  test('SASL PLAIN over TLS (flags), ClickHouse over HTTPS with a password file', async () => {
    const k = await startSecureKafka();
    try {
      const cfg = writeConfig('sasl-plain', {
        store: {
          user: 'hop',
          password_file: path.join(tmp, 'ch.pass'),
          caFile: pki.caFile,
        },
      });
      const rows = await pipeline('sec_sasl_plain', k.saslSslBrokers, [
        '--config',
        cfg,
        '--store-url',
        ch.httpsUrl!,
        '--kafka-ca',
        pki.caFile,
        '--kafka-sasl',
        'PLAIN',
        '--kafka-user',
        'hop',
        '--kafka-password-file',
        path.join(tmp, 'kafka.pass'),
      ]);
      expect(rows).toEqual(plaintextRows);
    } finally {
      await k.stop();
    }
  });

  describe('SCRAM-SHA-512 (config file), and what is refused', () => {
    let k: KafkaHandle;
    beforeAll(async () => {
      k = await startSecureKafka();
    }, 120_000);
    afterAll(async () => {
      await k?.stop();
    }, 60_000);

    const scramConfig = (over: object = {}): string =>
      writeConfig(`scram-${Math.random().toString(36).slice(2)}`, {
        kafka: {
          tls: { caFile: pki.caFile },
          sasl: { mechanism: 'SCRAM-SHA-512', username: 'hop', password_env: 'TEST_KAFKA_PW' },
          ...over,
        },
      });

    test('delivers the same rows; the store password in the URL is never printed', async () => {
      const u = new URL(ch.httpsUrl!);
      u.username = 'hop';
      u.password = CH_PW;
      const rows = await pipeline(
        'sec_scram',
        k.saslSslBrokers,
        ['--config', scramConfig(), '--store-url', u.toString()],
        { TEST_KAFKA_PW: KAFKA_PW['SCRAM-SHA-512'], HOPWATCH_STORE_CA_FILE: pki.caFile },
      );
      expect(rows).toEqual(plaintextRows);
      const log = outputs.join('\n');
      expect(log).toContain('SASL_SSL SCRAM-SHA-512 user hop');
      expect(log).toMatch(/"store":"https:\/\/hop:\*\*\*@127\.0\.0\.1:\d+\/"/);
    });

    test('the same over librdkafka (kafka.client: rdkafka, zstd): the same rows', async () => {
      const rows = await pipeline(
        'sec_scram_rdkafka',
        k.saslSslBrokers,
        [
          '--config',
          scramConfig({ client: 'rdkafka', compression: 'zstd' }),
          '--store-url',
          ch.httpsUrl!,
        ],
        {
          TEST_KAFKA_PW: KAFKA_PW['SCRAM-SHA-512'],
          HOPWATCH_STORE_CA_FILE: pki.caFile,
          HOPWATCH_STORE_USER: 'hop',
          HOPWATCH_STORE_PASSWORD_FILE: path.join(tmp, 'ch.pass'),
        },
      );
      expect(rows).toEqual(plaintextRows);
      expect(outputs.join('\n')).toContain('"kafkaClient":"rdkafka"');
    });

    const ingestOnce = async (
      brokers: string[],
      args: string[],
      env: Record<string, string> = {},
    ): Promise<{ code: number | null; err: string; ms: number }> => {
      const t0 = Date.now();
      const p = runCli(['ingest', '--brokers', brokers.join(','), ...args, CAP], env);
      const code = await p.exited;
      outputs.push(p.stdout(), p.stderr());
      return { code, err: p.stderr(), ms: Date.now() - t0 };
    };

    test('a wrong Kafka password: exit 2, authentication failed, quickly', async () => {
      const r = await ingestOnce(k.saslSslBrokers, ['--config', scramConfig()], {
        TEST_KAFKA_PW: 'not-the-password',
      });
      expect(r.code).toBe(2);
      expect(r.err).toMatch(
        /Kafka authentication failed at .*\(SASL SCRAM-SHA-512 as user hop\).*check the user and password/,
      );
      expect(r.err).not.toContain('not-the-password');
      expect(r.err).not.toMatch(/^\s+at /m);
      expect(r.ms).toBeLessThan(30_000);
    });

    test('a broker certificate from another CA: exit 2, TLS', async () => {
      const cfg = scramConfig({ tls: { caFile: pki.otherCaFile } });
      const r = await ingestOnce(k.saslSslBrokers, ['--config', cfg], {
        TEST_KAFKA_PW: KAFKA_PW['SCRAM-SHA-512'],
      });
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/TLS: the certificate of Kafka brokers .* was not accepted/);
      expect(r.ms).toBeLessThan(30_000);
    });

    test('a plaintext client on the SASL_SSL port: exit 2, says TLS/SASL may be needed', async () => {
      const r = await ingestOnce(k.saslSslBrokers, ['--config', writeConfig('none', {})]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/closed the connection: if the listener expects TLS or SASL/);
      expect(r.ms).toBeLessThan(40_000);
    });

    test('configuration mistakes are usage errors that name the setting', async () => {
      const cases: [string[], Record<string, string>, RegExp][] = [
        [['--config', scramConfig()], {}, /environment variable TEST_KAFKA_PW is not set/],
        [['--kafka-sasl', 'GSSAPI', '--kafka-user', 'u'], {}, /'GSSAPI' is not one of PLAIN/],
        [
          ['--kafka-sasl', 'PLAIN', '--kafka-user', 'u'],
          {},
          /password in a file or an environment/,
        ],
        [['--kafka-cert', pki.clientCertFile], {}, /needs its key/],
        [['--kafka-ca', path.join(tmp, 'missing.pem')], {}, /CA file: cannot read/],
        [['--kafka-ca', path.join(tmp, 'kafka.pass')], {}, /is not a PEM file/],
        [['--kafka-password', 'x'], {}, /Unknown option '--kafka-password'/],
      ];
      for (const [args, env, re] of cases) {
        const r = await ingestOnce(k.saslSslBrokers, args, env);
        expect(r.code).toBe(2);
        expect(r.err).toMatch(re);
      }
      const cfg = writeConfig('inline', { kafka: { sasl: { password: 'inline-secret' } } });
      const r = await ingestOnce(k.brokers, ['--config', cfg]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/kafka\.sasl\.password is not taken/);
      expect(r.err).not.toContain('inline-secret');
    });

    test('a wrong ClickHouse password: analyze exits 2 at once', async () => {
      const t0 = Date.now();
      const p = runCli(['analyze', '--brokers', k.brokers.join(','), '--store-url', ch.httpsUrl!], {
        HOPWATCH_STORE_USER: 'hop',
        HOPWATCH_STORE_PASSWORD: 'wrong-ch-pw',
        HOPWATCH_STORE_CA_FILE: pki.caFile,
      });
      expect(await p.exited).toBe(2);
      expect(p.stderr()).toMatch(
        /cannot open the store at https:\/\/127\.0\.0\.1:\d+.*(Wrong password|Authentication)/i,
      );
      expect(p.stderr()).not.toContain('wrong-ch-pw');
      expect(Date.now() - t0).toBeLessThan(20_000);
      // and the server's certificate checked against another CA
      const q = runCli(['analyze', '--brokers', k.brokers.join(','), '--store-url', ch.httpsUrl!], {
        HOPWATCH_STORE_USER: 'hop',
        HOPWATCH_STORE_PASSWORD: CH_PW,
        HOPWATCH_STORE_CA_FILE: pki.otherCaFile,
      });
      expect(await q.exited).toBe(2);
      expect(q.stderr()).toMatch(/cannot open the store at .*certificate/i);
      outputs.push(p.stderr(), q.stderr());
    });

    test('no password in any output, nor in --help', async () => {
      for (const cmd of ['ingest', 'analyze']) {
        const h = runCli([cmd, '--help']);
        expect(await h.exited).toBe(0);
        expect(h.stdout()).toContain('--kafka-password-file FILE');
        expect(h.stdout()).not.toMatch(/--kafka-password\s/);
        outputs.push(h.stdout());
      }
      const all = outputs.join('\n');
      expect(all.length).toBeGreaterThan(1000);
      for (const s of SECRETS) expect(all).not.toContain(s);
    });
  });
});
