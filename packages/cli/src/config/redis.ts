/** The 'redis' section (analyze): where checkpoints, de-duplication and live state go. */
import { UsageError } from '../errors';
import { checkKeys, optString, type Section } from './check';

export interface RedisSettings {
  /** redis://host:port (absent: no checkpoints, de-duplication or live state). */
  url?: string;
}

export const REDIS_DEFAULTS: Readonly<RedisSettings> = Object.freeze({});
export const REDIS_KEYS = ['url'] as const;

export function checkRedisUrl(name: string, url: string): string {
  if (!/^rediss?:\/\/[^\s/]+/.test(url))
    throw new UsageError(`${name}: '${url}' is not a redis://HOST:PORT URL`);
  return url;
}

export function redisConfig(s: Section): RedisSettings {
  checkKeys('redis', s, REDIS_KEYS);
  const url = optString('redis', s, 'url');
  return url === undefined ? {} : { url: checkRedisUrl('config: redis.url', url) };
}
