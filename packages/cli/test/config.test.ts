/** The config file's sections: defaults, unknown settings and wrong values (config/). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';
import { DEFAULT_CONFIG as ANALYZER_DEFAULTS } from '@hopwatch/analytics';
import { makeConfig } from '@hopwatch/codec';
import { configFrom, defaultConfig } from '../src/config-file';
import { ANALYTICS_KEYS } from '../src/config/analytics';
import { CODEC_DEFAULTS } from '../src/config/codec';
import { KAFKA_DEFAULTS, kafkaClientFromArgs, kafkaConfig } from '../src/config/kafka';
import { SOURCES_DEFAULTS } from '../src/config/sources';
import { STORE_DEFAULTS } from '../src/config/store';
import { FLOWS_DEFAULTS } from '../src/config/flows';
import { codecConfigFrom } from '../src/codec-options';
import { UsageError } from '../src/errors';
import { storeFrom } from '../src/runtime-options';

test('defaults: what every command runs with when no file is given', () => {
  const c = defaultConfig();
  expect(c).toEqual({
    codec: CODEC_DEFAULTS,
    sources: SOURCES_DEFAULTS,
    analytics: {},
    store: STORE_DEFAULTS,
    kafka: KAFKA_DEFAULTS,
    redis: {},
    http: {}, // no users: the anonymous default only; the endpoint's own limits
    flows: FLOWS_DEFAULTS,
  });
  expect(c.flows).toEqual({
    enabled: true,
    activeTimeout: 10,
    idleTimeout: 15,
    maxFlows: 32768,
    ipfix: [],
    observationDomain: 1,
    enterprise: 32473,
    templateRefresh: 30,
  });
  expect(c.sources).toEqual({ listen: [], allow: [], receiveBuffer: 33554432 });
  expect(c.kafka).toEqual({
    brokers: [],
    partitions: 12,
    replication: 1,
    group: 'hopwatch-analytics',
  });
  expect(c.store).toEqual({ dataDir: '.hopwatch/data' });
  expect(codecConfigFrom({}, c)).toEqual(makeConfig('spec'));
  // every number of the analyzer is a setting; the callback is not
  expect(ANALYTICS_KEYS).toContain('burstLatencyFactor');
  expect(ANALYTICS_KEYS).not.toContain('onAnomaly');
  expect(ANALYTICS_KEYS.length).toBe(
    Object.values(ANALYZER_DEFAULTS).filter((v) => typeof v === 'number').length,
  );
});

test('every section: an unknown setting is an error naming it and the known ones', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { sources: { lisen: ['0.0.0.0:1'] } },
      /unknown setting 'sources.lisen' \(known in sources: listen, allow/,
    ],
    [
      { codec: { profle: 'spec' } },
      /unknown setting 'codec.profle' \(known in codec: profile, dscp/,
    ],
    [{ codec: { deviations: { queueBits: 8 } } }, /'codec.deviations.queueBits'.*queueIdBits/],
    [
      { codec: { dscp: { value: 1, mast: 1 } } },
      /'codec.dscp.mast' \(known in codec.dscp: value, mask\)/,
    ],
    [{ kafka: { broker: 'a:1' } }, /unknown setting 'kafka.broker' \(known in kafka: brokers,/],
    [{ redis: { uri: 'redis://a:1' } }, /unknown setting 'redis.uri' \(known in redis: url\)/],
    [
      { store: { dataDirectory: 'x' } },
      /unknown setting 'store.dataDirectory' \(known in store: dataDir,/,
    ],
    [
      { analytics: { burstFactor: 3 } },
      /unknown setting 'analytics.burstFactor' \(known in analytics: maxFlows/,
    ],
    [{ analytics: { onAnomaly: null } }, /unknown setting 'analytics.onAnomaly'/],
    [
      { sink: {} },
      /unknown section 'sink' \(known: codec, sources, analytics, store, kafka, redis, http, flows\)/,
    ],
  ];
  for (const [doc, re] of cases) expect(() => configFrom(doc)).toThrow(re);
});

test('wrong types and ranges name the setting and what it must be', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ sources: { listen: '127.0.0.1:99999' } }, /sources.listen.*bad port/],
    [{ sources: { listen: [5] } }, /sources.listen must be a list of strings, got \[5\]/],
    [{ sources: { allow: ['banana'] } }, /sources.allow: 'banana' is not an IPv4 or IPv6/],
    [{ sources: { allow: ['10.0.0.0/33'] } }, /'10.0.0.0\/33' is not/],
    [{ sources: { allow: ['fd00::/129'] } }, /'fd00::\/129' is not/],
    [
      { sources: { receiveBuffer: -1 } },
      /sources.receiveBuffer must be an integer in 1..2147483647, got -1/,
    ],
    [{ sources: { interface: 3 } }, /sources.interface must be a string, got 3/],
    [{ kafka: { brokers: 'localhost' } }, /kafka.brokers: 'localhost' is not HOST:PORT/],
    [{ kafka: { partitions: 0 } }, /kafka.partitions must be an integer in 1..10000, got 0/],
    [
      { kafka: { replication: 'three' } },
      /kafka.replication must be an integer in 1..16, got 'three'/,
    ],
    [
      { kafka: { client: 'librdkafka' } },
      /kafka.client: 'librdkafka' is not one of kafkajs, rdkafka/,
    ],
    [{ kafka: { compression: 'snappy' } }, /kafka.compression: 'snappy' is not one of none, gzip/],
    [
      { redis: { url: 'localhost:6379' } },
      /redis.url: 'localhost:6379' is not a redis:\/\/HOST:PORT URL/,
    ],
    [{ store: { url: 'localhost:8123' } }, /store.url: 'localhost:8123' is not an http/],
    [{ store: { retentionDays: 0 } }, /store.retentionDays must be an integer in 1..36500, got 0/],
    [
      { store: { mergeSelectorBase: 'x' } },
      /store.mergeSelectorBase must be a number from 1 to 1000 or null/,
    ],
    [{ store: { database: 'a; DROP' } }, /store.database must be a database name/],
    [
      { analytics: { burstLatencyFactor: 'high' } },
      /analytics.burstLatencyFactor must be a number >= 0, got 'high'/,
    ],
    [{ analytics: { maxFlows: 0.5 } }, /analytics.maxFlows must be an integer >= 1, got 0.5/],
    [{ codec: { intUdpPorts: 5555 } }, /codec.intUdpPorts must be a list of integers, got 5555/],
    [{ codec: { intUdpPorts: [70000] } }, /codec: intUdpPorts: 70000 is not a port number/],
    [
      { codec: { reportInnerProbe: 'yes' } },
      /codec.reportInnerProbe must be true or false, got 'yes'/,
    ],
    [{ codec: { profile: 'nope' } }, /unknown profile 'nope'/],
    [
      { codec: { deviations: { bottomOfStackBit: 1 } } },
      /codec.deviations.bottomOfStackBit must be true or false/,
    ],
    [{ codec: 'spec' }, /section 'codec' must be a mapping/],
  ];
  for (const [doc, re] of cases) {
    expect(() => configFrom(doc)).toThrow(UsageError);
    expect(() => configFrom(doc)).toThrow(re);
  }
});

test('valid sections come back typed, with the defaults filled in', () => {
  const c = configFrom({
    codec: { profile: 'intcollector', dscp: { value: 0x20 }, deviations: { queueIdBits: 16 } },
    sources: { listen: ['0.0.0.0:32766', '[::1]:9'], allow: ['10.0.0.0/8', 'fd00::/8'] },
    kafka: { brokers: 'a:9092,b:9092', partitions: 3 },
    redis: { url: 'redis://127.0.0.1:6379' },
    store: { url: 'http://127.0.0.1:8123', mergeSelectorBase: null },
    analytics: { burstLatencyFactor: 3 },
  });
  expect(c.kafka).toEqual({ ...KAFKA_DEFAULTS, brokers: ['a:9092', 'b:9092'], partitions: 3 });
  expect(c.sources.receiveBuffer).toBe(SOURCES_DEFAULTS.receiveBuffer);
  expect(c.store).toEqual({
    dataDir: '.hopwatch/data',
    url: 'http://127.0.0.1:8123',
    mergeSelectorBase: null,
  });
  const codec = codecConfigFrom({}, c);
  expect(codec.profile).toBe('intcollector');
  expect(codec.dscp).toEqual({ value: 0x20, mask: 0x3f });
  expect(codec.deviations.queueIdBits).toBe(16);
  // flags override the file
  expect(codecConfigFrom({ profile: 'spec', 'max-hops': '9' }, c).maxHops).toBe(9);
});

test('the example in docs/configuration.md loads', () => {
  const md = fs.readFileSync(path.join(__dirname, '../../../docs/configuration.md'), 'utf8');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(md)![1];
  const c = configFrom(parse(yaml));
  expect(c.sources.allow).toEqual(['10.0.0.0/8', 'fd00::/8']);
  expect(c.kafka.brokers).toEqual(['127.0.0.1:19092']);
  expect(c.redis.url).toBe('redis://127.0.0.1:16379');
  expect(c.http.users?.verify('grafana', 'password')).toBe('grafana');
  expect(c.http.limits?.max_execution_time).toEqual({ default: 30, max: 300 });
  expect(() => configFrom({ http: { lisen: '127.0.0.1:1' } })).toThrow(
    /unknown setting 'http.lisen'/,
  );
  expect(codecConfigFrom({}, c).gpeNextProtocols).toEqual({
    5: '0.5',
    8: '1.0',
    128: '2.0',
    130: '2.1',
  });
});

test('query of a data directory that does not exist is a usage error, and creates nothing', async () => {
  const dir = path.join(os.tmpdir(), `hw-no-store-${process.pid}`);
  await expect(storeFrom({ 'data-dir': dir }, defaultConfig(), { readOnly: true })).rejects.toThrow(
    /no store at .*hw-no-store/,
  );
  expect(fs.existsSync(dir)).toBe(false);
});

test('flows section: known settings only, IPFIX targets checked', () => {
  const c = configFrom({
    flows: { ipfix: ['tcp://[::1]:4739', '127.0.0.1:4739'], activeTimeout: 60 },
  });
  expect(c.flows.ipfix).toEqual([
    { transport: 'tcp', host: '::1', port: 4739 },
    { transport: 'udp', host: '127.0.0.1', port: 4739 },
  ]);
  expect(c.flows.activeTimeout).toBe(60);
  expect(() => configFrom({ flows: { actveTimeout: 5 } })).toThrow(
    /unknown setting 'flows.actveTimeout'/,
  );
  expect(() => configFrom({ flows: { ipfix: ['nowhere'] } })).toThrow(/IPFIX collector 'nowhere'/);
  expect(() => configFrom({ flows: { idleTimeout: 0 } })).toThrow(/flows.idleTimeout/);
  expect(() => configFrom({ flows: { enabled: 'yes' } })).toThrow(/flows.enabled/);
});

test('Kafka client and compression: flag over config over default; zstd needs rdkafka', () => {
  const none = kafkaConfig({});
  expect(kafkaClientFromArgs({}, none)).toEqual({ client: 'rdkafka', compression: 'lz4' });
  const cfg = kafkaConfig({ client: 'rdkafka', compression: 'zstd' });
  expect(kafkaClientFromArgs({}, cfg)).toEqual({ client: 'rdkafka', compression: 'zstd' });
  expect(kafkaClientFromArgs({ compression: 'lz4' }, cfg).compression).toBe('lz4');
  expect(kafkaClientFromArgs({ 'no-compression': true }, cfg).compression).toBe('none');
  expect(() => kafkaClientFromArgs({ 'kafka-client': 'kafkajs' }, cfg)).toThrow(
    /compression zstd needs --kafka-client rdkafka/,
  );
  expect(kafkaClientFromArgs({ 'kafka-client': 'kafkajs', compression: 'gzip' }, cfg)).toEqual({
    client: 'kafkajs',
    compression: 'gzip',
  });
  expect(() => kafkaClientFromArgs({ 'kafka-client': 'java' }, none)).toThrow(UsageError);
  expect(kafkaClientFromArgs({ compression: 'lz4' }, kafkaConfig({ client: 'kafkajs' }))).toEqual({
    client: 'kafkajs',
    compression: 'lz4',
  });
  expect(() =>
    kafkaClientFromArgs({ compression: 'zstd' }, kafkaConfig({ client: 'kafkajs' })),
  ).toThrow(/needs --kafka-client rdkafka/);
  expect(() => kafkaClientFromArgs({ 'no-compression': true, compression: 'gzip' }, none)).toThrow(
    /contradicts/,
  );
});
