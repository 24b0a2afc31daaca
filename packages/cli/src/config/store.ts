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
  /** Server user, and where its password is (a file's first line, or an environment variable). */
  user?: string;
  passwordFile?: string;
  passwordEnv?: string;
  /** PEM CA file for an https:// url (default: the system CAs). */
  caFile?: string;
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
  'user',
  'password_file',
  'password_env',
  'caFile',
] as const;

export const MAX_RETENTION_DAYS = 36500;

/** The URL with any password in it replaced by '***' (for logs and errors). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@\s:]*):[^/@\s]*@/i, '$1:***@');
}

export function checkStoreUrl(name: string, url: string): string {
  let ok = /^https?:\/\/[^\s/]+/.test(url);
  if (ok)
    try {
      new URL(url);
    } catch {
      ok = false;
    }
  if (!ok) throw new UsageError(`${name}: '${redactUrl(url)}' is not an http(s)://HOST:PORT URL`);
  return url;
}

export function storeConfig(s: Section): StoreSettings {
  if ('password' in s)
    throw new UsageError('config: store.password is not taken (use password_file or password_env)');
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
  const user = optString('store', s, 'user');
  if (user !== undefined) out.user = user;
  const pf = optString('store', s, 'password_file');
  if (pf !== undefined) out.passwordFile = pf;
  const pe = optString('store', s, 'password_env');
  if (pe !== undefined) out.passwordEnv = pe;
  if (pf !== undefined && pe !== undefined)
    throw new UsageError('config: store: give password_file or password_env, not both');
  const ca = optString('store', s, 'caFile');
  if (ca !== undefined) out.caFile = ca;
  if ('mergeSelectorBase' in s) {
    const v = s.mergeSelectorBase;
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v) || v < 1 || v > 1000))
      throw wrongType('store.mergeSelectorBase', 'a number from 1 to 1000 or null', v);
    out.mergeSelectorBase = v as number | null;
  }
  return out;
}
