/** Options shared by the commands that run the pipeline: the store's location and retention. */
import { openStore, recordedEndpoint, type Store } from '@hopwatch/store';
import { existsSync, readFileSync } from 'fs';
import type { HopwatchConfig } from './config-file';
import { checkStoreUrl, MAX_RETENTION_DAYS } from './config/store';
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

/**
 * Credentials for a ClickHouse server or a serve endpoint, from the environment (never from
 * flags, which other users see in the process list): HOPWATCH_STORE_USER and
 * HOPWATCH_STORE_PASSWORD, or HOPWATCH_STORE_PASSWORD_FILE.
 */
export function storeCredentials(env: NodeJS.ProcessEnv = process.env): {
  username?: string;
  password?: string;
} {
  let password = env.HOPWATCH_STORE_PASSWORD;
  const file = env.HOPWATCH_STORE_PASSWORD_FILE;
  if (file) {
    try {
      password = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new UsageError(
        `HOPWATCH_STORE_PASSWORD_FILE: cannot read ${file}: ${(e as Error).message}`,
      );
    }
  }
  return { username: env.HOPWATCH_STORE_USER || undefined, password: password || undefined };
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
      url,
      dataDir,
      retentionDays,
      database: config.store.database,
      mergeSelectorBase: config.store.mergeSelectorBase,
      readOnly: opts.readOnly === true && url !== undefined,
      ...(url !== undefined ? storeCredentials() : {}),
    });
  } catch (e) {
    // a running `serve` holds the embedded directory: queries go through its HTTP endpoint
    const ep = url === undefined && opts.readOnly ? recordedEndpoint(dataDir) : null;
    if (ep) {
      process.stderr.write(
        `hopwatch: ${dataDir} is held by hopwatch serve (pid ${ep.pid}); querying it through ${ep.url}\n`,
      );
      try {
        return await openStore({ url: ep.url, readOnly: true, ...storeCredentials() });
      } catch (e2) {
        throw new UsageError(`cannot query the store through ${ep.url}: ${(e2 as Error).message}`);
      }
    }
    throw new UsageError(`cannot open the store (${url ?? dataDir}): ${(e as Error).message}`);
  }
}
