/**
 * `hopwatch query "SQL"` or `hopwatch query --named NAME [--param k=v]...`: ask the store
 * (embedded by default, or a ClickHouse server with --store-url) and print a table, JSON,
 * JSON lines, CSV or TSV (query-output.ts), or, for SQL that ends in its own FORMAT clause,
 * the engine's output for it, untouched.
 */
import { buildNamedQuery, formatClauseOf, NAMED_QUERIES } from '@hopwatch/store';
import { parseCommand } from '../command';
import { EXIT, UsageError } from '../errors';
import { OUTPUT_FORMATS, renderResult, type OutputFormat } from '../query-output';
import { storeFrom } from '../runtime-options';

function namedHelp(): string {
  return Object.entries(NAMED_QUERIES)
    .map(([name, q]) => {
      const params = Object.entries(q.params)
        .map(([p, s]) => `      ${p}${s.required ? ' (required)' : ''}: ${s.description}`)
        .join('\n');
      return `  ${name}: ${q.description}${params ? '\n' + params : ''}`;
    })
    .join('\n');
}

export const QUERY_HELP = `Usage: hopwatch query [options] "SQL"
       hopwatch query [options] --named NAME [--param KEY=VALUE]...

Runs SQL against the hopwatch store (tables hops, paths, anomalies, hop_rollup_1m, view
hop_latency_1m; see docs/schema.md), or one of the named queries.

Options:
  --format F                table (default), json (one array), jsonl (one object per line),
                            csv or tsv (with a header line); IPv4 addresses dotted, times
                            RFC 3339, and beside each ns time column (start_ns, time_ns, ...)
                            its RFC 3339 text (start_time, ...). SQL that ends in a ClickHouse
                            FORMAT clause (FORMAT Pretty, FORMAT JSONEachRow, ...) is run as
                            written and the engine's output printed untouched
  --named NAME              a named query (below)
  --param KEY=VALUE         a parameter of the named query (times: ns since epoch or ISO 8601)
  --data-dir DIR            embedded store directory (default .hopwatch/data)
  --store-url URL           a ClickHouse server instead of the embedded store
  --config FILE             YAML config file (section store)

Named queries:
${namedHelp()}`;

export async function query(argv: string[]): Promise<number> {
  const cmd = parseCommand(argv, {
    help: QUERY_HELP,
    positionals: true,
    options: {
      format: { type: 'string' },
      named: { type: 'string' },
      param: { type: 'string', multiple: true },
      'data-dir': { type: 'string' },
      'store-url': { type: 'string' },
    },
  });
  if (!cmd) return EXIT.OK;
  const { values, positionals } = cmd;
  const format = (values.format ?? 'table') as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format))
    throw new UsageError('--format must be table, json, jsonl, csv or tsv');
  if (!values.named && positionals.length !== 1)
    throw new UsageError('query: give one SQL statement in quotes, or --named NAME (see --help)');
  if (values.named && positionals.length)
    throw new UsageError('query: give either SQL or --named NAME, not both');
  const own = values.named ? null : formatClauseOf(positionals[0]);
  if (own && values.format !== undefined)
    throw new UsageError(
      `query: the SQL chooses its output (FORMAT ${own}); drop --format ${values.format} or the FORMAT clause`,
    );
  if (values.named && !(values.named in NAMED_QUERIES)) {
    throw new UsageError(
      `unknown named query '${values.named}' (known: ${Object.keys(NAMED_QUERIES).join(', ')})`,
    );
  }
  const params: Record<string, string> = {};
  for (const p of values.param ?? []) {
    const i = p.indexOf('=');
    if (i <= 0) throw new UsageError(`--param '${p}' must be KEY=VALUE`);
    params[p.slice(0, i)] = p.slice(i + 1);
  }
  // read-only on a server URL: no DDL, so it also works on the --http endpoint of a running serve
  const store = await storeFrom(values, cmd.config, { readOnly: true });
  if (!store) throw new UsageError('query needs a store');
  try {
    let out: string | Buffer;
    try {
      if (own) out = await store.queryRaw(positionals[0]);
      else {
        const sql = values.named
          ? buildNamedQuery(values.named, params, store.capabilities.ipv6Type)
          : positionals[0];
        out = renderResult(await store.queryResult(sql), format);
      }
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    process.stdout.write(out);
  } finally {
    await store.close();
  }
  return EXIT.OK;
}
