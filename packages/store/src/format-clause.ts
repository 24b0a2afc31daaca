/**
 * Finds a statement's own output FORMAT clause (`… FORMAT Pretty`), so that a user's SQL
 * that chooses its format is sent to the engine untouched instead of getting a second one
 * appended. The clause ends the statement (after it only SETTINGS, `;` and comments), which
 * keeps a word "format" inside a string, a column name or a function call from matching.
 */
const TRAILER = String.raw`(?:\s*;|\s*--[^\n]*|\s*/\*[\s\S]*?\*/|\s+)*$`;
const FORMAT_AT_END = new RegExp(
  String.raw`\bFORMAT\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s+SETTINGS\s+[^'"\x60()]*?)?` + TRAILER,
  'i',
);

/** The name in the statement's trailing FORMAT clause, or null when it has none. */
export function formatClauseOf(sql: string): string | null {
  const m = FORMAT_AT_END.exec(sql);
  return m ? m[1] : null;
}
