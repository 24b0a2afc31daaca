/**
 * The settings a request may carry as URL parameters, and the limits every query runs under.
 *
 * ClickHouse's HTTP interface takes any setting as a URL parameter. The endpoint takes the
 * resource limits (within caps: a request may lower them, or raise them up to the cap) and the
 * output-format settings clients send; any other setting is refused by name rather than
 * ignored, so a client never believes a setting applied when it did not.
 */
import { HopwatchError } from '@hopwatch/codec';
import type { ReadSettings } from '../read-session';

export interface Limit {
  /** Applied when the request does not set it. */
  default: number;
  /** The most a request may ask for. */
  max: number;
}

/** Per-query limits of the endpoint, enforced by the engine (see docs/security.md). */
export interface LimitPolicy {
  /** Seconds a query may run (`max_execution_time`). */
  max_execution_time: Limit;
  /** Bytes of memory a query may use (`max_memory_usage`). */
  max_memory_usage: Limit;
  /** Bytes of result (`max_result_bytes`; the response is built in memory). */
  max_result_bytes: Limit;
  /** Rows of result (`max_result_rows`; 0 = only max_result_bytes counts). */
  max_result_rows: Limit;
  /** Threads per query (`max_threads`): the pipeline shares the machine. */
  max_threads: Limit;
}

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: LimitPolicy = Object.freeze({
  max_execution_time: { default: 30, max: 300 },
  max_memory_usage: { default: 1 * GiB, max: 4 * GiB },
  max_result_bytes: { default: 256 * MiB, max: 1 * GiB },
  max_result_rows: { default: 0, max: 0 },
  max_threads: { default: 2, max: 4 },
});

/** Output settings a request may set: names and accepted values. */
const OUTPUT_SETTINGS: Readonly<Record<string, 'bool' | 'uint' | readonly string[]>> = {
  output_format_json_quote_64bit_integers: 'bool',
  output_format_json_quote_64bit_floats: 'bool',
  output_format_json_quote_denormals: 'bool',
  output_format_json_quote_decimals: 'bool',
  output_format_json_named_tuples_as_objects: 'bool',
  output_format_json_array_of_rows: 'bool',
  output_format_write_statistics: 'bool',
  output_format_decimal_trailing_zeros: 'bool',
  output_format_csv_crlf_end_of_line: 'bool',
  output_format_tsv_crlf_end_of_line: 'bool',
  output_format_pretty_color: ['0', '1', 'auto'],
  output_format_pretty_max_rows: 'uint',
  output_format_pretty_row_numbers: 'bool',
  date_time_output_format: ['simple', 'iso', 'unix_timestamp'],
  extremes: 'bool',
  join_use_nulls: 'bool',
  max_block_size: 'uint',
};

/** URL parameters of the HTTP protocol itself: accepted and not engine settings. */
const PROTOCOL_PARAMS = new Set([
  'query',
  'database',
  'default_format',
  'user',
  'password',
  'query_id',
  'session_id',
  'session_timeout',
  'session_check',
  'compress',
  'decompress',
  'enable_http_compression',
  'http_zlib_compression_level',
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'buffer_size',
  'add_http_cors_header',
  'cancel_http_readonly_queries_on_client_close',
  'result_overflow_mode',
  'readonly',
]);

/** A request the endpoint will not run, with the ClickHouse code and type it answers with. */
export class RequestRefusal extends HopwatchError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: number,
    readonly type: string,
  ) {
    super(message);
    this.name = 'RequestRefusal';
  }
}

export interface RequestSettings {
  settings: ReadSettings;
  /** `param_<name>` values, for `{name:Type}` placeholders. */
  params: Record<string, string>;
}

const UINT = /^\d{1,19}$/;

