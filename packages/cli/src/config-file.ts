/**
 * The hopwatch config file (YAML): one file for codec profile and markers, sources,
 * analytics thresholds and store. Command-line flags override it. See docs/configuration.md.
 */
import * as fs from 'fs';
import { parse } from 'yaml';
import { UsageError } from './errors';

export interface HopwatchConfigFile {
  codec?: Record<string, unknown>;
  sources?: Record<string, unknown>;
  analytics?: Record<string, unknown>;
  store?: Record<string, unknown>;
  kafka?: Record<string, unknown>;
  redis?: Record<string, unknown>;
  http?: Record<string, unknown>;
}

const SECTIONS = new Set(['codec', 'sources', 'analytics', 'store', 'kafka', 'redis', 'http']);

export function loadConfigFile(path: string | undefined): HopwatchConfigFile {
  if (!path) return {};
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new UsageError(`config file ${path} is not valid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new UsageError(`config file ${path}: expected a mapping at the top level`);
  for (const k of Object.keys(doc)) {
    if (!SECTIONS.has(k))
      throw new UsageError(
        `config file ${path}: unknown section '${k}' (known: ${[...SECTIONS].join(', ')})`,
      );
    const v = (doc as Record<string, unknown>)[k];
    if (v !== null && (typeof v !== 'object' || Array.isArray(v)))
      throw new UsageError(`config file ${path}: section '${k}' must be a mapping`);
  }
  return doc as HopwatchConfigFile;
}
