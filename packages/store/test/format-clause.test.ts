/** formatClauseOf: a statement's own trailing FORMAT clause, and nothing that only looks like one. */
import { formatClauseOf } from '../src';

test.each([
  ['SELECT 1 FORMAT Pretty', 'Pretty'],
  ['select 1 format JSONEachRow;', 'JSONEachRow'],
  ['SELECT 1 FORMAT CSV -- a comment', 'CSV'],
  ['SELECT 1 FORMAT CSV /* x */ ;\n', 'CSV'],
  ['SELECT 1 SETTINGS max_threads = 1 FORMAT TSV', 'TSV'],
  ['SELECT 1 FORMAT TSV SETTINGS max_threads = 1', 'TSV'],
  ['SELECT * FROM t WHERE x = 1\nFORMAT\nVertical\n', 'Vertical'],
])('%j has FORMAT %s', (sql, name) => {
  expect(formatClauseOf(sql)).toBe(name);
});

test.each([
  "SELECT 'x FORMAT Pretty'",
  'SELECT 1 AS format',
  "SELECT format('{}', 1)",
  'SELECT formatReadableSize(1)',
  'SELECT 1 FORMAT Pretty, 2',
  '',
])('%j has none', (sql) => {
  expect(formatClauseOf(sql)).toBeNull();
});
