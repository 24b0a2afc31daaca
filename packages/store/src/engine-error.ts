/** The parts of a ClickHouse / chDB error: `Code: N. DB::Exception: message. (TYPE)`. */
export interface EngineErrorParts {
  code?: number;
  type?: string;
  /** The message without the `Code: N. DB::Exception:` prefix and the version suffix. */
  message: string;
}

/**
 * Reads code, type and message out of an engine error (chDB's and the server's text forms,
 * 18.16's `Code: 62, e.displayText() = DB::Exception: …` included; @clickhouse/client's
 * parsed `code` / `type` fields where it set them).
 */
export function parseEngineError(e: unknown): EngineErrorParts {
  const raw = e instanceof Error ? e.message : String(e);
  const anyE = e as { code?: unknown; type?: unknown } | null;
  const m = /Code:\s*(\d+)/.exec(raw);
  const code =
    typeof anyE?.code === 'string' && /^\d+$/.test(anyE.code)
      ? Number(anyE.code)
      : m
        ? Number(m[1])
        : undefined;
  const tm = /\(([A-Z_]+)\)\s*(?:\(version[^)]*\))?\s*$/.exec(raw.trim());
  const type = typeof anyE?.type === 'string' ? anyE.type : tm?.[1];
  const message = raw
    .replace(/^Code:\s*\d+[.,]\s*(e\.displayText\(\) = )?(DB::Exception: )?/, '')
    .replace(/, e\.what\(\) = DB::Exception\s*$/, '')
    .replace(/(Expected one of: .{0,160})[^]*$/, (_m, head: string) => head + '…')
    .trim();
  return { code, type, message };
}
