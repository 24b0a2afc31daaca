/**
 * The query endpoint's settings, from serve's flags and the config file's `http` section:
 * where it listens, who may query, and the per-query limits (docs/security.md).
 */
import * as fs from 'fs';
import { parse } from 'yaml';
import { parseListen } from '@hopwatch/pipeline';
import { limitPolicy, Users, type LimitPolicy, type QueryEndpointOptions } from '@hopwatch/store';
import type { HopwatchConfigFile } from './config-file';
import { UsageError } from './errors';

const HTTP_KEYS = ['listen', 'users', 'usersFile', 'maxConcurrentQueries', 'limits'] as const;

export interface HttpValues {
  http?: string;
  'no-http'?: boolean;
  'http-users'?: string;
}

export interface HttpEndpointConfig {
  /** Where to listen; null = not asked for (serve may still default to 127.0.0.1:0). */
  listen: { host: string; port: number } | null;
  options: Pick<QueryEndpointOptions, 'users' | 'limits' | 'maxConcurrentQueries'>;
}

/** Reads a users file (YAML mapping of user name to password settings). */
export function loadUsersFile(file: string): Users {
  let doc: unknown;
  try {
    doc = parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read users file ${file}: ${(e as Error).message}`);
  }
  try {
    return Users.fromConfig(doc, `users file ${file}`);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function httpEndpointFrom(values: HttpValues, file: HopwatchConfigFile): HttpEndpointConfig {
  const sec = (file.http ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(sec))
    if (!(HTTP_KEYS as readonly string[]).includes(k))
      throw new UsageError(`config: unknown http setting '${k}' (known: ${HTTP_KEYS.join(', ')})`);
  if (values.http !== undefined && values['no-http'])
    throw new UsageError('--http and --no-http together');
  const listenSpec = values['no-http']
    ? undefined
    : (values.http ?? (typeof sec.listen === 'string' ? sec.listen : undefined));
  if (sec.listen !== undefined && typeof sec.listen !== 'string')
    throw new UsageError('config: http.listen must be HOST:PORT');
  let listen: HttpEndpointConfig['listen'] = null;
  if (listenSpec !== undefined) {
    try {
      listen = parseListen(listenSpec);
    } catch (e) {
      throw new UsageError(`--http: ${(e as Error).message}`);
    }
  }
  let users: Users | undefined;
  const usersFile =
    values['http-users'] ?? (typeof sec.usersFile === 'string' ? sec.usersFile : undefined);
  if (sec.usersFile !== undefined && typeof sec.usersFile !== 'string')
    throw new UsageError('config: http.usersFile must be a path');
  if (usersFile !== undefined && sec.users !== undefined)
    throw new UsageError(
      'http users: give a users file or the config section http.users, not both',
    );
  if (usersFile !== undefined) users = loadUsersFile(usersFile);
  else if (sec.users !== undefined) {
    try {
      users = Users.fromConfig(sec.users, 'config: http.users');
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const mcq = sec.maxConcurrentQueries;
  if (
    mcq !== undefined &&
    !(Number.isInteger(mcq) && (mcq as number) >= 1 && (mcq as number) <= 64)
  )
    throw new UsageError('config: http.maxConcurrentQueries must be a whole number from 1 to 64');
  let limits: LimitPolicy | undefined;
  if (sec.limits !== undefined) {
    if (sec.limits === null || typeof sec.limits !== 'object' || Array.isArray(sec.limits))
      throw new UsageError('config: http.limits must be a mapping (setting: {default, max})');
    try {
      limits = limitPolicy(sec.limits as Parameters<typeof limitPolicy>[0]);
    } catch (e) {
      throw new UsageError(`config: http.limits: ${(e as Error).message}`);
    }
  }
  return {
    listen,
    options: { users, limits, maxConcurrentQueries: mcq as number | undefined },
  };
}
