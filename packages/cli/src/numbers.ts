import { UsageError } from './errors';

/** Parses a decimal or 0x-prefixed hexadecimal integer within [min, max]. */
export function parseIntArg(name: string, text: string, min: number, max: number): number {
  const t = text.trim();
  const v = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? parseInt(t, 10) : NaN;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new UsageError(`${name}: '${text}' is not an integer in ${min}..${max}`);
  }
  return v;
}

/** A list option given as repeated flags and/or comma-separated values. */
export function parseIntList(
  name: string,
  values: string[] | undefined,
  min: number,
  max: number,
): number[] | undefined {
  if (!values || values.length === 0) return undefined;
  return values
    .flatMap((v) => v.split(','))
    .filter((v) => v !== '')
    .map((v) => parseIntArg(name, v, min, max));
}

/** Parses a decimal number (fractions allowed) within [min, max]. */
export function parseNumberArg(name: string, text: string, min: number, max: number): number {
  const t = text.trim();
  const v = /^\d+(\.\d+)?$/.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new UsageError(`${name}: '${text}' is not a number in ${min}..${max}`);
  }
  return v;
}
