/**
 * What a statement on the read-only endpoint may be, judged on the engine's own parse of it.
 *
 * The engine parses twice, in the request's read-only session: `formatQuery()` turns the text
 * (given as a bound parameter, never spliced into SQL) into its canonical form, refusing
 * multi-statements and syntax errors, and `EXPLAIN AST` of that canonical text gives the tree
 * judged here. The canonical text is what then runs, so what was judged is what runs; comments,
 * quoting and casing are gone by then, and string literals are only ever Literal nodes.
 *
 * Beside this, the session itself is `readonly = 1`: the engine refuses writes, DDL, setting
 * changes and most table functions whatever the guard says. The guard adds what readonly does
 * not cover in chDB: `INTO OUTFILE` (written by the embedded client), the scalar `file()`
 * function, and table functions readonly lets through.
 */

/** One node of `EXPLAIN AST` output: its type (first word) and the rest of its line. */
export interface AstNode {
  type: string;
  /** The words after the type, e.g. a function's name. */
  text: string;
  children: AstNode[];
}

/** Builds the tree from `EXPLAIN AST` lines (one node per line, one space of indent per level). */
export function parseExplainAst(lines: readonly string[]): AstNode {
  const root: AstNode = { type: '', text: '', children: [] };
  const stack: { depth: number; node: AstNode }[] = [{ depth: -1, node: root }];
  for (const line of lines) {
    if (!line.trim()) continue;
    const depth = line.length - line.trimStart().length;
    const body = line.trim();
    const sp = body.indexOf(' ');
    const node: AstNode = {
      type: sp < 0 ? body : body.slice(0, sp),
      text: sp < 0 ? '' : body.slice(sp + 1).replace(/\s*\(children \d+\)$/, ''),
      children: [],
    };
    while (stack.length > 1 && stack[stack.length - 1].depth >= depth) stack.pop();
    stack[stack.length - 1].node.children.push(node);
    stack.push({ depth, node });
  }
  if (root.children.length !== 1) throw new Error('EXPLAIN AST gave no single statement');
  return root.children[0];
}

/** Table functions that compute or read hopwatch's own tables: nothing outside the engine. */
export const ALLOWED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set([
  'numbers',
  'numbers_mt',
  'zeros',
  'zeros_mt',
  'generate_series',
  'generateseries',
  'primes',
  'values',
  'view',
  'viewifpermitted',
  'merge',
  'null',
  'format',
  'generaterandom',
]);

/** Scalar functions that reach outside the engine's tables (besides table-function names). */
const DENIED_FUNCTIONS: ReadonlySet<string> = new Set(['file', 'catboostevaluate']);

const SELECT_ROOTS = new Set(['SelectWithUnionQuery', 'SelectIntersectExceptQuery']);
const OTHER_READ_ROOTS = new Set([
  'ShowTables',
  'ShowColumns',
  'ShowCreateTableQuery',
  'ShowProcesslistQuery',
  'DescribeQuery',
  'ExistsTableQuery',
  'ExistsDatabaseQuery',
  'ExistsViewQuery',
  'ExistsDictionaryQuery',
]);

export const READ_ONLY_PROMISE = 'only SELECT, WITH, SHOW, DESCRIBE, EXISTS and EXPLAIN';

/**
 * Why the statement with this tree may not run on the endpoint, or null when it may.
 * `tableFunctions`: the engine's table function names, lower-cased (system.table_functions):
 * a function of such a name is refused wherever it stands (FROM, JOIN, IN, DESCRIBE …) unless
 * it is one of ALLOWED_TABLE_FUNCTIONS.
 */
export function judge(root: AstNode, tableFunctions: ReadonlySet<string>): string | null {
  return judgeStatement(root) ?? judgeFunctions(root, tableFunctions);
}

function judgeStatement(node: AstNode): string | null {
  if (node.type === 'Explain') {
    const queries = node.children.filter((c) => c.type !== 'Set'); // EXPLAIN's own options
    if (queries.length !== 1) return 'EXPLAIN of one statement only';
    return judgeStatement(queries[0]);
  }
  const select = SELECT_ROOTS.has(node.type);
  if (!select && !OTHER_READ_ROOTS.has(node.type))
    return `${READ_ONLY_PROMISE} (not ${describe(node)})`;
  for (let i = 0; i < node.children.length; i++) {
    const c = node.children[i];
    if (c.type === 'Set')
      return 'settings in the query are not accepted: pass them as URL parameters (within the endpoint limits)';
    if (select && i === 0) continue; // the select list
    if (c.type === 'Literal')
      return select
        ? 'no INTO OUTFILE'
        : 'no INTO OUTFILE, and no LIKE patterns in SHOW (query system.tables or system.columns instead)';
    if (c.type === 'Identifier' || c.type === 'TableIdentifier' || c.type === 'TableExpression')
      continue; // FORMAT name, the table of SHOW / DESCRIBE / EXISTS
    return `unsupported clause ${c.type} on the read-only endpoint`;
  }
  return null;
}

function judgeFunctions(node: AstNode, tableFunctions: ReadonlySet<string>): string | null {
  if (node.type === 'Function') {
    const name = node.text.split(' ')[0].toLowerCase();
    if (
      DENIED_FUNCTIONS.has(name) ||
      (tableFunctions.has(name) && !ALLOWED_TABLE_FUNCTIONS.has(name))
    )
      return `no ${name}(): functions that reach files, URLs, other servers or programs are refused`;
  }
  for (const c of node.children) {
    const why = judgeFunctions(c, tableFunctions);
    if (why !== null) return why;
  }
  return null;
}

function describe(node: AstNode): string {
  const t = node.type.replace(/Query$/, '');
  return /^[A-Z]+$/.test(t) ? `${t} ${node.text.split(' ')[0] ?? ''}`.trim() : t;
}
