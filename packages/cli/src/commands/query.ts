/**
 * `hopwatch query "SQL"` or `hopwatch query --named NAME [--param k=v]...`: ask the store
 * (embedded by default, or a ClickHouse server with --store-url) and print a table, JSON or CSV.
 */
import { NAMED_QUERIES } from '@hopwatch/store';
import { parseCommand } from '../command';
import { EXIT, UsageError } from '../errors';
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
  --format table|json|csv   output format (default table)
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
  const format = (values.format ?? 'table') as 'table' | 'json' | 'csv';
  if (!['table', 'json', 'csv'].includes(format))
    throw new UsageError(`--format must be table, json or csv`);
  if (!values.named && positionals.length !== 1)
    throw new UsageError('query: give one SQL statement in quotes, or --named NAME (see --help)');
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
    let result: unknown;
    try {
      result = values.named
        ? await store.named(values.named, params, format === 'json' ? 'json' : format)
        : await store.query(positionals[0], format === 'json' ? 'json' : format);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (format === 'json') {
      // one row per line, still one JSON array
      const rows = result as unknown[];
      process.stdout.write(
        rows.length ? `[\n${rows.map((r) => JSON.stringify(r)).join(',\n')}\n]\n` : '[]\n',
      );
    } else {
      process.stdout.write(String(result));
      if (!String(result).endsWith('\n')) process.stdout.write('\n');
    }
  } finally {
    await store.close();
  }
  return EXIT.OK;
}
