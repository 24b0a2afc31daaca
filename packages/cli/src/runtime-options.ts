/** Options shared by the commands that run the pipeline: store location and analytics thresholds. */
import { DEFAULT_CONFIG as ANALYTICS_DEFAULTS, type AnalyticsConfig } from '@hopwatch/analytics';
import { openStore, recordedEndpoint, type Store } from '@hopwatch/store';
import { readFileSync } from 'fs';
import type { HopwatchConfigFile } from './config-file';
import { UsageError } from './errors';
import { parseIntArg } from './numbers';

export const STORE_OPTIONS = {
  'data-dir': { type: 'string' },
  'store-url': { type: 'string' },
  'no-store': { type: 'boolean' },
  'retention-days': { type: 'string' },
} as const;

export const STORE_HELP = `Store options (config file section 'store': dataDir, url, retentionDays, mergeSelectorBase):
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

export async function storeFrom(
  values: StoreValues,
  file: HopwatchConfigFile,
  opts: { readOnly?: boolean } = {},
): Promise<Store | null> {
  if (values['no-store']) return null;
  const fs = (file.store ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(fs)) {
    if (!['dataDir', 'url', 'retentionDays', 'database', 'mergeSelectorBase'].includes(k))
      throw new UsageError(`config: unknown store setting '${k}'`);
  }
  const url = values['store-url'] ?? (typeof fs.url === 'string' ? fs.url : undefined);
  const dataDir =
    values['data-dir'] ?? (typeof fs.dataDir === 'string' ? fs.dataDir : '.hopwatch/data');
  const retention =
    values['retention-days'] !== undefined
      ? parseIntArg('--retention-days', values['retention-days'], 1, 36500)
      : typeof fs.retentionDays === 'number'
        ? fs.retentionDays
        : undefined;
  try {
    return await openStore({
      url,
      dataDir,
      retentionDays: retention,
      database: typeof fs.database === 'string' ? fs.database : undefined,
      mergeSelectorBase: mergeSelectorBaseFrom(fs),
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

/** store.mergeSelectorBase of the config file: a number, null (leave the engine's), or absent. */
export function mergeSelectorBaseFrom(fs: Record<string, unknown>): number | null | undefined {
  const v = fs.mergeSelectorBase;
  if (v === undefined || v === null) return v;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 1 || v > 1000)
    throw new UsageError(`config: store.mergeSelectorBase must be a number from 1 to 1000 or null`);
  return v;
}

/** Analytics thresholds from the config file's 'analytics' section, checked against the defaults. */
export function analyticsFrom(file: HopwatchConfigFile): Partial<AnalyticsConfig> {
  const a = (file.analytics ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    if (!(k in ANALYTICS_DEFAULTS)) {
      throw new UsageError(
        `config: unknown analytics setting '${k}' (known: ${Object.keys(ANALYTICS_DEFAULTS).join(', ')})`,
      );
    }
    const def = (ANALYTICS_DEFAULTS as unknown as Record<string, unknown>)[k];
    if (typeof def !== typeof v)
      throw new UsageError(`config: analytics.${k} must be a ${typeof def}`);
    out[k] = v;
  }
  return out as Partial<AnalyticsConfig>;
}
