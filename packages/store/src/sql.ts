/**
 * Safe SQL literal formatting. ClickHouse 18.16 has no query parameters, so every value that
 * reaches SQL goes through one of these validators and is rendered as a literal.
 */
import { isIP } from 'net';
import { HopwatchError, type HopwatchErrorOptions } from '@hopwatch/codec';

export class ParamError extends HopwatchError {
  constructor(message: string, opts?: HopwatchErrorOptions) {
    super(message, opts);
    this.name = 'ParamError';
  }
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A database / table identifier (whitelisted characters, back-quoted). */
export function ident(name: string): string {
  if (typeof name !== 'string' || !IDENT.test(name))
    throw new ParamError(`invalid identifier: ${String(name)}`);
  return '`' + name + '`';
}

/** A string literal with ClickHouse escaping. */
export function str(value: string): string {
  if (typeof value !== 'string') throw new ParamError(`expected a string, got ${typeof value}`);
  return (
    "'" +
    value
      .replace(/\\/g, '\\\\')
      .replace(/'/g, "\\'")
      .replace(/\n/g, '\\n')
      .replace(/\r/g, '\\r')
      .replace(/\0/g, '\\0') +
    "'"
  );
}

/** A non-negative integer (number, bigint or decimal string) below 2^64, rendered as digits. */
export function uint(value: unknown, name = 'value', max: bigint = (1n << 64n) - 1n): string {
  let v: bigint;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
  else if (typeof value === 'string' && /^\d{1,20}$/.test(value.trim())) v = BigInt(value.trim());
  else
    throw new ParamError(
      `${name}: expected a non-negative integer, got ${JSON.stringify(String(value))}`,
    );
  if (v < 0n || v > max) throw new ParamError(`${name}: ${v} out of range 0..${max}`);
  return v.toString();
}

export const U8 = 0xffn;
export const U16 = 0xffffn;
export const U32 = 0xffffffffn;

/** A number (finite float) literal. */
export function num(value: unknown, name = 'value'): string {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n))
    throw new ParamError(`${name}: expected a number`);
  return String(n);
}

/**
 * A time as ns since the epoch: bigint / integer number / digit string (ns), a Date, or an
 * ISO-8601 string. Returns the ns as a bigint.
 */
export function timeNs(value: unknown, name = 'time'): bigint {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isFinite(ms)) throw new ParamError(`${name}: invalid Date`);
    return BigInt(ms) * 1_000_000n;
  }
  if (
    typeof value === 'bigint' ||
    typeof value === 'number' ||
    (typeof value === 'string' && /^\d+$/.test(value.trim()))
  ) {
    return BigInt(uint(value, name));
  }
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (Number.isFinite(ms) && ms >= 0) return BigInt(ms) * 1_000_000n;
  }
  throw new ParamError(`${name}: expected ns since the epoch, a Date or an ISO-8601 string`);
}

/** Normalises an IPv4 / IPv6 address to the IPv6 text form stored (IPv4-mapped for v4). */
export function normAddr(value: unknown, name = 'address'): string {
  if (typeof value !== 'string') throw new ParamError(`${name}: expected an IP address string`);
  const s = value.trim();
  const kind = isIP(s);
  if (kind === 4) return '::ffff:' + s;
  if (kind === 6) return s.toLowerCase();
  throw new ParamError(`${name}: not an IP address: ${JSON.stringify(s)}`);
}

/**
 * An address literal comparable with the src_addr / dst_addr columns: an IPv6 value where the
 * columns are of the IPv6 type (a FixedString constant there is parsed as text when the
 * column is in the sorting key, and fails), the 16 bytes on 18.16 (FixedString(16) columns).
 */
export function addr(value: unknown, name = 'address', ipv6Type = false): string {
  const text = str(normAddr(value, name));
  return ipv6Type ? `toIPv6(${text})` : `IPv6StringToNum(${text})`;
}
