/** Options shared by the commands that run the pipeline: the store's location and retention. */
import { openStore, recordedEndpoint, type Store } from '@hopwatch/store';
import { existsSync, readFileSync } from 'fs';
import type { HopwatchConfig } from './config-file';
import { readSecret } from './config/secret';
import { checkStoreUrl, MAX_RETENTION_DAYS, redactUrl, type StoreSettings } from './config/store';
import { UsageError } from './errors';
import { parseIntArg } from './numbers';
import { isolateStdin } from './stdio';

export const STORE_OPTIONS = {
  'data-dir': { type: 'string' },
  'store-url': { type: 'string' },
  'no-store': { type: 'boolean' },
  'retention-days': { type: 'string' },
} as const;

export const STORE_HELP = `Store options (config file section 'store': dataDir, url, retentionDays, database, mergeSelectorBase):
  --data-dir DIR            embedded store directory (default .hopwatch/data)
  --store-url URL           a ClickHouse server (http://host:8123) instead of the embedded store
  --retention-days N        drop rows older than N days (TTL; servers >= 20.1 and embedded)
  --no-store                analytics only, nothing stored`;

export interface StoreValues {
  'data-dir'?: string;
  'store-url'?: string;
  'no-store'?: boolean;
  'retention-days'?: string;
}

/** How to reach a ClickHouse server (or a serve endpoint): the URL without credentials, and
 * the credentials and CA file apart from it. */
export interface StoreAccess {
  url: string;
  username?: string;
  password?: string;
  tlsCaFile?: string;
}

/**
 * Credentials for a ClickHouse server or a serve endpoint, never from flags (other users see
 * them in the process list). The environment (HOPWATCH_STORE_USER, HOPWATCH_STORE_PASSWORD or
 * HOPWATCH_STORE_PASSWORD_FILE, HOPWATCH_STORE_CA_FILE) over the config file's store.user,
 * store.password_file / store.password_env and store.caFile, over a user:password@ in the URL
 * (which is taken out of it: the URL is printed, the password never).
 */
export function storeAccess(
  url: string,
  cfg: StoreSettings = { dataDir: '' },
  env: NodeJS.ProcessEnv = process.env,
  warn?: (line: string) => void,
): StoreAccess {
  const u = new URL(url);
  const fromUrl = {
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
  };
  const out: StoreAccess = { url: url.replace(/^(https?:\/\/)[^/@]*@/i, '$1') };
  let password: string | undefined;
  if (env.HOPWATCH_STORE_PASSWORD_FILE)
    password = readSecret(
      'HOPWATCH_STORE_PASSWORD_FILE',
      { file: env.HOPWATCH_STORE_PASSWORD_FILE },
      env,
      warn,
    );
  else if (env.HOPWATCH_STORE_PASSWORD) password = env.HOPWATCH_STORE_PASSWORD;
  else if (cfg.passwordFile !== undefined || cfg.passwordEnv !== undefined)
    password = readSecret(
      'store password',
      { file: cfg.passwordFile, env: cfg.passwordEnv },
      env,
      warn,
    );
  else password = fromUrl.password;
  const username = env.HOPWATCH_STORE_USER || cfg.user || fromUrl.username;
  if (username) out.username = username;
  if (password) out.password = password;
  const ca = env.HOPWATCH_STORE_CA_FILE || cfg.caFile;
  if (ca) {
    if (u.protocol !== 'https:')
      throw new UsageError(`a store CA file (${ca}) is for https:// URLs, not ${redactUrl(url)}`);
    let text: string;
    try {
      text = readFileSync(ca, 'utf8');
    } catch (e) {
      throw new UsageError(`store CA file: cannot read ${ca}: ${(e as Error).message}`);
    }
    if (!text.includes('-----BEGIN '))
      throw new UsageError(`store CA file: ${ca} is not a PEM file`);
    out.tlsCaFile = ca;
  }
  return out;
}

/** Where the store is, flags over the config file (checked before anything is opened). */
export function storeLocation(
  values: StoreValues,
  config: HopwatchConfig,
): { url?: string; dataDir: string; retentionDays?: number } {
  const url =
    values['store-url'] !== undefined
      ? checkStoreUrl('--store-url', values['store-url'])
      : config.store.url;
  const retentionDays =
    values['retention-days'] !== undefined
      ? parseIntArg('--retention-days', values['retention-days'], 1, MAX_RETENTION_DAYS)
      : config.store.retentionDays;
  return { url, dataDir: values['data-dir'] ?? config.store.dataDir, retentionDays };
}

export async function storeFrom(
  values: StoreValues,
  config: HopwatchConfig,
  opts: { readOnly?: boolean } = {},
): Promise<Store | null> {
  const { url, dataDir, retentionDays } = storeLocation(values, config); // checks flags
  if (values['no-store']) return null;
  // a query of a directory that is not there is a typo, not a new empty store
  if (opts.readOnly && url === undefined && !existsSync(dataDir))
    throw new UsageError(`no store at ${dataDir} (give --data-dir of a store, or --store-url)`);
  if (url === undefined) isolateStdin(); // chDB must not read the host's stdin
  try {
    return await openStore({
      ...(url !== undefined ? storeAccess(url, config.store) : {}),
      dataDir,
      retentionDays,
      database: config.store.database,
      mergeSelectorBase: config.store.mergeSelectorBase,
      readOnly: opts.readOnly === true && url !== undefined,
    });
  } catch (e) {
    // a running `serve` holds the embedded directory: queries go through its HTTP endpoint
    const ep = url === undefined && opts.readOnly ? recordedEndpoint(dataDir) : null;
    if (ep) {
      process.stderr.write(
        `hopwatch: ${dataDir} is held by hopwatch serve (pid ${ep.pid}); querying it through ${ep.url}\n`,
      );
      try {
        return await openStore({ ...storeAccess(ep.url), readOnly: true });
      } catch (e2) {
        throw new UsageError(`cannot query the store through ${ep.url}: ${(e2 as Error).message}`);
      }
    }
    const where = url !== undefined ? redactUrl(url) : dataDir;
    throw new UsageError(`cannot open the store (${where}): ${(e as Error).message}`);
  }
}
