/**
 * Users of hopwatch's HTTP endpoints (the query endpoint of `serve`, the metrics endpoints).
 *
 * Credentials come the ways ClickHouse's HTTP interface takes them, so clients need no change:
 * `X-ClickHouse-User` / `X-ClickHouse-Key` headers, HTTP basic auth, or `user` / `password` URL
 * parameters (one way per request). Passwords are never stored in the clear in memory or in
 * config: a user has a SHA-256 of the password (`password_sha256_hex`, as in ClickHouse's
 * users.xml) or names a file or an environment variable holding it; comparison is in constant
 * time. With no users configured, only the anonymous `default` user with an empty password is
 * accepted; every user is read-only either way (the engine enforces it, see read-session.ts).
 */
import { createHash, timingSafeEqual } from 'crypto';
import { readFileSync } from 'fs';
import type { IncomingMessage } from 'http';

export interface UserSpec {
  password_sha256_hex?: string;
  password_file?: string;
  password_env?: string;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class Users {
  private constructor(private readonly digests: ReadonlyMap<string, Buffer>) {}

  /** No users: the anonymous `default` user only. */
  static anonymous(): Users {
    return new Users(new Map());
  }

  /**
   * From `{ name: { password_sha256_hex | password_file | password_env } }` (a config file's
   * section or a users file). Throws an Error naming what is wrong (the CLI makes it exit 2).
   */
  static fromConfig(spec: unknown, where = 'users'): Users {
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
      throw new Error(`${where}: expected a mapping of user name to password settings`);
    const out = new Map<string, Buffer>();
    for (const [name, raw] of Object.entries(spec as Record<string, unknown>)) {
      if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name))
        throw new Error(`${where}: user name ${JSON.stringify(name)} (letters, digits, _.@-)`);
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        throw new Error(`${where}.${name}: expected a mapping`);
      const u = raw as Record<string, unknown>;
      const keys = Object.keys(u);
      for (const k of keys)
        if (!['password_sha256_hex', 'password_file', 'password_env'].includes(k))
          throw new Error(
            `${where}.${name}: unknown setting '${k}' (known: password_sha256_hex, password_file, password_env)`,
          );
      if (keys.length !== 1)
        throw new Error(
          `${where}.${name}: give exactly one of password_sha256_hex, password_file, password_env`,
        );
      out.set(name, digestOf(u, `${where}.${name}`));
    }
    if (out.size === 0) throw new Error(`${where}: no users`);
    return new Users(out);
  }

  /** True when requests must carry the credentials of a configured user. */
  get required(): boolean {
    return this.digests.size > 0;
  }

  /** The user name when `user` / `password` are right, else null. */
  verify(user: string, password: string): string | null {
    if (!this.required)
      return (user === '' || user === 'default') && password === '' ? 'default' : null;
    const want = this.digests.get(user);
    const got = sha256(password);
    // compare even for an unknown user, so the time does not tell which names exist
    const ok = timingSafeEqual(want ?? sha256('\0unknown'), got);
    return ok && want !== undefined ? user : null;
  }
}

function digestOf(u: Record<string, unknown>, where: string): Buffer {
  if (u.password_sha256_hex !== undefined) {
    const h = u.password_sha256_hex;
    if (typeof h !== 'string' || !/^[0-9a-fA-F]{64}$/.test(h))
      throw new Error(`${where}.password_sha256_hex: expected 64 hex digits`);
    return Buffer.from(h, 'hex');
  }
  if (u.password_file !== undefined) {
    if (typeof u.password_file !== 'string') throw new Error(`${where}.password_file: a path`);
    let text: string;
    try {
      text = readFileSync(u.password_file, 'utf8');
    } catch (e) {
      throw new Error(
        `${where}.password_file: cannot read ${u.password_file}: ${(e as Error).message}`,
      );
    }
    const pw = text.replace(/\r?\n$/, '');
    if (!pw) throw new Error(`${where}.password_file: ${u.password_file} is empty`);
    return sha256(pw);
  }
  const env = u.password_env;
  if (typeof env !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env))
    throw new Error(`${where}.password_env: the name of an environment variable`);
  const pw = process.env[env];
  if (!pw) throw new Error(`${where}.password_env: ${env} is not set or empty`);
  return sha256(pw);
}

export type Credentials = { user: string; password: string };

/**
 * The credentials a request carries, null when none, or a string saying why they cannot be
 * read (two ways at once, a malformed header).
 */
export function requestCredentials(
  req: IncomingMessage,
  query: URLSearchParams | null,
): Credentials | null | string {
  const found: Credentials[] = [];
  const hUser = req.headers['x-clickhouse-user'];
  const hKey = req.headers['x-clickhouse-key'];
  if (hUser !== undefined || hKey !== undefined)
    found.push({ user: one(hUser), password: one(hKey) });
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Basic\s+([A-Za-z0-9+/=]*)\s*$/i.exec(auth);
    if (!m) return 'only HTTP basic authentication is supported';
    const text = Buffer.from(m[1], 'base64').toString('utf8');
    const i = text.indexOf(':');
    if (i < 0) return 'malformed basic authentication';
    found.push({ user: text.slice(0, i), password: text.slice(i + 1) });
  }
  if (query && (query.has('user') || query.has('password')))
    found.push({ user: query.get('user') ?? '', password: query.get('password') ?? '' });
  if (found.length > 1)
    return 'credentials given more than one way (headers, basic auth, URL): use one';
  return found[0] ?? null;
}

const one = (v: string | string[] | undefined): string => (Array.isArray(v) ? v[0] : (v ?? ''));

/** True for an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h) || /^::ffff:127\./i.test(h);
}
