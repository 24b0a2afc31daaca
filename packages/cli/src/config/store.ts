/** The 'store' section (replay, serve, query, analyze): embedded directory or server. */
import { checkKeys, optInt, optString, wrongType, type Section } from './check';
import { UsageError } from '../errors';

export interface StoreSettings {
  /** Embedded store directory. */
  dataDir: string;
  /** A ClickHouse server's HTTP URL instead of the embedded store. */
  url?: string;
  /** Rows older than this many days are dropped (TTL). */
  retentionDays?: number;
  /** Database name (default: the store's own, hopwatch). */
  database?: string;
  /** merge_selector_base of hops and paths; null = the engine's own; absent = the store's. */
  mergeSelectorBase?: number | null;
}

export const STORE_DEFAULTS: Readonly<StoreSettings> = Object.freeze({
  dataDir: '.hopwatch/data',
});

export const STORE_KEYS = [
  'dataDir',
  'url',
  'retentionDays',
  'database',
  'mergeSelectorBase',
] as const;

export const MAX_RETENTION_DAYS = 36500;

export function checkStoreUrl(name: string, url: string): string {
  if (!/^https?:\/\/[^\s/]+/.test(url))
    throw new UsageError(`${name}: '${url}' is not an http://HOST:PORT URL`);
  return url;
}

export function storeConfig(s: Section): StoreSettings {
  checkKeys('store', s, STORE_KEYS);
  const out: StoreSettings = {
    dataDir: optString('store', s, 'dataDir') ?? STORE_DEFAULTS.dataDir,
  };
  const url = optString('store', s, 'url');
  if (url !== undefined) out.url = checkStoreUrl('config: store.url', url);
  const days = optInt('store', s, 'retentionDays', 1, MAX_RETENTION_DAYS);
  if (days !== undefined) out.retentionDays = days;
  const db = optString('store', s, 'database');
  if (db !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(db))
      throw wrongType('store.database', 'a database name (letters, digits, _)', db);
    out.database = db;
  }
  if ('mergeSelectorBase' in s) {
    const v = s.mergeSelectorBase;
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v) || v < 1 || v > 1000))
      throw wrongType('store.mergeSelectorBase', 'a number from 1 to 1000 or null', v);
    out.mergeSelectorBase = v as number | null;
  }
  return out;
}