/** The settings and query parameters of a request's URL, checked against `limits`. */
export function requestSettings(url: URLSearchParams, limits: LimitPolicy): RequestSettings {
  // ClickHouse's documented default (chDB's differs): 64-bit integers as JSON strings, so
  // that no JSON reader rounds them; a request may turn it off
  const settings: Record<string, number | string> = { output_format_json_quote_64bit_integers: 1 };
  for (const [name, l] of Object.entries(limits) as [keyof LimitPolicy, Limit][])
    settings[name] = l.default;
  const params: Record<string, string> = {};
  for (const [name, value] of url) {
    if (name.startsWith('param_') && name.length > 6) {
      params[name.slice(6)] = value;
      continue;
    }
    if (name === 'readonly') {
      if (value !== '1' && value !== '2')
        throw new RequestRefusal(
          `Cannot modify 'readonly' setting in readonly mode: the endpoint is read-only`,
          403,
          164,
          'READONLY',
        );
      continue;
    }
    if (name === 'result_overflow_mode') {
      if (value !== 'throw' && value !== 'break') throw badValue(name, value, 'throw or break');
      settings[name] = value;
      continue;
    }
    if (PROTOCOL_PARAMS.has(name)) continue;
    const limit = (limits as unknown as Record<string, Limit | undefined>)[name];
    if (limit && Object.prototype.hasOwnProperty.call(limits, name)) {
      if (!UINT.test(value)) throw badValue(name, value, 'a whole number');
      const n = Number(value);
      // 0 means "no limit" to the engine: only where the cap is no limit either
      if ((n === 0 && limit.max !== 0) || (limit.max !== 0 && n > limit.max))
        throw new RequestRefusal(
          `Setting ${name} should be between 1 and ${limit.max} on this endpoint, not ${value}`,
          400,
          452,
          'SETTING_CONSTRAINT_VIOLATION',
        );
      settings[name] = n;
      continue;
    }
    const kind = Object.prototype.hasOwnProperty.call(OUTPUT_SETTINGS, name)
      ? OUTPUT_SETTINGS[name]
      : undefined;
    if (kind === undefined)
      throw new RequestRefusal(
        `Setting ${name} is not accepted on the read-only endpoint (accepted: ${[...Object.keys(limits), 'result_overflow_mode', ...Object.keys(OUTPUT_SETTINGS)].join(', ')}, param_<name>)`,
        400,
        115,
        'UNKNOWN_SETTING',
      );
    if (kind === 'bool') {
      if (value !== '0' && value !== '1' && value !== 'true' && value !== 'false')
        throw badValue(name, value, '0 or 1');
      settings[name] = value === '1' || value === 'true' ? 1 : 0;
    } else if (kind === 'uint') {
      if (!UINT.test(value) || Number(value) > 1_000_000_000)
        throw badValue(name, value, 'a whole number up to 1000000000');
      settings[name] = Number(value);
    } else {
      if (!kind.includes(value)) throw badValue(name, value, kind.join(', '));
      settings[name] = value;
    }
  }
  return { settings, params };
}

function badValue(name: string, value: string, expected: string): RequestRefusal {
  return new RequestRefusal(
    `Setting ${name}: ${JSON.stringify(value.slice(0, 64))} is not ${expected}`,
    400,
    452,
    'SETTING_CONSTRAINT_VIOLATION',
  );
}

/** `limits` with `overrides` applied and checked (defaults within caps, numbers). */
export function limitPolicy(
  overrides: Partial<Record<keyof LimitPolicy, Partial<Limit>>> = {},
): LimitPolicy {
  const out = {} as Record<keyof LimitPolicy, Limit>;
  for (const [k, o] of Object.entries(overrides)) {
    if (!(k in DEFAULT_LIMITS))
      throw new Error(`unknown limit '${k}' (known: ${Object.keys(DEFAULT_LIMITS).join(', ')})`);
    if (o === null || typeof o !== 'object' || Array.isArray(o))
      throw new Error(`limit ${k}: expected {default, max}`);
    for (const f of Object.keys(o))
      if (f !== 'default' && f !== 'max')
        throw new Error(`limit ${k}: unknown field '${f}' (known: default, max)`);
  }
  for (const k of Object.keys(DEFAULT_LIMITS) as (keyof LimitPolicy)[]) {
    const l = { ...DEFAULT_LIMITS[k], ...(overrides[k] ?? {}) };
    for (const v of [l.default, l.max])
      if (!Number.isSafeInteger(v) || v < 0)
        throw new Error(`limit ${k}: ${v} is not a non-negative whole number`);
    if (l.max !== 0 && (l.default === 0 || l.default > l.max))
      throw new Error(`limit ${k}: default ${l.default} is not within 1..${l.max}`);
    out[k] = l;
  }
  return out;
}
