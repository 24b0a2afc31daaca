/**
 * Checks for config file sections: every setting is known and has the expected type and
 * range, or the error names the setting and what was expected. Used by the section modules.
 */
import { UsageError } from '../errors';

export type Section = Record<string, unknown>;

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v));
}

/** A section's value as a mapping (null or absent = empty). */
export function sectionOf(name: string, v: unknown): Section {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw new UsageError(`config: section '${name}' must be a mapping`);
  return v as Section;
}

export function checkKeys(section: string, s: Section, known: readonly string[]): void {
  for (const k of Object.keys(s))
    if (!known.includes(k))
      throw new UsageError(
        `config: unknown setting '${section}.${k}' (known in ${section}: ${known.join(', ')})`,
      );
}

export function wrongType(key: string, expected: string, got: unknown): UsageError {
  return new UsageError(`config: ${key} must be ${expected}, got ${show(got)}`);
}

export function optString(section: string, s: Section, key: string): string | undefined {
  const v = s[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw wrongType(`${section}.${key}`, 'a string', v);
  return v;
}

export function optInt(
  section: string,
  s: Section,
  key: string,
  min: number,
  max: number,
): number | undefined {
  const v = s[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw wrongType(`${section}.${key}`, `an integer in ${min}..${max}`, v);
  return v;
}

/** A list of strings; a single string is a one-element list (or a comma-separated one). */
export function optStringList(section: string, s: Section, key: string): string[] | undefined {
  const v = s[key];
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? v.split(',').map((x) => x.trim()) : v;
  if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || x === ''))
    throw wrongType(`${section}.${key}`, 'a list of strings', v);
  return list as string[];
}
