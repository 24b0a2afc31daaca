/**
 * `hopwatch query` output: a result (columns with engine types, rows) as an aligned table,
 * JSON, JSON lines, CSV or TSV, with the values shown as a network engineer wrote them:
 * IPv4-mapped IPv6 addresses (`::ffff:10.0.2.5`, how the store keeps IPv4) as dotted IPv4,
 * UTC DateTime/DateTime64 values as RFC 3339, and next to each integer ns time column
 * (`start_ns`, `first_seen_ns`, `time_ns`, …) its RFC 3339 text (`start_time`, `first_seen_time`,
 * `time_rfc3339`, …) unless the result has a column of that name already.
 */
import { nsToRfc3339 } from '@hopwatch/codec';
import type { QueryResult, Row } from '@hopwatch/store';

export const OUTPUT_FORMATS = ['table', 'json', 'jsonl', 'csv', 'tsv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const MAPPED_V4 = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;
/** Integer ns since the epoch, by name: a duration such as `e2e_mean_ns` does not match. */
const NS_TIME_NAME = /(^|_)(time|start|end|first|last|seen)_ns$/;
const INTEGER_TYPE = /^(Nullable\()?U?Int(32|64|128|256)\)?$/;
/** UTC DateTime / DateTime64 as the engine's JSON writes them: `2026-01-01 00:00:00.000605827`. */
const UTC_TIME_TYPE = /^(Nullable\()?DateTime(64\(\d+, ?'UTC'\)|\('UTC'\))\)?$/;
const ENGINE_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(\.\d+)?)$/;

const unmapAddresses = (v: unknown): unknown =>
  typeof v === 'string'
    ? (MAPPED_V4.exec(v)?.[1] ?? v)
    : Array.isArray(v)
      ? v.map(unmapAddresses)
      : v;

function rfc3339OfEngineTime(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const m = ENGINE_TIME.exec(v);
  return m ? `${m[1]}T${m[2]}Z` : v;
}

function rfc3339OfNs(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  try {
    return nsToRfc3339(BigInt(v as string | number));
  } catch {
    return null; // not an integer (or out of range): no companion value
  }
}

/** The result with the display conversions above applied (a new meta and new rows). */
export function forDisplay(r: QueryResult): QueryResult {
  const names = new Set(r.meta.map((m) => m.name));
  type Col = { name: string; type: string; value: (row: Row) => unknown };
  const cols: Col[] = [];
  for (const { name, type } of r.meta) {
    const utc = UTC_TIME_TYPE.test(type);
    cols.push({
      name,
      type,
      value: utc ? (row) => rfc3339OfEngineTime(row[name]) : (row) => unmapAddresses(row[name]),
    });
    // start_ns → start_time, time_ns → time_rfc3339
    const base = name.slice(0, -3);
    const companion = /(^|_)time$/.test(base) ? `${base}_rfc3339` : `${base}_time`;
    if (NS_TIME_NAME.test(name) && INTEGER_TYPE.test(type) && !names.has(companion)) {
      cols.push({ name: companion, type: 'String', value: (row) => rfc3339OfNs(row[name]) });
    }
  }
  return {
    meta: cols.map(({ name, type }) => ({ name, type })),
    data: r.data.map((row) => Object.fromEntries(cols.map((c) => [c.name, c.value(row)]))),
  };
}

const text = (v: unknown): string =>
  typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);

/** RFC 4180 fields (a comma, quote or line break: quoted, quotes doubled; NULL empty), lines end in \n. */
function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = text(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** ClickHouse's TabSeparated escaping (backslash, tab, line breaks); NULL is \N. */
function tsvField(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  return text(v).replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

function table(r: QueryResult): string {
  const names = r.meta.map((m) => m.name);
  const cells = r.data.map((row) => names.map((n) => (row[n] === null ? 'NULL' : text(row[n]))));
  const widths = names.map((n, i) => Math.max(n.length, ...cells.map((c) => c[i].length)));
  const line = (vals: string[]): string =>
    vals
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return (
    [line(names), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n'
  );
}

/** The whole output of `hopwatch query --format F` for a result (conversions applied). */
export function renderResult(result: QueryResult, format: OutputFormat): string {
  const r = forDisplay(result);
  const names = r.meta.map((m) => m.name);
  switch (format) {
    case 'table':
      return table(r);
    case 'json':
      // one row per line, still one JSON array
      return r.data.length
        ? `[\n${r.data.map((row) => JSON.stringify(row)).join(',\n')}\n]\n`
        : '[]\n';
    case 'jsonl':
      return r.data.map((row) => JSON.stringify(row) + '\n').join('');
    case 'csv':
      return [names, ...r.data.map((row) => names.map((n) => row[n]))]
        .map((vals) => vals.map(csvField).join(',') + '\n')
        .join('');
    case 'tsv':
      return [names, ...r.data.map((row) => names.map((n) => row[n]))]
        .map((vals) => vals.map(tsvField).join('\t') + '\n')
        .join('');
  }
}
