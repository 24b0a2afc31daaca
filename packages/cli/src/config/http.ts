/**
 * The 'http' section (serve): the read-only query endpoint's address, users and per-query
 * limits (docs/security.md). Users are read (files, environment) when the file is loaded, so a
 * mistake is reported at start-up, never at the first query.
 */
import { limitPolicy, Users, type LimitPolicy } from '@hopwatch/store';
import { UsageError } from '../errors';
import { checkKeys, optInt, optString, wrongType, type Section } from './check';

export interface HttpSettings {
  /** HOST:PORT, like --http. */
  listen?: string;
  /** From `users` (inline) or `usersFile`; absent = the anonymous default user only. */
  users?: Users;
  /** The file the users came from, if they came from one. */
  usersFile?: string;
  maxConcurrentQueries?: number;
  limits?: LimitPolicy;
}

export const HTTP_DEFAULTS: Readonly<HttpSettings> = Object.freeze({});
export const HTTP_KEYS = [
  'listen',
  'users',
  'usersFile',
  'maxConcurrentQueries',
  'limits',
] as const;

export function httpConfig(s: Section): HttpSettings {
  checkKeys('http', s, HTTP_KEYS);
  const out: HttpSettings = {};
  out.listen = optString('http', s, 'listen');
  out.usersFile = optString('http', s, 'usersFile');
  if (out.usersFile !== undefined && s.users !== undefined && s.users !== null)
    throw new UsageError('config: give http.users or http.usersFile, not both');
  if (s.users !== undefined && s.users !== null) {
    try {
      out.users = Users.fromConfig(s.users, 'config: http.users');
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  out.maxConcurrentQueries = optInt('http', s, 'maxConcurrentQueries', 1, 64);
  if (s.limits !== undefined && s.limits !== null) {
    if (typeof s.limits !== 'object' || Array.isArray(s.limits))
      throw wrongType('http.limits', 'a mapping (setting: {default, max})', s.limits);
    try {
      out.limits = limitPolicy(s.limits as Parameters<typeof limitPolicy>[0]);
    } catch (e) {
      throw new UsageError(`config: http.limits: ${(e as Error).message}`);
    }
  }
  for (const k of Object.keys(out) as (keyof HttpSettings)[])
    if (out[k] === undefined) delete out[k];
  return out;
}
