/**
 * The hopwatch config file (YAML): one file for codec profile and markers, sources,
 * analytics thresholds, store, Kafka, Redis and the query endpoint. Each section is checked by its module in
 * config/ (unknown settings, types, ranges) when the file is loaded, and comes back with its
 * defaults filled in. Command-line flags override it. See docs/configuration.md.
 */
import * as fs from 'fs';
import { parse } from 'yaml';
import { UsageError } from './errors';
import { analyticsConfig, type AnalyticsSettings } from './config/analytics';
import { sectionOf } from './config/check';
import { codecSettings, type CodecSettings } from './config/codec';
import { flowsConfig, type FlowsSettings } from './config/flows';
import { httpConfig, type HttpSettings } from './config/http';
import { kafkaConfig, type KafkaSettings } from './config/kafka';
import { redisConfig, type RedisSettings } from './config/redis';
import { sourcesConfig, type SourcesSettings } from './config/sources';
import { storeConfig, type StoreSettings } from './config/store';

export interface HopwatchConfig {
  codec: CodecSettings;
  sources: SourcesSettings;
  analytics: AnalyticsSettings;
  store: StoreSettings;
  kafka: KafkaSettings;
  redis: RedisSettings;
  http: HttpSettings;
  flows: FlowsSettings;
}

const SECTIONS = {
  codec: codecSettings,
  sources: sourcesConfig,
  analytics: analyticsConfig,
  store: storeConfig,
  kafka: kafkaConfig,
  redis: redisConfig,
  http: httpConfig,
  flows: flowsConfig,
} as const;

/** Checks a parsed document (null = empty file): every section through its module. */
export function configFrom(doc: unknown): HopwatchConfig {
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new UsageError('expected a mapping at the top level');
  for (const k of Object.keys(doc))
    if (!(k in SECTIONS))
      throw new UsageError(`unknown section '${k}' (known: ${Object.keys(SECTIONS).join(', ')})`);
  const d = doc as Record<string, unknown>;
  return {
    codec: codecSettings(sectionOf('codec', d.codec)),
    sources: sourcesConfig(sectionOf('sources', d.sources)),
    analytics: analyticsConfig(sectionOf('analytics', d.analytics)),
    store: storeConfig(sectionOf('store', d.store)),
    kafka: kafkaConfig(sectionOf('kafka', d.kafka)),
    redis: redisConfig(sectionOf('redis', d.redis)),
    http: httpConfig(sectionOf('http', d.http)),
    flows: flowsConfig(sectionOf('flows', d.flows)),
  };
}

/** The defaults of every section: what a command runs with when no file is given. */
export function defaultConfig(): HopwatchConfig {
  return configFrom({});
}

export function loadConfigFile(path: string | undefined): HopwatchConfig {
  if (!path) return defaultConfig();
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new UsageError(
      `config file ${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  try {
    return configFrom(doc);
  } catch (e) {
    if (e instanceof UsageError)
      throw new UsageError(`config file ${path}: ${e.message.replace(/^config: /, '')}`);
    throw e;
  }
}
