/**
 * The query endpoint's settings, from serve's flags over the config file's `http` section
 * (checked in config/http.ts): where it listens, who may query, the per-query limits.
 */
import * as fs from 'fs';
import { parse } from 'yaml';
import { parseListen } from '@hopwatch/pipeline';
import { Users, type QueryEndpointOptions } from '@hopwatch/store';
import type { HopwatchConfig } from './config-file';
import { UsageError } from './errors';

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
    throw new UsageError(`cannot read users file ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    return Users.fromConfig(doc, `users file ${file}`);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function httpEndpointFrom(values: HttpValues, config: HopwatchConfig): HttpEndpointConfig {
  const sec = config.http;
  if (values.http !== undefined && values['no-http'])
    throw new UsageError('--http and --no-http together');
  const spec = values['no-http'] ? undefined : (values.http ?? sec.listen);
  let listen: HttpEndpointConfig['listen'] = null;
  if (spec !== undefined) {
    try {
      listen = parseListen(spec);
    } catch (e) {
      throw new UsageError(`--http: ${(e as Error).message}`);
    }
  }
  const file = values['http-users'] ?? sec.usersFile;
  const users = file !== undefined ? loadUsersFile(file) : sec.users;
  return {
    listen,
    options: { users, limits: sec.limits, maxConcurrentQueries: sec.maxConcurrentQueries },
  };
}
