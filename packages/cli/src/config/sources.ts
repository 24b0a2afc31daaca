/**
 * The 'sources' section (serve, ingest): UDP report sockets, sender allowlist, receive
 * buffer, live capture. The same checks apply to the flags that override it.
 */
import { Allowlist, parseListen, type ListenAddress } from '@hopwatch/pipeline';
import { UsageError } from '../errors';
import { checkKeys, optInt, optString, optStringList, type Section } from './check';

export interface SourcesSettings {
  /** HOST:PORT of each report socket (empty: the command's default). */
  listen: string[];
  /** CIDR prefixes allowed to send reports (empty: everyone). */
  allow: string[];
  /** SO_RCVBUF in bytes. */
  receiveBuffer: number;
  interface?: string;
  filter?: string;
}

export const SOURCES_DEFAULTS: Readonly<SourcesSettings> = Object.freeze({
  listen: [],
  allow: [],
  receiveBuffer: 32 * 1024 * 1024,
});

export const SOURCES_KEYS = ['listen', 'allow', 'receiveBuffer', 'interface', 'filter'] as const;

export const MAX_RECEIVE_BUFFER = 0x7fffffff;

/** Listen addresses, each HOST:PORT, [V6]:PORT or PORT with the port in 0..65535. */
export function parseListenList(name: string, specs: string[]): ListenAddress[] {
  return specs.map((spec) => {
    try {
      return parseListen(spec);
    } catch (e) {
      throw new UsageError(`${name}: ${(e as Error).message}`);
    }
  });
}

/** CIDR prefixes (IPv4 /0-32, IPv6 /0-128) or single addresses; returns them unchanged. */
export function checkAllowList(name: string, cidrs: string[]): string[] {
  for (const c of cidrs) {
    try {
      new Allowlist([c]);
    } catch {
      throw new UsageError(
        `${name}: '${c}' is not an IPv4 or IPv6 address or CIDR prefix (e.g. 10.0.0.0/8, fd00::/8)`,
      );
    }
  }
  return cidrs;
}

export function sourcesConfig(s: Section): SourcesSettings {
  checkKeys('sources', s, SOURCES_KEYS);
  const listen = optStringList('sources', s, 'listen') ?? [...SOURCES_DEFAULTS.listen];
  parseListenList('config: sources.listen', listen);
  const allow = checkAllowList(
    'config: sources.allow',
    optStringList('sources', s, 'allow') ?? [...SOURCES_DEFAULTS.allow],
  );
  return {
    listen,
    allow,
    receiveBuffer:
      optInt('sources', s, 'receiveBuffer', 1, MAX_RECEIVE_BUFFER) ??
      SOURCES_DEFAULTS.receiveBuffer,
    interface: optString('sources', s, 'interface'),
    filter: optString('sources', s, 'filter'),
  };
}
